"""Progress reporting and cancellation shared by the engines.

``on_improve(best_cost, elapsed_s)`` is called with the best cost so far (in
currency units, drop penalties included) at most every ``interval`` seconds and
only when the cost went down, so a chatty engine cannot flood a progress bar.
``cancel`` is a ``threading.Event`` or any callable returning True to stop; the
engine then returns the best plan found so far.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field

OnImprove = Callable[[float, float], None]
Cancel = threading.Event | Callable[[], bool]


@dataclass
class Progress:
    """Throttled improvement reports plus a cancellation check, one per solve."""

    on_improve: OnImprove | None = None
    cancel: Cancel | None = None
    interval: float = 0.2
    cost_scale: float = 1.0
    started: float = field(default_factory=time.monotonic)
    _best: float = float("inf")
    _last_sent: float = float("-inf")
    _pending: bool = False
    _lock: threading.Lock = field(default_factory=threading.Lock)

    def elapsed(self) -> float:
        """Seconds since the solve started."""
        return time.monotonic() - self.started

    def cancelled(self) -> bool:
        """Whether the caller asked to stop."""
        if self.cancel is None:
            return False
        if isinstance(self.cancel, threading.Event):
            return self.cancel.is_set()
        return bool(self.cancel())

    def improve(self, engine_cost: float) -> None:
        """Note a new solution cost (engine units); report it if better and not too soon."""
        with self._lock:
            if engine_cost >= self._best:
                return
            self._best = engine_cost
            now = self.elapsed()
            if self.on_improve is None:
                return
            if now - self._last_sent < self.interval:
                self._pending = True
                return
            self._last_sent = now
            self._pending = False
        self.on_improve(engine_cost / self.cost_scale, now)

    def flush(self) -> None:
        """Send a report that was held back by the throttle (called at the end)."""
        with self._lock:
            if not self._pending or self.on_improve is None:
                return
            self._pending = False
            best = self._best
        self.on_improve(best / self.cost_scale, self.elapsed())
