"""Solver job metrics read from the database at scrape time.

Jobs run in other processes (a subprocess, a forked background callback, a Celery worker), so
in-process counters would miss them; the stored requests and responses see every job.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterator
from contextlib import AbstractContextManager

from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily
from prometheus_client.registry import Collector
from sqlalchemy import func, select
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.orm import Session

from backend.db.models import OptimizationRequest, OptimizationResponse

log = logging.getLogger(__name__)
SessionScope = Callable[[], AbstractContextManager[Session]]


class SolverJobsCollector(Collector):
    """Jobs by engine and outcome, and total solve time, for plans made by the solver."""

    def __init__(self, session_scope: SessionScope) -> None:
        self._session_scope = session_scope

    def describe(self) -> Iterator[CounterMetricFamily]:
        """Names only, so registering the collector runs no query."""
        yield CounterMetricFamily("solver_jobs", "Planning jobs by engine and outcome")
        yield CounterMetricFamily("solver_solve_seconds", "Time spent solving, by engine")

    def collect(self) -> Iterator[CounterMetricFamily | GaugeMetricFamily]:
        """Yield the job counters (one grouped query each); nothing when the DB is down."""
        try:
            yield from self._collect()
        except SQLAlchemyError:
            log.warning("solver metrics unavailable", exc_info=True)

    def _collect(self) -> Iterator[CounterMetricFamily | GaugeMetricFamily]:
        engine = OptimizationResponse.meta["engine"].as_string()
        solve_s = OptimizationResponse.meta["solve_s"].as_float()
        with self._session_scope() as session:
            # Depot plans have no single vehicle; history rows of the demo are per vehicle.
            outcomes = session.execute(
                select(OptimizationRequest.status, func.count())
                .where(OptimizationRequest.vehicle_id.is_(None))
                .group_by(OptimizationRequest.status)
            ).all()
            by_engine = session.execute(
                select(engine, OptimizationRequest.status, func.count(), func.sum(solve_s))
                .join(OptimizationRequest)
                .where(OptimizationRequest.vehicle_id.is_(None), engine.is_not(None))
                .group_by(engine, OptimizationRequest.status)
            ).all()
        jobs = CounterMetricFamily(
            "solver_jobs", "Planning jobs by engine and outcome", labels=["engine", "outcome"]
        )
        seconds = CounterMetricFamily(
            "solver_solve_seconds", "Time spent solving, by engine", labels=["engine"]
        )
        per_engine: dict[str, float] = {}
        for name, status, count, total in by_engine:
            jobs.add_metric([name, status], float(count))
            per_engine[name] = per_engine.get(name, 0.0) + float(total or 0.0)
        for name, total in per_engine.items():
            seconds.add_metric([name], total)
        # Failed and unfinished jobs have no response, hence no engine.
        for status, count in outcomes:
            if status in ("failed", "pending", "running"):
                jobs.add_metric(["none", status], float(count))
        yield jobs
        yield seconds
