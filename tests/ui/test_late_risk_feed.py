"""The Dispatch alerts feed shows an at-risk alert with links to its vehicle and stop and its
suggested action (the planning panel's re-optimize remaining), its text as text; once the
stop is on time again it reads Cleared and the action is gone."""

from __future__ import annotations

from datetime import UTC, datetime

from tree import by_class, text

from backend.services.late_risk import LATE_RISK, REOPTIMIZE_ACTION, REOPTIMIZE_LABEL
from backend.services.notifications import NotificationOut
from components.dispatch import create_alerts_feed

T0 = datetime(2026, 11, 27, 15, 0, tzinfo=UTC)
EVIL = '<img src=x onerror="alert(1)">'


def _note(**changes: object) -> NotificationOut:
    values: dict[str, object] = dict(
        id=8, depot_id=1, route_event_id=None, kind=LATE_RISK, severity="warning",
        title=f"Order {EVIL} may be late (VAN-2)", body="Expected by 11:40", created_at=T0,
        acknowledged_at=None, acknowledged_by=None, route_stop_id=40,
        data={
            "vehicleId": 2, "vehicleName": "VAN-2", "stopId": 40, "orderReference": EVIL,
            "action": REOPTIMIZE_ACTION, "actionLabel": REOPTIMIZE_LABEL,
        },
    )  # fmt: skip
    values.update(changes)
    return NotificationOut.model_validate(values)


def test_an_at_risk_alert_links_its_vehicle_and_stop_and_offers_the_reoptimize() -> None:
    item = by_class(create_alerts_feed([_note()], {}, "America/Chicago"), "alert-item")[0]
    links = by_class(item, "link-button")
    assert getattr(links[0], "data-focus-vehicle") == "2" and text(links[0]) == "Show VAN-2"
    assert getattr(links[1], "data-focus-stop") == "40"
    assert EVIL in text(item)  # a Dash child: React shows it as text, never as markup
    [action] = by_class(item, "alert-action")
    assert getattr(action, "data-reoptimize") == REOPTIMIZE_ACTION
    assert text(action) == REOPTIMIZE_LABEL


def test_a_cleared_alert_reads_cleared_without_the_action() -> None:
    note = _note(resolved_at=T0, acknowledged_at=T0)
    item = by_class(create_alerts_feed([note], {}), "alert-item")[0]
    assert by_class(item, "alert-action") == []
    [ack] = by_class(item, "alert-ack")
    assert text(ack) == "Cleared" and ack.disabled
