"""The reliability suite's tools: the CLI run in this process, the shape every outcome must have,
and the counts each test adds to (printed at the end of the run, copied into RELIABILITY.md)."""

from __future__ import annotations

import logging
import sys
from collections import Counter
from dataclasses import dataclass
from typing import Any

import orjson
from click.testing import CliRunner
from hypothesis import HealthCheck

from connector.cli import main
from connector.schemas import SchemaStore

COUNTS: Counter[str] = Counter()
"""What the suite tried, by name ("fuzz: action inputs", "faults injected"...); see conftest.py."""

SETTINGS: dict[str, Any] = {
    "derandomize": True,
    "deadline": None,
    "database": None,
    # Schemas like create_incident's (a whole Threat inside) make hypothesis-jsonschema filter a lot.
    "suppress_health_check": list(HealthCheck),
}
"""Hypothesis settings shared by the suite: the same cases on every run, no example database."""


@dataclass(frozen=True)
class Outcome:
    """One CLI run: its exit code, stdout and stderr."""

    code: int
    stdout: str
    stderr: str

    @property
    def lines(self) -> list[str]:
        """stderr's lines."""
        return self.stderr.splitlines()


def run_cli(*args: str, stdin: str = "", env: dict[str, str] | None = None) -> Outcome:
    """``connector ARGS`` through :func:`connector.cli.main`, in this process (no interpreter start-up
    per case), with stdin, stdout and stderr captured. Any exception but SystemExit fails the test:
    it would have been a traceback."""
    root = logging.getLogger()
    handlers, level = root.handlers[:], root.level
    environment = {"CONNECTOR_CONFIG": "", "CONNECTOR_AUDIT": None, **(env or {})}
    with CliRunner().isolation(input=stdin, env=environment) as (out, err, _):
        argv = sys.argv
        sys.argv = ["connector", *args]
        try:
            main()
            code = 0
        except SystemExit as stop:
            code = stop.code if isinstance(stop.code, int) else (0 if stop.code is None else 1)
        finally:
            sys.argv = argv
            sys.stdout.flush()
            sys.stderr.flush()
            # setup_logging pointed the root logger at this run's stderr: give the suite its own back.
            root.handlers[:], root.level = handlers, level
        # Read before the isolation ends: some click releases close its buffers on the way out.
        return Outcome(code, out.getvalue().decode(errors="replace"), err.getvalue().decode(errors="replace"))


def check_outcome(
    outcome: Outcome, allowed: frozenset[int] = frozenset({0, 2, 3}), *, envelope: bool = False
) -> dict[str, Any] | None:
    """Assert what every case must end with: an allowed exit code, no traceback, and one envelope on
    stdout (always, with ``envelope``: `connector run`) or one error line on stderr. Returns the
    envelope, if one was printed."""
    assert "Traceback" not in outcome.stderr and "internal error" not in outcome.stderr, outcome.stderr
    assert outcome.code in allowed, outcome
    assert all(line.startswith("connector: ") for line in outcome.lines), outcome.stderr
    if not outcome.stdout.strip():
        # Other commands refuse their input with one line and nothing on stdout.
        assert not envelope, outcome
        assert outcome.code == 2 and len(outcome.lines) == 1, outcome
        return None
    document = orjson.loads(outcome.stdout)
    assert isinstance(document, dict)
    return document


def inlined(schema: Any, store: SchemaStore, document: str, depth: int = 0) -> Any:
    """``schema`` with every ``$ref`` (to another file, or ``#/...`` inside ``document``) replaced by
    what it points to, as hypothesis-jsonschema resolves no reference across files."""
    if isinstance(schema, list):
        return [inlined(item, store, document, depth) for item in schema]
    if not isinstance(schema, dict):
        return schema
    if isinstance(schema.get("$ref"), str) and depth < 8:
        name, _, pointer = schema["$ref"].partition("#")
        name = name or document
        target: Any = store.get(name)
        for token in filter(None, pointer.split("/")):
            target = target[token.replace("~1", "/").replace("~0", "~")]
        siblings = {key: value for key, value in schema.items() if key != "$ref"}
        merged = {**target, **siblings}
        if "properties" in target and "properties" in siblings:
            # `$ref` beside `properties` (create_incident's fields and from_threat): both sets apply.
            merged["properties"] = {**target["properties"], **siblings["properties"]}
        if merged.get("unevaluatedProperties") is False and "properties" in merged:
            # With every property in one `properties`, this is additionalProperties, which
            # hypothesis-jsonschema generates from; it only filters for unevaluatedProperties.
            merged["additionalProperties"] = merged.pop("unevaluatedProperties")
        return inlined(merged, store, name, depth + 1)
    # $defs are inlined where they are used; $id and $schema would make the generator resolve on its own.
    return {
        key: inlined(value, store, document, depth) for key, value in schema.items()
        if key not in ("$defs", "$id", "$schema")
    }
