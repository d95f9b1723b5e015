"""The layout of the repository: the tests need nothing beside the clone."""

from __future__ import annotations

from pathlib import Path

TESTS = Path(__file__).resolve().parent
OUTSIDE = "/" + "shared"
"""The folder beside the clone that held the vendor documents and real payloads (spelled apart: not in this file)."""


def test_no_test_file_refers_to_the_folder_beside_the_clone() -> None:
    offenders = [
        str(path.relative_to(TESTS))
        for path in sorted(TESTS.rglob("*"))
        if path.is_file() and "__pycache__" not in path.parts and OUTSIDE.encode() in path.read_bytes()
    ]
    assert offenders == [], f"tests read their data from tests/fixtures, never from ..{OUTSIDE}"
