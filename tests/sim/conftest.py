"""Fixtures: a real demo seed on a temporary SQLite file, shared by the sim tests."""

from __future__ import annotations

import hashlib
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import date
from pathlib import Path

import pytest
from sqlalchemy import Engine, create_engine, select
from sqlalchemy.orm import Session

from backend.db.migrate import upgrade
from backend.db.models import Order, Route, RouteStop
from backend.sim.demo import DemoSummary, seed_demo

TODAY = date(2026, 11, 27)
SHORT_HISTORY = 5


@dataclass(frozen=True)
class Seeded:
    engine: Engine
    summary: DemoSummary


def seed_into(path: Path, *, seed: int, history_days: int = SHORT_HISTORY) -> Seeded:
    engine = create_engine(f"sqlite:///{path}")
    upgrade(engine)
    with Session(engine) as session:
        summary = seed_demo(session, seed=seed, today=TODAY, history_days=history_days)
        session.commit()
    return Seeded(engine, summary)


def digest(engine: Engine) -> str:
    """A stable hash of every order, route and stop (ids included)."""
    h = hashlib.sha256()
    with Session(engine) as session:
        for model in (Order, Route, RouteStop):
            cols = list(model.__table__.columns)
            for row in session.execute(select(*cols).order_by(cols[0])):
                h.update(repr(tuple(row)).encode())
    return h.hexdigest()


@pytest.fixture(scope="session")
def seeded(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Seeded]:
    result = seed_into(tmp_path_factory.mktemp("demo") / "fleet.db", seed=7)
    yield result
    result.engine.dispose()


@pytest.fixture()
def session(seeded: Seeded) -> Iterator[Session]:
    with Session(seeded.engine) as s:
        yield s
