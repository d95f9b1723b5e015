"""What a plugin author meets: the scaffold, the action-file format, --sandbox without a simulator."""

from __future__ import annotations

import asyncio
import os
import subprocess
import sys
from pathlib import Path

import connector_acme as acme
import httpx
import pytest
import yaml
from jsonschema import Draft202012Validator

from connector.actions import check_action_files
from connector.api import arun_action
from connector.catalog import ENTRY_POINT_GROUP, schema_file
from connector.connections import Connection
from connector.errors import ConfigError
from connector.plugins import Host

CONNECTOR = [sys.executable, "-m", "connector"]
ROOT = Path(__file__).resolve().parent.parent


def test_new_vendor_scaffolds_a_package_whose_test_passes(tmp_path: Path) -> None:
    made = subprocess.run([*CONNECTOR, "new", "vendor", "widget_co", "--title", "Widget Co", "--into", str(tmp_path)],
                          capture_output=True, text=True, timeout=60)
    assert made.returncode == 0, made.stderr
    package = tmp_path / "connector-widget-co"
    assert made.stdout.strip() == str(package)
    assert sorted(str(path.relative_to(package)) for path in package.rglob("*") if path.is_file()) == [
        "connector_widget_co/__init__.py", "connector_widget_co/actions/widget_co_ping.yaml",
        "connector_widget_co/schemas/widget_co_ping.input.json",
        "connector_widget_co/schemas/widget_co_ping.output.json", "pyproject.toml",
        "tests/test_connector_widget_co.py",
    ]
    pyproject = (package / "pyproject.toml").read_text()
    assert '[project.entry-points.connector]\nwidget_co = "connector_widget_co"' in pyproject
    action = yaml.safe_load((package / "connector_widget_co/actions/widget_co_ping.yaml").read_text())
    assert list(Draft202012Validator(schema_file("action.json")).iter_errors(action)) == []
    tested = subprocess.run([sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", "-p", "no:xdist",
                             str(package / "tests")], capture_output=True, text=True, timeout=120, cwd=tmp_path,
                            env={**os.environ, "PYTHONPATH": str(package)})
    assert tested.returncode == 0, tested.stdout + tested.stderr
    assert "3 passed" in tested.stdout
    again = subprocess.run([*CONNECTOR, "new", "vendor", "widget_co", "--into", str(tmp_path)],
                           capture_output=True, text=True, timeout=60)
    assert again.returncode == 2 and again.stderr == f"connector: new vendor: {package} exists and is left as it is\n"


@pytest.mark.parametrize(("name", "message"), [
    ("Widget", "NAME 'Widget' must be lower-case letters, digits and _, starting with a letter"),
    ("sentinelone", "'sentinelone' is a built-in vendor (choose another name)"),
])
def test_new_vendor_refuses_a_bad_name(tmp_path: Path, name: str, message: str) -> None:
    refused = subprocess.run([*CONNECTOR, "new", "vendor", name, "--into", str(tmp_path)],
                             capture_output=True, text=True, timeout=60)
    assert refused.returncode == 2 and refused.stderr == f"connector: new vendor: {message}\n"


def test_the_example_plugin_passes_its_own_tests() -> None:
    example = ROOT / "examples" / "plugins" / "acme"
    tested = subprocess.run([sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", "-p", "no:xdist",
                             str(example / "tests")], capture_output=True, text=True, timeout=120, cwd=example,
                            env={**os.environ, "PYTHONPATH": str(example)})
    assert tested.returncode == 0, tested.stdout + tested.stderr


def bad_plugin(tmp_path: Path, binding: str) -> Path:
    package = tmp_path / "bad_plugin"
    (package / "actions").mkdir(parents=True)
    (package / "__init__.py").write_text(
        "from pathlib import Path\nfrom connector.hookspecs import hookimpl\n\n\n@hookimpl\n"
        "def register_actions(register):\n    register(Path(__file__).parent / 'actions')\n"
    )
    (package / "actions" / "bad_ping.yaml").write_text(
        "name: bad_ping\ntitle: Bad\ndescription: d\nmutates: false\ninput: a.json\noutput: b.json\n"
        f"vendors:\n  bad:\n    {binding}\n"
    )
    dist = tmp_path / "bad_plugin-1.0.dist-info"
    dist.mkdir()
    (dist / "METADATA").write_text("Metadata-Version: 2.1\nName: bad-plugin\nVersion: 1.0\n")
    (dist / "entry_points.txt").write_text(f"[{ENTRY_POINT_GROUP}]\nbad = bad_plugin\n")
    return package / "actions" / "bad_ping.yaml"


def test_connector_list_checks_plugin_action_files_against_the_format(tmp_path: Path) -> None:
    path = bad_plugin(tmp_path, 'endpoint: ["GET /ping"]')
    listed = subprocess.run([*CONNECTOR, "list"], capture_output=True, text=True, timeout=60,
                            env={**os.environ, "PYTHONPATH": str(tmp_path)})
    assert listed.returncode == 2
    assert listed.stderr == (
        f"connector: action file {path}: vendors.bad: Additional properties are not allowed ('endpoint' was "
        "unexpected) (rule: additionalProperties); did you mean 'endpoints'?\n"
    )


def test_a_missing_key_is_named_at_the_root(tmp_path: Path) -> None:
    broken = tmp_path / "no_vendors.yaml"
    broken.write_text("name: x\ntitle: X\ndescription: d\nmutates: false\ninput: a.json\noutput: b.json\n")
    with pytest.raises(ConfigError) as caught:
        check_action_files(broken)
    assert caught.value.message == f"action file {broken}: (root): 'vendors' is a required property (rule: required)"


def test_sandbox_with_a_plugin_vendor_says_it_has_no_simulator() -> None:
    host = Host([acme], entry_points=False)
    envelope = asyncio.run(arun_action("acme_ping", {"echo": "hi"}, sandbox=True, host=host))
    assert envelope.exit_code == 2
    assert envelope.errors[0].message == (
        "sandbox: vendor 'acme' has no simulator (simulated: sentinelone, mysecutec, nameshield, ciso_assistant); "
        "use --connection"
    )


def test_a_plugin_binds_test_connection(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("ACME_TOKEN", "acme-secret-value")
    host = Host([acme], entry_points=False)
    assert host.action("test_connection").vendors["acme"].endpoints == ["GET /alerts"]
    connection = Connection(name="a", vendor="acme", base_url="https://acme.example", secret="env:ACME_TOKEN")
    down = httpx.MockTransport(lambda request: httpx.Response(503, json={}))
    envelope = asyncio.run(arun_action("test_connection", {}, connection=connection, host=host, transport=down,
                                       sleep=lambda seconds: asyncio.sleep(0)))
    assert envelope.exit_code == 1
    assert [(check["name"], check["ok"]) for check in envelope.output["checks"]] == [
        ("reachability", False), ("authentication", False), ("permissions", False),
    ]
