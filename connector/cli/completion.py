"""Shell completion for bash, zsh and fish: commands and options (click's own), and the values of
every ``action`` argument and ``--connection`` and ``--vendor`` option.

The values are attached by parameter name (:data:`COMPLETERS`) when a command is loaded for
completion, so that every command taking an action, a connection or a vendor completes them alike.
"""

from __future__ import annotations

import sys
from collections.abc import Callable
from pathlib import Path

import click
from click.shell_completion import CompletionItem, get_completion_class

from connector.cli.common import COMPLETE_VAR
from connector.errors import BadInput
from connector.streams import writing

SHELLS = ("bash", "zsh", "fish")
PROG = "connector"


def complete_actions(ctx: click.Context, param: click.Parameter, incomplete: str) -> list[CompletionItem]:
    """Action names as typed on the command line (``get-threats``), with their titles."""
    from connector.cli.actions import catalogue

    specs = catalogue()[0]
    names = {spec["name"].replace("_", "-"): spec["title"] for spec in specs}
    return [CompletionItem(name, help=title) for name, title in sorted(names.items()) if name.startswith(incomplete)]


def complete_connections(ctx: click.Context, param: click.Parameter, incomplete: str) -> list[CompletionItem]:
    """Connection names from the connections file in force (``--config`` given so far counts), and sandbox."""
    from connector.connections import SANDBOX, read_connections
    from connector.errors import ConnectorError

    try:
        read = read_connections(_config(ctx))
    except ConnectorError:
        return []  # an unreadable file completes nothing; running the command says why
    names = sorted({SANDBOX, *read.connections, *read.problems})
    return [CompletionItem(name) for name in names if name.startswith(incomplete)]


def complete_vendors(ctx: click.Context, param: click.Parameter, incomplete: str) -> list[CompletionItem]:
    """Vendor names: the built-in ones, and those of installed plugins."""
    from connector.catalog import third_party_plugins
    from connector.plugins import VENDOR_PLUGINS

    names = set(VENDOR_PLUGINS)
    if third_party_plugins():
        from connector.plugins import default_host

        names |= set(default_host().vendors)
    return [CompletionItem(name) for name in sorted(names) if name.startswith(incomplete)]


Completer = Callable[[click.Context, click.Parameter, str], list[CompletionItem]]
COMPLETERS: dict[str, Completer] = {
    "action": complete_actions,
    "connection": complete_connections,
    "vendor": complete_vendors,
    "flag_connection": complete_connections,
    "flag_vendor": complete_vendors,
}
"""Parameter name -> what completes its value."""


def attach(command: click.Command) -> None:
    """Give each parameter of ``command`` named in :data:`COMPLETERS` its completer."""
    for param in command.params:
        completer = COMPLETERS.get(param.name or "")
        if completer is not None:
            # click keeps a parameter's custom completer here; the shell_complete= argument sets it too.
            param._custom_shell_complete = completer


def _config(ctx: click.Context) -> Path | None:
    """The --config given so far, after or before the command, else None (the default path)."""
    chosen = ctx.params.get("shared_config") or ctx.find_root().params.get("config")
    return Path(chosen) if chosen else None


@click.command()
@click.argument("shell", type=click.Choice(SHELLS))
def completion(shell: str) -> None:
    """Print the completion script for SHELL (bash, zsh or fish); see the README to install it."""
    script = get_completion_class(shell)
    if script is None:  # every name in SHELLS is one of click's: kept as one line, not an assert
        raise BadInput(f"completion: {shell} is not supported")
    with writing(sys.stdout, "stdout"):
        root = click.get_current_context().find_root().command
        click.echo(script(root, {}, PROG, COMPLETE_VAR).source())
