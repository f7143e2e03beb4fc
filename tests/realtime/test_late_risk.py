"""At-risk alerts: a stop made late on purpose raises one `late_risk` notification for its
depot's dispatchers (stored, pushed to the depot room, with the suggested re-optimization),
recomputing never raises a second one, and it clears when the stop is no longer late or is
delivered; a dispatcher of the other depot never sees it; positions arriving over the socket
are what triggers the pass, and two workers raising the same alert at once store one."""

from __future__ import annotations

import json
import threading
from datetime import datetime, timedelta

import pytest
from sqlalchemy import func, select

from backend.auth.users import principal_for
from backend.config import load_settings
from backend.db.engine import Database
from backend.db.migrate import upgrade
from backend.db.models import Notification, Order, Route, RouteStop, User
from backend.services import late_risk
from backend.services.late_risk import LATE_RISK, REOPTIMIZE_ACTION, refresh_late_risk
from backend.services.notifications import list_notifications
from tests.realtime.conftest import fix, seed_fleet


def _start(database, fleet) -> datetime:
    with database.session() as session:
        return session.get(Route, fleet.route).planned_start_at


def _make_late(database, fleet, *, late: bool = True) -> None:
    # The first order's window ends 10 minutes before its planned arrival (or 2 h after it).
    with database.session() as session:
        stop = session.get(RouteStop, fleet.stops[1])
        order = session.get(Order, fleet.orders[0])
        shift = timedelta(minutes=-10) if late else timedelta(hours=2)
        order.window_end = stop.planned_arrival_at + shift


def _refresh(database, fleet, now, depots=None):
    with database.session() as session:
        return refresh_late_risk(session, depot_ids=depots or [fleet.depots[0]], now=now)


def _alerts(database) -> list[Notification]:
    with database.session() as session:
        rows = list(session.scalars(select(Notification).order_by(Notification.id)))
        session.expunge_all()
        return rows


def _principal(database, fleet, username: str):
    with database.session() as session:
        return principal_for(session.get(User, fleet.users[username]))


def test_a_stop_made_late_raises_one_alert_that_clears_when_it_is_on_time(database, fleet) -> None:
    now = _start(database, fleet)
    assert _refresh(database, fleet, now).frames == []
    _make_late(database, fleet)
    [frame] = _refresh(database, fleet, now).raised
    note = frame["notification"]
    assert frame["type"] == "notification" and note["kind"] == LATE_RISK
    assert note["depotId"] == fleet.depots[0] and note["audience"] == ["dispatcher"]
    assert "ORD-0" in note["title"] and "V1" in note["title"]
    assert "re-optimize the remaining stops" in note["body"]
    assert note["vehicleId"] == fleet.vehicles[0] and note["stopId"] == fleet.stops[1]
    assert note["data"]["action"] == REOPTIMIZE_ACTION
    assert note["data"]["orderReference"] == "ORD-0" and note["data"]["routeId"] == fleet.route
    [row] = _alerts(database)
    assert (row.route_stop_id, row.resolved_at, row.severity) == (fleet.stops[1], None, "warning")

    # Recomputing (twice, later) finds the same stop at risk and raises nothing new.
    assert _refresh(database, fleet, now).frames == []
    assert _refresh(database, fleet, now + timedelta(seconds=30)).frames == []
    assert len(_alerts(database)) == 1

    # On time again: the alert clears (resolved, acknowledged by nobody) and says so.
    _make_late(database, fleet, late=False)
    later = now + timedelta(minutes=1)
    [cleared] = _refresh(database, fleet, later).cleared
    assert cleared["notification"]["id"] == row.id
    assert cleared["notification"]["resolvedAt"] is not None
    [row] = _alerts(database)
    assert row.resolved_at == later and row.acknowledged_at == later
    assert row.acknowledged_by is None
    assert _refresh(database, fleet, later).frames == []

    # Late again: a new alert, which a delivery clears.
    _make_late(database, fleet)
    [again] = _refresh(database, fleet, later).raised
    assert again["notification"]["id"] != row.id
    with database.session() as session:
        session.get(Order, fleet.orders[0]).status = "delivered"
    [gone] = _refresh(database, fleet, later).cleared
    assert gone["notification"]["id"] == again["notification"]["id"]
    assert all(n.resolved_at is not None for n in _alerts(database))


def test_the_other_depots_dispatcher_never_sees_the_alert(database, fleet) -> None:
    now = _start(database, fleet)
    _make_late(database, fleet)
    # A pass over both depots, and one over the other depot only (which leaves it open).
    assert len(_refresh(database, fleet, now, depots=fleet.depots).raised) == 1
    assert _refresh(database, fleet, now, depots=[fleet.depots[1]]).frames == []
    with database.session() as session:
        mine = list_notifications(session, principal=_principal(database, fleet, "disp"))
        other = list_notifications(session, principal=_principal(database, fleet, "disp2"))
    assert [n.kind for n in mine] == [LATE_RISK] and other == []
    assert mine[0].data["stopId"] == fleet.stops[1] and mine[0].resolved_at is None


def test_positions_trigger_the_pass_and_the_push_reaches_the_depot_room(
    connect, service, database, fleet, clock
) -> None:
    service.late_risk.stop()  # no background pass: this test runs it by hand
    clock.at = _start(database, fleet)
    _make_late(database, fleet)
    clients = {name: connect(name) for name in ("disp", "disp2", "boss", "root", "driver1")}
    for client in clients.values():
        client.received()
    assert service.late_risk.run_pending() is None  # nothing marked yet
    clients["driver1"].frame(json.dumps({"type": "vehicle_location_update", **fix(1)}))
    clients["driver1"].received()  # the batch is durable: its depot is marked
    changes = service.late_risk.run_pending()
    assert changes is not None and len(changes.raised) == 1
    got = {
        name: [m for m in c.received() if m.get("type") == "notification"]
        for name, c in clients.items()
    }
    # The depot's dispatcher and the admin; not the other depot, nor managers, nor drivers.
    assert {name for name, frames in got.items() if frames} == {"disp", "root"}
    [frame] = got["disp"]
    assert frame["notification"]["kind"] == LATE_RISK
    assert frame["notification"]["data"]["actionLabel"] == "Re-optimize the remaining stops"
    # A stop event marks the depot too; the pass then finds nothing new.
    clients["driver1"].frame(
        json.dumps({"type": "route_event", "eventType": "departed", "occurredAt": None})
    )
    assert service.late_risk.run_pending() is not None
    assert len(_alerts(database)) == 1


def test_a_conflicting_insert_is_skipped(database, fleet) -> None:
    now = _start(database, fleet)
    _make_late(database, fleet)
    assert len(_refresh(database, fleet, now).raised) == 1
    # A second worker that had not seen the first one's row inserts the same alert: skipped.
    with database.session() as session:
        [detail] = late_risk._stop_details(session, [fleet.stops[1]]).values()
        forecast = late_risk.Forecast(fleet.route, now, now, now, "plan", True)
        assert late_risk._raise(session, [(detail, forecast)], now=now) == []
    assert len(_alerts(database)) == 1


@pytest.mark.postgres
def test_two_workers_raising_at_once_store_one_alert(own_postgres_url, data_dir) -> None:
    db = Database(load_settings(DATA_DIR=str(data_dir), DATABASE_URL=own_postgres_url, DEMO=False))
    try:
        upgrade(db.engine)
        fleet = seed_fleet(db)
        now = _start(db, fleet)
        _make_late(db, fleet)
        first = db.sessions()
        raised_first = refresh_late_risk(first, depot_ids=[fleet.depots[0]], now=now).raised
        raised_second: list = []

        def second_worker() -> None:
            # Reads no open alert (the first is uncommitted), then waits on its index entry.
            with db.session() as session:
                raised_second.extend(
                    refresh_late_risk(session, depot_ids=[fleet.depots[0]], now=now).raised
                )

        worker = threading.Thread(target=second_worker)
        worker.start()
        worker.join(1.0)
        assert worker.is_alive()  # blocked on the first worker's uncommitted row
        first.commit()
        first.close()
        worker.join(30)
        assert len(raised_first) == 1 and raised_second == []
        with db.session() as session:
            count = session.scalar(select(func.count()).select_from(Notification))
        assert count == 1
    finally:
        db.engine.dispose()


def test_0006_matches_the_model_and_goes_down_and_up(database) -> None:
    """The notification columns and partial unique index as the model declares them."""
    from alembic.autogenerate import compare_metadata
    from alembic.migration import MigrationContext
    from sqlalchemy import inspect

    from backend.db.base import Base
    from backend.db.migrate import downgrade

    with database.engine.connect() as conn:
        context = MigrationContext.configure(conn, opts={"compare_type": True})
        diffs = [d for d in compare_metadata(context, Base.metadata) if "notification" in str(d)]
    assert diffs == []
    downgrade(database.engine, "0005")
    columns = {c["name"] for c in inspect(database.engine).get_columns("notification")}
    assert not columns & {"route_stop_id", "resolved_at", "data"}
    upgrade(database.engine)
    indexes = {i["name"]: i for i in inspect(database.engine).get_indexes("notification")}
    assert indexes["uq_notification_open_stop"]["unique"]


def test_the_active_models_p90_decides_where_it_predicts(database, fleet, monkeypatch) -> None:
    """The plan says on time; the model's P90 (stubbed: training needs TensorFlow) says late."""
    from backend.ml import serving

    now = _start(database, fleet)
    with database.session() as session:
        stop = session.get(RouteStop, fleet.stops[1])
        window_end = session.get(Order, fleet.orders[0]).window_end
        planned = stop.planned_arrival_at
    late = serving.StopEta(
        stop_id=fleet.stops[1], route_id=fleet.route, order_id=fleet.orders[0], sequence=1,
        p10=planned, p50=planned, p90=window_end + timedelta(minutes=5), window_end=window_end,
        source="model", model_version=3,
    )  # fmt: skip
    asked: dict = {}

    def live_etas(session, settings, **kwargs):
        asked.update(kwargs)
        return [late]

    monkeypatch.setattr(serving, "active_model", lambda session, settings: (3, object()))
    monkeypatch.setattr(serving, "live_etas", live_etas)
    settings = load_settings(DEMO=False)
    with database.session() as session:
        changes = refresh_late_risk(
            session, depot_ids=[fleet.depots[0]], now=now, settings=settings
        )
    [frame] = changes.raised
    assert frame["notification"]["data"]["source"] == "model"
    assert asked["route_ids"] == [fleet.route] and asked["now"] == now
    # Without settings (no model to ask) the plan decides: on time, so the alert clears.
    assert len(_refresh(database, fleet, now).cleared) == 1


def test_the_watcher_thread_passes_and_sweeps_depots_gone_silent(database, fleet) -> None:
    """Marked depots are refreshed on the thread; later, with no mark at all (the vehicle went
    silent), the periodic sweep still raises the stop that time made late."""
    import time

    from backend.clock import FixedClock

    clock = FixedClock(_start(database, fleet))
    published: list[dict] = []
    watcher = late_risk.LateRiskWatcher(
        database.session, published.append, clock=clock, every_s=0.02, sweep_s=0.1
    )
    watcher.mark([fleet.depots[0], None])
    watcher.start()
    try:
        time.sleep(0.2)
        assert published == []  # refreshed: nothing at risk yet
        _make_late(database, fleet)
        deadline = time.monotonic() + 10
        while not published and time.monotonic() < deadline:
            time.sleep(0.02)
    finally:
        watcher.stop()
    [frame] = published
    assert frame["notification"]["stopId"] == fleet.stops[1]
