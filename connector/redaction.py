"""Keeps secrets out of every line connector writes.

Every secret the process reads is added to one :data:`redactor`; the logging filter it installs
and the output formatters replace any occurrence with ``***``. Secrets shorter than four
characters are not registered (replacing them would mangle ordinary text, and they are not
secrets a vendor issues).

A secret is masked in every form it is likely to travel in, not only as written: each of its
lines on its own (a two-line secret file), JSON- and Python-escaped (a line break as ``\\n``),
URL-encoded (a vendor quoting the query or header back), hex-encoded in lower and upper case (a
debug dump of the bytes sent; each byte is two digits, so it matches inside a longer dump too) and
base64-encoded at each of the three byte alignments (a vendor echoing an encoded header or a
basic-auth pair inside a longer blob).
"""

from __future__ import annotations

import base64
import json
import logging
import threading
from urllib.parse import quote, quote_plus

MASK = "***"
MIN_LENGTH = 4
"""Shorter secrets (and encoded forms) are not masked: replacing them would mangle ordinary text."""
MIN_BASE64_CORE = 8
"""A base64 form cut to its aligned core is masked only from this length, so it cannot match by chance."""


def encoded_forms(secret: str) -> set[str]:
    """``secret`` and each of its lines, each as written, escaped, URL-, hex- and base64-encoded."""
    parts = {secret, *(line.strip() for line in secret.splitlines())}
    forms: set[str] = set()
    for part in (part for part in parts if len(part) >= MIN_LENGTH):
        forms.update(
            (
                part,
                json.dumps(part)[1:-1],
                json.dumps(part, ensure_ascii=False)[1:-1],
                repr(part)[1:-1],
                quote(part, safe=""),
                quote(part),
                quote_plus(part),
                part.encode().hex(),
                part.encode().hex().upper(),
            )
        )
        forms.update(_base64_cores(part.encode()))
    return forms


def _base64_cores(data: bytes) -> set[str]:
    """The base64 text ``data`` gives wherever it sits in a longer byte string.

    Base64 encodes three bytes as four characters, so text before the secret shifts it by 0, 1 or
    2 bytes; for each shift, only the groups made of the secret's bytes alone come out the same
    whatever surrounds it, so those are kept (and the whole encoding, padded, for the secret alone).
    """
    cores: set[str] = set()
    for encode in (base64.b64encode, base64.urlsafe_b64encode):
        whole = encode(data).decode()
        cores.update((whole, whole.rstrip("=")))
        for shift in range(3):
            skip = (3 - shift) % 3  # bytes of the secret that share a group with what comes before
            usable = (len(data) - skip) // 3 * 3
            core = encode(data[skip : skip + usable]).decode()
            if len(core) >= MIN_BASE64_CORE:
                cores.add(core)
    return cores


class Redactor(logging.Filter):
    """A set of secret values and the means to blank them out of text and log records."""

    def __init__(self) -> None:
        super().__init__()
        self._secrets: tuple[str, ...] = ()
        self._probes: tuple[str, ...] = ()
        self._added: frozenset[str] = frozenset()
        self._lock = threading.Lock()

    def add(self, secret: str) -> None:
        """Remember ``secret`` (and its encoded forms, see the module) so that it is masked from now on."""
        if secret in self._added:
            return  # a server's runs read the same connection's secret again and again
        forms = {form for form in encoded_forms(secret) if len(form) >= MIN_LENGTH}
        if forms:
            with self._lock:
                # Longest first: a secret that contains another must be masked whole, not around it.
                secrets = tuple(sorted({*self._secrets, *forms}, key=len, reverse=True))
                # Every form holds one of these (itself, or a shorter form it contains, as a padded
                # base64 holds its core): text holding none of them holds no secret, and most
                # text (every record a read writes) is told so in fewer searches.
                probes = tuple(form for form in secrets if not any(other in form for other in secrets if other != form))
                self._secrets, self._probes = secrets, probes
                self._added = self._added | {secret}

    def redact(self, text: str) -> str:
        """``text`` with every known secret replaced by ``***``."""
        for probe in self._probes:
            if probe in text:
                break
        else:
            return text
        for secret in self._secrets:
            if secret in text:
                text = text.replace(secret, MASK)
        return text

    def filter(self, record: logging.LogRecord) -> bool:
        """Mask secrets in a log record's final message (arguments included) and its traceback."""
        message = record.getMessage()
        redacted = self.redact(message)
        if redacted != message:
            record.msg, record.args = redacted, None
        if record.exc_info and not record.exc_text:
            # Formatters reuse exc_text when it is set, so the traceback is written redacted.
            record.exc_text = logging.Formatter().formatException(record.exc_info)
        if record.exc_text:
            record.exc_text = self.redact(record.exc_text)
        if record.stack_info:
            record.stack_info = self.redact(record.stack_info)
        return True


redactor = Redactor()
"""The process-wide redactor; connections register their secrets here."""
