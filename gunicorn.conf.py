"""gunicorn settings for `gunicorn app:server`: migrate (and seed the demo) once, before forking."""

import os
import shutil

bind = f"{os.environ.get('HOST', '127.0.0.1')}:{os.environ.get('PORT', '8050')}"
# gunicorn 27 otherwise writes a control socket under the home directory.
control_socket_disable = True
# Workers import the app after the master has migrated; no database handle crosses the fork.
preload_app = False
timeout = 60
graceful_timeout = 20


def on_starting(server: object) -> None:
    """Bring the schema up to date (and seed an empty demo database) once per deployment."""
    from backend.cli import prepare_database, print_credentials, seed_if_empty
    from backend.config import load_settings

    settings = load_settings()
    # Every worker writes its metrics to files here, so /metrics adds them all up whichever
    # worker answers (prometheus-client's multiprocess mode); emptied at each start.
    # One folder per master: two deployments (or test clusters) may share DATA_DIR.
    metrics_dir = settings.data_dir / "prometheus" / str(os.getpid())
    shutil.rmtree(metrics_dir, ignore_errors=True)
    metrics_dir.mkdir(parents=True, exist_ok=True)
    os.environ.setdefault("PROMETHEUS_MULTIPROC_DIR", str(metrics_dir))
    database = prepare_database(settings)
    if settings.demo:
        print_credentials(seed_if_empty(database, settings))
    database.engine.dispose()


def child_exit(server: object, worker: object) -> None:
    """Forget a dead worker's live gauges (its counters still count)."""
    from prometheus_client import multiprocess

    multiprocess.mark_process_dead(worker.pid)  # type: ignore[attr-defined]
