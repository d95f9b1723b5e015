"""The ``sandbox`` command: serve the four vendor simulators on loopback."""

from __future__ import annotations

import click

from connector.cli.common import say, seconds
from connector.errors import BadInput


@click.command()
@click.option("--host", default="127.0.0.1", show_default=True)
@click.option("--port", default=8800, show_default=True, type=click.IntRange(0, 65535))
@click.option("--seed", default=7, show_default=True, type=int)
@click.option("--size", "sizes", multiple=True, metavar="VENDOR=N", help="Records per vendor, e.g. sentinelone=5000.")
@click.option("--faults", metavar="SPEC", help="Fault injection, e.g. '429:0.1,503:0.05,reset:0.02'.")
@click.option("--latency", default="0ms", show_default=True, help="Added to every answer, e.g. 20ms.")
@click.option("--no-rate-limits", is_flag=True, help="Switch off the vendors' documented rate limits.")
@click.option("--messy", default=0.0, metavar="RATE", type=click.FloatRange(0, 1),
              help="Share of records served with real-world damage (nulls as text, joined lists, bad addresses...).")
def sandbox(
    host: str, port: int, seed: int, sizes: tuple[str, ...], faults: str | None, latency: str, no_rate_limits: bool,
    messy: float,
) -> None:
    """Serve the four vendor simulators on loopback until interrupted."""
    from connector.sandbox import SandboxConfig, serve
    from connector.sandbox.faults import FaultPlan

    try:
        config = SandboxConfig(
            seed=seed,
            sizes={**SandboxConfig().sizes, **_sizes(sizes)},
            faults=FaultPlan.parse(faults) if faults else None,
            latency_s=seconds(latency, "--latency"),
            rate_limits=not no_rate_limits,
            messy=messy,
        )
    except ValueError as exc:
        raise BadInput(str(exc)) from None
    say(f"sandbox on http://{host}:{port}/<vendor> (vendors: sentinelone, mysecutec, nameshield, ciso_assistant)")
    serve(config, host=host, port=port)


def _sizes(pairs: tuple[str, ...]) -> dict[str, int]:
    sizes = {}
    for pair in pairs:
        vendor, _, number = pair.partition("=")
        if not number.isdigit():
            raise BadInput(f"--size: {pair!r} is not VENDOR=N")
        sizes[vendor] = int(number)
    return sizes
