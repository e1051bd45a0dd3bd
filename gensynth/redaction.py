"""Secrets a user typed (passwords in storage URLs), kept out of every message, log and trace.

Whoever parses a secret registers it (:func:`register_secret`); :func:`scrub` then replaces
every registered secret in a text with ``***``. Three places scrub, so a new message or a
driver's own text is covered without thinking about it:

- the CLI boundary wraps stdout and stderr in a :class:`ScrubbingStream` and scrubs its error
  lines and, under ``GENSYNTH_DEBUG=1``, its tracebacks;
- every log record is scrubbed as it is made (:func:`install_log_scrubbing`, installed by the
  first registration), whichever logger and handler it goes to;
- storage errors scrub the driver's message before they wrap it.

A ground file: it imports nothing of gensynth.
"""

from __future__ import annotations

import logging
import threading
from typing import IO, Any
from urllib.parse import quote, quote_plus

__all__ = [
    "MASK",
    "MIN_SECRET_LENGTH",
    "ScrubbingStream",
    "forget_secrets",
    "install_log_scrubbing",
    "register_secret",
    "scrub",
]

MASK = "***"
#: Shorter secrets would scrub ordinary words ("pw" in "pwd") from every line of output; they
#: are still masked wherever a URL is shown, which is where they appear.
MIN_SECRET_LENGTH = 4

_secrets: set[str] = set()
_lock = threading.Lock()
_installed = False


def register_secret(secret: str | None) -> None:
    """Keep ``secret`` (and its percent-encoded forms) out of all later output."""
    if not secret or len(secret) < MIN_SECRET_LENGTH:
        return
    with _lock:
        _secrets.update({secret, quote(secret, safe=""), quote_plus(secret)})
    install_log_scrubbing()


def forget_secrets() -> None:
    """Drop every registered secret (for tests)."""
    with _lock:
        _secrets.clear()


def scrub(text: str) -> str:
    """``text`` with every registered secret replaced by ``***``; longest secrets first."""
    if not _secrets or not text:
        return text
    with _lock:
        secrets = sorted(_secrets, key=len, reverse=True)
    for secret in secrets:
        if secret in text:
            text = text.replace(secret, MASK)
    return text


def _scrub_record(record: logging.LogRecord) -> None:
    """Scrub a log record in place: its message, its exception text and its stack."""
    if not _secrets:
        return
    try:
        message = record.getMessage()
    except Exception:  # a bad format string: leave the record to logging's own handling
        return
    record.msg, record.args = scrub(message), ()
    if record.exc_info and not record.exc_text:
        record.exc_text = logging.Formatter().formatException(record.exc_info)
    if record.exc_text:
        record.exc_text = scrub(record.exc_text)
    if record.stack_info:
        record.stack_info = scrub(record.stack_info)


def install_log_scrubbing() -> None:
    """Scrub every log record as it is created, for all loggers and handlers (idempotent)."""
    global _installed
    with _lock:
        if _installed:
            return
        _installed = True
    make_record = logging.getLogRecordFactory()

    def scrubbed_record(*args: Any, **kwargs: Any) -> logging.LogRecord:
        record = make_record(*args, **kwargs)
        _scrub_record(record)
        return record

    logging.setLogRecordFactory(scrubbed_record)


class ScrubbingStream:
    """A text stream that scrubs what is written to it; everything else is the wrapped one's."""

    def __init__(self, stream: IO[str]) -> None:
        self._stream = stream

    @property
    def wrapped(self) -> IO[str]:
        return self._stream

    def write(self, text: str) -> int:
        self._stream.write(scrub(text))
        return len(text)

    def writelines(self, lines: Any) -> None:
        for line in lines:
            self.write(line)

    def __getattr__(self, name: str) -> Any:
        return getattr(self._stream, name)
