"""Nameshield actions end to end against the sandbox simulator (in-process ASGI, no sockets),
one cassette replay, and the table the CLI prints.

Expected answers are computed from the seeded events with plain Python, not with the client's code.
"""
