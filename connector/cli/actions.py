"""Commands that show the catalogue: list and describe.

They read the action files and schemas as plain data (:mod:`connector.catalog`), so they import
no plugin, no validator and no HTTP client; only when a third-party plugin is installed do they
load the plugin host, to show its actions too.
"""

from __future__ import annotations

import sys
from collections.abc import Callable
from typing import Any

import click

from connector.catalog import canonical_name, declared_actions, schema_file, third_party_plugins
from connector.cli.common import shared_options
from connector.errors import BadInput
from connector.output import to_json
from connector.streams import writing


@click.command("list")
@shared_options
@click.option("--format", "fmt", type=click.Choice(["table", "json"]), default="table", show_default=True)
def list_actions(fmt: str) -> None:
    """List every action with its vendors."""
    specs = sorted(catalogue()[0], key=lambda spec: spec["name"])
    with writing(sys.stdout, "stdout"):
        if fmt == "json":
            rows = [{"name": s["name"], "title": s["title"], "mutates": s["mutates"], "vendors": list(s["vendors"])}
                    for s in specs]
            click.echo(to_json(rows))
            return
        names = [spec["name"].replace("_", "-") for spec in specs]
        width = max(len(name) for name in names)
        for name, spec in zip(names, specs, strict=True):
            mark = "mutates" if spec["mutates"] else "read"
            click.echo(f"{name:<{width}}  {mark:<7}  {', '.join(spec['vendors']):<32}  {spec['title']}")


@click.command()
@shared_options
@click.argument("action")
@click.option("--format", "fmt", type=click.Choice(["json", "markdown", "table"]), default="json", show_default=True,
              help="json: the action and its schemas, for programs; markdown: its docs page; table: for people.")
def describe(action: str, fmt: str) -> None:
    """Show an action: what it does, its vendors and endpoints, its input and output schemas."""
    specs, schema = catalogue()
    wanted = canonical_name(action)
    spec = next((spec for spec in specs if spec["name"] == wanted), None)
    if spec is None:
        from connector.suggest import did_you_mean

        hint = did_you_mean(action, [spec["name"] for spec in specs], dashes=True)
        raise BadInput(f"action {action!r} is not known (see `connector list`){hint}")
    if fmt != "json":
        with writing(sys.stdout, "stdout"):
            _describe_for_people(wanted, fmt)
        return
    document = {key: value for key, value in spec.items() if key not in ("input", "output")}
    document["input_schema"] = schema(spec["input"])
    document["output_schema"] = schema(spec["output"])
    with writing(sys.stdout, "stdout"):  # click.echo flushes: a closed pipe or a full disk shows here
        click.echo(to_json(document))


def _describe_for_people(name: str, fmt: str) -> None:
    """The action's docs page (markdown), or the same facts as tables on stdout (table)."""
    # The plugin host and the docs generator: for these formats only, json needs neither.
    from connector.docs import action_markdown, no_fields, schema_fields
    from connector.plugins import default_host

    host = default_host()
    spec = host.action(name)
    if fmt == "markdown":
        click.echo(action_markdown(spec, host), nl=False)
        return
    from rich.table import Table

    from connector.output import console as colour_console

    console = colour_console(sys.stdout, width=None if sys.stdout.isatty() else 120)
    console.print(f"[bold]{spec.cli_name}[/bold]: {spec.title} ({'mutates' if spec.mutates else 'reads only'})",
                  highlight=False)
    console.print(spec.description.strip(), highlight=False)
    vendors = Table("vendor", "endpoints", "the API token needs", title="vendors", title_justify="left")
    for vendor, binding in spec.vendors.items():
        vendors.add_row(vendor, "\n".join(binding.endpoints), binding.role or "not stated")
    console.print(vendors)
    for title, schema_name in (("input", spec.input), ("output", spec.output)):
        schema = host.schemas.get(schema_name)
        fields = schema_fields(schema)
        if not fields:
            console.print(f"{title} ({schema_name}): {no_fields(schema)}", highlight=False)
            continue
        table = Table("field", "type", "required", "description", title=f"{title} ({schema_name})",
                      title_justify="left")
        for name, kind, required, text in fields:
            table.add_row(name, kind.replace("`", ""), required, text)
        console.print(table)


def catalogue() -> tuple[list[dict[str, Any]], Callable[[str], dict[str, Any]]]:
    """The actions as declared, and how to read a schema: from the files, or from the host when a
    third-party plugin may add actions, vendors or schemas."""
    if not third_party_plugins():
        return declared_actions(), schema_file
    from connector.plugins import default_host

    host = default_host()
    return [spec.model_dump(exclude_none=True) for spec in host.actions.values()], host.schemas.get
