"""The CISO Assistant incidents simulator: DRF list semantics, both record faces, errors, batch, exports.

Expected values are computed here from the full list (``limit=1000``) with plain Python, not with
the simulator's own filtering code; the contract test reads the documented field lists from the spec.
"""
