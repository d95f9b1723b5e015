"""The ``sandbox`` command: serve the four vendor simulators on loopback."""

from __future__ import annotations

import socket

import click

from connector.cli.common import say, seconds, shared_options
from connector.connections import SANDBOX_TOKEN
from connector.errors import BadInput


@click.command(epilog="""\b
Fault kinds for --faults (KIND:RATE, KIND@N or KIND@N-M, comma-separated):
  429        Too Many Requests, Retry-After: 1
  500, 502   that status, with the vendor's JSON error body
  503        Service Unavailable, Retry-After: 1
  reset      the connection is reset before the answer
  slow       the real answer, 2 seconds late
  truncated  status 200, the JSON body cut in half
  html       status 502 with an HTML gateway page
  html200    status 200 with an HTML sign-in page
""")
@shared_options
@click.option("--host", default="127.0.0.1", show_default=True)
@click.option("--port", default=8800, show_default=True, type=click.IntRange(0, 65535))
@click.option("--seed", default=7, show_default=True, type=int)
@click.option("--size", "sizes", multiple=True, metavar="VENDOR=N", help="Records per vendor, e.g. sentinelone=5000.")
@click.option("--faults", metavar="SPEC", help="Fault injection, e.g. '429:0.1,503:0.05,reset:0.02' (kinds below).")
@click.option("--latency", default="0ms", show_default=True, help="Added to every answer, e.g. 20ms.")
@click.option("--no-rate-limits", is_flag=True, help="Switch off the vendors' documented rate limits.")
@click.option("--messy", default=0.0, metavar="RATE", type=click.FloatRange(0, 1),
              help="Share of records served with real-world damage (nulls as text, joined lists, bad addresses...).")
@click.option(
    "--token",
    default=SANDBOX_TOKEN,
    show_default=True,
    help="The token every simulator accepts (a test credential, not a secret: it may be on a command line).",
)
def sandbox(
    host: str,
    port: int,
    seed: int,
    sizes: tuple[str, ...],
    faults: str | None,
    latency: str,
    no_rate_limits: bool,
    token: str,
    messy: float,
) -> None:
    """Serve the four vendor simulators on loopback until interrupted.

    \b
    Each vendor is under http://HOST:PORT/<vendor> (sentinelone, mysecutec, nameshield,
    ciso_assistant) and accepts the --token in its own Authorization scheme, e.g.
    "Authorization: ApiToken sandbox-token" for SentinelOne. `connector run --sandbox-url URL`
    and `connector watch --sandbox-url URL` use the default token. A busy port: exit 2.
    """
    from connector.sandbox import SandboxConfig, serve
    from connector.sandbox.faults import FaultPlan
    from connector.server.listen import Bind, listening_socket

    if not token.strip() or not token.isascii() or not token.isprintable():
        raise BadInput("--token: must be one line of printable ASCII")
    try:
        config = SandboxConfig(
            seed=seed,
            sizes={**SandboxConfig().sizes, **_sizes(sizes)},
            faults=FaultPlan.parse(faults) if faults else None,
            latency_s=seconds(latency, "--latency"),
            rate_limits=not no_rate_limits,
            messy=messy,
            token=token,
        )
    except ValueError as exc:
        raise BadInput(str(exc)) from None
    sock = listening_socket(Bind(host, port), option="--host/--port")
    # Listening before the simulators are seeded: a client told the URL below waits in the backlog
    # instead of being refused.
    sock.listen(socket.SOMAXCONN)
    bound = sock.getsockname()[1]
    say(f"sandbox on http://{host}:{bound}/<vendor> (vendors: sentinelone, mysecutec, nameshield, ciso_assistant)")
    serve(config, host=host, port=bound, sock=sock)


def _sizes(pairs: tuple[str, ...]) -> dict[str, int]:
    sizes = {}
    for pair in pairs:
        vendor, _, number = pair.partition("=")
        if not number.isdigit():
            raise BadInput(f"--size: {pair!r} is not VENDOR=N")
        sizes[vendor] = int(number)
    return sizes
