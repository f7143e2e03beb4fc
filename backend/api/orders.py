"""/api/v1/orders: list, get, create, update, change status, cancel."""

from __future__ import annotations

from flask import request
from flask_openapi3 import APIBlueprint, Tag
from pydantic import BaseModel, Field

from backend.api.errors import ApiError, error_responses, require
from backend.api.hooks import permission
from backend.db.queries.orders import OrderListParams, OrderOut, OrderPage, get_order, list_orders
from backend.planning.insert import insert_new_orders
from backend.planning.publish import announce_accepted
from backend.runtime import current_runtime
from backend.services import MAX_ID
from backend.services.orders import (
    CancelRequest,
    OrderCreate,
    OrderUpdate,
    StatusChange,
    cancel_order,
    change_order_status,
    create_order,
    update_order,
)

orders_api = APIBlueprint(
    "orders",
    __name__,
    url_prefix="/api/v1",
    abp_tags=[Tag(name="orders", description="Deliveries and their lifecycle")],
    abp_security=[{"bearer": []}],
)

# 401, 422 and a write's body errors are documented for every route (complete_error_responses).
_LIST_ERRORS = error_responses(403)
_ERRORS = error_responses(403, 404)
# 409: an illegal transition or a final order; 422 also for a rule the database decides.
_WRITE_ERRORS = error_responses(403, 404, 409)


class OrderPath(BaseModel):
    """The order id in the URL (routed as text, so a bad id is a 422 naming it, not a 404)."""

    order_id: int = Field(ge=1, le=MAX_ID)


def _announce(order: OrderOut, change: str) -> None:
    """Tell the depot's dashboards an order changed (after the commit), so maps reload it."""
    from backend.realtime import get_realtime

    get_realtime(current_runtime()).publish(
        order.depot_id,
        "routes",
        {
            "type": "order_update",
            "change": change,
            "orderId": order.id,
            "depotId": order.depot_id,
            "status": order.status,
            "vehicleId": order.vehicle_id,
        },
    )


def _not_found(order_id: int) -> ApiError:
    return ApiError(404, "not_found", f"order {order_id} not found")


@orders_api.get(
    "/orders",
    summary="List orders (filter, sort, page)",
    responses={200: OrderPage, **_LIST_ERRORS},
)
@permission("order:read")
def list_orders_view(query: OrderListParams):
    """Orders of the caller's depots; `sort=-priority,window_start`, `page`, `page_size` <= 500."""
    principal = require("order:read")
    with current_runtime().db.session() as session:
        page = list_orders(session, depot_ids=principal.depot_ids, **query.model_dump())
    return page.model_dump(mode="json")


@orders_api.get("/orders/<order_id>", summary="Get an order", responses={200: OrderOut, **_ERRORS})
@permission("order:read")
def get_order_view(path: OrderPath):
    """One order of the caller's depots (404 for any other id)."""
    principal = require("order:read")
    with current_runtime().db.session() as session:
        order = get_order(session, order_id=path.order_id, depot_ids=principal.depot_ids)
    if order is None:
        raise _not_found(path.order_id)
    return order.model_dump(mode="json")


@orders_api.post("/orders", summary="Create an order", responses={201: OrderOut, **_WRITE_ERRORS})
@permission("order:write")
def create_order_view(body: OrderCreate):
    """Create an order in status "new"; on a day whose plan is in force, route it at once.

    With AUTO_INSERT_NEW_ORDERS (the default) and a caller who may plan, the order goes into
    the routes in force by the insertion fast path, after every stop already done; the answer
    then shows it `planned` on its vehicle. Otherwise it waits for the next optimization.
    """
    principal = require("order:write")
    runtime = current_runtime()
    with runtime.db.session() as session:
        order = create_order(session, depot_ids=principal.depot_ids, data=body)
    _announce(order, "created")
    if runtime.settings.auto_insert_new_orders:
        accepted = insert_new_orders(
            runtime.db,
            depot_id=order.depot_id,
            service_date=order.service_date,
            principal=principal,
            clock=runtime.clock,
        )
        if accepted is not None:
            announce_accepted(runtime.publisher(), accepted)
            with runtime.db.session() as session:
                order = get_order(session, order_id=order.id, depot_ids=None) or order
    return order.model_dump(mode="json"), 201


@orders_api.patch(
    "/orders/<order_id>", summary="Update an order", responses={200: OrderOut, **_WRITE_ERRORS}
)
@permission("order:write")
def update_order_view(path: OrderPath, body: OrderUpdate):
    """Change fields of an order that is not final; time_windows replace the old ones."""
    principal = require("order:write")
    with current_runtime().db.session() as session:
        order = update_order(
            session, depot_ids=principal.depot_ids, order_id=path.order_id, data=body
        )
    _announce(order, "updated")
    return order.model_dump(mode="json")


@orders_api.post(
    "/orders/<order_id>/status",
    summary="Move an order along its lifecycle",
    responses={200: OrderOut, **_WRITE_ERRORS},
)
@permission("order:write")
def change_status_view(path: OrderPath, body: StatusChange):
    """Change the status as ORDER_TRANSITIONS allows (409 otherwise) and stamp `<status>_at`."""
    principal = require("order:write")
    with current_runtime().db.session() as session:
        order = change_order_status(
            session,
            depot_ids=principal.depot_ids,
            order_id=path.order_id,
            status=body.status,
            reason=body.reason,
            now=current_runtime().clock.now(),
        )
    _announce(order, "status")
    return order.model_dump(mode="json")


@orders_api.post(
    "/orders/<order_id>/cancel",
    summary="Cancel an order (kept, status cancelled)",
    responses={200: OrderOut, **_WRITE_ERRORS},
    openapi_extensions={
        "requestBody": {
            "required": False,
            "content": {"application/json": {"schema": CancelRequest.model_json_schema()}},
        }
    },
)
@permission("order:write")
def cancel_order_view(path: OrderPath):
    """Cancel through the lifecycle; an optional JSON body {"reason": "..."} is kept."""
    principal = require("order:write")
    # The body is optional, so it is validated here rather than by flask-openapi3.
    data = CancelRequest.model_validate(request.get_json(silent=True) or {})
    with current_runtime().db.session() as session:
        order = cancel_order(
            session,
            depot_ids=principal.depot_ids,
            order_id=path.order_id,
            reason=data.reason,
            now=current_runtime().clock.now(),
        )
    _announce(order, "cancelled")
    return order.model_dump(mode="json")
