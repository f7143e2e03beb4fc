"""Fixtures of the analytics tests: the hand-made fleet on SQLite and PostgreSQL, refreshed."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parent))

from handmade_fleet import Handmade, build  # noqa: E402


@pytest.fixture
def handmade(database) -> Handmade:
    """The hand-made fleet in an empty database, with the aggregates refreshed."""
    from sqlalchemy import delete

    from backend.analytics.aggregates import refresh_aggregates
    from backend.analytics.retention import retention_state

    with database.engine.begin() as conn:  # not one of the ORM's tables: not truncated
        conn.execute(delete(retention_state))
    with database.session() as session:
        fleet = build(session)
    refresh_aggregates(database)
    return fleet
