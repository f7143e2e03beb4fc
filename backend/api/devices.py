"""/api/v1/devices: register, list and unregister tracker apps (OsmAnd, Traccar Client); admins.

A device id is a credential (the apps send nothing else), so managing devices needs
`user:admin`, the same right as managing users and their tokens.
"""

from __future__ import annotations

from typing import Annotated

from flask import Response
from flask_openapi3 import APIBlueprint, Tag
from pydantic import BaseModel, ConfigDict, Field, Strict, StringConstraints

from backend.api.errors import error_responses, require
from backend.api.hooks import permission
from backend.runtime import current_runtime
from backend.services import MAX_ID, STORABLE, Id
from backend.services.devices import (
    MAX_DEVICE_ID_LENGTH,
    MAX_NAME_LENGTH,
    DeviceOut,
    DeviceRegistered,
    delete_device,
    list_devices,
    register_device,
)

PERMISSION = "user:admin"

devices_api = APIBlueprint(
    "devices",
    __name__,
    url_prefix="/api/v1",
    abp_tags=[Tag(name="devices", description="Tracker apps speaking the OsmAnd protocol")],
    abp_security=[{"bearer": []}],
)

# 401, 422 and a write's body errors are documented for every route (complete_error_responses).
_ERRORS = error_responses(403)
_CREATE_ERRORS = error_responses(403, 404, 409)
_DELETE_ERRORS = error_responses(403, 404)


class DeviceCreate(BaseModel):
    """A device to register: its vehicle, a label and the id set in the app (or none: generated)."""

    model_config = ConfigDict(extra="forbid")

    vehicle_id: Id
    name: Annotated[
        str,
        Strict(),
        StringConstraints(strip_whitespace=True, max_length=MAX_NAME_LENGTH),
        STORABLE,
    ] = ""
    device_id: (
        Annotated[str, Strict(), StringConstraints(max_length=MAX_DEVICE_ID_LENGTH), STORABLE]
        | None
    ) = Field(
        default=None,
        description="The app's device identifier, 20+ random characters; omit it to get one.",
    )


class DeviceList(BaseModel):
    """Every registered device."""

    items: list[DeviceOut]


class DevicePath(BaseModel):
    """The device's row id in the URL, not its secret id (routed as text: a bad id is a 422)."""

    device_pk: int = Field(ge=1, le=MAX_ID)


@devices_api.post(
    "/devices",
    summary="Register a tracker device for a vehicle (admin only)",
    responses={201: DeviceRegistered, **_CREATE_ERRORS},
)
@permission(PERMISSION)
def create_device_view(body: DeviceCreate):
    """Bind a device id to a vehicle; the id is returned this once and stored only hashed."""
    require(PERMISSION)
    runtime = current_runtime()
    with runtime.db.session() as session:
        device = register_device(
            session,
            vehicle_id=body.vehicle_id,
            device_id=body.device_id,
            name=body.name,
            now=runtime.clock.now(),
        )
    return device.model_dump(mode="json"), 201


@devices_api.get(
    "/devices",
    summary="List registered tracker devices (admin only)",
    responses={200: DeviceList, **_ERRORS},
)
@permission(PERMISSION)
def list_devices_view():
    """Every registered device with its vehicle and when it last reported."""
    require(PERMISSION)
    with current_runtime().db.session() as session:
        items = list_devices(session)
    return DeviceList(items=items).model_dump(mode="json")


@devices_api.delete(
    "/devices/<device_pk>",
    summary="Unregister a tracker device (admin only)",
    responses={204: None, **_DELETE_ERRORS},
)
@permission(PERMISSION)
def delete_device_view(path: DevicePath):
    """Refuse the device's id from now on; positions it sent stay."""
    require(PERMISSION)
    with current_runtime().db.session() as session:
        delete_device(session, device_pk=path.device_pk)
    return Response(status=204)
