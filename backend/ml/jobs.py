"""The training job's body: reads its `model_version` row by job id, trains, judges, promotes.

Runs in the job's own process (see backend.ml.launch until the lead's runner takes over):
TensorFlow is imported there, inside the trainer, and nowhere else.
"""

from __future__ import annotations

import logging
import traceback
from pathlib import Path
from typing import Any

from backend.jobs.context import JobContext
from backend.ml import registry
from backend.ml.eta import (
    ETA_CONFIG,
    ETA_MODEL,
    REFERENCE_DIR,
    compare_on_held_out,
    frame_for,
    train_eta,
)
from backend.ml.eta_data import data_range, load_legs
from backend.ml.learned_matrix import fit_and_save
from backend.ml.numpy_model import ArtifactError, NumpyModel
from backend.ml.storage import upload_artifacts
from backend.ml.tables import TrainerError
from backend.ml.trainer import TrainConfig, TrainingCancelled

log = logging.getLogger(__name__)


def run_training_job(ctx: JobContext) -> dict[str, Any]:
    """Train the version whose `job_id` is `ctx.job_id`; promote it only if it beats the active.

    Ends the row `ready`/`active` with metrics, or `failed` with a message (a cancel, bad data,
    or any error); the active version is never touched unless the new one replaces it.
    """
    settings = ctx.settings
    with ctx.database.session() as session:
        row = registry.get_version_for_job(session, job_id=ctx.job_id)
        if row is None:
            raise LookupError(f"no model_version row for job {ctx.job_id}")
        version_id, name, version = row.id, row.name, row.version
        if name != ETA_MODEL:
            registry.mark_failed(
                session, row, message=f"no trainer for model {name!r}", now=ctx.clock.now()
            )
            return {"status": "failed", "message": f"no trainer for model {name!r}"}
        try:
            config = config_from_dict(row.config) if row.config else ETA_CONFIG
        except (TrainerError, TypeError) as exc:
            registry.mark_failed(session, row, message=str(exc), now=ctx.clock.now())
            return {"status": "failed", "message": str(exc)}
        active = registry.active_version(session, name=name)
        incumbent_version = active.version if active is not None else None
        ctx.report({"stage": "loading", "version": version})
        legs = load_legs(session)
    out = registry.partial_dir(settings, name, version)
    try:
        result, frame = train_eta(
            legs, out, config=config, on_epoch=ctx.report, should_stop=ctx.cancelled
        )
        ctx.report({"stage": "evaluating", "version": version})
        # The learned travel-time factors (a solver matrix provider) travel with the version.
        travel_times = fit_and_save(frame, out, validation_days=result.validation_days)
        candidate = NumpyModel.load(out)
        incumbent = None
        incumbent_frame = None
        if incumbent_version is not None:
            folder = registry.artifact_dir(settings, name, incumbent_version)
            try:
                incumbent = NumpyModel.load(folder)
                # Scored with the drift it serves with: its own reference's, or the plan's.
                reference = (
                    NumpyModel.load(folder / REFERENCE_DIR)
                    if (folder / REFERENCE_DIR).exists()
                    else None
                )
                incumbent_frame = frame_for(legs, reference)
            except ArtifactError as exc:
                log.warning("active %s v%s unloadable (%s): it loses", name, incumbent_version, exc)
                incumbent = None
        judged = compare_on_held_out(
            candidate, incumbent, frame, result.validation_days, incumbent_frame=incumbent_frame
        )
        final = registry.finish_artifacts(settings, name, version)
        # ML_S3_BUCKET (backend/config.py); getattr while that edit awaits its commit.
        bucket = getattr(settings, "ml_s3_bucket", None)
        if bucket:
            _upload(final, bucket, f"models/{name}/{version}")
    except (TrainerError, TrainingCancelled) as exc:
        return _fail(ctx, version_id, str(exc), name, version)
    except BaseException as exc:
        # SIGTERM arrives here as SystemExit (see backend.ml.__main__): record it, then go on dying.
        _fail(ctx, version_id, f"{type(exc).__name__}: {exc}", name, version)
        log.error("training %s v%s failed:\n%s", name, version, traceback.format_exc())
        raise
    metrics = {
        **result.metrics,
        "held_out": judged,
        "seconds": result.seconds,
        "travel_times": travel_times,
    }
    first, last = data_range(frame)
    cand = judged["candidate"]["mae"]
    inc = judged.get("incumbent")
    promote = registry.should_promote(cand, inc["mae"] if inc else None)
    with ctx.database.session() as session:
        row = registry.get_version(session, version_id=version_id)
        assert row is not None
        message = (
            f"held-out P50 MAE {cand:.2f} min"
            + (f" vs active v{incumbent_version} {inc['mae']:.2f}" if inc else "")
            + ("; promoted" if promote else "; kept the active version")
        )
        registry.mark_ready(
            session,
            row,
            metrics=_jsonable(metrics),
            data_from=first,
            data_to=last,
            now=ctx.clock.now(),
            message=message,
        )
        if promote:
            registry.activate(session, row)
    ctx.report({"stage": "done", "version": version, "promoted": promote})
    return {"status": "active" if promote else "ready", "version": version, "message": message}


def _upload(folder: Path, bucket: str, prefix: str) -> None:
    # A failed upload is logged, not fatal: the local artifacts are what serving reads.
    try:
        upload_artifacts(folder, bucket=bucket, prefix=prefix)
    except Exception:  # noqa: BLE001
        log.exception("uploading %s to s3://%s/%s failed", folder, bucket, prefix)


def config_from_dict(data: dict[str, Any]) -> TrainConfig:
    """A TrainConfig from its stored form (lists back to tuples; unknown keys refused)."""
    known = set(TrainConfig.__dataclass_fields__)
    unknown = set(data) - known
    if unknown:
        raise TrainerError(f"unknown training settings {sorted(unknown)}")
    values: dict[str, Any] = {k: tuple(v) if isinstance(v, list) else v for k, v in data.items()}
    return TrainConfig(**values)


def _fail(
    ctx: JobContext, version_id: int, message: str, name: str, version: int
) -> dict[str, Any]:
    registry.discard_partial(ctx.settings, name, version)
    with ctx.database.session() as session:
        row = registry.get_version(session, version_id=version_id)
        if row is not None:
            registry.mark_failed(session, row, message=message, now=ctx.clock.now())
    ctx.report({"stage": "failed", "message": message})
    return {"status": "failed", "message": message}


def _jsonable(value: Any) -> Any:
    # JSON (and JSONB) has no NaN: store missing figures as null.
    if isinstance(value, dict):
        return {str(k): _jsonable(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_jsonable(v) for v in value]
    if isinstance(value, float) and (value != value or value in (float("inf"), float("-inf"))):
        return None
    return value
