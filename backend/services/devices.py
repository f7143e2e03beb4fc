"""Tracker devices: register, list and remove the phones that speak the OsmAnd protocol.

Tracker apps (OsmAnd, Traccar Client) authenticate by nothing but their device id, so an id is a
credential: only registered ids map to a vehicle, ids must be long and random, and only their
SHA-256 is stored (like API tokens), so a leaked database does not hand out working ids.
"""

from __future__ import annotations

import hashlib
import re
import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta

from pydantic import BaseModel
from sqlalchemy import delete, or_, select, update
from sqlalchemy.orm import Session

from backend.db.models import TrackerDevice, Vehicle
from backend.services import ConflictError, InvalidInputError, NotFoundError

# Traccar Client suggests a 6-digit number: guessable in minutes. 20 characters of a random
# URL-safe id carry over 100 bits; the apps accept ids of any length.
MIN_DEVICE_ID_LENGTH = 20
MAX_DEVICE_ID_LENGTH = 128
MIN_DISTINCT_CHARACTERS = 6  # refuses "aaaaaaaaaaaaaaaaaaaa" and "12121212121212121212"
# Characters that survive a URL query string unescaped, as the apps send them.
DEVICE_ID_PATTERN = re.compile(r"^[A-Za-z0-9._~-]+$")
MAX_NAME_LENGTH = 120
# last_seen_at is written at most this often per device, not on every report.
LAST_SEEN_RESOLUTION = timedelta(seconds=60)


class DeviceOut(BaseModel):
    """A registered tracker device (its id is never shown again after registration)."""

    id: int
    name: str
    vehicle_id: int
    vehicle_name: str
    created_at: datetime
    last_seen_at: datetime | None


class DeviceRegistered(DeviceOut):
    """A device just registered, with the id to type into the app (shown this once)."""

    device_id: str


@dataclass(frozen=True, slots=True)
class DeviceTarget:
    """What a report from a registered device needs: the row, its vehicle and depot."""

    device_pk: int
    vehicle_id: int
    depot_id: int | None


def hash_device_id(device_id: str) -> str:
    """The stored form of a device id (hex SHA-256).

    Unkeyed on purpose: ids are long random strings (no dictionary to try), and a key taken
    from SECRET_KEY would silently unregister every phone when that key is rotated.
    """
    return hashlib.sha256(device_id.encode()).hexdigest()


def generate_device_id() -> str:
    """A new random device id (32 URL-safe characters, 192 bits)."""
    return secrets.token_urlsafe(24)


def check_device_id(device_id: str) -> str:
    """The id if it is long and random enough to serve as a credential, else InvalidInputError."""
    device_id = device_id.strip()
    if not MIN_DEVICE_ID_LENGTH <= len(device_id) <= MAX_DEVICE_ID_LENGTH:
        raise InvalidInputError(
            f"a device id must be {MIN_DEVICE_ID_LENGTH}-{MAX_DEVICE_ID_LENGTH} characters "
            "(anyone who guesses it can move the vehicle: use a long random id)",
            field="device_id",
        )
    if not DEVICE_ID_PATTERN.match(device_id):
        raise InvalidInputError(
            "a device id may only use letters, digits and . _ ~ -", field="device_id"
        )
    if len(set(device_id)) < MIN_DISTINCT_CHARACTERS:
        raise InvalidInputError(
            "the device id does not look random; use a long random id", field="device_id"
        )
    return device_id


def register_device(
    session: Session,
    *,
    vehicle_id: int | None = None,
    vehicle_name: str | None = None,
    device_id: str | None = None,
    name: str = "",
    now: datetime,
) -> DeviceRegistered:
    """Bind a device id (generated when omitted) to a vehicle given by id or name."""
    device_id = generate_device_id() if device_id is None else check_device_id(device_id)
    if len(name) > MAX_NAME_LENGTH:
        raise InvalidInputError(f"name is longer than {MAX_NAME_LENGTH} characters", field="name")
    query = select(Vehicle)
    if vehicle_id is not None:
        query = query.where(Vehicle.id == vehicle_id)
        field = "vehicle_id"
    elif vehicle_name is not None:
        query = query.where(Vehicle.name == vehicle_name)
        field = "vehicle"
    else:
        raise InvalidInputError("name the vehicle the device belongs to", field="vehicle_id")
    vehicle = session.scalar(query)
    if vehicle is None:
        raise NotFoundError(f"no vehicle {vehicle_id or vehicle_name!r}", field=field)
    digest = hash_device_id(device_id)
    if session.scalar(select(TrackerDevice.id).where(TrackerDevice.device_id_hash == digest)):
        raise ConflictError("this device id is already registered", field="device_id")
    device = TrackerDevice(
        device_id_hash=digest, vehicle_id=vehicle.id, name=name.strip(), created_at=now
    )
    session.add(device)
    session.flush()
    return DeviceRegistered(
        id=device.id,
        name=device.name,
        vehicle_id=vehicle.id,
        vehicle_name=vehicle.name,
        created_at=now,
        last_seen_at=None,
        device_id=device_id,
    )


def list_devices(session: Session) -> list[DeviceOut]:
    """Every registered device with its vehicle, by vehicle name then registration."""
    rows = session.execute(
        select(TrackerDevice, Vehicle.name)
        .join(Vehicle, Vehicle.id == TrackerDevice.vehicle_id)
        .order_by(Vehicle.name, TrackerDevice.id)
    ).all()
    return [
        DeviceOut(
            id=device.id,
            name=device.name,
            vehicle_id=device.vehicle_id,
            vehicle_name=vehicle_name,
            created_at=device.created_at,
            last_seen_at=device.last_seen_at,
        )
        for device, vehicle_name in rows
    ]


def delete_device(session: Session, *, device_pk: int) -> None:
    """Unregister a device: its id is refused from now on (positions already stored stay)."""
    result = session.execute(delete(TrackerDevice).where(TrackerDevice.id == device_pk))
    if not result.rowcount:  # type: ignore[attr-defined]
        raise NotFoundError(f"device {device_pk} not found")


def find_device(session: Session, *, device_id: str) -> DeviceTarget | None:
    """The registered device with this id and its vehicle's depot, or None (one query)."""
    if not device_id or len(device_id) > MAX_DEVICE_ID_LENGTH:
        return None
    row = session.execute(
        select(TrackerDevice.id, TrackerDevice.vehicle_id, Vehicle.depot_id)
        .join(Vehicle, Vehicle.id == TrackerDevice.vehicle_id)
        .where(TrackerDevice.device_id_hash == hash_device_id(device_id))
    ).first()
    return None if row is None else DeviceTarget(row[0], row[1], row[2])


def mark_seen(session: Session, *, device_pk: int, now: datetime) -> None:
    """Record that the device reported at `now` (written at most once a minute)."""
    session.execute(
        update(TrackerDevice)
        .where(
            TrackerDevice.id == device_pk,
            or_(
                TrackerDevice.last_seen_at.is_(None),
                TrackerDevice.last_seen_at < now - LAST_SEEN_RESOLUTION,
            ),
        )
        .values(last_seen_at=now)
    )
