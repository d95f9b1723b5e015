"""Reading what people write (input files, connections files, playbooks) and quoting it back short.

Every file is read as UTF-8 and every document is parsed with a bound on its nesting, so a wrong
encoding, an unreadable file or a hostile ``[[[[...`` is one line naming the file, never a
traceback. YAML is read by :class:`GuardedLoader`: a file over :data:`MAX_YAML_BYTES`, aliases that
would expand the document by more than :data:`MAX_ALIAS_NODES` nodes (a "billion laughs"), an alias
that refers to itself and a key given twice in one mapping are each refused in one line.

Values quoted in error lines go through :func:`quoted`, which cuts them to about 80 characters and
says what they were ("a list of 2 items"), so an error line stays one line however large the value
it is about.
"""

from __future__ import annotations

import reprlib
from pathlib import Path
from typing import Any

import yaml
from yaml.nodes import MappingNode, Node, ScalarNode, SequenceNode

from connector.errors import BadInput
from connector.files import check_file

MAX_DEPTH = 64
"""The deepest nesting of lists and mappings accepted in any document (inputs, playbooks, connections)."""

QUOTE_LIMIT = 80
"""About how many characters of a value an error line quotes."""

MAX_YAML_BYTES = 256 * 1024
"""The largest YAML file (connections file, playbook) read: 256 KiB, far above any written by hand
(PyYAML reads about 150 KiB a second, so this also bounds the time spent)."""

MAX_ALIAS_NODES = 10_000
"""How many nodes aliases (``*name``) may add to a YAML document once expanded."""


def read_text(
    path: Path, label: str, error: type[BadInput] = BadInput, limit: int | None = None, regular: bool = False
) -> str:
    """The UTF-8 text of ``path``; ``error`` naming ``label`` and the file when it cannot be read or decoded.

    With ``limit``, at most that many bytes are read (more is refused), so a huge file costs no
    memory; with ``regular``, anything but a regular file (a FIFO that would block, a device that
    never ends) is refused before it is opened. Without it, ``--input @<(command)`` still works.
    """
    if regular:
        check_file(path, label, error)
    try:
        with path.open("rb") as stream:
            data = stream.read() if limit is None else stream.read(limit + 1)
    except OSError as exc:
        raise error(f"{label}: cannot read {path}: {exc.strerror or type(exc).__name__}") from None
    if limit is not None and len(data) > limit:
        raise error(f"{label}: {path} is more than the {limit:,} bytes allowed")
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise error(f"{label}: {path} is not UTF-8 text (byte {exc.start})") from None


class Refused(yaml.YAMLError):
    """A YAML document that parses but is refused: the line where, and why."""

    def __init__(self, node: Node, reason: str) -> None:
        super().__init__(reason)
        self.problem_mark, self.reason = node.start_mark, reason


class GuardedLoader(yaml.SafeLoader):
    """PyYAML's safe loader with a bound on alias expansion and no key given twice in one mapping.

    PyYAML shares an anchored node between its aliases, so a "billion laughs" costs little to load
    but explodes in anything that walks it (a check, a JSON dump): its expanded size is measured
    on the composed graph, each node once, before anything is built from it.
    """

    def get_single_node(self) -> Node | None:
        """The document's node graph, refused if its aliases expand it too far or refer to themselves."""
        node = super().get_single_node()
        if node is not None:
            _expanded_size(node, {}, set())
        return node

    def construct_mapping(self, node: MappingNode, deep: bool = False) -> dict[Any, Any]:
        """The mapping, refused when a key is written twice (YAML would silently keep the last)."""
        seen: set[str] = set()
        for key_node, _ in node.value:
            if isinstance(key_node, ScalarNode) and key_node.tag != "tag:yaml.org,2002:merge":
                if key_node.value in seen:
                    raise Refused(key_node, f"key {quoted(key_node.value)} given twice")
                seen.add(key_node.value)
        return super().construct_mapping(node, deep=deep)


def _expanded_size(node: Node, sizes: dict[int, int], open_nodes: set[int]) -> int:
    """Nodes in ``node`` with every alias written out; :class:`Refused` past :data:`MAX_ALIAS_NODES` extra."""
    if id(node) in sizes:
        return sizes[id(node)]
    if id(node) in open_nodes:
        raise Refused(node, "an alias refers to the node that holds it (a document without end)")
    open_nodes.add(id(node))
    children: list[Node] = []
    if isinstance(node, SequenceNode):
        children = node.value
    elif isinstance(node, MappingNode):
        children = [part for pair in node.value for part in pair]
    size = 1 + sum(_expanded_size(child, sizes, open_nodes) for child in children)
    open_nodes.discard(id(node))
    sizes[id(node)] = size
    # Distinct nodes are what is written; the rest is what aliases add.
    if size - len(sizes) > MAX_ALIAS_NODES:
        raise Refused(node, f"aliases expand the document by more than {MAX_ALIAS_NODES:,} nodes")
    return size


def load_yaml(
    text: str, label: str, loader: type[GuardedLoader] = GuardedLoader, error: type[BadInput] = BadInput
) -> Any:
    """The YAML document in ``text`` (a safe loader); ``error`` naming ``label`` and the line otherwise."""
    if len(text) > MAX_YAML_BYTES:
        raise error(f"{label}: {len(text):,} characters, more than the {MAX_YAML_BYTES:,} allowed")
    try:
        document = yaml.load(text, Loader=loader)  # a SafeLoader or a subclass: no arbitrary objects
    except Refused as exc:
        raise error(f"{label} line {exc.problem_mark.line + 1}: {exc.reason}") from None
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f" line {mark.line + 1}" if mark else ""
        raise error(f"{label}{where}: not valid YAML") from None
    except RecursionError:
        # PyYAML's composer recurses once per level: a document this deep was never written by hand.
        raise error(f"{label}: nested deeper than {MAX_DEPTH} levels") from None
    check_depth(document, label, error)
    return document


def check_depth(document: Any, label: str, error: type[BadInput] = BadInput) -> None:
    """Refuse a document nested deeper than :data:`MAX_DEPTH`, before anything recursive walks it."""
    level = [document]
    for _ in range(MAX_DEPTH + 1):
        level = [
            child
            for node in level
            if isinstance(node, dict | list)
            for child in (node.values() if isinstance(node, dict) else node)
        ]
        if not level:
            return
    raise error(f"{label}: nested deeper than {MAX_DEPTH} levels")


_SHORT = reprlib.Repr()
_SHORT.maxlevel, _SHORT.maxstring, _SHORT.maxother = 3, QUOTE_LIMIT, QUOTE_LIMIT


def quoted(value: Any, limit: int = QUOTE_LIMIT) -> str:
    """``value`` for an error line: short values as their repr, long ones cut with their type and size.

    ``quoted("x" * 500)`` is ``'xxx…xx… (a string of 500 characters)`` in about 80 characters.
    """
    # reprlib stops at a few items per level and a few levels, so a megabyte of vendor data costs
    # no more to quote than a line of it; "..." in its answer means it left something out.
    text = _SHORT.repr(value)
    if len(text) <= limit and "..." not in text:
        return text
    return f"{text[: limit - 3].rstrip('.')}… ({describe(value)})"


def describe(value: Any) -> str:
    """What ``value`` is, in words: "a string of 500 characters", "a list of 2 items", "an object of 3 keys"."""
    if isinstance(value, str):
        return f"a string of {len(value)} characters"
    if isinstance(value, list | tuple):
        noun = "object" if value and all(isinstance(item, dict) for item in value) else "item"
        return f"a list of {len(value)} {noun}{'s' if len(value) != 1 else ''}"
    if isinstance(value, dict):
        return f"an object of {len(value)} key{'s' if len(value) != 1 else ''}"
    return f"a {type(value).__name__}"
