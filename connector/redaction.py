"""Keeps secrets out of every line connector writes.

Every secret the process reads is added to one :data:`redactor`; the logging filter it installs
and the output formatters replace any occurrence with ``***``. Secrets shorter than four
characters are not registered (replacing them would mangle ordinary text, and they are not
secrets a vendor issues).
"""

from __future__ import annotations

import logging
import threading

MASK = "***"


class Redactor(logging.Filter):
    """A set of secret values and the means to blank them out of text and log records."""

    def __init__(self) -> None:
        super().__init__()
        self._secrets: tuple[str, ...] = ()
        self._lock = threading.Lock()

    def add(self, secret: str) -> None:
        """Remember ``secret`` so that it is masked from now on."""
        if len(secret) >= 4:
            with self._lock:
                # Longest first: a secret that contains another must be masked whole, not around it.
                self._secrets = tuple(sorted({*self._secrets, secret}, key=len, reverse=True))

    def redact(self, text: str) -> str:
        """``text`` with every known secret replaced by ``***``."""
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
