"""The table for people: failure reasons whole under it, the status coloured on a terminal, no ANSI under NO_COLOR."""

from __future__ import annotations

import io

import pytest

from connector.envelope import Envelope, ErrorItem
from connector.output import write_table

REASON = " ".join(f"word{index}" for index in range(80))
"""A reason far longer than a cell (and than a line): it must be shown whole."""


class Terminal(io.StringIO):
    """A stream that says it is a terminal, as a console's stdout does."""

    def isatty(self) -> bool:
        return True


def partial() -> Envelope:
    threats = [{"uid": "s1:1", "severity": "high", "status": "new", "title": "a [bold]title[/bold]"}]
    return Envelope(action="get_threats", status="partial", output={"threats": threats, "count": 1},
                    errors=[ErrorItem(type="bad_vendor_answer", message=REASON, item="77")])


@pytest.fixture(autouse=True)
def colour_terminal(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("NO_COLOR", raising=False)
    monkeypatch.delenv("FORCE_COLOR", raising=False)
    monkeypatch.setenv("TERM", "xterm-256color")


def test_a_failure_reason_is_shown_whole_under_the_table_wrapped() -> None:
    stream = io.StringIO()
    write_table(partial(), stream)
    text = stream.getvalue()
    under = text[text.rindex("└"):].split("\n", 1)[1]
    assert " ".join(under.split()) == f"bad_vendor_answer error: 77: {REASON}"
    assert len(under.splitlines()) > 1 and all(len(line) <= 160 for line in under.splitlines())
    assert "a [bold]title[/bold]" in text  # a record's text is shown as it is, never read as markup


def test_a_failed_run_without_output_is_its_title_and_its_reason() -> None:
    stream = io.StringIO()
    failed = Envelope(action="get_threat", status="failed", errors=[ErrorItem(type="vendor", message="not found")])
    write_table(failed, stream)
    assert stream.getvalue() == "get_threat (failed)\nvendor error: not found\n"


def test_the_status_is_coloured_on_a_terminal_only() -> None:
    screen = Terminal()
    write_table(partial(), screen)
    assert "\x1b[3;33mpartial\x1b[0m" in screen.getvalue()  # yellow, in the italic title
    piped = io.StringIO()
    write_table(partial(), piped)
    assert "\x1b" not in piped.getvalue()


def test_no_color_writes_no_ansi_code_at_all(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("NO_COLOR", "yes")
    screen = Terminal()
    write_table(partial(), screen)
    assert "\x1b" not in screen.getvalue()
    assert "partial" in screen.getvalue() and "word79" in screen.getvalue()
