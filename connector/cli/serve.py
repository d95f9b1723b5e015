"""The ``serve`` command: the HTTP API for SOAR platforms (see :mod:`connector.server`)."""

from __future__ import annotations

import re
from contextlib import nullcontext
from pathlib import Path

import click

from connector.cli.common import say, shared_options
from connector.errors import BadInput

_SIZE = re.compile(r"(\d+)\s*(b|kb|kib|mb|mib)?", re.IGNORECASE)
_SIZE_UNITS = {"b": 1, "kb": 1000, "kib": 1024, "mb": 1000**2, "mib": 1024**2}


@click.command()
@shared_options
@click.option("--bind", default="127.0.0.1:8080", show_default=True, metavar="HOST:PORT", help="Port 0: any free one.")
@click.option(
    "--token-file",
    type=click.Path(dir_okay=False, path_type=Path),
    help="File holding the API token (default: $CONNECTOR_SERVE_TOKEN); never the token itself.",
)
@click.option("--max-body", default="1MiB", show_default=True, help="Largest request body, e.g. 64KiB.")
@click.option(
    "--playbooks",
    type=click.Path(exists=True, file_okay=False, path_type=Path),
    help="Folder of playbooks runnable by name (NAME.yaml).",
)
@click.option("--sandbox", is_flag=True, help="Serve one embedded sandbox: connection 'sandbox', playbooks run on it.")
@click.option("--broker", metavar="URL", help="Queue runs for `connector worker`s on this Redis broker: POST answers "
              "202 and a job id, GET /v1/jobs/ID the result.")
@click.option("--tls-cert", type=click.Path(exists=True, dir_okay=False, path_type=Path), help="PEM certificate.")
@click.option("--tls-key", type=click.Path(exists=True, dir_okay=False, path_type=Path), help="PEM private key.")
@click.pass_context
def serve(
    ctx: click.Context,
    bind: str,
    token_file: Path | None,
    max_body: str,
    playbooks: Path | None,
    sandbox: bool,
    broker: str | None,
    tls_cert: Path | None,
    tls_key: Path | None,
) -> None:
    """Serve the HTTP API until SIGINT or SIGTERM (then stop gracefully, exit 0).

    \b
    Every route but GET /healthz needs Authorization: Bearer <token>:
      GET  /v1/actions                the manifest
      POST /v1/actions/NAME/run       {"input": {...}, "connection": "s1"}
      POST /v1/playbooks/run          {"playbook": "NAME" or {...}, "input": {...}}
      GET  /v1/jobs/ID                with --broker: a queued run's state, then its answer
    """
    from connector.sandbox import running_sandbox
    from connector.server import ServerSettings, create_app
    from connector.server.auth import load_token
    from connector.server.listen import check_transport, listening_socket, parse_bind
    from connector.server.listen import serve as serve_app

    executor = None
    if broker is not None:
        from connector.jobs.executor import Workers

        executor = Workers(broker)
    address = parse_bind(bind)
    if (tls_cert is None) != (tls_key is None):
        raise BadInput("--tls-cert and --tls-key: give both or neither")
    tls = (tls_cert, tls_key) if tls_cert and tls_key else None
    check_transport(address, tls is not None)
    limit = _bytes(max_body, "--max-body")
    token = load_token(token_file)
    sock = listening_socket(address)
    with running_sandbox() if sandbox else nullcontext(None) as sandbox_url:
        settings = ServerSettings(
            token=token, max_body=limit, playbooks=playbooks, sandbox_url=sandbox_url, config=ctx.obj["config"],
            executor=executor,
        )
        serve_app(
            create_app(settings),
            sock,
            tls=tls,
            started=lambda port: say(f"serving on {address.url(port, tls is not None)}"),
        )
    say("stopped")


def _bytes(text: str, option: str) -> int:
    """A size like ``1MiB``, ``64KiB``, ``500kb`` or ``2048`` in bytes; BadInput naming ``option`` otherwise."""
    match = _SIZE.fullmatch(text.strip())
    if match is None or int(match[1]) == 0:
        raise BadInput(f"{option}: {text!r} is not a size like 1MiB, 64KiB or 2048 (bytes, more than 0)")
    return int(match[1]) * _SIZE_UNITS[(match[2] or "b").lower()]
