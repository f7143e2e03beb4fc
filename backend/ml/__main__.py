"""`python -m backend.ml train DATA --target T ...` and `python -m backend.ml run-job JOB_ID`."""

from __future__ import annotations

import argparse
import json
import signal
import sys
from pathlib import Path

# OR-Tools before anything that might import TensorFlow (see the README's known traps).
import ortools.constraint_solver.pywrapcp  # noqa: F401


def main(argv: list[str] | None = None) -> int:
    """Parse the command line and run it."""
    parser = argparse.ArgumentParser(prog="python -m backend.ml")
    sub = parser.add_subparsers(dest="command", required=True)
    train = sub.add_parser("train", help="train a model on a CSV, Parquet or JSON table")
    train.add_argument("data", type=Path)
    train.add_argument("--target", action="append", required=True, help="a target column")
    train.add_argument("--out", type=Path, required=True, help="the artifact folder")
    train.add_argument("--hidden", default="64,32", help="hidden layer sizes, e.g. 64,32")
    train.add_argument("--epochs", type=int, default=40)
    train.add_argument("--learning-rate", type=float, default=1e-3)
    train.add_argument("--loss", default="mse")
    train.add_argument("--quantiles", default="", help="e.g. 0.1,0.5,0.9 (with --loss pinball)")
    train.add_argument("--output-activation", default="linear")
    train.add_argument("--day-column", default="day")
    train.add_argument("--categorical", default="", help="force these columns categorical")
    train.add_argument("--seed", type=int, default=42)
    job = sub.add_parser("run-job", help="run a training job (started by the Train button)")
    job.add_argument("job_id")
    args = parser.parse_args(argv)
    if args.command == "train":
        return _train(args)
    return _run_job(args.job_id)


def _train(args: argparse.Namespace) -> int:
    from backend.ml.tables import TrainerError
    from backend.ml.trainer import TrainConfig, train

    try:
        config = TrainConfig(
            targets=tuple(args.target),
            hidden=tuple(int(h) for h in args.hidden.split(",") if h),
            epochs=args.epochs,
            learning_rate=args.learning_rate,
            loss=args.loss,
            quantiles=tuple(float(q) for q in args.quantiles.split(",") if q),
            output_activation=args.output_activation,
            day_column=args.day_column or None,
            categorical=tuple(c for c in args.categorical.split(",") if c) or None,
            seed=args.seed,
        )
        result = train(
            args.data, config, args.out, on_epoch=lambda p: print(json.dumps(p), flush=True)
        )
    except TrainerError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    print(json.dumps({"out": str(result.out_dir), "metrics": result.metrics}, default=str))
    return 0


def _run_job(job_id: str) -> int:
    from backend.cache import make_store
    from backend.clock import SYSTEM_CLOCK
    from backend.config import load_settings
    from backend.db.engine import Database
    from backend.jobs.context import JobContext
    from backend.jobs.control import JobControl
    from backend.ml.jobs import run_training_job

    def stop(signum: int, _frame: object) -> None:
        # SystemExit unwinds through run_training_job, which records the version as failed.
        raise SystemExit(f"stopped by signal {signum}")

    signal.signal(signal.SIGTERM, stop)
    settings = load_settings()
    ctx = JobContext(
        job_id=job_id,
        settings=settings,
        database=Database(settings),
        clock=SYSTEM_CLOCK,
        control=JobControl(make_store(settings)),
    )
    result = run_training_job(ctx)
    print(json.dumps(result, default=str))
    return 0 if result.get("status") != "failed" else 1


if __name__ == "__main__":
    raise SystemExit(main())
