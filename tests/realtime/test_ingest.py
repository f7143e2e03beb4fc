"""The batch writer on SQLite and PostgreSQL: a resend stores nothing twice, late fixes are
stored without moving the vehicle state back, and a failing database is retried without
acknowledging anything until the batch is durable."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from sqlalchemy import func, select

from backend.clock import FixedClock
from backend.config import load_settings
from backend.db.engine import Database
from backend.db.migrate import upgrade
from backend.db.models import Position, VehicleState
from backend.realtime.bus import InProcessBus
from backend.realtime.ingest import PendingAck, PositionWriter, persist_positions
from backend.realtime.protocol import PositionFix
from tests.realtime.conftest import Fleet, seed_fleet

T0 = datetime(2026, 5, 1, 12, 0, tzinfo=UTC)
NOW = T0 + timedelta(minutes=1)


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def db_and_fleet(
    request: pytest.FixtureRequest, data_dir: Path
) -> Iterator[tuple[Database, Fleet]]:
    url = request.getfixturevalue("own_postgres_url") if request.param == "postgres" else None
    db = Database(load_settings(DATA_DIR=str(data_dir), DATABASE_URL=url, DEMO=False))
    upgrade(db.engine)
    yield db, seed_fleet(db)
    db.engine.dispose()


def _fix(vehicle: int, seq: int, seconds: float, lat: float = 41.9) -> PositionFix:
    return PositionFix(vehicle, seq, T0 + timedelta(seconds=seconds), lat, -87.6, 5.0, None, 4.0)


def _state(db: Database, vehicle: int) -> tuple[int, float]:
    with db.session() as session:
        row = session.get(VehicleState, vehicle)
        assert row is not None
        return row.seq, row.lat


def test_resends_are_stored_once_and_late_fixes_never_move_the_state_back(db_and_fleet) -> None:
    db, fleet = db_and_fleet
    a, b = fleet.vehicles[:2]
    with db.session() as session:
        persist_positions(
            session, [_fix(a, 1, 1), _fix(a, 2, 2, 41.95), _fix(b, 1, 1)], received_at=NOW
        )
    with db.session() as session:
        # A resend of seq 2, a late seq 0, and a duplicate inside the same batch.
        persist_positions(
            session,
            [_fix(a, 2, 2, 41.95), _fix(a, 0, -60, 40.0), _fix(b, 1, 1)],
            received_at=NOW,
        )
    with db.session() as session:
        assert session.scalar(select(func.count()).select_from(Position)) == 4
    assert _state(db, a) == (2, 41.95)
    with db.session() as session:
        persist_positions(session, [_fix(a, 3, 3, 42.0)], received_at=NOW)
    assert _state(db, a) == (3, 42.0)


def test_a_failing_database_is_retried_and_acks_wait_for_durability(db_and_fleet) -> None:
    db, fleet = db_and_fleet
    failures = {"left": 3}
    acks: list[dict] = []

    @contextmanager
    def flaky_sessions():
        if failures["left"]:
            failures["left"] -= 1
            raise ConnectionError("database restarting")
        with db.session() as session:
            yield session

    writer = PositionWriter(flaky_sessions, InProcessBus())
    ack = PendingAck(acks.append, {"type": "acknowledgment", "seqs": [1, 2]}, 2)
    fixes = [(_fix(fleet.vehicles[0], s, s), fleet.depots[0]) for s in (1, 2)]
    assert writer.submit(fixes, ack)
    writer.start()
    try:
        assert writer.wait_idle(10)
    finally:
        writer.stop()
    assert failures["left"] == 0 and acks == [{"type": "acknowledgment", "seqs": [1, 2]}]
    with db.session() as session:
        assert session.scalar(select(func.count()).select_from(Position)) == 2


def test_a_full_queue_refuses_instead_of_growing(db_and_fleet) -> None:
    db, fleet = db_and_fleet
    writer = PositionWriter(db.session, InProcessBus(), capacity=3)
    fixes = [(_fix(fleet.vehicles[0], s, s), None) for s in range(4)]
    assert not writer.submit(fixes, PendingAck(lambda _: None, {}, 4))
    assert writer.depth == 0


def test_the_writer_stamps_what_it_stores_with_its_clock(db_and_fleet) -> None:
    db, fleet = db_and_fleet
    clock = FixedClock(NOW)
    writer = PositionWriter(db.session, InProcessBus(), clock=clock)
    assert writer.submit([(_fix(fleet.vehicles[0], 1, 1), None)], PendingAck(lambda _: None, {}, 1))
    writer.start()
    try:
        assert writer.wait_idle(10)
    finally:
        writer.stop()
    with db.session() as session:
        assert session.scalars(select(Position.received_at)).one() == NOW
        assert session.get(VehicleState, fleet.vehicles[0]).updated_at == NOW
