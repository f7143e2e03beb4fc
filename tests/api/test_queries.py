"""The query functions the Dash pages call directly: scope, filters, sorting, paging, errors.

No Flask request is involved: a plain session in, pydantic models out.
"""

from __future__ import annotations

import pytest
from pydantic import ValidationError

from backend.db.queries.depots import get_depot, list_depots
from backend.db.queries.orders import OrderListParams, OrderPage, get_order, list_orders
from backend.db.queries.paging import MAX_PAGE_SIZE
from backend.db.queries.vehicles import capacity_units, get_vehicle, list_vehicles

from .api_helpers import SERVICE_DATE


def test_list_orders_scope(runtime, world):
    north, south = world.depots["north"], world.depots["south"]
    with runtime.db.session() as s:
        assert list_orders(s, depot_ids=None).total == 6
        assert list_orders(s, depot_ids={north}).total == 4
        assert list_orders(s, depot_ids=[north, south]).total == 6
        assert list_orders(s, depot_ids=frozenset()).total == 0


def test_list_orders_page_model(runtime, world):
    with runtime.db.session() as s:
        page = list_orders(s, depot_ids=None, sort="-priority,reference", page=2, page_size=4)
    assert isinstance(page, OrderPage)
    assert (page.total, page.page, page.page_size) == (6, 2, 4)
    assert [o.reference for o in page.items] == ["N-001", "S-001"]
    assert page.items[0].time_windows[0].start.tzinfo is not None


def test_list_orders_filters_combine(runtime, world):
    with runtime.db.session() as s:
        page = list_orders(
            s,
            depot_ids=None,
            status=["new"],
            service_date=SERVICE_DATE,
            priority_min=3,
            priority_max=8,
            q="mill",
        )
    assert [o.reference for o in page.items] == ["N-001"]


def test_params_model_feeds_the_query(runtime, world):
    params = OrderListParams(status=["new"], depot_id=world.depots["south"], sort="-priority")
    with runtime.db.session() as s:
        page = list_orders(s, depot_ids=None, **params.model_dump())
    assert [o.reference for o in page.items] == ["S-002", "S-001"]


@pytest.mark.parametrize(
    ("kwargs", "name"),
    [
        ({"sort": "password"}, "sort"),
        ({"sort": "-"}, "sort"),
        ({"page": 0}, "page"),
        ({"page_size": MAX_PAGE_SIZE + 1}, "page_size"),
        ({"page_size": 0}, "page_size"),
    ],
)
def test_bad_sort_or_paging_raise_value_error_naming_it(runtime, world, kwargs, name):
    with runtime.db.session() as s, pytest.raises(ValueError, match=f"^{name}:"):
        list_orders(s, depot_ids=None, **kwargs)


def test_params_model_rejects_what_the_query_would(world):
    with pytest.raises(ValidationError):
        OrderListParams(sort="nope")
    with pytest.raises(ValidationError):
        OrderListParams(page_size=MAX_PAGE_SIZE + 1)
    with pytest.raises(ValidationError):
        OrderListParams(q="a\x00b")
    with pytest.raises(ValidationError):
        OrderListParams(colour="red")


def test_get_functions_respect_scope(runtime, world):
    north = {world.depots["north"]}
    with runtime.db.session() as s:
        assert get_order(s, order_id=world.orders["N-001"], depot_ids=north) is not None
        assert get_order(s, order_id=world.orders["S-001"], depot_ids=north) is None
        assert get_order(s, order_id=world.orders["S-001"], depot_ids=None) is not None
        assert get_vehicle(s, vehicle_id=world.vehicles["s-truck"], depot_ids=north) is None
        assert get_depot(s, depot_id=world.depots["south"], depot_ids=north) is None
        assert get_depot(s, depot_id=world.depots["south"], depot_ids=None).name == "south"


def test_vehicle_and_depot_lists(runtime, world):
    with runtime.db.session() as s:
        vehicles = list_vehicles(s, depot_ids=None, active=True, sort="-name")
        depots = list_depots(s, depot_ids={world.depots["south"]})
    assert [v.name for v in vehicles.items] == ["s-truck", "n-van", "n-bike"]
    assert [d.name for d in depots.items] == ["south"]


def test_capacity_units(runtime, world):
    with runtime.db.session() as s:
        assert capacity_units(s, depot_id=world.depots["north"]) == {"kg", "m3"}
        assert capacity_units(s, depot_id=world.depots["south"]) == {"kg", "pallets"}
        assert capacity_units(s) == {"kg", "m3", "pallets"}


def test_search_text_no_database_can_store_is_harmless(runtime, world):
    with runtime.db.session() as s:
        assert list_orders(s, depot_ids=None, q="bak\x00ery").total == 1
        assert list_orders(s, depot_ids=None, q="\ud800bakery").total == 1
