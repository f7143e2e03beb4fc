"""Position ingestion: a bounded queue and one batch writer per process.

Handlers submit validated fixes; the writer persists them in bulk (idempotent on vehicle and
seq), moves `vehicle_state` forward only, and only then acknowledges each message and publishes
the newest position of every vehicle to the bus. A failed write is retried until it succeeds,
so nothing acknowledged is ever lost and nothing lost was ever acknowledged.
"""

from __future__ import annotations

import functools
import json
import logging
import threading
import time
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from typing import Any, cast

from sqlalchemy import Table, and_, or_
from sqlalchemy.orm import Session

from backend.db.base import utcnow
from backend.db.models import Position, VehicleState
from backend.realtime import metrics
from backend.realtime.bus import Bus, depot_channel
from backend.realtime.protocol import PositionFix, position_record

log = logging.getLogger("realtime.ingest")

POSITION_TABLE = cast(Table, Position.__table__)
STATE_TABLE = cast(Table, VehicleState.__table__)


@dataclass(eq=False, slots=True)
class PendingAck:
    """An acknowledgment sent once all `remaining` fixes of one message are durable."""

    send: Callable[[dict[str, Any]], None]
    frame: dict[str, Any]
    remaining: int


def persist_positions(session: Session, fixes: list[PositionFix]) -> None:
    """Insert fixes (a resend stores nothing twice) and move vehicle_state forward only."""
    if not fixes:
        return
    received_at = utcnow()
    rows = [
        {
            "vehicle_id": f.vehicle_id,
            "seq": f.seq,
            "recorded_at": f.recorded_at,
            "received_at": received_at,
            "lat": f.lat,
            "lon": f.lon,
            "speed": f.speed,
            "heading": f.heading,
            "accuracy": f.accuracy,
        }
        for f in fixes
    ]
    newest = newest_per_vehicle(fixes)
    states = [
        {
            "vehicle_id": f.vehicle_id,
            "seq": f.seq,
            "recorded_at": f.recorded_at,
            "lat": f.lat,
            "lon": f.lon,
            "speed": f.speed,
            "heading": f.heading,
            "status": "idle",
            "updated_at": received_at,
        }
        for f in newest.values()
    ]
    if session.get_bind().dialect.name == "postgresql":
        _pg_insert_many(session, "position", rows, PG_POSITION_CONFLICT)
        _pg_insert_many(session, "vehicle_state", states, PG_STATE_CONFLICT)
        return
    position_insert, state_upsert = _sqlite_statements()
    session.execute(position_insert, rows)
    session.execute(state_upsert, states)


# The same conflict rules as _sqlite_statements, for the hand-built multi-row statements.
PG_POSITION_CONFLICT = "ON CONFLICT (vehicle_id, seq) DO NOTHING"
PG_STATE_CONFLICT = (
    "ON CONFLICT (vehicle_id) DO UPDATE SET "
    + ", ".join(
        f"{name} = EXCLUDED.{name}"
        for name in ("seq", "recorded_at", "lat", "lon", "speed", "heading", "updated_at")
    )
    + " WHERE vehicle_state.recorded_at < EXCLUDED.recorded_at OR (vehicle_state.recorded_at"
    " = EXCLUDED.recorded_at AND vehicle_state.seq < EXCLUDED.seq)"
)
PG_TYPES = {
    "vehicle_id": "integer",
    "seq": "bigint",
    "recorded_at": "timestamptz",
    "received_at": "timestamptz",
    "updated_at": "timestamptz",
    "status": "text",
}


def _pg_insert_many(session: Session, table: str, rows: list[dict[str, Any]], tail: str) -> None:
    # One multi-row INSERT of any size from one array per column (unnest): the statement text
    # never changes, so PostgreSQL plans it once, and nothing is compiled per batch.
    if not rows:
        return
    columns = list(rows[0])
    arrays = ", ".join(f"%s::{PG_TYPES.get(c, 'float8')}[]" for c in columns)
    sql = f"INSERT INTO {table} ({', '.join(columns)}) SELECT * FROM unnest({arrays}) {tail}"
    session.connection().exec_driver_sql(sql, tuple([row[c] for row in rows] for c in columns))


@functools.cache
def _sqlite_statements() -> tuple[Any, Any]:
    # Built once: constructing an upsert costs more than executing a small one.
    from sqlalchemy.dialects.sqlite import insert

    positions = insert(POSITION_TABLE).on_conflict_do_nothing(index_elements=["vehicle_id", "seq"])
    state = insert(STATE_TABLE)
    excluded, current = state.excluded, STATE_TABLE.c
    # Out-of-order fixes are stored but never move the latest position backwards in time.
    state = state.on_conflict_do_update(
        index_elements=["vehicle_id"],
        set_={
            name: excluded[name]
            for name in ("seq", "recorded_at", "lat", "lon", "speed", "heading", "updated_at")
        },
        where=or_(
            excluded.recorded_at > current.recorded_at,
            and_(excluded.recorded_at == current.recorded_at, excluded.seq > current.seq),
        ),
    )
    return positions, state


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
    ) -> None:
        self._sessions = sessions
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
                    persist_positions(session, fixes)
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
            record = json.dumps(position_record(fix, depot_id), separators=(",", ":"))
            lines_by_depot.setdefault(depot_id, []).append(f"{vehicle_id}\t{record}")
        for depot_id, lines in lines_by_depot.items():
            self._bus.publish(depot_channel(depot_id, "positions"), "\n".join(lines))
