"""``${{ JMESPath }}`` templates: found once in the playbook text, evaluated against the run's scope.

A playbook string that is exactly one ``${{ expr }}`` takes the expression's value with its type
(a list stays a list); a string mixing text and expressions gets the values written in as text.
Templates are compiled from the playbook file only, once, before anything runs; evaluating one
returns plain data that is never scanned again, so a vendor value holding ``${{ ... }}`` (a
threat title, say) stays text and is never evaluated: there is no template injection.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import jmespath
import orjson
from jmespath.exceptions import JMESPathError
from jmespath.parser import ParsedResult

from connector.documents import MAX_DEPTH, quoted
from connector.errors import BadInput

OPEN, CLOSE = "${{", "}}"
_QUOTES = {"'": "'", '"': '"', "`": "`"}
_BRACKETS = {"{": "}", "[": "]", "(": ")"}


@dataclass(frozen=True)
class Expression:
    """One compiled JMESPath expression and the text it was written as."""

    source: str
    parsed: ParsedResult

    def evaluate(self, scope: Mapping[str, Any]) -> Any:
        """The expression's value in ``scope``; a JMESPath runtime error is bad input quoting it."""
        try:
            return self.parsed.search(scope)
        except JMESPathError as exc:
            raise BadInput(f"`{self.source}`: {_first_line(exc)}") from None
        except RecursionError:
            # Only a value nested deeper than any document connector accepts gets here.
            raise BadInput(f"`{self.source}`: the value is nested deeper than {MAX_DEPTH} levels") from None


@dataclass(frozen=True)
class Interpolation:
    """A string mixing text and expressions: ``"Threat ${{ item.title }} on ${{ item.vendor }}"``."""

    parts: tuple[str | Expression, ...]


@dataclass(frozen=True)
class Broken:
    """Stands in for a value whose expression does not compile, so the other checks still run."""


Template = Any
"""A compiled playbook value: plain data, an :class:`Expression` or an :class:`Interpolation`, nested
in dicts and lists like the YAML it came from."""


MAX_EXPRESSION = 10_000
"""Characters in one expression: JMESPath's parser slows down with the square of a literal's length."""


def compile_expression(source: str) -> Expression:
    """Parse one JMESPath expression; a syntax error, nesting past :data:`MAX_DEPTH` or a length past
    :data:`MAX_EXPRESSION` is bad input quoting it."""
    if len(source) > MAX_EXPRESSION:
        raise BadInput(f"{quoted(source)}: longer than {MAX_EXPRESSION} characters")
    too_deep = f"{quoted(source)}: nested deeper than {MAX_DEPTH} levels"
    try:
        parsed = jmespath.compile(source)
    except JMESPathError as exc:
        raise BadInput(f"`{source}`: not a valid JMESPath expression: {_first_line(exc)}") from None
    except RecursionError:
        # JMESPath's parser recurses a few frames per level: refused before Python's own limit is.
        raise BadInput(too_deep) from None
    if _depth(dict(parsed.parsed)) > MAX_DEPTH:
        # Evaluating recurses per level too, against values of any size: bounded like a document.
        raise BadInput(too_deep)
    return Expression(source, parsed)


def _depth(tree: Mapping[str, Any]) -> int:
    """How deep a parsed JMESPath tree is, walked without recursion."""
    deepest, level = 0, [tree]
    while level:
        deepest += 1
        level = [child for node in level for child in node.get("children", []) if isinstance(child, dict)]
    return deepest


def compile_template(value: Any) -> Template:
    """Compile every ``${{ }}`` in ``value`` (strings, and dicts and lists of them); keys stay as written."""
    if isinstance(value, dict):
        return {key: compile_template(item) for key, item in value.items()}
    if isinstance(value, list):
        return [compile_template(item) for item in value]
    if isinstance(value, str) and OPEN in value:
        parts = _split(value)
        if len(parts) == 1 and isinstance(parts[0], Expression):
            return parts[0]
        return Interpolation(tuple(parts))
    return value


def compile_condition(value: Any) -> Template:
    """``when`` and ``for_each``: a bare expression (``steps.a.output.count``) or a ``${{ }}`` template."""
    if isinstance(value, str) and OPEN not in value:
        return compile_expression(value)
    return compile_template(value)


def render(template: Template, scope: Mapping[str, Any]) -> Any:
    """Evaluate a compiled template: new containers, expression values inserted as data, never re-scanned."""
    if isinstance(template, dict):
        return {key: render(item, scope) for key, item in template.items()}
    if isinstance(template, list):
        return [render(item, scope) for item in template]
    if isinstance(template, Expression):
        return template.evaluate(scope)
    if isinstance(template, Interpolation):
        return "".join(
            part if isinstance(part, str) else as_text(part.evaluate(scope)) for part in template.parts
        )
    return template


def expressions_in(template: Template, path: str) -> list[tuple[str, Expression]]:
    """Every expression in a compiled template with where it sits (``input.ids``, ``input.filter.name``)."""
    if isinstance(template, dict):
        return [found for key, item in template.items() for found in expressions_in(item, f"{path}.{key}")]
    if isinstance(template, list):
        return [found for at, item in enumerate(template) for found in expressions_in(item, f"{path}[{at}]")]
    if isinstance(template, Expression):
        return [(path, template)]
    if isinstance(template, Interpolation):
        return [(path, part) for part in template.parts if isinstance(part, Expression)]
    return []


def is_templated(template: Template) -> bool:
    """Whether a compiled value holds an expression (or a broken one) anywhere inside."""
    if isinstance(template, dict):
        return any(is_templated(item) for item in template.values())
    if isinstance(template, list):
        return any(is_templated(item) for item in template)
    return isinstance(template, Expression | Interpolation | Broken)


def truthy(value: Any) -> bool:
    """JMESPath truth: null, false, and empty strings, lists and objects are false; 0 is true."""
    return value is not None and value is not False and value not in ("", [], {})


def as_text(value: Any) -> str:
    """A value written into a string: text as is, null as nothing, anything else as compact JSON."""
    if isinstance(value, str):
        return value
    if value is None:
        return ""
    return orjson.dumps(value).decode()


def _split(text: str) -> list[str | Expression]:
    parts: list[str | Expression] = []
    position = 0
    while (start := text.find(OPEN, position)) != -1:
        end = _closing(text, start + len(OPEN))
        if start > position:
            parts.append(text[position:start])
        source = text[start + len(OPEN) : end].strip()
        if not source:
            raise BadInput(f"{text!r}: empty ${{{{ }}}} expression")
        parts.append(compile_expression(source))
        position = end + len(CLOSE)
    if position < len(text):
        parts.append(text[position:])
    return parts


def _closing(text: str, start: int) -> int:
    """Where the ``}}`` closing an expression starts, skipping JMESPath's own braces and quoted text."""
    expected: list[str] = []
    index = start
    while index < len(text):
        char = text[index]
        if char in _QUOTES:
            index = _after_quote(text, index)
            continue
        if not expected and text.startswith(CLOSE, index):
            return index
        if char in _BRACKETS:
            expected.append(_BRACKETS[char])
        elif expected and char == expected[-1]:
            expected.pop()
        index += 1
    # Unbalanced brackets or quotes: end at the first }} and let JMESPath say what is wrong.
    fallback = text.find(CLOSE, start)
    if fallback == -1:
        raise BadInput(f"{text!r}: ${{{{ is never closed by }}}}")
    return fallback


def _after_quote(text: str, index: int) -> int:
    quote = text[index]
    index += 1
    while index < len(text) and text[index] != quote:
        index += 2 if text[index] == "\\" else 1
    return index + 1


def _first_line(exc: Exception) -> str:
    # JMESPath appends the expression and a caret on more lines: the expression is quoted already.
    text = str(exc).split(", for expression:")[0].strip().splitlines()[0]
    return text.removeprefix("Invalid jmespath expression: ").removeprefix("Bad jmespath expression: ").rstrip(":")
