"""Relative times in inputs (``now``, ``-24h``, ``7d``): resolved once on the run path, before validation."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from connector.errors import BadInput
from connector.plugins import default_host
from connector.sandbox import SandboxConfig
from connector.testing import RecordingTransport, run_in_sandbox
from connector.times import instant, resolved_times

NOW = datetime(2026, 3, 1, 12, 0, 0, 500, tzinfo=UTC)


def _stamp(moment: datetime) -> str:
    return moment.strftime("%Y-%m-%dT%H:%M:%SZ")


@pytest.fixture
def sandbox_config() -> SandboxConfig:
    """Overrides connector.testing's: a SentinelOne sandbox only."""
    return SandboxConfig(rate_limits=False, vendors=("sentinelone",))


@pytest.mark.parametrize(("text", "expected"), [
    ("now", "2026-03-01T12:00:00Z"),
    ("NOW", "2026-03-01T12:00:00Z"),
    ("-24h", "2026-02-28T12:00:00Z"),
    ("24h", "2026-02-28T12:00:00Z"),
    ("7d", "2026-02-22T12:00:00Z"),
    ("-90s", "2026-03-01T11:58:30Z"),
    ("-15m", "2026-03-01T11:45:00Z"),
    ("2w", "2026-02-15T12:00:00Z"),
])
def test_now_and_ages_are_instants_in_the_past(text: str, expected: str) -> None:
    assert instant(text, "input.since", NOW.replace(microsecond=0)) == expected


def test_an_rfc3339_time_or_a_date_is_left_for_the_schema() -> None:
    assert instant("2024-01-31T00:00:00Z", "input.since", NOW) is None
    assert instant("2024-01-31", "input.since", NOW) is None


@pytest.mark.parametrize("text", ["-24x", "+1h", "3 months"])
def test_an_age_it_cannot_read_names_the_field_and_the_rule(text: str) -> None:
    with pytest.raises(BadInput) as caught:
        instant(text, "input.since", NOW)
    assert caught.value.message.startswith(f"input.since: {text!r} is not a time: give RFC 3339")
    assert "units s, m, h, d, w" in caught.value.message


def test_an_age_before_the_first_year_is_refused() -> None:
    with pytest.raises(BadInput, match="before the first year"):
        instant("99999999d", "input.since", NOW)


def test_only_date_time_fields_are_resolved_through_refs_and_anyof() -> None:
    schemas = default_host().schemas
    document = {"since": "-1h", "until": "now", "limit": 5, "vendor_filters": {"first_seen_from": "2d"}}
    resolved = resolved_times(document, schemas.get("get_threats.input.json"),
                              schemas.resolver("get_threats.input.json"), "input", NOW)
    assert resolved == {"since": "2026-03-01T11:00:00Z", "until": "2026-03-01T12:00:00Z", "limit": 5,
                        "vendor_filters": {"first_seen_from": "2d"}}
    assert document["since"] == "-1h"  # a copy: the caller's input is left as given
    filters = resolved_times({"first_seen_from": "2d", "search": "7d"}, schemas.get("mysecutec.threat_filters.json"),
                             schemas.resolver("mysecutec.threat_filters.json"), "input.vendor_filters", NOW)
    assert filters == {"first_seen_from": "2026-02-27T12:00:00Z", "search": "7d"}


def test_a_run_sends_the_resolved_times(sandbox_transport: RecordingTransport) -> None:
    before = datetime.now(UTC).replace(microsecond=0)
    envelope = run_in_sandbox("get_threats", {"since": "-24h", "until": "now", "limit": 1,
                                              "vendor_filters": {"createdAt__gt": "7d"}},
                              vendor="sentinelone", transport=sandbox_transport)
    after = datetime.now(UTC).replace(microsecond=0)
    assert envelope.status == "success", envelope.errors
    params = dict(sandbox_transport.requests[0].params)
    assert params["updatedAt__gte"] in {_stamp(moment - timedelta(hours=24)) for moment in (before, after)}
    assert params["updatedAt__lte"] in {_stamp(before), _stamp(after)}
    assert params["createdAt__gt"] in {_stamp(moment - timedelta(days=7)) for moment in (before, after)}


def test_a_run_with_a_bad_age_fails_with_one_line(sandbox_transport: RecordingTransport) -> None:
    envelope = run_in_sandbox("get_threats", {"since": "-24x"}, vendor="sentinelone", transport=sandbox_transport)
    assert envelope.status == "failed" and envelope.exit_code == 2
    assert envelope.errors[0].message.startswith("input.since: '-24x' is not a time")
    assert sandbox_transport.requests == []
