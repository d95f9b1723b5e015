"""The Nameshield CTI simulator: every documented parameter, errors, paging, rate limit and the doc's shapes.

Expected answers are computed here from ``generate_events`` with plain Python, independently of the
simulator's own filtering and sorting code.
"""
