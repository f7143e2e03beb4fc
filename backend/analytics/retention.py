"""Position retention: raw fixes for N days, then a thinned track, then only the aggregates.

- Fixes older than POSITION_RAW_DAYS are thinned in place to a track: per vehicle, a fix is
  kept when it is at least POSITION_TRACK_INTERVAL_S after the last kept one, or its heading
  differs from the last kept heading by POSITION_HEADING_CHANGE_DEG or more.
- Fixes older than POSITION_TRACK_DAYS are deleted; the daily aggregates stay (they never read
  positions, so every KPI is the same before and after).

Work goes in batches of RETENTION_BATCH_SIZE rows. Each batch is one short transaction that
deletes by primary key and, for thinning, moves the vehicle's watermark in
`analytics_retention_state` in the same commit, so a crash loses at most the batch in flight and
the next run resumes at the watermark. Reads happen outside those transactions (MVCC on
PostgreSQL), so no lock on `position` is held for longer than one batch's delete.
"""

from __future__ import annotations

import time as _time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any

from sqlalchemy import Column, Integer, Table, delete, func, select

from backend.analytics.aggregates import ANALYTICS_METADATA
from backend.db.base import UTCDateTime
from backend.db.engine import Database
from backend.db.models import Position, Vehicle

if TYPE_CHECKING:
    from sqlalchemy import Engine

retention_state = Table(
    "analytics_retention_state",
    ANALYTICS_METADATA,
    Column("vehicle_id", Integer, primary_key=True),
    # Every fix of the vehicle before this instant is already thinned.
    Column("thinned_before", UTCDateTime(timezone=True), nullable=False),
)


@dataclass(frozen=True, slots=True)
class RetentionPolicy:
    """How long raw fixes and tracks are kept and how tracks are thinned."""

    raw_days: int = 30
    track_days: int = 365
    interval_s: float = 30.0
    heading_change_deg: float = 15.0
    batch_size: int = 1000

    @classmethod
    def from_settings(cls, settings: Any) -> RetentionPolicy:
        """The policy of `settings` (backend.config.Settings)."""
        return cls(
            raw_days=settings.position_raw_days,
            track_days=settings.position_track_days,
            interval_s=settings.position_track_interval_s,
            heading_change_deg=settings.position_heading_change_deg,
            batch_size=settings.retention_batch_size,
        )


@dataclass(slots=True)
class RetentionReport:
    """What a run did, and its longest write transaction (the longest it held row locks)."""

    examined: int = 0
    thinned: int = 0
    purged: int = 0
    batches: int = 0
    max_batch_ms: float = 0.0
    seconds: float = 0.0
    finished: bool = True

    @property
    def rows_per_s(self) -> float:
        """Fixes examined or purged per second."""
        return (self.examined + self.purged) / self.seconds if self.seconds else 0.0


class _Budget(Exception):
    """The run reached max_batches (tests use it to stop a run half way, like a crash)."""


def _heading_change(a: float, b: float) -> float:
    d = abs(a - b) % 360.0
    return min(d, 360.0 - d)


def keep_fix(
    last_at: datetime | None,
    last_heading: float | None,
    at: datetime,
    heading: float | None,
    policy: RetentionPolicy,
) -> bool:
    """Whether a fix stays in the thinned track, given the last kept fix."""
    if last_at is None:
        return True
    if (at - last_at).total_seconds() >= policy.interval_s:
        return True
    return (
        heading is not None
        and last_heading is not None
        and _heading_change(heading, last_heading) >= policy.heading_change_deg
    )


def run_retention(
    database: Database | Engine,
    *,
    now: datetime,
    policy: RetentionPolicy | None = None,
    vehicle_ids: list[int] | None = None,
    max_batches: int | None = None,
    cancelled: Callable[[], bool] | None = None,
) -> RetentionReport:
    """Thin and purge positions as of `now` (see the module doc); resumable, idempotent.

    `database` is a Database or its Engine (the benchmark's); `vehicle_ids` limits the run to some
    vehicles (a job may split the fleet); `max_batches` stops early, and so does `cancelled()`
    turning true between batches (the report says so; the next run resumes).
    """
    if now.tzinfo is None:
        raise ValueError("now: must be an aware datetime")
    policy = policy or RetentionPolicy()
    engine = database.engine if isinstance(database, Database) else database
    report = RetentionReport()
    started = _time.perf_counter()
    with engine.connect() as conn:
        ids = vehicle_ids
        if ids is None:
            ids = [int(v) for v in conn.execute(select(Vehicle.id).order_by(Vehicle.id)).scalars()]
        conn.rollback()
    try:
        for vehicle_id in ids:
            if cancelled is not None and cancelled():
                raise _Budget
            _purge(engine, vehicle_id, now - timedelta(days=policy.track_days), policy, report,
                   max_batches)  # fmt: skip
            _thin(engine, vehicle_id, now - timedelta(days=policy.raw_days), policy, report,
                  max_batches)  # fmt: skip
    except _Budget:
        report.finished = False
    report.seconds = _time.perf_counter() - started
    return report


def _spend(report: RetentionReport, started: float, max_batches: int | None) -> None:
    report.batches += 1
    report.max_batch_ms = max(report.max_batch_ms, (_time.perf_counter() - started) * 1000)
    if max_batches is not None and report.batches >= max_batches:
        raise _Budget


def _purge(
    engine: Any,
    vehicle_id: int,
    before: datetime,
    policy: RetentionPolicy,
    report: RetentionReport,
    max_batches: int | None,
) -> None:
    while True:
        batch = (
            select(Position.id)
            .where(Position.vehicle_id == vehicle_id, Position.recorded_at < before)
            .limit(policy.batch_size)
        )
        started = _time.perf_counter()
        with engine.begin() as conn:
            deleted = conn.execute(
                delete(Position).where(Position.id.in_(batch.scalar_subquery()))
            ).rowcount
        if not deleted:
            return
        report.purged += int(deleted)
        _spend(report, started, max_batches)
        if deleted < policy.batch_size:
            return


def _thin(
    engine: Any,
    vehicle_id: int,
    before: datetime,
    policy: RetentionPolicy,
    report: RetentionReport,
    max_batches: int | None,
) -> None:
    state = retention_state
    with engine.connect() as conn:
        cursor = conn.execute(
            select(state.c.thinned_before).where(state.c.vehicle_id == vehicle_id)
        ).scalar()
        if cursor is None:
            cursor = conn.execute(
                select(func.min(Position.recorded_at)).where(Position.vehicle_id == vehicle_id)
            ).scalar()
            if cursor is None:
                return
            last = None
        else:
            # Everything before the watermark is thinned, so the fix just before it was kept.
            last = conn.execute(
                select(Position.recorded_at, Position.heading)
                .where(Position.vehicle_id == vehicle_id, Position.recorded_at < cursor)
                .order_by(Position.recorded_at.desc())
                .limit(1)
            ).first()
        conn.rollback()
    last_at, last_heading = (last[0], last[1]) if last else (None, None)
    while cursor < before:
        with engine.connect() as conn:
            rows = conn.execute(
                select(Position.id, Position.recorded_at, Position.heading)
                .where(
                    Position.vehicle_id == vehicle_id,
                    Position.recorded_at >= cursor,
                    Position.recorded_at < before,
                )
                .order_by(Position.recorded_at, Position.id)
                .limit(policy.batch_size)
            ).all()
            conn.rollback()
        full = len(rows) == policy.batch_size
        if full:
            # Never split one instant across batches: the next batch starts at it.
            last_instant = rows[-1][1]
            head = [r for r in rows if r[1] < last_instant]
            rows = head or rows
        drop: list[int] = []
        for position_id, at, heading in rows:
            if keep_fix(last_at, last_heading, at, heading, policy):
                last_at, last_heading = at, heading
            else:
                drop.append(int(position_id))
        report.examined += len(rows)
        watermark = rows[-1][1] + timedelta(microseconds=1) if full and rows else before
        started = _time.perf_counter()
        with engine.begin() as conn:
            if drop:
                conn.execute(delete(Position).where(Position.id.in_(drop)))
            _set_watermark(conn, vehicle_id, watermark)
        report.thinned += len(drop)
        _spend(report, started, max_batches)
        cursor = watermark


def _set_watermark(conn: Any, vehicle_id: int, at: datetime) -> None:
    state = retention_state
    updated = conn.execute(
        state.update().where(state.c.vehicle_id == vehicle_id).values(thinned_before=at)
    ).rowcount
    if not updated:
        conn.execute(state.insert().values(vehicle_id=vehicle_id, thinned_before=at))
