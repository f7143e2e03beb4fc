"""One job runner for every background job kind (planning now; training, forecasts next).

`JobRunner.submit(kind, job_id)` starts a job whose data is already stored under its id;
`status`, `progress`, `cancel`, `result` follow it; `JobContext` is what a job's body gets.
"""

from backend.jobs.celery_app import make_celery
from backend.jobs.context import JobContext
from backend.jobs.runner import FINAL_STATES, JobRunner, make_runner

__all__ = ["FINAL_STATES", "JobContext", "JobRunner", "make_celery", "make_runner"]
