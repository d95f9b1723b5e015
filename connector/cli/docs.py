"""connector docs: write the reference pages generated from the code (see :mod:`connector.docs`)."""

from __future__ import annotations

from pathlib import Path

import click

from connector.cli.common import say, shared_options

README = "README.md"


@click.command()
@shared_options
@click.argument("directory", type=click.Path(file_okay=False, path_type=Path))
@click.option("--readme", type=click.Path(dir_okay=False, exists=True, path_type=Path),
              help=f"Also rewrite the actions x vendors table that ends this {README}.")
def docs(directory: Path, readme: Path | None) -> None:
    """Write a Markdown page per action and per vendor into DIRECTORY (actions/, vendors/, index.md)."""
    from connector.docs import generate, readme_with_table, write_docs
    from connector.errors import BadInput
    from connector.plugins import default_host
    from connector.sandbox import SandboxConfig, running_sandbox

    host = default_host()
    with running_sandbox(SandboxConfig(rate_limits=False)) as url:
        pages = generate(host, url)
    try:
        written = write_docs(directory, pages)
        if readme is not None:
            readme.write_text(readme_with_table(readme.read_text(encoding="utf-8"), host), encoding="utf-8")
    except OSError as exc:
        raise BadInput(f"docs: cannot write {exc.filename}: {exc.strerror}") from None
    say(f"wrote {len(written)} pages into {directory}" + (f" and the table of {readme}" if readme else ""))
