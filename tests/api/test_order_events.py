"""Order changes made through the API are announced to the depot's dashboards after commit."""

from __future__ import annotations

import json

from backend.realtime import get_realtime

from .api_helpers import order_body


def test_create_status_and_cancel_are_published_to_the_depot(as_role, world, runtime):
    heard: list[tuple[str, dict]] = []
    get_realtime(runtime).bus.subscribe(
        lambda channel, text: heard.append((channel, json.loads(text)))
    )
    api = as_role("dispatcher")
    created = api.post("/orders", json=order_body()).get_json()
    api.post(f"/orders/{created['id']}/cancel")
    changes = [(channel, message["change"], message["status"]) for channel, message in heard]
    depot = created["depot_id"]
    assert changes == [
        (f"depot:{depot}:routes", "created", "new"),
        (f"depot:{depot}:routes", "cancelled", "cancelled"),
    ]
    assert {m["type"] for _, m in heard} == {"order_update"}


def test_a_refused_change_announces_nothing(as_role, world, runtime):
    heard: list[str] = []
    get_realtime(runtime).bus.subscribe(lambda channel, text: heard.append(text))
    response = as_role("dispatcher").post("/orders", json=order_body(priority=99))
    assert response.status_code == 422 and heard == []
