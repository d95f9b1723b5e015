"""The generated Shuffle app against Shuffle's conventions: its repository checker, types, examples, image."""

from __future__ import annotations

import base64
import tomllib
from pathlib import Path
from typing import Any

import pytest
import yaml

from connector.export.runtime import SHUFFLE_USAGE, shuffle_action
from connector.export.shuffle import wheel_name
from tests.export.conftest import BAD_TOKEN, TOKEN, direct, run_program

ROOT = Path(__file__).resolve().parents[2]
PNG = b"\x89PNG\r\n\x1a\n"


def api(exported: Path) -> dict[str, Any]:
    document: dict[str, Any] = yaml.safe_load((exported / "shuffle" / "connector" / "0.1.0" / "api.yaml").read_text())
    return document


def test_shuffle_repository_checker_passes(exported: Path) -> None:
    """What analyze.py in Shuffle's python-apps checks of each app folder, in our words."""
    pytest.importorskip("shuffle_sdk")
    folder = exported / "shuffle" / "connector" / "0.1.0"
    document = api(exported)
    assert document["name"].lower().replace(" ", "-").replace(".", "-") == folder.parent.name
    assert document["app_version"] == folder.name
    assert document["large_image"].startswith("data:image/png;base64,")
    assert "svg" not in document["large_image"]
    assert base64.b64decode(document["large_image"].split(",", 1)[1]).startswith(PNG)
    program = (folder / "src" / "app.py").read_text()
    assert all(action["name"] in program for action in document["actions"])
    # The checker runs the program bare and wants something on stdout (or a missing module).
    bare = run_program(["src/app.py"], folder)
    assert (bare.returncode, bare.stdout.strip()) == (2, SHUFFLE_USAGE)


def test_parameter_types_and_examples_follow_shuffle(exported: Path, sandbox_url: str) -> None:
    document = api(exported)
    parameters = [(action["name"], param) for action in document["actions"] for param in action["parameters"]]
    for action, param in parameters:
        kind = param["schema"]["type"]
        assert kind in ("string", "bool"), (action, param["name"])
        assert (kind == "bool") == (param.get("options") == ["false", "true"]), (action, param["name"])
        assert param["example"], (action, param["name"])
    examples = {(action, param["name"]): param["example"] for action, param in parameters}
    # The examples are the sandbox's own records: ids the vendors know.
    for action, vendor, key in (("get_threats", "sentinelone", "threats"), ("list_incidents", "ciso_assistant",
                                                                             "incidents")):
        found = direct(action, {"ids": [examples[action, "ids"]]}, vendor, sandbox_url)
        assert [record["vendor_id"] for record in found[key]] == [examples[action, "ids"]]
    assert examples["get_threat_notes", "id"] == examples["get_threats", "ids"]
    event = direct("get_event", {"id": examples["get_event", "id"]}, "nameshield", sandbox_url)["event"]
    assert event["vendor_id"] == examples["get_event", "id"]

def test_contact_comes_from_pyproject(exported: Path) -> None:
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    assert api(exported)["contact_info"] == {"name": project["authors"][0]["name"],
                                             "url": project["urls"]["Homepage"]}


def test_image_builds_from_the_sdk_image_and_only_our_wheel(exported: Path) -> None:
    folder = exported / "shuffle" / "connector" / "0.1.0"
    dockerfile = (folder / "Dockerfile").read_text()
    stages = [line.split()[1] for line in dockerfile.splitlines() if line.startswith("FROM ")]
    assert stages == ["frikky/shuffle:app_sdk", "base", "base"]
    assert "ENV SHUFFLE_APP_SDK_TIMEOUT=$ACTION_TIMEOUT" in dockerfile
    requirements = (folder / "requirements.txt").read_text().splitlines()
    assert requirements == [f"connector-soar @ file:///wheels/{wheel_name('0.1.0')}", "shuffle-sdk>=0.0.41"]


def test_a_failure_carries_reason(sandbox_url: str) -> None:
    refused = shuffle_action("get_threats", url=f"{sandbox_url}/sentinelone", apikey=BAD_TOKEN, verify_tls="",
                             vendor="sentinelone", values={"limit": "1"})
    assert (refused["success"], refused["exit_code"]) == (False, 1)
    assert refused["reason"] == refused["errors"][0]["message"]
    assert refused["reason"].startswith("sentinelone: GET /web/api/v2.1/threats: 401")
    bad = shuffle_action("get_threats", url=f"{sandbox_url}/sentinelone", apikey=BAD_TOKEN, verify_tls="",
                         vendor="sentinelone", values={"limit": "many"})
    assert bad["reason"] == "input.limit: 'many' is not an integer"
    fine = shuffle_action("test_connection", url=f"{sandbox_url}/nameshield", apikey=TOKEN, verify_tls="",
                          vendor="nameshield", values={})
    assert fine["success"] is True and "reason" not in fine
