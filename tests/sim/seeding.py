"""Helpers: seed the real demo into a temporary SQLite file and digest what it wrote."""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from datetime import date
from pathlib import Path

from sqlalchemy import Engine, create_engine, select
from sqlalchemy.orm import Session

from backend.db import models  # noqa: F401  (registers every table on Base.metadata)
from backend.db.base import Base
from backend.db.migrate import upgrade
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
    """A stable hash of every row the seed wrote (salted password hashes left out)."""
    h = hashlib.sha256()
    with Session(engine) as session:
        for table in Base.metadata.sorted_tables:
            cols = [c for c in table.columns if c.name != "password_hash"]
            for row in session.execute(select(*cols).order_by(*table.primary_key.columns)):
                h.update(repr(tuple(row)).encode())
    return h.hexdigest()
