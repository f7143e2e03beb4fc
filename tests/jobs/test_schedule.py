"""The daily schedule: a day closes at ANALYTICS_REFRESH_HOUR in every depot's zone; its refresh,
then its retention, are submitted exactly once however many workers tick; the clock is pinned."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from typing import Any

import pytest

from backend.clock import FixedClock
from backend.db.models import Depot, ScheduledRun
from backend.jobs.schedule import (
    REFRESH_KIND,
    RETENTION_KIND,
    STALE_CLAIM,
    DailySchedule,
    Submitted,
    closed_day,
    scheduled_job_id,
)

CHICAGO = "America/Chicago"
# 2026-12-01 08:00 UTC is 02:00 in Chicago (CST, UTC-6).
TWO_AM_CHICAGO = datetime(2026, 12, 1, 8, 0, tzinfo=UTC)


class FakeJobs:
    """The runner's submit and status, recorded; shared by every schedule like the real store."""

    def __init__(self) -> None:
        self.submitted: list[tuple[str, str]] = []
        self.states: dict[str, str] = {}

    def submit(self, kind: str, job_id: str) -> str:
        self.submitted.append((kind, job_id))
        self.states[job_id] = "queued"
        return job_id

    def status(self, job_id: str) -> str | None:
        return self.states.get(job_id)


def test_a_day_closes_at_the_refresh_hour_in_the_depots_zone() -> None:
    """01:59 Chicago: the day before yesterday; 02:00: yesterday. UTC when there is no depot."""
    before = TWO_AM_CHICAGO - timedelta(minutes=1)
    assert closed_day(before, [CHICAGO], 2) == date(2026, 11, 29)
    assert closed_day(TWO_AM_CHICAGO, [CHICAGO], 2) == date(2026, 11, 30)
    assert closed_day(TWO_AM_CHICAGO, [], 2) == date(2026, 11, 30)
    assert closed_day(datetime(2026, 12, 1, 1, 59, tzinfo=UTC), [], 2) == date(2026, 11, 29)
    # Depots in two zones: the day has closed only once it has closed in both.
    assert closed_day(datetime(2026, 12, 1, 3, tzinfo=UTC), ["UTC", CHICAGO], 2) == date(
        2026, 11, 29
    )
    assert closed_day(TWO_AM_CHICAGO, ["Not/AZone"], 2) == date(2026, 11, 30)  # read as UTC
    with pytest.raises(ValueError):
        closed_day(datetime(2026, 12, 1), [], 2)


@pytest.fixture
def chicago(database) -> Any:
    with database.session() as session:
        session.add(Depot(name="Chicago", lat=41.9, lon=-87.6, timezone=CHICAGO))
    return database


def _workers(database, jobs: FakeJobs, clock: FixedClock, n: int = 2) -> list[DailySchedule]:
    return [
        DailySchedule(database=database, jobs=jobs, clock=clock, refresh_hour=2) for _ in range(n)
    ]


def _tick_all(workers: list[DailySchedule]) -> list[Submitted]:
    return [s for worker in workers for s in worker.tick()]


def test_two_workers_submit_each_job_once_per_closed_day(chicago) -> None:
    """Refresh once; retention once, after the refresh ended; the next day again once."""
    jobs = FakeJobs()
    clock = FixedClock(TWO_AM_CHICAGO - timedelta(minutes=1))
    workers = _workers(chicago, jobs, clock)
    first = _tick_all(workers)
    assert [(s.kind, s.day) for s in first] == [(REFRESH_KIND, date(2026, 11, 29))]
    clock.advance(timedelta(minutes=1))  # 02:00 in Chicago: Nov 30 has closed
    assert _tick_all(workers) == [
        Submitted(REFRESH_KIND, date(2026, 11, 30), "analytics_refresh-2026-11-30")
    ]
    assert _tick_all(workers) == []  # the refresh is still queued: retention waits
    jobs.states[scheduled_job_id(REFRESH_KIND, date(2026, 11, 30))] = "running"
    clock.advance(timedelta(hours=1))
    assert _tick_all(workers) == []
    jobs.states[scheduled_job_id(REFRESH_KIND, date(2026, 11, 30))] = "completed"
    assert _tick_all(workers) == [
        Submitted(RETENTION_KIND, date(2026, 11, 30), "retention-2026-11-30")
    ]
    for _ in range(3):
        clock.advance(timedelta(hours=2))
        assert _tick_all(workers) == []
    clock.at = TWO_AM_CHICAGO + timedelta(days=1)
    assert [s.kind for s in _tick_all(workers)] == [REFRESH_KIND]
    kinds = [kind for kind, _ in jobs.submitted]
    assert kinds == [REFRESH_KIND, REFRESH_KIND, RETENTION_KIND, REFRESH_KIND]
    with chicago.session() as session:
        claims = session.query(ScheduledRun.kind, ScheduledRun.day).order_by(ScheduledRun.id)
        assert [(k, d.isoformat()) for k, d in claims] == [
            (REFRESH_KIND, "2026-11-29"),
            (REFRESH_KIND, "2026-11-30"),
            (RETENTION_KIND, "2026-11-30"),
            (REFRESH_KIND, "2026-12-01"),
        ]


def test_a_failed_refresh_still_lets_retention_run(chicago) -> None:
    """Retention does not read the aggregates: a failed refresh does not hold it back."""
    jobs = FakeJobs()
    [worker] = _workers(chicago, jobs, FixedClock(TWO_AM_CHICAGO), 1)
    [refresh] = worker.tick()
    jobs.states[refresh.job_id] = "failed"
    assert [s.kind for s in worker.tick()] == [RETENTION_KIND]


def test_a_lost_refresh_state_holds_retention_only_a_while(chicago) -> None:
    """A claim whose job state the store lost (expired, or its worker died before submitting)."""
    jobs = FakeJobs()
    clock = FixedClock(TWO_AM_CHICAGO)
    [worker] = _workers(chicago, jobs, clock, 1)
    [refresh] = worker.tick()
    del jobs.states[refresh.job_id]
    clock.advance(STALE_CLAIM - timedelta(seconds=1))
    assert worker.tick() == []
    clock.advance(timedelta(seconds=1))
    assert [s.kind for s in worker.tick()] == [RETENTION_KIND]


def test_the_app_starts_no_schedule_unless_asked(data_dir, monkeypatch) -> None:
    """ANALYTICS_SCHEDULE=false (the tests' default) starts no thread; true starts one."""
    import app as app_module
    from factories import build_app

    started: list[Any] = []
    monkeypatch.setattr(app_module, "start_schedule", lambda runtime: started.append(runtime))
    build_app(data_dir)
    assert started == []
    _, runtime = build_app(data_dir, ANALYTICS_SCHEDULE=True)
    assert started == [runtime]


def test_workers_ticking_at_the_same_instant_submit_once(chicago) -> None:
    """Four threads tick together (the race of four gunicorn workers): one refresh submitted."""
    import threading

    jobs = FakeJobs()
    workers = _workers(chicago, jobs, FixedClock(TWO_AM_CHICAGO), 4)
    barrier = threading.Barrier(len(workers))
    errors: list[BaseException] = []

    def tick(worker: DailySchedule) -> None:
        barrier.wait()
        try:
            worker.tick()
        except BaseException as exc:  # noqa: BLE001 - reported below
            errors.append(exc)

    threads = [threading.Thread(target=tick, args=(w,)) for w in workers]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(30)
    assert errors == []
    assert jobs.submitted == [(REFRESH_KIND, "analytics_refresh-2026-11-30")]
