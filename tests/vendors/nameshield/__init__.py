"""Nameshield mapping and query building: the real payload, the spec's examples, the tables value by value."""
