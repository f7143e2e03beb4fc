"""Position ingestion: a bounded queue and one batch writer per process.

Handlers submit validated fixes; the writer persists them in bulk (idempotent on vehicle and
seq), moves `vehicle_state` forward only, and only then acknowledges each message and publishes
the newest position of every vehicle to the bus. A failed write is retried until it succeeds,
so nothing acknowledged is ever lost and nothing lost was ever acknowledged.
"""

from __future__ import annotations

import logging
import threading
import time
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from sqlalchemy.orm import Session

from backend.clock import SYSTEM_CLOCK, Clock
from backend.realtime import metrics
from backend.realtime.bus import Bus, depot_channel
from backend.realtime.protocol import PositionFix, encode_json, position_record

log = logging.getLogger("realtime.ingest")


@dataclass(eq=False, slots=True)
class PendingAck:
    """An acknowledgment sent once all `remaining` fixes of one message are durable."""

    send: Callable[[dict[str, Any]], None]
    frame: dict[str, Any]
    remaining: int


POSITION_COLUMNS = (
    "vehicle_id",
    "seq",
    "recorded_at",
    "received_at",
    "lat",
    "lon",
    "speed",
    "heading",
    "accuracy",
)
STATE_COLUMNS = (
    "vehicle_id",
    "seq",
    "recorded_at",
    "lat",
    "lon",
    "speed",
    "heading",
    "status",
    "updated_at",
)
# Idempotent on (vehicle, seq); late fixes are stored but never move the state back in time.
POSITION_CONFLICT = "ON CONFLICT (vehicle_id, seq) DO NOTHING"
STATE_CONFLICT = (
    "ON CONFLICT (vehicle_id) DO UPDATE SET "
    + ", ".join(
        f"{name} = excluded.{name}"
        for name in ("seq", "recorded_at", "lat", "lon", "speed", "heading", "updated_at")
    )
    + " WHERE vehicle_state.recorded_at < excluded.recorded_at OR (vehicle_state.recorded_at"
    " = excluded.recorded_at AND vehicle_state.seq < excluded.seq)"
)
PG_ARRAY_TYPES = {
    "vehicle_id": "integer",
    "seq": "bigint",
    "recorded_at": "timestamptz",
    "received_at": "timestamptz",
    "updated_at": "timestamptz",
    "status": "text",
}


def persist_positions(session: Session, fixes: list[PositionFix], *, received_at: datetime) -> None:
    """Insert fixes (a resend stores nothing twice) and move vehicle_state forward only.

    Written as SQL text on purpose: this is the hottest write of the app, and SQLAlchemy's
    per-row parameter processing cost more than the database's own work.
    """
    if not fixes:
        return
    connection = session.connection()
    postgres = connection.dialect.name == "postgresql"
    # SQLite keeps naive UTC text in SQLAlchemy's format; PostgreSQL takes aware datetimes.
    stamp: Callable[[datetime], Any] = (lambda t: t) if postgres else _sqlite_timestamp
    now = stamp(received_at)
    rows = [
        (
            f.vehicle_id,
            f.seq,
            stamp(f.recorded_at),
            now,
            f.lat,
            f.lon,
            f.speed,
            f.heading,
            f.accuracy,
        )
        for f in fixes
    ]
    states = [
        (f.vehicle_id, f.seq, stamp(f.recorded_at), f.lat, f.lon, f.speed, f.heading, "idle", now)
        for f in newest_per_vehicle(fixes).values()
    ]
    for table, columns, values, conflict in (
        ("position", POSITION_COLUMNS, rows, POSITION_CONFLICT),
        ("vehicle_state", STATE_COLUMNS, states, STATE_CONFLICT),
    ):
        names = ", ".join(columns)
        if postgres:
            # One multi-row INSERT of any size from one array per column: the statement text
            # never changes, so PostgreSQL plans it once.
            arrays = ", ".join(f"%s::{PG_ARRAY_TYPES.get(c, 'float8')}[]" for c in columns)
            connection.exec_driver_sql(
                f"INSERT INTO {table} ({names}) SELECT * FROM unnest({arrays}) {conflict}",
                tuple(list(column) for column in zip(*values, strict=True)),
            )
        else:
            marks = ", ".join("?" * len(columns))
            connection.exec_driver_sql(
                f"INSERT INTO {table} ({names}) VALUES ({marks}) {conflict}", values
            )


def _sqlite_timestamp(value: datetime) -> str:
    # What backend.db.base.UTCDateTime stores on SQLite, so text comparisons stay in order.
    return value.astimezone(UTC).replace(tzinfo=None).isoformat(" ", "microseconds")


def newest_per_vehicle(fixes: list[PositionFix]) -> dict[int, PositionFix]:
    """The newest fix (by recorded time, then seq) of each vehicle."""
    newest: dict[int, PositionFix] = {}
    for fix in fixes:
        best = newest.get(fix.vehicle_id)
        if best is None or (fix.recorded_at, fix.seq) > (best.recorded_at, best.seq):
            newest[fix.vehicle_id] = fix
    return newest


class PositionWriter:
    """Drains submitted fixes in batches on one thread; acks and publishes after commit."""

    def __init__(
        self,
        sessions: Callable[[], Any],
        bus: Bus,
        *,
        capacity: int = 200_000,
        batch_size: int = 5000,
        clock: Clock = SYSTEM_CLOCK,
        on_written: Callable[[set[int | None]], None] | None = None,
    ) -> None:
        self._sessions = sessions
        # Told the depots of every durable batch (the at-risk watcher), after the commit.
        self._on_written = on_written
        self._clock = clock
        self._bus = bus
        self._capacity = capacity
        self._batch_size = batch_size
        self._queue: deque[tuple[PositionFix, int | None, PendingAck]] = deque()
        self._wake = threading.Event()
        self._stopping = threading.Event()
        self._writing = False
        self._thread: threading.Thread | None = None
        # The newest fix published per vehicle, so the live map never steps back in time.
        self._published: dict[int, tuple[datetime, int]] = {}

    def submit(self, fixes: list[tuple[PositionFix, int | None]], ack: PendingAck) -> bool:
        """Queue fixes with their depot; False (nothing queued) when the queue is full."""
        if len(self._queue) + len(fixes) > self._capacity:
            return False
        append = self._queue.append
        for fix, depot_id in fixes:
            append((fix, depot_id, ack))
        if not self._wake.is_set():  # setting takes a lock; most submits find it set
            self._wake.set()
        return True

    @property
    def depth(self) -> int:
        """Fixes waiting to be written."""
        return len(self._queue)

    def start(self) -> None:
        """Start the writer thread (once)."""
        if self._thread is None:
            self._thread = threading.Thread(target=self._run, name="position-writer", daemon=True)
            self._thread.start()

    def stop(self, timeout: float = 10.0) -> None:
        """Write what is queued, then stop."""
        self._stopping.set()
        self._wake.set()
        if self._thread is not None:
            self._thread.join(timeout)
            self._thread = None

    def wait_idle(self, timeout: float = 10.0) -> bool:
        """Wait until everything submitted so far is durable and acknowledged (tests, shutdown)."""
        deadline = time.monotonic() + timeout
        while self._queue or self._writing:
            if time.monotonic() > deadline:
                return False
            time.sleep(0.01)
        return True

    def _run(self) -> None:
        while True:
            self._wake.wait(1.0)
            self._wake.clear()
            while self._queue:
                self._writing = True
                try:
                    self.write_batch()
                finally:
                    self._writing = False
            metrics.WRITER_QUEUE_DEPTH.set(0)
            if self._stopping.is_set() and not self._queue:
                return

    def write_batch(self) -> int:
        """Persist up to one batch, retrying until it is durable; returns how many."""
        batch = []
        popleft = self._queue.popleft
        for _ in range(min(self._batch_size, len(self._queue))):
            batch.append(popleft())
        if not batch:
            return 0
        metrics.WRITER_QUEUE_DEPTH.set(len(self._queue))
        fixes = [item[0] for item in batch]
        delay = 0.1
        while True:
            started = time.perf_counter()
            try:
                with self._sessions() as session:
                    persist_positions(session, fixes, received_at=self._clock.now())
                break
            except Exception as exc:
                metrics.WRITER_FAILURES.inc()
                log.warning("position batch of %d failed (%s); retrying", len(batch), exc)
                if self._stopping.is_set() and delay > 5:
                    log.error("giving up on %d unacknowledged positions at shutdown", len(batch))
                    return 0
                time.sleep(delay)
                delay = min(delay * 2, 5.0)
        metrics.WRITER_BATCH_SECONDS.observe(time.perf_counter() - started)
        metrics.POSITIONS_INGESTED.inc(len(batch))
        for _, _, ack in batch:
            ack.remaining -= 1
            if ack.remaining == 0:
                ack.send(ack.frame)
        self._publish(batch)
        if self._on_written is not None:
            self._on_written({item[1] for item in batch})
        return len(batch)

    def _publish(self, batch: list[tuple[PositionFix, int | None, PendingAck]]) -> None:
        depots = {item[0].vehicle_id: item[1] for item in batch}
        lines_by_depot: dict[int | None, list[str]] = {}
        for vehicle_id, fix in newest_per_vehicle([item[0] for item in batch]).items():
            key = (fix.recorded_at, fix.seq)
            last = self._published.get(vehicle_id)
            if last is not None and key <= last:
                continue
            self._published[vehicle_id] = key
            depot_id = depots[vehicle_id]
            record = encode_json(position_record(fix, depot_id))
            lines_by_depot.setdefault(depot_id, []).append(f"{vehicle_id}\t{record}")
        for depot_id, lines in lines_by_depot.items():
            self._bus.publish(depot_channel(depot_id, "positions"), "\n".join(lines))
