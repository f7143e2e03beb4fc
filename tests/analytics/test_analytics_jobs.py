"""The analytics job kinds: their bodies on both databases, both kinds through the real runner
(a job process of their own), and the "Refresh figures" button submitting a job and following it.
"""

from __future__ import annotations

import time
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from flask import g
from handmade_fleet import DAY, Handmade, add_positions, build

from backend.analytics.jobs import run_refresh_job, run_retention_job
from backend.analytics.kpis import kpi_values
from backend.analytics.queries import get_overview
from backend.auth.permissions import make_principal
from backend.cache import make_store
from backend.clock import FixedClock
from backend.db.models import DeliveryRating
from backend.jobs.context import JobContext
from backend.jobs.control import JobControl
from backend.jobs.kinds import JOB_KINDS
from backend.jobs.tickets import sign_ticket

NOW = datetime(2026, 6, 1, 9, tzinfo=UTC)  # 91 days after the hand-made day


def _context(database, job_id: str) -> JobContext:
    control = JobControl(make_store(database.settings))
    return JobContext(job_id, database.settings, database, FixedClock(NOW), control)


def _rating(database) -> tuple[float | None, float | None]:
    with database.session() as session:
        values = kpi_values(
            get_overview(session, depot_ids=None, date_from=DAY, date_to=DAY).current
        )
    return values["customer_rating"], values["ratings"]


def test_the_kinds_are_known_to_the_runner() -> None:
    """analytics_refresh and retention are job kinds with their bodies in backend.analytics."""
    assert JOB_KINDS["analytics_refresh"].body == "backend.analytics.jobs:run_refresh_job"
    assert JOB_KINDS["retention"].body == "backend.analytics.jobs:run_retention_job"


def test_the_refresh_body_rebuilds_the_aggregates(database, handmade: Handmade) -> None:
    """A rating added after the last refresh counts once the job has run; progress says done."""
    with database.session() as session:
        session.add(DeliveryRating(order_id=_o4(session), rating=2, created_at=NOW))
    assert _rating(database) == (4.5, 2)
    ctx = _context(database, "refresh-1")
    result = run_refresh_job(ctx)
    assert result["status"] == "completed" and result["rows"]["analytics_rating_daily"] == 1
    assert _rating(database) == (pytest.approx(11 / 3), 3)
    assert ctx.control.get_progress("refresh-1")["stage"] == "done"


def test_the_retention_body_uses_the_workers_settings_and_clock(
    database, handmade: Handmade
) -> None:
    """Fixes of the hand-made day (older than POSITION_RAW_DAYS at NOW) are thinned to a track;
    the KPIs are unchanged."""
    with database.session() as session:
        added = add_positions(session, handmade.vehicle_id, DAY, every_s=5, hours=1)
    before = _rating(database)
    result = run_retention_job(_context(database, "retention-1"))
    assert result["status"] == "completed" and result["examined"] == added
    assert 0 < result["thinned"] < added and result["purged"] == 0
    assert _rating(database) == before


def test_retention_stops_when_cancelled(database, handmade: Handmade) -> None:
    """A cancel between vehicles ends the job `cancelled`; the next run resumes."""
    with database.session() as session:
        add_positions(session, handmade.vehicle_id, DAY, every_s=5, hours=1)
    ctx = _context(database, "retention-2")
    ctx.control.request_cancel("retention-2")
    assert run_retention_job(ctx)["status"] == "cancelled"
    again = run_retention_job(_context(database, "retention-3"))
    assert again["status"] == "completed" and again["thinned"] > 0


def _o4(session) -> int:
    from sqlalchemy import select

    from backend.db.models import Order

    return int(session.scalar(select(Order.id).where(Order.reference == "O4")))


def _until_final(runtime, job_id: str, timeout: float = 120.0) -> dict[str, Any]:
    deadline = time.monotonic() + timeout
    while runtime.jobs.status(job_id) not in ("completed", "failed", "cancelled", "skipped"):
        assert time.monotonic() < deadline, f"{job_id} did not finish"
        time.sleep(0.2)
    return runtime.jobs.result(job_id)


@pytest.mark.slow
def test_both_kinds_run_through_the_runner(data_dir) -> None:
    """Submitted by id, each runs in a job process of its own and records its result."""
    from factories import build_app

    _, runtime = build_app(data_dir)
    with runtime.db.session() as session:
        build(session)
        add_positions(session, 1, DAY - timedelta(days=400), every_s=30, hours=1)
    refresh = runtime.jobs.submit("analytics_refresh", "analytics_refresh-test")
    retention = runtime.jobs.submit("retention", "retention-test")
    result = _until_final(runtime, refresh)
    assert result["status"] == "completed", result
    assert result["rows"]["analytics_rating_daily"] == 1
    assert _rating(runtime.db) == (4.5, 2)
    result = _until_final(runtime, retention)
    assert result["status"] == "completed" and result["purged"] == 120, result
    runtime.db.engine.dispose()


class FakeJobs:
    """Records submits; answers status and result from a dict."""

    def __init__(self) -> None:
        self.submitted: list[tuple[str, str]] = []
        self.states: dict[str, tuple[str, dict[str, Any] | None]] = {}

    def submit(self, kind: str, job_id: str) -> str:
        self.submitted.append((kind, job_id))
        self.states[job_id] = ("queued", None)
        return job_id

    def status(self, job_id: str) -> str | None:
        return self.states.get(job_id, (None, None))[0]

    def result(self, job_id: str) -> dict[str, Any] | None:
        return self.states.get(job_id, (None, None))[1]


@pytest.fixture
def page(data_dir):
    from factories import build_app

    app, runtime = build_app(data_dir)
    jobs = FakeJobs()
    runtime.__dict__["jobs"] = jobs  # the runner is a cached property: this one instead
    contexts: list[Any] = []

    def login(role: str, user_id: int = 1) -> Any:
        ctx = app.server.test_request_context("/_dash-update-component", method="POST")
        ctx.push()
        g.principal = make_principal(user_id=user_id, username=role, role=role, depot_ids=[1])
        contexts.append(ctx)
        return runtime

    yield login, jobs
    for ctx in reversed(contexts):
        ctx.pop()
    runtime.db.engine.dispose()


def test_the_button_submits_a_refresh_job_and_the_poll_follows_it(page) -> None:
    """Click: one analytics_refresh job, a signed ticket, the poll on; done: off and redrawn."""
    from callbacks import analytics

    login, jobs = page
    runtime = login("manager")
    message, ticket, poll_disabled = analytics.refresh_figures(1)
    [(kind, job_id)] = jobs.submitted
    assert kind == "analytics_refresh" and ticket["request_id"] == job_id
    assert poll_disabled is False and message == "Refresh queued…"
    jobs.states[job_id] = ("running", None)
    assert analytics.poll_refresh(1, ticket, None) == (
        "Refreshing the figures…",
        False,
        analytics.no_update,
    )
    jobs.states[job_id] = ("completed", {"status": "completed", "seconds": 1.25})
    assert analytics.poll_refresh(2, ticket, None) == ("Figures refreshed in 1.2 s.", True, 1)
    assert analytics.poll_refresh(3, ticket, 1)[2] == 2  # a second refresh redraws again
    jobs.states[job_id] = ("failed", {"status": "failed", "error": "boom <b>"})
    assert analytics.poll_refresh(4, ticket, 2)[0] == "The refresh failed: boom <b>"
    # A ticket signed for another user, or a forged one, follows nothing.
    other = sign_ticket(runtime.settings.effective_secret_key, job_id, 2)
    assert analytics.poll_refresh(5, other, 2)[1] is True
    assert analytics.poll_refresh(6, {"request_id": job_id, "signature": "x"}, 2)[1] is True
    assert len(jobs.submitted) == 1


def test_a_dispatcher_cannot_refresh(page) -> None:
    """Only managers and admins start the job."""
    from callbacks import analytics

    login, jobs = page
    login("dispatcher")
    message, *_ = analytics.refresh_figures(1)
    assert message == "Only managers can refresh the figures." and jobs.submitted == []
