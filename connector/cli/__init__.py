"""The command line: list, describe, run, playbook, sandbox, watch, serve, export, worker, submit, result,
init and connections; a module per family.

The envelope goes to stdout; people's messages go to stderr, one line per problem. Exit codes:
0 success, 1 the action failed (vendor or network), 2 bad input or config, 3 partial success.

Commands are imported only when they run: ``connector --help`` reads their one-line help from
:data:`COMMANDS` (a test keeps it equal to each command's own), so it imports click and nothing else.
"""

from __future__ import annotations

import os
import sys
from importlib import import_module
from pathlib import Path

import click

from connector import __version__
from connector.cli.common import AUDIT_HELP, COMPLETE_VAR, CONFIG_HELP, VERBOSE_HELP, say
from connector.deprecations import show_deprecations_with
from connector.errors import EXIT_BAD_INPUT, as_connector_error
from connector.streams import CLOSED_PIPE_EXIT

__all__ = ["COMMANDS", "cli", "main"]

COMMANDS: dict[str, tuple[str, str]] = {
    "completion": ("connector.cli.completion:completion",
                   "Print the completion script for SHELL (bash, zsh or fish); see the README to install it."),
    "connections": ("connector.cli.connections:connections",
                    "Show the connections file, or check every connection in it."),
    "describe": ("connector.cli.actions:describe",
                 "Show an action: what it does, its vendors and endpoints, its input and output schemas."),
    "docs": ("connector.cli.docs:docs",
             "Write a Markdown page per action and per vendor into DIRECTORY (actions/, vendors/, index.md)."),
    "export": ("connector.cli.export:export",
               "Write PLATFORM's integration (shuffle: an app; cortex: analyzers and responders; xsoar: a pack) "
               "into DIRECTORY."),
    "init": ("connector.cli.connections:init",
             "Write a commented connections file at the default path (printed), one connection per vendor."),
    "list": ("connector.cli.actions:list_actions", "List every action with its vendors."),
    "new": ("connector.cli.new:new", "Start a plugin package: `connector new vendor NAME` (see docs/plugins.md)."),
    "playbook": ("connector.cli.playbooks:playbook",
                 "Chain actions: check or run a playbook file (format: schemas/playbook.json)."),
    "run": ("connector.cli.run:run", "Run one action and print its envelope."),
    "result": ("connector.cli.jobs:result",
               "Print a queued job's envelope (exit code as `connector run`), or its state while it runs."),
    "sandbox": ("connector.cli.sandbox:sandbox",
                "Serve the four vendor simulators on loopback until interrupted."),
    "serve": ("connector.cli.serve:serve",
              "Serve the HTTP API until SIGINT or SIGTERM (then stop gracefully, exit 0)."),
    "submit": ("connector.cli.jobs:submit",
               "Queue one action for the workers; prints its job id (see `connector result`)."),
    "watch": ("connector.cli.watch:watch",
              "Poll get_threats, list_events or list_incidents; print each new or changed item as NDJSON."),
    "worker": ("connector.cli.jobs:worker",
               "Run queued actions and playbooks until SIGTERM or SIGINT (running tasks finish first)."),
}
"""Command name -> (``module:attribute`` of the command, its one-line help)."""


class LazyGroup(click.Group):
    """A group whose commands are imported when they are called, not when the help lists them."""

    def list_commands(self, ctx: click.Context) -> list[str]:
        return sorted({*COMMANDS, *self.commands})

    def get_command(self, ctx: click.Context, cmd_name: str) -> click.Command | None:
        if cmd_name in self.commands or cmd_name not in COMMANDS:
            return self.commands.get(cmd_name)
        module, attribute = COMMANDS[cmd_name][0].split(":")
        command: click.Command = getattr(import_module(module), attribute)
        if COMPLETE_VAR in os.environ:  # the shell asks for completions: action, connection and vendor values too
            from connector.cli.completion import attach

            for each in [command, *getattr(command, "commands", {}).values()]:
                attach(each)
        self.add_command(command, cmd_name)
        return command

    def resolve_command(
        self, ctx: click.Context, args: list[str]
    ) -> tuple[str | None, click.Command | None, list[str]]:
        """The command ``args`` name; an unknown one is a usage error with a close name offered."""
        name = args[0] if args else ""
        if args and self.get_command(ctx, name) is None and not name.startswith("-"):
            from connector.suggest import closest

            found = closest(name, self.list_commands(ctx))
            if found is not None:
                ctx.fail(f"No such command {name!r}; did you mean {found!r}?")
        return super().resolve_command(ctx, args)

    def format_commands(self, ctx: click.Context, formatter: click.HelpFormatter) -> None:
        names = self.list_commands(ctx)
        limit = formatter.width - 6 - max(len(name) for name in names)
        rows = [(name, click.Command(name, help=COMMANDS[name][1]).get_short_help_str(limit)) for name in names]
        with formatter.section("Commands"):
            formatter.write_dl(rows)


@click.group(cls=LazyGroup, context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(__version__, prog_name="connector")
@click.option("-v", "--verbose", count=True, help=VERBOSE_HELP)
@click.option("--config", type=click.Path(dir_okay=False, path_type=Path), envvar="CONNECTOR_CONFIG", help=CONFIG_HELP)
@click.option("--audit", type=click.Path(dir_okay=False, path_type=Path), envvar="CONNECTOR_AUDIT", help=AUDIT_HELP)
@click.pass_context
def cli(ctx: click.Context, verbose: int, config: Path | None, audit: Path | None) -> None:
    """SOAR-style actions against SentinelOne, MySecutec TAM, Nameshield CTI and CISO Assistant.

    -v, --config and --audit may also follow the command, as in
    `connector run get-threats --config FILE`.

    \b
    Exit codes, for scripts and SOAR playbooks to branch on:
      0  success
      1  the action failed: vendor, network, or connector itself (one line)
      2  bad input or configuration: input, arguments, connections, secrets
      3  partial success: some items failed (the envelope's errors[].item)
    """
    # Applied by each command (connector.cli.common.shared_options), which may add to them.
    ctx.obj = {"config": config, "audit": audit, "verbose": verbose}
    # An input's deprecated field name is one "connector: ..." line on stderr, like every other message.
    show_deprecations_with(say)


def main() -> None:
    """Entry point: one line and the documented exit code for every failure, never a traceback.

    An error nobody foresaw is one line too, ``internal error: ...``, exit 1; ``-vv`` adds its traceback.
    """
    try:
        # prog_name: `python -m connector` is the same command, and its completion variable the same.
        cli.main(standalone_mode=False, prog_name="connector", complete_var=COMPLETE_VAR)
    except click.exceptions.Abort:
        say("interrupted")
        sys.exit(130)
    except click.ClickException as exc:
        say(exc.format_message().replace("\n", " "))
        sys.exit(EXIT_BAD_INPUT)
    except Exception as exc:  # the promise is "never a traceback": the boundary guard keeps it
        error = as_connector_error(exc)
        if error.exit_code != CLOSED_PIPE_EXIT:  # a closed pipe says nothing: its reader is gone
            say(error.message)
        sys.exit(error.exit_code)
