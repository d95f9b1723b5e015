"""``connector export``: the SOAR platform exports (a Shuffle app, Cortex analyzers and responders, an XSOAR pack)."""

from __future__ import annotations

from pathlib import Path

import click

from connector.cli.common import say
from connector.errors import BadInput
from connector.export import PLATFORMS
from connector.export import export as write_export


@click.command("export")
@click.argument("platform", metavar="PLATFORM", type=click.Choice(sorted(PLATFORMS)))
@click.argument("directory", type=click.Path(file_okay=False, path_type=Path))
def export(platform: str, directory: Path) -> None:
    """Write PLATFORM's integration (shuffle: an app; cortex: analyzers and responders; xsoar: a pack) into DIRECTORY.

    \b
    All come from the actions and their schemas, as `connector describe` shows them:
      connector export shuffle ./shuffle-apps      # then connector/<version>/ is the app
      connector export cortex ./cortex             # analyzers/Connector and responders/Connector
      connector export xsoar ./Connector           # a content pack: pack_metadata.json, Integrations/Connector
    """
    try:
        written = write_export(platform, directory)
    except OSError as exc:
        raise BadInput(f"DIRECTORY: cannot write {exc.filename or directory}: {exc.strerror}") from None
    for path in written:
        click.echo(str(path))
    say(f"{platform}: {len(written)} files written under {directory}")
