"""The job runner in its default mode: a subprocess per job, announced when it ends.

A job started by the runner is followed by status/progress/result from any process; its end is
published by the runner itself (no watcher per request); a job process that dies mid-run ends
`failed`, with its request, and is announced like any other end.
"""

from __future__ import annotations

import json
import time
from pathlib import Path

import psutil
import pytest

from backend.auth.users import create_user, principal_for
from backend.clock import FixedClock
from backend.db.models import OptimizationEvent, OptimizationRequest
from backend.planning import PlanRequest
from backend.planning.submit import submit_plan
from backend.realtime import get_realtime
from factories import DAY, at_hour, build_app, seed_small_day

pytestmark = pytest.mark.slow


@pytest.fixture
def runtime(data_dir: Path):
    _, runtime = build_app(data_dir, clock=FixedClock(at_hour(7)))
    yield runtime
    runtime.db.engine.dispose()


def _start(runtime, time_limit_s: float) -> tuple[str, int, list[dict]]:
    depot_id = seed_small_day(runtime.db)
    with runtime.db.session() as session:
        principal = principal_for(
            create_user(
                session,
                username="disp",
                password="pw-long-enough",
                role="dispatcher",
                depot_ids=[depot_id],
            )
        )
    heard: list[dict] = []
    get_realtime(runtime).bus.subscribe(lambda channel, text: heard.append(json.loads(text)))
    job_id = submit_plan(
        runtime.jobs,
        runtime.db,
        principal=principal,
        request=PlanRequest(
            depot_id=depot_id, service_date=DAY, time_limit_s=time_limit_s, engine="ortools"
        ),
        clock=runtime.clock,
        source="api",
    )
    return job_id, depot_id, heard


def _until(condition, timeout: float = 60.0) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < deadline, "timed out"
        time.sleep(0.1)


def test_a_job_runs_in_its_own_process_and_the_runner_announces_its_end(runtime) -> None:
    job_id, depot_id, heard = _start(runtime, 1)
    assert runtime.jobs.status(job_id) in ("queued", "running", "completed")
    _until(lambda: any(m.get("requestId") == job_id for m in heard))
    assert runtime.jobs.status(job_id) == "completed"
    result = runtime.jobs.result(job_id)
    assert result["status"] == "completed" and result["orders"] == 12
    [update] = [m for m in heard if m.get("requestId") == job_id]
    assert update["type"] == "route_optimization_update" and update["depotId"] == depot_id
    assert update["responseId"] == result["response_id"]


def test_a_job_process_killed_mid_run_ends_failed_and_is_announced(runtime) -> None:
    job_id, _, heard = _start(runtime, 120)
    _until(lambda: runtime.jobs.status(job_id) == "running")
    [child] = [
        p
        for p in psutil.Process().children(recursive=True)
        if "backend.jobs.execute" in " ".join(p.cmdline())
    ]
    child.kill()
    _until(lambda: any(m.get("requestId") == job_id for m in heard), timeout=30)
    assert runtime.jobs.status(job_id) == "failed"
    [update] = [m for m in heard if m.get("requestId") == job_id]
    assert update["status"] == "failed"
    with runtime.db.session() as session:
        assert session.get(OptimizationRequest, job_id).status == "failed"
        events = session.query(OptimizationEvent.event_type).filter_by(request_id=job_id).all()
        assert ("failed",) in events


def test_every_job_kind_names_an_importable_body_without_tensorflow() -> None:
    """Kinds are import paths; loading them in the web process pulls in no TensorFlow."""
    import subprocess
    import sys

    code = (
        "import sys\n"
        "from backend.jobs.kinds import JOB_KINDS, load\n"
        "for kind in JOB_KINDS.values():\n"
        "    assert callable(load(kind.body)), kind\n"
        "    assert kind.on_finished is None or callable(load(kind.on_finished)), kind\n"
        "assert set(JOB_KINDS) >= {'planning', 'training'}\n"
        "assert 'tensorflow' not in sys.modules and 'keras' not in sys.modules\n"
    )
    subprocess.run([sys.executable, "-c", code], check=True, cwd=Path(__file__).parents[2])
