"""Playbooks: templates, the static check, the engine (order, concurrency, when, on_error, outputs),
no template injection, the CLI, the Python API and the examples against the sandbox."""
