"""components.timeline: planned and actual blocks, windows, late service, now-line, unscheduled."""

from __future__ import annotations

from datetime import timedelta

from test_dispatch import T0, stop

from backend.db.queries.dispatch import UnassignedOrder
from components.timeline import UNSCHEDULED, create_timeline_figure


def test_planned_and_actual_blocks_windows_and_now() -> None:
    done = stop(
        1, "delivered", actual_arrival_at=T0 + timedelta(minutes=3),
        actual_departure_at=T0 + timedelta(minutes=9),
    )  # fmt: skip
    late = stop(
        2, "pending", planned_arrival_at=T0 + timedelta(hours=2),
        planned_departure_at=T0 + timedelta(hours=2, minutes=5),
    )  # fmt: skip
    pool = UnassignedOrder(
        9, "R-9", "C9", "", 41.9, -87.6, T0, T0 + timedelta(hours=1), 1, "UTC", None, None
    )
    fig = create_timeline_figure(
        [done, late], [pool], now=T0 + timedelta(minutes=30), timezone="America/Chicago"
    )
    names = {t.name: t for t in fig.data}
    assert {"Window", "Drive", "Service", "Actual", "Late service", "Unscheduled"} <= set(names)
    assert list(names["Actual"].y) == ["VAN-7"]
    assert names["Actual"].base[0] == "2026-11-27T09:03:00"  # local time on the axis
    assert names["Actual"].x[0] == 6 * 60 * 1000
    # The second stop starts service after its window closed: red.
    assert list(names["Late service"].customdata[0][:1]) == [2]
    assert list(names["Unscheduled"].y) == [UNSCHEDULED]
    assert fig.layout.shapes[0].x0 == "2026-11-27T09:30:00"
    assert list(fig.layout.yaxis.categoryarray) == [UNSCHEDULED, "VAN-7"]
    # Each block names its stop and where it is, for a click to select it on the map.
    assert list(names["Service"].customdata[0]) == [1, done.lat, done.lon]
