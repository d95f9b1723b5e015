"""Built-in plugins on the lifecycle events (the hooks of :mod:`connector.hookspecs`).

- :mod:`connector.events.progress`: a live progress line on a terminal's stderr (the CLI's
  ``run`` and ``playbook run``).
- :mod:`connector.events.audit`: an opt-in JSONL audit log (``--audit FILE``, or
  :func:`connector.events.audit.audit_log` from Python).

Nothing is imported here, so that loading one does not load the others. The envelope's counts are
not a plugin's: the run context keeps them (:mod:`connector.context`); plugins observe them here.
"""
