"""Crafted `/_dash-update-component` bodies never get a 5xx: bad shapes get 400, bad values 4xx/204.

The bodies are built the way Dash's renderer builds them (output id, inputs and state with
`id`/`property`/`value`, `outputs`, `changedPropIds`) for the real callbacks of the Orders,
Plans and Analytics pages, then given values no UI control would send.
"""

from __future__ import annotations

import sys
from collections.abc import Iterator
from datetime import date
from pathlib import Path
from typing import Any

import pytest

from backend.runtime import runtime_of

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "ui"))

from sample_data import PASSWORD, build_sample  # noqa: E402

TODAY = date(2026, 11, 27)
PAGES = ("callbacks.orders", "callbacks.plans", "callbacks.analytics")
NASTY: list[Any] = [
    None,
    "x",
    "",
    -1,
    10**30,
    1.5,
    True,
    [],
    {},
    ["x"],
    [None],
    [{"column_id": 5, "direction": "sideways"}],
    [{"column_id": "status", "direction": "asc"}, "x"],
    {"vehicles": 5, "depots": "x"},
    {"row_id": "not-a-number"},
    {"row_id": [1]},
    "9999-99-99",
    "a" * 5000,
    [0, "a", None, 10**30],
]


@pytest.fixture(scope="module")
def dash_app(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Any]:
    """The real app over sample data (two depots, vehicles, orders and plans)."""
    from app import create_app
    from backend.config import load_settings
    from backend.db.migrate import upgrade

    data_dir = tmp_path_factory.mktemp("dash-security")
    app = create_app(load_settings(DATA_DIR=str(data_dir), DEMO=False))
    runtime = runtime_of(app.server)
    upgrade(runtime.db.engine)
    with runtime.db.session() as session:
        build_sample(session, today=TODAY)
    yield app
    runtime.db.engine.dispose()


@pytest.fixture(scope="module")
def client(dash_app: Any) -> Any:
    """A test client logged in as the north dispatcher (a depot-scoped role)."""
    client = dash_app.server.test_client()
    response = client.post("/login", data={"username": "dispatch-north", "password": PASSWORD})
    assert response.status_code == 302
    return client


def _page_callbacks(dash_app: Any) -> list[tuple[str, dict[str, Any]]]:
    found = []
    for output, spec in dash_app.callback_map.items():
        func = spec.get("callback")
        module = getattr(getattr(func, "__wrapped__", func), "__module__", "")
        if module in PAGES:
            found.append((output, spec))
    return found


def _outputs(output: str) -> list[dict[str, str]] | dict[str, str]:
    # "..a.b...c.d.." (several outputs) or "a.b" (one), as the renderer names them.
    parts = output.strip(".").split("...") if output.startswith("..") else [output]
    items = [{"id": p.rsplit(".", 1)[0], "property": p.rsplit(".", 1)[1]} for p in parts]
    return items if output.startswith("..") else items[0]


def _body(output: str, spec: dict[str, Any], values: dict[int, Any]) -> dict[str, Any]:
    inputs = [{**dep, "value": values.get(i)} for i, dep in enumerate(spec["inputs"])]
    offset = len(spec["inputs"])
    state = [{**dep, "value": values.get(offset + i)} for i, dep in enumerate(spec["state"])]
    return {
        "output": output,
        "outputs": _outputs(output),
        "inputs": inputs,
        "state": state,
        "changedPropIds": [f"{inputs[0]['id']}.{inputs[0]['property']}"] if inputs else [],
    }


def _post(client: Any, body: Any) -> Any:
    return client.post("/_dash-update-component", json=body)


def test_the_page_callbacks_answer_well_formed_requests(dash_app: Any, client: Any) -> None:
    callbacks = _page_callbacks(dash_app)
    assert len(callbacks) >= 8, "the Orders, Plans and Analytics callbacks are registered"
    for output, spec in callbacks:
        response = _post(client, _body(output, spec, {}))
        assert response.status_code in (200, 204), (output, response.get_data(as_text=True))


def test_wrong_values_in_any_input_never_get_a_5xx(dash_app: Any, client: Any) -> None:
    failures = []
    for output, spec in _page_callbacks(dash_app):
        slots = len(spec["inputs"]) + len(spec["state"])
        for slot in range(slots):
            for value in NASTY:
                response = _post(client, _body(output, spec, {slot: value}))
                if response.status_code >= 500:
                    failures.append((output, slot, value, response.status_code))
                elif response.status_code >= 400:
                    assert response.get_json()["error"]["code"], response.data
    assert failures == []


def test_orders_table_rejects_bad_sort_and_status_with_a_field(dash_app: Any, client: Any) -> None:
    output, spec = next((o, s) for o, s in _page_callbacks(dash_app) if "orders-table.data" in o)
    names = [f"{d['id']}.{d['property']}" for d in spec["inputs"]]
    lookup = names.index("orders-lookup.data")
    sort = names.index("orders-table.sort_by")
    status = names.index("orders-status.value")
    ok: dict[int, Any] = {lookup: {"vehicles": {}, "depots": {}}}
    assert _post(client, _body(output, spec, ok)).status_code == 200
    bad_sort = _post(client, _body(output, spec, {**ok, sort: "status"}))
    assert bad_sort.status_code == 400 and bad_sort.get_json()["error"]["field"] == "sort_by"
    bad_status = _post(client, _body(output, spec, {**ok, status: ["shipped-to-mars"]}))
    assert bad_status.status_code == 400
    assert bad_status.get_json()["error"]["field"] == "statuses"


@pytest.mark.parametrize(
    "body",
    [
        "not an object",
        [],
        {},
        {"output": 5},
        {"output": "no-such.children", "inputs": []},
    ],
)
def test_malformed_callback_requests_get_400(client: Any, body: Any) -> None:
    response = _post(client, body)
    assert response.status_code == 400
    assert response.get_json()["error"]["code"] == "invalid_callback_request"


def test_inputs_that_do_not_match_the_callback_get_400(dash_app: Any, client: Any) -> None:
    output, spec = _page_callbacks(dash_app)[0]
    good = _body(output, spec, {})
    for broken in (
        {**good, "inputs": good["inputs"] + good["inputs"]},
        {**good, "inputs": "x"},
        {**good, "inputs": [{"id": "someone-else", "property": "value"}] * len(spec["inputs"])},
        {**good, "inputs": [5] * len(spec["inputs"])},
        {**good, "state": [{}] * (len(spec["state"]) + 1)},
        {**good, "outputs": [5]},
        {**good, "changedPropIds": [5]},
    ):
        response = _post(client, broken)
        assert response.status_code == 400, (broken, response.data)


def test_a_non_json_callback_body_gets_415_and_a_huge_one_413(client: Any) -> None:
    assert client.post("/_dash-update-component", data="{}").status_code in (403, 415)
    response = client.post(
        "/_dash-update-component",
        data=b"[" + b"1," * (600 * 1024) + b"1]",
        content_type="application/json",
    )
    assert response.status_code == 413
    assert response.get_json()["error"]["code"] == "body_too_large"
