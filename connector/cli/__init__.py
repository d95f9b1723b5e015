"""The command line: list, describe, run, playbook, sandbox, watch and serve; one module per family of commands.

The envelope goes to stdout; people's messages go to stderr, one line per problem. Exit codes:
0 success, 1 the action failed (vendor or network), 2 bad input or config, 3 partial success.
"""

from __future__ import annotations

import sys
from pathlib import Path

import click

from connector import __version__
from connector.cli.actions import describe, list_actions, run
from connector.cli.common import AUDIT_HELP, CONFIG_HELP, VERBOSE_HELP, say
from connector.cli.playbooks import playbook
from connector.cli.sandbox import sandbox
from connector.cli.serve import serve
from connector.cli.watch import watch
from connector.envelope import EXIT_BAD_INPUT
from connector.errors import ConnectorError

__all__ = ["cli", "main"]


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
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


for command in (list_actions, describe, run, playbook, sandbox, serve, watch):
    cli.add_command(command)


def main() -> None:
    """Entry point: one line and exit code 2 for bad input or usage, never a traceback."""
    try:
        cli.main(standalone_mode=False)
    except click.exceptions.Abort:
        say("interrupted")
        sys.exit(130)
    except click.ClickException as exc:
        say(exc.format_message().replace("\n", " "))
        sys.exit(EXIT_BAD_INPUT)
    except ConnectorError as exc:
        say(exc.message)
        sys.exit(exc.exit_code)
