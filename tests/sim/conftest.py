"""Fixtures: one real demo seed (seed 7, short history) on a temporary SQLite file."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from sqlalchemy.orm import Session

from tests.sim.seeding import Seeded, seed_into


@pytest.fixture(scope="session")
def seeded(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Seeded]:
    result = seed_into(tmp_path_factory.mktemp("demo") / "fleet.db", seed=7)
    yield result
    result.engine.dispose()


@pytest.fixture()
def session(seeded: Seeded) -> Iterator[Session]:
    with Session(seeded.engine) as s:
        yield s
