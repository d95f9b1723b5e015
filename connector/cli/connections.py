"""Commands for the connections file: init writes one, ``connections list`` shows it,
``connections check`` says everything wrong with it and then tests each connection."""

from __future__ import annotations

import asyncio
import sys
from pathlib import Path
from typing import Any

import click

from connector.cli.common import say, shared_options
from connector.errors import EXIT_BAD_INPUT, EXIT_FAILED, BadInput
from connector.streams import writing

EXAMPLE_URLS = {
    "sentinelone": "https://YOUR-TENANT.sentinelone.net",
    "mysecutec": "https://tam.YOUR-COMPANY.example",
    "nameshield": "https://cti.YOUR-COMPANY.example",
    "ciso_assistant": "https://ciso-assistant.YOUR-COMPANY.example",
}
"""A placeholder base URL per built-in vendor: valid, so that the file written reads without error."""

HEADER = """\
# Connections for connector, written by `connector init`. Each connection names a vendor, the base
# URL of its API and where its token is read from, never the token itself:
#   secret: env:NAME              an environment variable
#   secret: file:PATH             a file that holds only the token
#   secret: keyring:SERVICE/NAME  the system keyring (pip install 'connector-soar[keyring]')
# Replace each base_url, then check the file: connector connections check
connections:
"""


def _chosen_config() -> Path | None:
    """--config (before or after the command), else None: the default path, which may be absent."""
    chosen: Path | None = click.get_current_context().ensure_object(dict).get("config")
    return chosen


def template(vendors: dict[str, Any]) -> str:
    """The text of a connections file with one commented connection per vendor (``name -> Vendor``)."""
    parts = [HEADER]
    for name in sorted(vendors):
        vendor = vendors[name]
        limit = f"{{requests: {vendor.rate_limit[0]:g}, per_seconds: {vendor.rate_limit[1]:g}}}" \
            if vendor.rate_limit else "{requests: 10, per_seconds: 1}"
        parts.append(
            f"  # {vendor.title} (Authorization: {vendor.auth_scheme} <token>)\n"
            f"  {name}:\n"
            f"    vendor: {name}\n"
            f"    base_url: {EXAMPLE_URLS.get(name, f'https://{name}.example')}\n"
            f"    secret: env:{name.upper()}_TOKEN\n"
            "    # timeout: {connect: 5, read: 30}\n"
            f"    # rate_limit: {limit}\n"
        )
    return "\n".join(parts)


@click.command()
@shared_options
def init() -> None:
    """Write a commented connections file at the default path (printed), one connection per vendor."""
    from connector.connections import default_config_path
    from connector.plugins import default_host

    path = _chosen_config() or default_config_path()
    if path.exists():
        raise BadInput(f"init: {path} exists and is left as it is (edit it, or give --config NEW_FILE)")
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        with path.open("x", encoding="utf-8") as stream:
            stream.write(template(default_host().vendors))
    except OSError as exc:
        raise BadInput(f"init: cannot write {path}: {exc.strerror}") from None
    with writing(sys.stdout, "stdout"):
        click.echo(str(path))
    say(f"wrote {path}: set each base_url and token variable, then run `connector connections check`")


@click.group()
def connections() -> None:
    """Show the connections file, or check every connection in it."""


FORMAT = click.option("--format", "fmt", type=click.Choice(["table", "json"]), default="table", show_default=True)


@connections.command("list")
@shared_options
@FORMAT
def list_connections(fmt: str) -> None:
    """List each connection: vendor, base URL, secret reference (never its value), and whether it is valid."""
    from connector.connections import read_connections

    read = read_connections(_chosen_config())
    rows = [{"connection": name, "vendor": c.vendor, "base_url": c.base_url, "secret": c.secret, "valid": "ok"}
            for name, c in read.connections.items()]
    rows += [{"connection": name, "vendor": "", "base_url": "", "secret": "", "valid": problem}
             for name, problem in read.problems.items()]
    say(f"connections in {read.path}")
    _show(rows, fmt)


@connections.command()
@shared_options
@FORMAT
def check(fmt: str) -> None:
    """Say every problem in the connections file, then run test_connection for each valid connection.

    Exit 0 when every connection passes, 1 when a test failed, 2 when the file has a problem.
    """
    from connector.connections import read_connections

    read = read_connections(_chosen_config())
    say(f"connections in {read.path}")
    for problem in read.problems.values():
        say(problem)
    if not read.connections and not read.problems:
        what = "defines no connection" if read.path.exists() else "does not exist"
        raise BadInput(f"connections check: {read.path} {what} (write one with `connector init`)")
    rows = asyncio.run(_test_all(list(read.connections), read.path)) if read.connections else []
    rows += [{"connection": name, "vendor": "", "reachability": "invalid", "authentication": "",
              "permissions": "", "status": "invalid"} for name in read.problems]
    _show(rows, fmt)
    if read.problems:
        sys.exit(EXIT_BAD_INPUT)
    if any(row["status"] != "success" for row in rows):
        sys.exit(EXIT_FAILED)


async def _test_all(names: list[str], path: Path) -> list[dict[str, str]]:
    """test_connection on each connection at once: a row per connection, each check ``pass`` or
    ``fail: why``, and the run's status."""
    from connector.api import arun_action

    envelopes = await asyncio.gather(
        *(arun_action("test_connection", {}, connection=name, config=path) for name in names)
    )
    results = []
    for name, envelope in zip(names, envelopes, strict=True):
        checks = {check["name"]: check for check in envelope.output.get("checks", [])}
        row = {"connection": name, "vendor": envelope.vendor or ""}
        row |= {kind: _check_cell(checks.get(kind)) for kind in ("reachability", "authentication", "permissions")}
        # With checks, the cells say what failed; without (no token, say), the error says why.
        failed = not checks and envelope.errors
        row["status"] = f"failed: {envelope.errors[0].message}" if failed else envelope.status
        results.append(row)
    return results


def _check_cell(check: dict[str, Any] | None) -> str:
    if check is None:
        return "-"
    return "pass" if check["ok"] else f"fail: {check['message']}"


def _show(rows: list[dict[str, str]], fmt: str) -> None:
    """Rows on stdout, by connection name: JSON, or a table for people, wrapped rather than cut."""
    from rich.table import Table

    from connector.output import console, to_json

    rows = sorted(rows, key=lambda row: row["connection"])
    with writing(sys.stdout, "stdout"):
        if fmt == "json":
            click.echo(to_json(rows))
            return
        table = Table(*(rows[0] if rows else ["connection"]))
        for row in rows:
            table.add_row(*row.values())
        console(sys.stdout, width=None if sys.stdout.isatty() else 160).print(table)
