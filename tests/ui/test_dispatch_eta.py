"""backend.eta: the plan advanced by observed progress; a window the estimate misses is at risk."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from backend.eta import Fix, PlannedStop, estimate_from_plan

START = datetime(2026, 11, 27, 14, 0, tzinfo=UTC)
MIN = timedelta(minutes=1)


def stop(seq: int, lat: float, **changes: object) -> PlannedStop:
    arrival = START + 30 * seq * MIN
    base = dict(
        stop_id=seq, route_id=1, vehicle_id=7, sequence=seq, kind="delivery", lat=lat, lon=-87.6,
        planned_arrival_at=arrival, planned_departure_at=arrival + 5 * MIN,
        actual_arrival_at=None, actual_departure_at=None, status="pending", order_id=seq,
        order_status="dispatched", window_start=arrival - 30 * MIN, window_end=arrival + 15 * MIN,
        route_planned_start_at=START, route_actual_start_at=START,
    )  # fmt: skip
    base.update(changes)
    return PlannedStop(**base)  # type: ignore[arg-type]


def test_before_the_start_the_plan_stands() -> None:
    stops = [stop(1, 41.9, route_actual_start_at=None), stop(2, 42.0, route_actual_start_at=None)]
    found = estimate_from_plan(stops, {}, now=START - 10 * MIN)
    assert found.stops[1].eta == stops[0].planned_arrival_at
    assert found.routes[1].delay_min == 0 and found.routes[1].next_stop_id == 1


def test_a_late_departure_pushes_the_next_stops_and_flags_missed_windows() -> None:
    # Left stop 1 twenty-five minutes late; stop 2 is half a leg away.
    left = START + 35 * MIN + 25 * MIN
    stops = [
        stop(1, 41.90, actual_arrival_at=left - 5 * MIN, actual_departure_at=left, status="done"),
        stop(2, 41.92),
        stop(3, 41.94),
    ]
    now = left + 12 * MIN
    fix = Fix(41.91, -87.6, now - 5 * timedelta(seconds=1))
    found = estimate_from_plan(stops, {7: fix}, now=now)
    route = found.routes[1]
    assert route.next_stop_id == 2
    # 25 minutes of planned driving, half of it ahead: arrival 12.5 min after now.
    assert found.stops[2].eta == now + timedelta(minutes=12.5)
    assert route.delay_min == 24.5
    assert found.stops[2].at_risk is True  # past its window's end (+15 min)
    assert found.stops[3].eta > stops[2].planned_arrival_at
    assert 1 not in found.stops  # behind the vehicle


def test_at_a_stop_the_wait_of_a_later_window_absorbs_delay() -> None:
    now = START + 35 * MIN
    stops = [
        stop(1, 41.90, actual_arrival_at=now - 2 * MIN, status="arrived"),
        # Opens an hour after its planned arrival: the plan waits there.
        stop(2, 41.92, window_start=START + 120 * MIN, window_end=START + 150 * MIN),
    ]
    found = estimate_from_plan(stops, {}, now=now)
    assert found.stops[1].eta == now - 2 * MIN
    assert found.stops[2].at_risk is False
    assert found.routes[1].delay_min < 5


def test_every_stop_done_leaves_nothing_ahead() -> None:
    stops = [stop(1, 41.9, status="done", actual_departure_at=START + 40 * MIN)]
    found = estimate_from_plan(stops, {}, now=START + 60 * MIN)
    assert found.stops == {} and found.routes[1].next_stop_id is None
