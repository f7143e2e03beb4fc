"""Shared fixtures: isolated settings, SQLite and real PostgreSQL databases, a built app."""

from __future__ import annotations

import os
import tempfile
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest

# `import app` builds the module-level app from the environment: keep it off the real var/.
os.environ.setdefault("DATA_DIR", tempfile.mkdtemp(prefix="fleet-test-"))
os.environ.setdefault("DEMO", "false")
os.environ.setdefault("APP_ENV", "test")
# Apps built by tests start no daily-schedule thread (tests/jobs/test_schedule.py ticks it).
os.environ.setdefault("ANALYTICS_SCHEDULE", "false")

# OR-Tools before anything that might import TensorFlow (see the README's known traps).
import ortools.constraint_solver.pywrapcp  # noqa: E402,F401

PG_ADMIN_URL = os.environ.get(
    "TEST_POSTGRES_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/test"
)
REDIS_TEST_URL = os.environ.get("TEST_REDIS_URL", "redis://127.0.0.1:6379/0")


def _service_missing(kind: str, exc: Exception) -> None:
    # In CI a missing service is a failure, on a laptop a skip with the reason.
    if os.environ.get("CI") == "true":
        pytest.fail(f"{kind} is not reachable in CI: {exc}")
    pytest.skip(f"{kind} not reachable: {exc}")


@pytest.fixture(scope="session")
def postgres_url() -> Iterator[str]:
    """A migrated PostgreSQL database of this test session's own, dropped afterwards."""
    from sqlalchemy import create_engine, text

    name = f"fleet_test_{uuid.uuid4().hex[:10]}"
    # Pre-ping: a test may restart PostgreSQL under this engine (realtime fault tests).
    admin = create_engine(PG_ADMIN_URL, isolation_level="AUTOCOMMIT", pool_pre_ping=True)
    try:
        with admin.connect() as conn:
            conn.execute(text(f'CREATE DATABASE "{name}"'))
    except Exception as exc:  # noqa: BLE001
        admin.dispose()
        _service_missing("PostgreSQL", exc)
    url = PG_ADMIN_URL.rsplit("/", 1)[0] + f"/{name}"
    from backend.db.migrate import upgrade

    engine = create_engine(url)
    upgrade(engine)
    engine.dispose()
    yield url
    with admin.connect() as conn:
        conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
    admin.dispose()


@pytest.fixture(scope="session")
def redis_url() -> str:
    """The test Redis server's URL (skips, or fails in CI, when it is down)."""
    import redis

    try:
        redis.Redis.from_url(REDIS_TEST_URL, socket_connect_timeout=2).ping()
    except Exception as exc:  # noqa: BLE001
        _service_missing("Redis", exc)
    return REDIS_TEST_URL


@pytest.fixture
def data_dir(tmp_path: Path) -> Path:
    """An empty DATA_DIR for one test."""
    path = tmp_path / "data"
    path.mkdir()
    return path


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def database(request: pytest.FixtureRequest, data_dir: Path) -> Iterator[object]:
    """A migrated, empty database on SQLite and on real PostgreSQL."""
    from backend.config import load_settings
    from backend.db.engine import Database
    from backend.db.migrate import upgrade

    url = None
    if request.param == "postgres":
        url = request.getfixturevalue("postgres_url")
    settings = load_settings(DATA_DIR=str(data_dir), DATABASE_URL=url, DEMO=False)
    db = Database(settings)
    if url:
        from factories import empty_postgres

        empty_postgres(db.engine)  # the session's database is shared by its tests
    else:
        upgrade(db.engine)
    yield db
    db.engine.dispose()


@pytest.fixture(scope="session", autouse=True)
def _no_job_process_outlives_the_suite() -> Iterator[None]:
    """Kill the background-callback job processes still alive when the suite ends.

    Dash's diskcache manager forks a process per background call; a child forked while another
    thread of the busy test server held a lock can block forever, and the interpreter's exit
    hook (multiprocess joins its children) would then wait on it: the suite passed and never
    exited. Production workers have the same exposure (see the README's known traps).
    """
    yield
    for module_name in ("multiprocess", "multiprocessing"):
        try:
            module = __import__(module_name)
        except ImportError:
            continue
        for child in module.active_children():
            child.kill()
            child.join(timeout=5)
