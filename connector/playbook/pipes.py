"""Unix pipes between actions: build one action's input from the envelope another printed.

    connector run get-threats --sandbox --input '{"limit": 5}' \\
      | connector run update-threat-status --sandbox --input - \\
          --map 'ids=output.threats[].vendor_id' --map 'status=`"in_progress"`'

Each ``--map NAME=JMESPATH`` evaluates the expression against the document read by ``--input``
(the upstream envelope) and sets ``input[NAME]`` to its value; the input is made of the maps only.
An upstream envelope given as input without ``--map`` is refused, since it is never a valid input
as it stands. The expressions come from the command line; values from the vendor are never evaluated.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from typing import Any

from connector.errors import BadInput

_NAME = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")
MAP_EXAMPLE = "--map 'ids=output.threats[].vendor_id'"


def is_envelope(document: dict[str, Any]) -> bool:
    """Whether a JSON object is an action's envelope (as printed by ``connector run``)."""
    return "action" in document and "output" in document


def mapped_input(document: dict[str, Any], maps: Iterable[str]) -> dict[str, Any]:
    """The action input: ``document`` itself without maps, else ``{NAME: JMESPATH(document)}`` per map."""
    maps = list(maps)
    if not maps:
        if is_envelope(document):
            raise BadInput(
                f"input: this is the envelope of {document['action']}, not an input; pick fields from it "
                f"with --map NAME=JMESPATH, e.g. {MAP_EXAMPLE}"
            )
        return document
    # Imported here: jmespath is needed only when there is something to map.
    from connector.playbook.expressions import compile_expression

    if is_envelope(document) and document.get("status") == "failed":
        raise BadInput(f"input: the upstream {document['action']} failed, there is nothing to map")
    mapped: dict[str, Any] = {}
    for text in maps:
        name, equals, source = text.partition("=")
        name, source = name.strip(), source.strip()
        if not equals or not _NAME.match(name) or not source:
            raise BadInput(f"--map: {text!r} is not NAME=JMESPATH (e.g. {MAP_EXAMPLE})")
        if name in mapped:
            raise BadInput(f"--map {name}: given twice")
        try:
            value = compile_expression(source).evaluate(document)
        except BadInput as exc:
            raise BadInput(f"--map {name}: {exc.message}") from None
        if value is None:
            raise BadInput(f"--map {name}: `{source}` found nothing in the input (null)")
        mapped[name] = value
    return mapped
