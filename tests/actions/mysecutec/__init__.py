"""MySecutec actions end to end against the sandbox simulator (in-process ASGI, no sockets), under
injected faults, and from a replayed cassette.

Expected answers are computed from the seeded threats with plain Python, not with the client's code.
"""
