"""What every command shares: one-line messages on stderr, logging, ``--input``, durations, and the
options that work before and after the subcommand (``-v``, ``--config``, ``--audit``)."""

from __future__ import annotations

import functools
import logging
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any, TypeVar

import click
import orjson

from connector.errors import BadInput
from connector.redaction import redactor


def say(message: str) -> None:
    """One line for people on stderr, prefixed ``connector:``, with secrets redacted and control
    characters escaped (a vendor's error text may hold a line break: it must not start a new line)."""
    line = redactor.redact(message)
    if not line.isprintable():
        line = "".join(char if char.isprintable() else repr(char)[1:-1] for char in line)
    click.echo(f"connector: {line}", err=True)


Command = TypeVar("Command", bound=Callable[..., Any])

COMPLETE_VAR = "_CONNECTOR_COMPLETE"
"""Set by the completion scripts (``connector completion SHELL``) when the shell asks for completions."""

CONFIG_HELP = "Connections file (default: $CONNECTOR_CONFIG, else the user's config folder)."
AUDIT_HELP = "Append one JSON line per lifecycle event to FILE, secrets redacted (default: $CONNECTOR_AUDIT)."
VERBOSE_HELP = "More log lines on stderr (-vv for debug)."


def shared_options(command: Command) -> Command:
    """Add ``-v``, ``--config`` and ``--audit`` to a command, so that they work after the subcommand
    too (``connector run get-threats --config FILE``), as people write them.

    The group (``connector -v --config FILE ...``) records its values in ``ctx.obj``; here ``-v``
    adds to its count and ``--config``/``--audit`` replace its values; then logging is set up and
    the audit log opened for the command's run.
    """

    @functools.wraps(command)
    def with_settings(*args: Any, shared_verbose: int, shared_config: Path | None, shared_audit: Path | None,
                      **kwargs: Any) -> Any:
        ctx = click.get_current_context()
        settings = ctx.ensure_object(dict)
        settings["verbose"] = settings.get("verbose", 0) + shared_verbose
        if shared_config is not None:
            settings["config"] = shared_config
        settings.setdefault("config", None)
        audit = shared_audit or settings.get("audit")
        setup_logging(settings["verbose"])
        if audit is not None:
            from connector.events.audit import audit_log  # the plugin host: only when auditing

            ctx.with_resource(audit_log(audit, option="--audit"))
        return ctx.invoke(command, *args, **kwargs)

    options = (
        click.option("-v", "--verbose", "shared_verbose", count=True, help=VERBOSE_HELP),
        click.option("--config", "shared_config", type=click.Path(dir_okay=False, path_type=Path), help=CONFIG_HELP),
        click.option("--audit", "shared_audit", type=click.Path(dir_okay=False, path_type=Path), help=AUDIT_HELP),
    )
    decorated: Any = with_settings
    for option in options:
        decorated = option(decorated)
    # click lists options in the reverse order of this list: put the shared ones last in --help.
    params = decorated.__click_params__
    params[:] = params[-len(options) :] + params[: -len(options)]
    return decorated  # type: ignore[no-any-return]


class FormatName(click.ParamType):  # type: ignore[type-arg]
    """``--format``: a name from the format registry, read when the option is used (not for ``--help``)."""

    name = "format"

    def get_metavar(self, param: click.Parameter, ctx: click.Context | None = None) -> str:
        return "[json|ndjson|table|csv|ocsf|...]"

    def convert(self, value: Any, param: click.Parameter | None, ctx: click.Context | None) -> str:
        from connector.formats import output_format
        from connector.plugins import default_host

        try:
            return output_format(str(value), default_host()).name
        except BadInput as exc:
            self.fail(exc.message.removeprefix("format: "), param, ctx)


RUN_FLAGS_KEY = "run_flags"
IDS_SURFACES = ("connector run", "connector submit (worker)")
"""The surfaces whose input is one action's input, which ``--ids`` adds to."""
IDS_HELP = "Set input.ids from FILE or stdin (-): one id a line; blank lines and # comments skipped."


def run_flags(surface: str) -> Callable[[Command], Command]:
    """Declare the run request's options (:data:`connector.request.OPTIONS`) on a command, less those
    that do not apply to ``surface`` (:data:`connector.request.SURFACES`). The command receives one
    ``run_flags`` callable giving them as request fields, checked (BadInput for flags that contradict
    each other), so that it refuses them where it refuses everything else.

    On the surfaces that run one action (:data:`IDS_SURFACES`) it also declares ``--ids @FILE|-``,
    an input convenience: the callable then takes the action and how to read its input
    (``action=``, ``input_flag=``, ``read=``) and gives the input, with ``ids`` set, among the fields."""
    from connector.request import SURFACES

    skipped = SURFACES[surface]
    options = _flag_options(skipped)
    if surface in IDS_SURFACES:
        options.append(click.option("--ids", "flag_ids", metavar="@FILE|-", help=IDS_HELP))

    def declare(command: Command) -> Command:
        @functools.wraps(command)
        def with_flags(*args: Any, **kwargs: Any) -> Any:
            given = {name.removeprefix("flag_"): kwargs.pop(name) for name in list(kwargs) if name.startswith("flag_")}
            kwargs[RUN_FLAGS_KEY] = functools.partial(_request_fields, given, skipped)
            return command(*args, **kwargs)

        decorated: Any = with_flags
        for option in reversed(options):
            decorated = option(decorated)
        return decorated  # type: ignore[no-any-return]

    return declare


def _flag_options(skipped: dict[str, str]) -> list[Callable[[Any], Any]]:
    from connector.request import OPTIONS

    helps = {option.name: option.help for option in OPTIONS}
    flags: dict[str, list[Callable[[Any], Any]]] = {
        "connection": [click.option("--connection", "-c", "flag_connection", multiple=True,
                                    metavar="NAME|VENDOR=NAME", help=helps["connection"])],
        "vendor": [click.option("--vendor", "flag_vendor", help=helps["vendor"])],
        "sandbox": [
            click.option("--sandbox", "flag_sandbox", is_flag=True, help="Run against the embedded vendor simulators."),
            click.option("--sandbox-url", "flag_sandbox_url", metavar="URL", help="Run against a running "
                         "`connector sandbox`."),
        ],
        "dry_run": [click.option("--dry-run", "flag_dry_run", is_flag=True, help=helps["dry_run"])],
        "strict": [click.option("--strict", "flag_strict", is_flag=True, help=helps["strict"])],
        "format": [click.option("--format", "flag_format", type=FormatName(), default=None,
                                help=helps["format"])],
        "resume": [click.option("--resume", "flag_resume", metavar="JSON", help=helps["resume"])],
        "output_file": [click.option("--output-file", "--output", "flag_output_file", metavar="PATH",
                                     help=helps["output_file"])],
    }
    return [option for name, options in flags.items() if name not in skipped for option in options]


def _request_fields(given: dict[str, Any], skipped: dict[str, str], action: str | None = None,
                    input_flag: str | None = None, read: Callable[[], dict[str, Any]] | None = None) -> dict[str, Any]:
    """The run request's fields from the flags given; BadInput for flags that contradict each other.

    With ``action``, the fields hold its input too: ``read()`` (default: ``--input``'s value
    ``input_flag`` read by :func:`read_input`), with ``--ids`` applied."""
    given = dict(given)
    fields: dict[str, Any] = {}
    if action is not None:
        ids = given.pop("ids", None)
        if ids == "-" and input_flag == "-":
            raise BadInput("--input - and --ids -: only one of them can read stdin")
        fields["input"] = _with_ids(action, read() if read else read_input(input_flag), ids)
    if "connection" in given:
        given["connection"], connections = _connections(given["connection"])
        if connections:
            fields["connections"] = connections
    if "sandbox" not in skipped:
        connection, sandbox, sandbox_url = given.get("connection"), given.pop("sandbox"), given.pop("sandbox_url")
        # --connection sandbox is the same place as --sandbox; any other pair contradicts itself.
        named = connection not in (None, "sandbox") or "connections" in fields
        exclusive(connection=named, sandbox=sandbox, sandbox_url=sandbox_url)
        fields["sandbox"] = checked_sandbox_url(sandbox_url) or sandbox
    for name in ("connection", "vendor", "dry_run", "strict", "format", "output_file"):
        if given.get(name) is not None:
            fields[name] = given[name]
    if given.get("resume") is not None:
        from connector.schemas import load_object

        fields["resume"] = load_object(given["resume"], "--resume")
    return fields


def _with_ids(action: str, document: dict[str, Any], source: str | None) -> dict[str, Any]:
    """``document`` with ``ids`` read from ``--ids`` (``@FILE`` or ``-``), one id a line."""
    if source is None:
        return document
    from connector.plugins import default_host

    host = default_host()
    spec = host.action(action)
    if "ids" not in host.schemas.get(spec.input).get("properties", {}):
        raise BadInput(f"--ids: action {spec.name} takes no ids (its input has no 'ids' field)")
    if "ids" in document:
        raise BadInput("--ids and input.ids: give only one of them")
    from connector.documents import quoted, read_text  # YAML's loader with it: not for --help

    if source == "-":
        try:
            text = sys.stdin.read()
        except UnicodeDecodeError as exc:
            raise BadInput(f"--ids: stdin is not UTF-8 text (byte {exc.start})") from None
    elif source.startswith("@"):
        text = read_text(Path(source[1:]), "--ids")
    else:
        raise BadInput(f"--ids: {quoted(source)} is not @FILE or - (stdin): one id a line")
    ids = [line.strip() for line in text.splitlines() if line.strip() and not line.strip().startswith("#")]
    if not ids:
        raise BadInput(f"--ids: {'stdin' if source == '-' else source[1:]} holds no id (one a line)")
    return {**document, "ids": ids}


def _connections(values: tuple[str, ...]) -> tuple[str | None, dict[str, str]]:
    """``--connection`` given as NAME (at most once) and as VENDOR=NAME (once per vendor)."""
    plain = [value for value in values if "=" not in value]
    if len(plain) > 1:
        raise BadInput(f"--connection: {plain[0]!r} and {plain[1]!r}: give one NAME, or VENDOR=NAME per vendor")
    by_vendor: dict[str, str] = {}
    for value in values:
        vendor, equals, name = value.partition("=")
        if not equals:
            continue
        if not vendor.strip() or not name.strip():
            raise BadInput(f"--connection: {value!r} is not VENDOR=NAME (e.g. sentinelone=s1)")
        if vendor.strip() in by_vendor:
            raise BadInput(f"--connection: vendor {vendor.strip()!r} given twice")
        by_vendor[vendor.strip()] = name.strip()
    return (plain[0] if plain else None), by_vendor


def setup_logging(verbose: int) -> None:
    """Log to stderr through the redaction filter: warnings, -v info, -vv debug."""
    level = logging.WARNING - 10 * min(verbose, 2)
    handler = logging.StreamHandler(sys.stderr)
    handler.addFilter(redactor)
    handler.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(name)s: %(message)s"))
    logging.basicConfig(level=level, handlers=[handler], force=True)


def read_input(value: str | None) -> dict[str, Any]:
    """Parse ``--input``: inline JSON, ``@FILE`` (YAML when it ends in .yaml or .yml) or ``-`` for stdin;
    it must be a non-empty object.

    Empty text is refused rather than read as ``{}``: a pipe whose upstream printed nothing must
    not run the action unfiltered.
    """
    # Imported here, not at the top: --help needs neither the schemas nor YAML's loader.
    from connector.documents import read_text
    from connector.schemas import load_object

    if value is None:
        return {}
    if value == "-":
        try:
            text, origin = sys.stdin.read(), "stdin"
        except UnicodeDecodeError as exc:
            raise BadInput(f"--input: stdin is not UTF-8 text (byte {exc.start})") from None
    elif value.startswith("@"):
        path = Path(value[1:])
        text, origin = read_text(path, "--input"), str(path)
        if path.suffix.lower() in YAML_SUFFIXES:
            return _yaml_input(text, origin)
    else:
        text, origin = value, "--input"
    if not text.strip():
        raise BadInput(f"input ({origin}): input is empty (give a JSON object, {{}} for no filters)")
    return load_object(text, f"input ({origin})")


YAML_SUFFIXES = (".yaml", ".yml")
"""``--input @FILE`` with one of these suffixes is read as YAML (the guarded loader), any other as JSON."""


def _yaml_input(text: str, origin: str) -> dict[str, Any]:
    from connector.documents import load_yaml

    document = load_yaml(text, f"input ({origin})")
    if document is None:
        raise BadInput(f"input ({origin}): input is empty (give a mapping, {{}} for no filters)")
    if not isinstance(document, dict):
        raise BadInput(f"input ({origin}): expected a mapping, got {type(document).__name__}")
    # Written as JSON would have it: an unquoted YAML date or time becomes RFC 3339 text, not an object.
    try:
        as_json: dict[str, Any] = orjson.loads(orjson.dumps(document, option=orjson.OPT_UTC_Z))
    except TypeError as exc:
        raise BadInput(f"input ({origin}): not a JSON-like document ({exc})") from None
    return as_json


def exclusive(**options: object) -> None:
    """Refuse options that exclude each other (``--sandbox`` and ``--connection s1``): BadInput
    naming them when more than one was given, rather than silently using one."""
    given = [f"--{name.replace('_', '-')}" for name, value in options.items() if value not in (None, False, ())]
    if len(given) > 1:
        raise BadInput(f"{' and '.join(given)}: give only one of them (each says where to run)")


def checked_sandbox_url(value: str | None) -> str | None:
    """``--sandbox-url``: an http(s) URL of a running ``connector sandbox``, without a trailing slash."""
    if value is None:
        return None
    from connector.connections import checked_url  # pydantic's models: not for --help

    try:
        return checked_url(value)
    except ValueError as exc:
        raise BadInput(f"--sandbox-url: {exc}, like http://127.0.0.1:8800") from None


_UNITS = {"ms": 0.001, "s": 1.0, "m": 60.0, "h": 3600.0}
MAX_DURATION_S = 10 * 366 * 24 * 3600.0
"""The longest duration an option takes (ten years): beyond it, date arithmetic leaves the calendar."""


def seconds(text: str, option: str) -> float:
    """A duration like ``20ms``, ``1.5s``, ``5m`` or ``1h`` in seconds, at most ten years; BadInput otherwise."""
    for suffix in sorted(_UNITS, key=len, reverse=True):
        number = text.removesuffix(suffix)
        if number != text:
            try:
                value = float(number) * _UNITS[suffix]
            except ValueError:
                break
            # "infs", "nans" and "1e12s" parse as floats: none is a duration a date can be moved by.
            if 0 <= value <= MAX_DURATION_S:
                return value
            break
    from connector.documents import quoted

    raise BadInput(
        f"{option}: {quoted(text)} is not a duration like 20ms, 1.5s, 5m or 1h (at most ten years)"
    )
