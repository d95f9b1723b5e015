"""The API served over loopback against one sandbox: with ``--sandbox`` (``api``) and without (``plain_api``)."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from connector.sandbox import SandboxConfig, running_sandbox, serving
from connector.server import ServerSettings, create_app

TOKEN = "serve-test-token-0123456789"
S1_SECRET = SandboxConfig().token
WRONG_SECRET = "wrong-secret-for-serve-tests-42"
SMALL_BODY = 1000

S1_READ = """\
name: s1-read
inputs:
  type: object
  properties:
    limit: {type: integer, minimum: 1, default: 2}
steps:
  - id: threats
    action: get-threats
    vendor: sentinelone
    input: {limit: "${{ inputs.limit }}"}
outputs:
  read: steps.threats.output.count
  uids: steps.threats.output.threats[].uid
"""


@pytest.fixture(scope="session")
def sandbox_url() -> Iterator[str]:
    with running_sandbox(SandboxConfig(rate_limits=False, vendors=("sentinelone",))) as url:
        yield url


@pytest.fixture(scope="session")
def playbooks(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("served")
    folder = root / "playbooks"
    folder.mkdir()
    (folder / "s1-read.yaml").write_text(S1_READ)
    # Beside the folder, where a path traversal would find it.
    (root / "outside.yaml").write_text(S1_READ.replace("s1-read", "outside"))
    return folder


@pytest.fixture(scope="session")
def connections(tmp_path_factory: pytest.TempPathFactory, sandbox_url: str) -> Iterator[Path]:
    path = tmp_path_factory.mktemp("config") / "connections.yaml"
    path.write_text(f"""
connections:
  s1:
    vendor: sentinelone
    base_url: {sandbox_url}/sentinelone
    secret: env:SERVE_TEST_S1_TOKEN
    retries: 0
  s1_wrong:
    vendor: sentinelone
    base_url: {sandbox_url}/sentinelone
    secret: env:SERVE_TEST_S1_WRONG
    retries: 0
  s1_unset:
    vendor: sentinelone
    base_url: {sandbox_url}/sentinelone
    secret: env:SERVE_TEST_UNSET
""")
    with pytest.MonkeyPatch.context() as patch:
        # The server runs in this process (in a thread), so it reads the secrets from this environment.
        patch.setenv("SERVE_TEST_S1_TOKEN", S1_SECRET)
        patch.setenv("SERVE_TEST_S1_WRONG", WRONG_SECRET)
        patch.delenv("SERVE_TEST_UNSET", raising=False)
        yield path


def _client(base_url: str, token: str | None) -> httpx.Client:
    headers = {"Authorization": f"Bearer {token}"} if token else {}
    return httpx.Client(base_url=base_url, headers=headers, timeout=60)


@pytest.fixture(scope="session")
def api_url(sandbox_url: str, playbooks: Path, connections: Path) -> Iterator[str]:
    """The API as `connector serve --sandbox --playbooks DIR` serves it (default body limit)."""
    settings = ServerSettings(token=TOKEN, playbooks=playbooks, sandbox_url=sandbox_url, config=connections)
    with serving(create_app(settings)) as url:
        yield url


@pytest.fixture(scope="session")
def plain_url(connections: Path) -> Iterator[str]:
    """The API without --sandbox or playbooks folder, with a small body limit."""
    with serving(create_app(ServerSettings(token=TOKEN, max_body=SMALL_BODY, config=connections))) as url:
        yield url


@pytest.fixture
def api(api_url: str) -> Iterator[httpx.Client]:
    with _client(api_url, TOKEN) as client:
        yield client


@pytest.fixture
def plain_api(plain_url: str) -> Iterator[httpx.Client]:
    with _client(plain_url, TOKEN) as client:
        yield client


@pytest.fixture
def anonymous(api_url: str) -> Iterator[httpx.Client]:
    with _client(api_url, None) as client:
        yield client
