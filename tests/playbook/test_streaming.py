"""A for_each over a step's records runs on each record as the step reads it, with the same results."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from typing import Any

import pytest

from connector.hookspecs import hookimpl
from connector.playbook import arun_playbook
from connector.plugins import Host
from connector.sandbox import SandboxConfig, running_sandbox


class Order:
    """Records, in order, the pages get_threats reads and the runs the for_each starts."""

    def __init__(self) -> None:
        self.events: list[str] = []
        self.actions: dict[str, str] = {}

    @hookimpl
    def action_started(self, run_id: str, action: str, vendor: str, connection: str, input: dict[str, Any]) -> None:
        self.actions[run_id] = action
        if action == "get_threat_notes":
            self.events.append("item")

    @hookimpl
    def page_fetched(self, run_id: str, vendor: str, path: str, page: int, records: int) -> None:
        if self.actions.get(run_id) == "get_threats":
            self.events.append(f"page {page}")


def playbook(for_each: str) -> dict[str, Any]:
    return {
        "name": "notes-of-threats",
        "steps": [
            {"id": "threats", "action": "get_threats", "vendor": "sentinelone",
             "input": {"limit": 6, "vendor_filters": {"limit": 2}}},
            {"id": "notes", "action": "get_threat_notes", "vendor": "sentinelone", "for_each": for_each,
             "concurrency": 1, "input": {"id": "${{ item.vendor_id }}"}},
        ],
        "outputs": {"notes": "steps.notes.output.items[].count"},
    }


@pytest.fixture(scope="module")
def sandbox_url() -> Iterator[str]:
    with running_sandbox(SandboxConfig(rate_limits=False, vendors=("sentinelone",), sizes={"sentinelone": 30})) as url:
        yield url


def run(book: dict[str, Any], sandbox_url: str) -> tuple[Any, list[str]]:
    order = Order()
    host = Host([order], entry_points=False)
    return asyncio.run(arun_playbook(book, sandbox=sandbox_url, host=host)), order.events


def test_for_each_items_start_before_the_source_read_its_last_page(sandbox_url: str) -> None:
    streamed, events = run(playbook("steps.threats.output.threats"), sandbox_url)
    assert streamed.status == "success"
    assert events.index("item") < events.index("page 3")  # the first item ran while pages were still coming
    assert events.count("item") == 6
    materialised, later = run(playbook("steps.threats.output.threats[*]"), sandbox_url)
    assert later == ["page 1", "page 2", "page 3", *["item"] * 6]
    assert streamed.outputs == materialised.outputs
    assert [step.status for step in streamed.steps] == [step.status for step in materialised.steps]
    # The source step's output holds its records as when the steps run one after the other.
    assert streamed.steps[0].envelopes[0].output == materialised.steps[0].envelopes[0].output
    assert len(streamed.steps[0].envelopes[0].output["threats"]) == 6
