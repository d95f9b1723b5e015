"""Pieces every vendor simulator shares: seeded fake data, JSON answers and token checks.

Each vendor simulator is a Starlette app built by ``create_app(seed=..., size=..., token=...,
rate_limit=...)`` in its own module; this module holds only what is the same for all of them.
Data is deterministic: the same seed gives the same records, and dates are spread over the two
years before ``ANCHOR`` (a fixed instant, so that a seed reproduces byte for byte).
"""

from __future__ import annotations

import hmac
import random
import string
import uuid
from datetime import UTC, datetime, timedelta
from typing import Any

import orjson
from starlette.requests import Request
from starlette.responses import Response

ANCHOR = datetime(2026, 11, 1, tzinfo=UTC)
"""The newest moment of the seeded data; records fall in the two years before it."""

TWO_YEARS = timedelta(days=730)

MITRE_TECHNIQUES: tuple[tuple[str, str, str], ...] = (
    ("Execution", "T1059", "Command and Scripting Interpreter"),
    ("Persistence", "T1547", "Boot or Logon Autostart Execution"),
    ("Privilege Escalation", "T1055", "Process Injection"),
    ("Defense Evasion", "T1027", "Obfuscated Files or Information"),
    ("Defense Evasion", "T1202", "Indirect Command Execution"),
    ("Credential Access", "T1003", "OS Credential Dumping"),
    ("Discovery", "T1082", "System Information Discovery"),
    ("Lateral Movement", "T1021", "Remote Services"),
    ("Command and Control", "T1071", "Application Layer Protocol"),
    ("Impact", "T1486", "Data Encrypted for Impact"),
)

_WORDS = (
    "alpha", "bravo", "cobalt", "delta", "ember", "falcon", "garnet", "harbor", "indigo", "juniper",
    "kestrel", "lumen", "meridian", "nova", "onyx", "pioneer", "quartz", "raven", "summit", "tundra",
)
_TLDS = ("com", "net", "org", "io", "fr", "de", "co")


def rng_for(seed: int, vendor: str) -> random.Random:
    """A random generator private to one vendor, so vendors' data do not shift each other."""
    return random.Random(f"{seed}:{vendor}")


def fake_uuid(rng: random.Random) -> str:
    """A UUID4-shaped string drawn from ``rng`` (deterministic, unlike uuid.uuid4)."""
    return str(uuid.UUID(int=rng.getrandbits(128), version=4))


def fake_numeric_id(rng: random.Random) -> str:
    """An 18-digit id in SentinelOne's style."""
    return str(rng.randrange(10**17, 10**18))


def fake_datetime(
    rng: random.Random, start: datetime = ANCHOR - TWO_YEARS, end: datetime = ANCHOR
) -> datetime:
    """An aware UTC instant between ``start`` and ``end``, with microseconds."""
    span = int((end - start).total_seconds() * 1_000_000)
    return start + timedelta(microseconds=rng.randrange(max(span, 1)))


def iso_z(moment: datetime) -> str:
    """ISO 8601 with microseconds and a ``Z`` suffix, as SentinelOne and MySecutec write it."""
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def iso_millis(moment: datetime) -> str:
    """ISO 8601 with milliseconds and ``Z``, as Nameshield writes it."""
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.") + f"{moment.microsecond // 1000:03d}Z"


def fake_hostname(rng: random.Random) -> str:
    """A Windows- or Linux-looking host name."""
    if rng.random() < 0.5:
        return "DESKTOP-" + "".join(rng.choices(string.ascii_uppercase + string.digits, k=7))
    return f"{rng.choice(_WORDS)}-{rng.choice(('web', 'db', 'app', 'k8s'))}-{rng.randrange(1, 40):02d}"


def fake_ipv4(rng: random.Random) -> str:
    """A routable-looking IPv4 address from the documentation ranges."""
    first, second = rng.choice((192, 198, 203)), rng.choice((0, 51, 18))
    return f"{first}.{second}.{rng.randrange(0, 255)}.{rng.randrange(1, 255)}"


def fake_ipv6(rng: random.Random) -> str:
    """A link-local IPv6 address."""
    return "fe80::" + ":".join(f"{rng.getrandbits(16):x}" for _ in range(4))


def fake_hex(rng: random.Random, length: int) -> str:
    """A lowercase hex string (hashes: 32 md5, 40 sha1, 64 sha256)."""
    return "".join(rng.choices("0123456789abcdef", k=length))


def fake_domain(rng: random.Random, brand: str | None = None) -> str:
    """A domain name; with ``brand``, a typosquat-looking variant of it."""
    base = brand.lower() if brand else rng.choice(_WORDS)
    tweak = rng.choice(("", "-login", "-secure", "-support", "0", "s"))
    return f"{base}{tweak}.{rng.choice(_TLDS)}"


def fake_cve(rng: random.Random) -> str:
    """A CVE id between 2019 and 2026."""
    return f"CVE-{rng.randrange(2019, 2027)}-{rng.randrange(1000, 49999)}"


def fake_cvss(rng: random.Random) -> tuple[float, str]:
    """A CVSS 3.1 base score with a matching-looking vector."""
    av, ac, pr, ui = rng.choice("NALP"), rng.choice("LH"), rng.choice("NLH"), rng.choice("NR")
    c, i, a = rng.choice("NLH"), rng.choice("NLH"), rng.choice("NLH")
    score = round(rng.uniform(0.0, 10.0), 1)
    return score, f"CVSS:3.1/AV:{av}/AC:{ac}/PR:{pr}/UI:{ui}/S:U/C:{c}/I:{i}/A:{a}"


def json_response(payload: Any, status_code: int = 200, headers: dict[str, str] | None = None) -> Response:
    """A JSON answer serialised with orjson (fast enough for 1000-record pages)."""
    return Response(
        orjson.dumps(payload), status_code=status_code, media_type="application/json", headers=headers
    )


def presented_token(request: Request, scheme: str) -> str | None:
    """The token after ``<scheme> `` in the Authorization header, or None when absent or of another scheme."""
    header = request.headers.get("authorization", "")
    prefix = scheme + " "
    if not header.startswith(prefix):
        return None
    return header[len(prefix):].strip() or None


def token_matches(request: Request, scheme: str, expected: str) -> bool:
    """Constant-time check of the presented token against the sandbox's own."""
    presented = presented_token(request, scheme)
    return presented is not None and hmac.compare_digest(presented.encode(), expected.encode())
