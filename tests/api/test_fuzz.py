"""Random JSON thrown at the order writes: never a 5xx, always JSON, nothing stored unless 2xx.

Bodies are either arbitrary JSON or a valid order with some fields replaced by random values,
removed, or joined by unknown ones, so that every layer of validation gets exercised.
"""

from __future__ import annotations

import json
from typing import Any

from hypothesis import HealthCheck, event, given, settings
from hypothesis import strategies as st

from backend.db.models import Order

from .api_helpers import count_rows, order_body, stored_order

json_scalars = (
    st.none()
    | st.booleans()
    | st.integers()
    | st.floats()  # NaN and Infinity too: Python's parser accepts them
    | st.text(max_size=40)
)
json_values = st.recursive(
    json_scalars,
    lambda children: (
        st.lists(children, max_size=4) | st.dictionaries(st.text(max_size=10), children, max_size=4)
    ),
    max_leaves=12,
)
iso_or_junk = (
    st.datetimes(timezones=st.timezones()).map(lambda d: d.isoformat())
    | st.datetimes().map(lambda d: d.isoformat())
    | json_scalars
)
plausible = {
    "lat": st.floats(-200, 200) | json_scalars,
    "lon": st.floats(-400, 400) | json_scalars,
    "priority": st.integers(-3, 14) | json_scalars,
    "depot_id": st.integers(-1, 4) | st.integers() | json_scalars,
    "vehicle_id": st.integers(-1, 5) | json_scalars,
    "demand": st.dictionaries(
        st.sampled_from(["kg", "m3", "pallets", "", "kg\x00"]) | st.text(max_size=5),
        st.floats() | st.integers() | json_scalars,
        max_size=3,
    )
    | json_values,
    "time_windows": st.lists(
        st.fixed_dictionaries({"start": iso_or_junk, "end": iso_or_junk}) | json_values,
        max_size=7,
    )
    | json_values,
    "service_date": st.dates().map(lambda d: d.isoformat()) | json_scalars,
    "customer_name": st.text(max_size=130) | json_scalars,
    "reference": st.text(max_size=70) | json_scalars,
    "required_skills": st.lists(st.text(max_size=40), max_size=25) | json_values,
    "service_minutes": st.floats() | st.integers() | json_scalars,
    "notes": st.text() | json_scalars,
}


@st.composite
def order_bodies(draw: st.DrawFn) -> Any:
    if draw(st.booleans()):
        return draw(json_values)
    body = order_body(reference=f"FZ-{draw(st.uuids()).hex[:12]}")
    for key in draw(st.sets(st.sampled_from(sorted(plausible)), max_size=4)):
        if draw(st.booleans()):
            body[key] = draw(plausible[key])
        else:
            body.pop(key, None)
    body.update(draw(st.dictionaries(st.text(max_size=8), json_values, max_size=2)))
    return body


def send(api: Any, method: str, path: str, body: Any) -> Any:
    raw = json.dumps(body)  # allow_nan: NaN/Infinity tokens are part of the fuzz
    return api.request(method, path, data=raw, headers={"Content-Type": "application/json"})


FUZZ = settings(
    max_examples=150,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)


@FUZZ
@given(body=order_bodies())
def test_random_create_bodies(as_role, world, runtime, body):
    api = as_role("dispatcher")
    before = count_rows(runtime, Order)
    response = send(api, "POST", "/orders", body)
    event(f"status {response.status_code}")
    assert response.status_code < 500, response.get_data(as_text=True)
    assert response.is_json
    payload = response.get_json()
    if response.status_code == 201:
        assert count_rows(runtime, Order) == before + 1
        assert payload["status"] == "new"
    else:
        assert 400 <= response.status_code < 500
        assert payload["error"]["message"]
        assert count_rows(runtime, Order) == before


@FUZZ
@given(body=order_bodies())
def test_random_update_bodies(as_role, world, runtime, body):
    api = as_role("dispatcher")
    order_id = world.orders["N-002"]
    before = stored_order(runtime, order_id)
    response = send(api, "PATCH", f"/orders/{order_id}", body)
    event(f"status {response.status_code}")
    assert response.status_code < 500, response.get_data(as_text=True)
    assert response.is_json
    if response.status_code != 200:
        assert stored_order(runtime, order_id) == before
