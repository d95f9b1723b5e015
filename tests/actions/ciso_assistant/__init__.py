"""CISO Assistant actions end to end against the sandbox simulator (in-process ASGI, no sockets), plus
replayed cassettes and the coverage of every documented incidents endpoint.

Expected answers are computed from the seeded store with plain Python, not with the client's code.
"""
