"""Fixtures for the UI tests: a migrated temporary SQLite database filled with sample data."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import date
from pathlib import Path

import pytest
from sample_data import Sample, build_sample
from sqlalchemy.orm import Session

from backend.config import load_settings
from backend.db.engine import Database
from backend.db.migrate import upgrade

TODAY = date(2026, 11, 27)


@pytest.fixture(scope="module")
def database(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Database]:
    data_dir: Path = tmp_path_factory.mktemp("ui-db")
    db = Database(load_settings(DATA_DIR=data_dir, DEMO=False))
    upgrade(db.engine)
    yield db
    db.engine.dispose()


@pytest.fixture(scope="module")
def sample(database: Database) -> Sample:
    with database.session() as session:
        return build_sample(session, today=TODAY)


@pytest.fixture
def session(database: Database, sample: Sample) -> Iterator[Session]:
    with database.session() as s:
        yield s
