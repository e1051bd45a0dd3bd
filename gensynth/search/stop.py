"""The stop request (Ctrl-C, a time limit, a parent that asks) that every stage polls."""

from __future__ import annotations

import time
from collections.abc import Callable

__all__ = ["StopSignal"]


class StopSignal:
    """True once stopping was requested or the deadline (``time.monotonic``) has passed.

    ``external`` is polled too, at most every ``poll_s`` seconds: a worker uses it to hear its
    parent (an event, a Ray actor). A positive answer counts as a request, so the trial in
    flight is recorded as interrupted, not as timed out.
    """

    def __init__(
        self,
        deadline: float | None = None,
        *,
        external: Callable[[], bool] | None = None,
        poll_s: float = 0.5,
    ) -> None:
        self.deadline = deadline
        self.requested = False
        self._external = external
        self._poll_s = poll_s
        self._polled = float("-inf")

    def __call__(self) -> bool:
        now = time.monotonic()
        due = now - self._polled >= self._poll_s
        if self._external is not None and not self.requested and due:
            self._polled = now
            self.requested = bool(self._external())
        if self.deadline is not None and now >= self.deadline:
            return True
        return self.requested
