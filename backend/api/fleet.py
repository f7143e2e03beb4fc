"""/api/v1/vehicles and /api/v1/depots: list, get, create, update, deactivate, reactivate."""

from __future__ import annotations

from flask_openapi3 import APIBlueprint, Tag
from pydantic import BaseModel, Field

from backend.api.errors import ApiError, error_responses, require
from backend.api.hooks import permission
from backend.db.queries.depots import (
    DepotListParams,
    DepotOut,
    DepotPage,
    get_depot,
    list_depots,
)
from backend.db.queries.vehicles import (
    VehicleListParams,
    VehicleOut,
    VehiclePage,
    get_vehicle,
    list_vehicles,
)
from backend.runtime import current_runtime
from backend.services import MAX_ID
from backend.services.fleet import (
    DepotCreate,
    DepotUpdate,
    VehicleCreate,
    VehicleUpdate,
    create_depot,
    create_vehicle,
    set_depot_active,
    set_vehicle_active,
    update_depot,
    update_vehicle,
)

fleet_api = APIBlueprint(
    "fleet",
    __name__,
    url_prefix="/api/v1",
    abp_tags=[
        Tag(name="vehicles", description="Vehicles, their capacities, costs and shifts"),
        Tag(name="depots", description="Depots vehicles start and end at"),
    ],
    abp_security=[{"bearer": []}],
)

# 401, 422 and a write's body errors are documented for every route (complete_error_responses).
_LIST_ERRORS = error_responses(403)
_ERRORS = error_responses(403, 404)
# 409: a duplicate name, or deactivating what is still in use.
_WRITE_ERRORS = error_responses(403, 404, 409)
_VEHICLES = [Tag(name="vehicles")]
_DEPOTS = [Tag(name="depots")]


class VehiclePath(BaseModel):
    """The vehicle id in the URL (routed as text, so a bad id is a 422 naming it)."""

    vehicle_id: int = Field(ge=1, le=MAX_ID)


class DepotPath(BaseModel):
    """The depot id in the URL (routed as text, so a bad id is a 422 naming it)."""

    depot_id: int = Field(ge=1, le=MAX_ID)


@fleet_api.get(
    "/vehicles",
    summary="List vehicles (filter, sort, page)",
    tags=_VEHICLES,
    responses={200: VehiclePage, **_LIST_ERRORS},
)
@permission("vehicle:read")
def list_vehicles_view(query: VehicleListParams):
    """Vehicles of the caller's depots, by depot, type and active flag."""
    principal = require("vehicle:read")
    with current_runtime().db.session() as session:
        page = list_vehicles(session, depot_ids=principal.depot_ids, **query.model_dump())
    return page.model_dump(mode="json")


@fleet_api.get(
    "/vehicles/<vehicle_id>",
    summary="Get a vehicle",
    tags=_VEHICLES,
    responses={200: VehicleOut, **_ERRORS},
)
@permission("vehicle:read")
def get_vehicle_view(path: VehiclePath):
    """One vehicle of the caller's depots (404 for any other id)."""
    principal = require("vehicle:read")
    with current_runtime().db.session() as session:
        vehicle = get_vehicle(session, vehicle_id=path.vehicle_id, depot_ids=principal.depot_ids)
    if vehicle is None:
        raise ApiError(404, "not_found", f"vehicle {path.vehicle_id} not found")
    return vehicle.model_dump(mode="json")


@fleet_api.post(
    "/vehicles",
    summary="Add a vehicle",
    tags=_VEHICLES,
    responses={201: VehicleOut, **_WRITE_ERRORS},
)
@permission("vehicle:write")
def create_vehicle_view(body: VehicleCreate):
    """Add a vehicle to one of the caller's depots."""
    principal = require("vehicle:write")
    with current_runtime().db.session() as session:
        vehicle = create_vehicle(session, depot_ids=principal.depot_ids, data=body)
    return vehicle.model_dump(mode="json"), 201


@fleet_api.patch(
    "/vehicles/<vehicle_id>",
    summary="Update a vehicle",
    tags=_VEHICLES,
    responses={200: VehicleOut, **_WRITE_ERRORS},
)
@permission("vehicle:write")
def update_vehicle_view(path: VehiclePath, body: VehicleUpdate):
    """Change a vehicle's fields (active is changed by deactivate/activate)."""
    principal = require("vehicle:write")
    with current_runtime().db.session() as session:
        vehicle = update_vehicle(
            session, depot_ids=principal.depot_ids, vehicle_id=path.vehicle_id, data=body
        )
    return vehicle.model_dump(mode="json")


@fleet_api.post(
    "/vehicles/<vehicle_id>/deactivate",
    summary="Deactivate a vehicle (kept with its history)",
    tags=_VEHICLES,
    responses={200: VehicleOut, **_WRITE_ERRORS},
)
@permission("vehicle:write")
def deactivate_vehicle_view(path: VehiclePath):
    """Take a vehicle out of service; refused while it carries orders on the road."""
    principal = require("vehicle:write")
    with current_runtime().db.session() as session:
        vehicle = set_vehicle_active(
            session, depot_ids=principal.depot_ids, vehicle_id=path.vehicle_id, active=False
        )
    return vehicle.model_dump(mode="json")


@fleet_api.post(
    "/vehicles/<vehicle_id>/activate",
    summary="Put a vehicle back in service",
    tags=_VEHICLES,
    responses={200: VehicleOut, **_WRITE_ERRORS},
)
@permission("vehicle:write")
def activate_vehicle_view(path: VehiclePath):
    """Reactivate a vehicle whose depot is active."""
    principal = require("vehicle:write")
    with current_runtime().db.session() as session:
        vehicle = set_vehicle_active(
            session, depot_ids=principal.depot_ids, vehicle_id=path.vehicle_id, active=True
        )
    return vehicle.model_dump(mode="json")


@fleet_api.get(
    "/depots",
    summary="List depots (filter, sort, page)",
    tags=_DEPOTS,
    responses={200: DepotPage, **_LIST_ERRORS},
)
@permission("depot:read")
def list_depots_view(query: DepotListParams):
    """Depots in the caller's scope."""
    principal = require("depot:read")
    with current_runtime().db.session() as session:
        page = list_depots(session, depot_ids=principal.depot_ids, **query.model_dump())
    return page.model_dump(mode="json")


@fleet_api.get(
    "/depots/<depot_id>",
    summary="Get a depot",
    tags=_DEPOTS,
    responses={200: DepotOut, **_ERRORS},
)
@permission("depot:read")
def get_depot_view(path: DepotPath):
    """One depot in the caller's scope (404 for any other id)."""
    principal = require("depot:read")
    with current_runtime().db.session() as session:
        depot = get_depot(session, depot_id=path.depot_id, depot_ids=principal.depot_ids)
    if depot is None:
        raise ApiError(404, "not_found", f"depot {path.depot_id} not found")
    return depot.model_dump(mode="json")


@fleet_api.post(
    "/depots", summary="Add a depot", tags=_DEPOTS, responses={201: DepotOut, **_WRITE_ERRORS}
)
@permission("depot:write")
def create_depot_view(body: DepotCreate):
    """Add a depot."""
    principal = require("depot:write")
    with current_runtime().db.session() as session:
        depot = create_depot(session, depot_ids=principal.depot_ids, data=body)
    return depot.model_dump(mode="json"), 201


@fleet_api.patch(
    "/depots/<depot_id>",
    summary="Update a depot",
    tags=_DEPOTS,
    responses={200: DepotOut, **_WRITE_ERRORS},
)
@permission("depot:write")
def update_depot_view(path: DepotPath, body: DepotUpdate):
    """Change a depot's fields (active is changed by deactivate/activate)."""
    principal = require("depot:write")
    with current_runtime().db.session() as session:
        depot = update_depot(
            session, depot_ids=principal.depot_ids, depot_id=path.depot_id, data=body
        )
    return depot.model_dump(mode="json")


@fleet_api.post(
    "/depots/<depot_id>/deactivate",
    summary="Deactivate a depot (kept with its history)",
    tags=_DEPOTS,
    responses={200: DepotOut, **_WRITE_ERRORS},
)
@permission("depot:write")
def deactivate_depot_view(path: DepotPath):
    """Take a depot out of service; refused while it has active vehicles."""
    principal = require("depot:write")
    with current_runtime().db.session() as session:
        depot = set_depot_active(
            session, depot_ids=principal.depot_ids, depot_id=path.depot_id, active=False
        )
    return depot.model_dump(mode="json")


@fleet_api.post(
    "/depots/<depot_id>/activate",
    summary="Put a depot back in service",
    tags=_DEPOTS,
    responses={200: DepotOut, **_WRITE_ERRORS},
)
@permission("depot:write")
def activate_depot_view(path: DepotPath):
    """Reactivate a depot."""
    principal = require("depot:write")
    with current_runtime().db.session() as session:
        depot = set_depot_active(
            session, depot_ids=principal.depot_ids, depot_id=path.depot_id, active=True
        )
    return depot.model_dump(mode="json")
