"""The one place the wall clock is read: services take a `Clock` (or a `now`) instead.

Tests pin time with `FixedClock`; the web process, jobs and the simulator use `SystemClock`.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Protocol


class Clock(Protocol):
    """Something that tells the current time as an aware UTC datetime."""

    def now(self) -> datetime:
        """The current time (aware, UTC)."""
        ...


class SystemClock:
    """The real wall clock."""

    def now(self) -> datetime:
        """The current time (aware, UTC)."""
        return datetime.now(UTC)


class FixedClock:
    """A clock that stands still until moved; for tests and replays."""

    def __init__(self, at: datetime) -> None:
        if at.tzinfo is None:
            raise ValueError("FixedClock needs an aware datetime")
        self.at = at.astimezone(UTC)

    def now(self) -> datetime:
        """The pinned time."""
        return self.at

    def advance(self, delta: timedelta) -> None:
        """Move the clock forward by `delta`."""
        self.at += delta


SYSTEM_CLOCK = SystemClock()
