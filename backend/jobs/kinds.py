"""The job kinds the runner knows: each names its body and what to announce when it ends.

Named by import path, so this low layer never imports the features that define jobs.
"""

from __future__ import annotations

import importlib
from dataclasses import dataclass
from typing import Any


@dataclass(frozen=True)
class JobKind:
    """A kind of job: `body(ctx) -> result`, `on_finished(...)` run after its last commit.

    `reap(session, *, now)` fails this kind's jobs whose process died unseen (backend.jobs.reaper).
    """

    name: str
    body: str
    on_finished: str | None = None
    reap: str | None = None


JOB_KINDS: dict[str, JobKind] = {
    kind.name: kind
    for kind in (
        JobKind(
            "planning",
            body="backend.planning.job:run_planning_job",
            on_finished="backend.planning.publish:announce_finished",
            reap="backend.planning.store:reap_abandoned",
        ),
        # TensorFlow is imported inside the body only: in the job's own process. A killed
        # job's version still `training` is ended `failed` by its on_finished.
        JobKind(
            "training",
            body="backend.ml.jobs:run_training_job",
            on_finished="backend.ml.registry:training_finished",
            reap="backend.ml.registry:fail_stale_trainings",
        ),
        # The demand forecast and fleet-size suggestion: scikit-learn and the solver, no
        # TensorFlow; a killed run still `training` is ended `failed` like a training.
        JobKind(
            "forecast",
            body="backend.ml.forecast:run_forecast_job",
            on_finished="backend.ml.registry:training_finished",
            reap="backend.ml.registry:fail_stale_trainings",
        ),
        # The daily aggregates and position retention (backend.jobs.schedule runs both daily).
        JobKind("analytics_refresh", body="backend.analytics.jobs:run_refresh_job"),
        JobKind("retention", body="backend.analytics.jobs:run_retention_job"),
    )
}


def job_kind(name: str) -> JobKind:
    """The kind called `name`; ValueError for an unknown one."""
    try:
        return JOB_KINDS[name]
    except KeyError:
        raise ValueError(f"unknown job kind {name!r}") from None


def load(path: str) -> Any:
    """The function at `module:function`."""
    module, _, attribute = path.partition(":")
    return getattr(importlib.import_module(module), attribute)
