"""Liveness (/healthz) and the admin health report (database, Redis, pool, jobs)."""

from __future__ import annotations

import time
from typing import Any

from flask import Blueprint, Response, jsonify
from sqlalchemy import text

from backend.runtime import Runtime, current_runtime

blueprint = Blueprint("health", __name__)


@blueprint.route("/healthz")
def healthz() -> Response:
    """Liveness: the process answers; checks nothing else, so it never flaps with the DB."""
    return jsonify({"status": "ok"})


def health_report(runtime: Runtime) -> dict[str, Any]:
    """Reachability and latency of the database and Redis, pool figures, job backend."""
    report: dict[str, Any] = {"status": "ok", "background_jobs": runtime.settings.background_jobs}
    started = time.perf_counter()
    try:
        with runtime.db.engine.connect() as conn:
            conn.execute(text("SELECT 1"))
        report["database"] = {
            "ok": True,
            "dialect": runtime.db.engine.dialect.name,
            "latency_ms": round((time.perf_counter() - started) * 1000, 2),
        }
    except Exception as exc:  # noqa: BLE001 - the report must say what failed, not raise
        report["database"] = {"ok": False, "error": type(exc).__name__}
        report["status"] = "degraded"
    report["pool"] = runtime.db.pool_status()
    if runtime.redis is None:
        report["redis"] = {"configured": False}
    else:
        started = time.perf_counter()
        try:
            runtime.redis.ping()
            report["redis"] = {
                "configured": True,
                "ok": True,
                "latency_ms": round((time.perf_counter() - started) * 1000, 2),
            }
        except Exception as exc:  # noqa: BLE001
            report["redis"] = {"configured": True, "ok": False, "error": type(exc).__name__}
            report["status"] = "degraded"
    return report


def health_response() -> tuple[Response, int]:
    """The health report as JSON; 503 when a dependency is down."""
    report = health_report(current_runtime())
    return jsonify(report), 200 if report["status"] == "ok" else 503
