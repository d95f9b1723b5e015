"""connector new vendor NAME: the package of a vendor plugin, ready to test and fill in.

The files come from the templates in ``connector/scaffold/`` (``string.Template``, ``$name``);
docs/plugins.md walks through what each one is for.
"""

from __future__ import annotations

import re
from pathlib import Path
from string import Template

import click

from connector.cli.common import say, shared_options
from connector.errors import BadInput

SCAFFOLD = Path(__file__).resolve().parent.parent / "scaffold"
NAME = re.compile(r"^[a-z][a-z0-9_]{0,39}$")
FILES = {
    "pyproject.toml": "pyproject.toml.tmpl",
    "connector_$name/__init__.py": "plugin.py.tmpl",
    "connector_$name/actions/${name}_ping.yaml": "action.yaml.tmpl",
    "connector_$name/schemas/${name}_ping.input.json": "input.json.tmpl",
    "connector_$name/schemas/${name}_ping.output.json": "output.json.tmpl",
    "tests/test_connector_$name.py": "test.py.tmpl",
}
"""Path in the new package (a template itself) -> the template of its content."""


@click.group()
def new() -> None:
    """Start a plugin package: `connector new vendor NAME` (see docs/plugins.md)."""


@new.command()
@shared_options
@click.argument("name")
@click.option("--title", help="The vendor's name for people (default: NAME capitalised).")
@click.option("--into", "parent", type=click.Path(file_okay=False, path_type=Path), default=Path("."),
              show_default=True, help="Where the package folder connector-NAME is made.")
def vendor(name: str, title: str | None, parent: Path) -> None:
    """Write connector-NAME/: pyproject with the entry point, the vendor, one action, its schemas and a test."""
    from connector import __version__
    from connector.plugins import VENDOR_PLUGINS

    if not NAME.match(name):
        raise BadInput(f"new vendor: NAME {name!r} must be lower-case letters, digits and _, starting with a letter")
    if name in VENDOR_PLUGINS:
        raise BadInput(f"new vendor: {name!r} is a built-in vendor (choose another name)")
    target = parent / f"connector-{name.replace('_', '-')}"
    if target.exists():
        raise BadInput(f"new vendor: {target} exists and is left as it is")
    values = {"name": name, "upper": name.upper(), "dist": name.replace("_", "-"), "version": __version__,
              "title": title or name.replace("_", " ").title()}
    try:
        for relative, template in FILES.items():
            path = target / Template(relative).substitute(values)
            path.parent.mkdir(parents=True, exist_ok=True)
            text = Template((SCAFFOLD / template).read_text(encoding="utf-8")).substitute(values)
            path.write_text(text, encoding="utf-8")
    except OSError as exc:
        raise BadInput(f"new vendor: cannot write {exc.filename}: {exc.strerror}") from None
    click.echo(str(target))
    say(f"wrote {target}: `pip install -e {target}` then `pytest {target}/tests` (see docs/plugins.md)")
