"""The MySecutec TAM simulator: every documented parameter and operation, errors, paging, rate limit, shapes.

Expected answers are computed here with plain Python from the seeded records (``build_threats``), not with
the simulator's own filter and sort code. The contract tests replay the spec's example requests and compare
the answers with the spec's example responses, key by key and type by type.
"""
