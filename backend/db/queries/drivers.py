"""Read queries on drivers (users with the driver role) for the Fleet page."""

from __future__ import annotations

from collections.abc import Collection
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import or_, select
from sqlalchemy.orm import Session, aliased, selectinload

from backend.db.models import User, Vehicle, user_depot


@dataclass(frozen=True, slots=True)
class DriverRow:
    """A driver with their vehicle and depots."""

    id: int
    username: str
    display_name: str
    phone: str
    active: bool
    vehicle_id: int | None
    vehicle_name: str | None
    depot_names: tuple[str, ...]
    last_login_at: datetime | None


def list_drivers(session: Session, *, depot_ids: Collection[int] | None) -> list[DriverRow]:
    """Drivers of the depots in scope (by their depots or their vehicle's depot), by name.

    Two set-based queries: the drivers with their vehicles, and their depots (selectin).
    """
    vehicle = aliased(Vehicle)
    stmt = (
        select(User, vehicle.name)
        .outerjoin(vehicle, vehicle.id == User.vehicle_id)
        .where(User.role == "driver")
        .options(selectinload(User.depots))
        .order_by(User.display_name, User.id)
    )
    if depot_ids is not None:
        scope = sorted(depot_ids)
        in_depot = select(user_depot.c.user_id).where(user_depot.c.depot_id.in_(scope))
        stmt = stmt.where(or_(User.id.in_(in_depot), vehicle.depot_id.in_(scope)))
    return [
        DriverRow(
            id=user.id,
            username=user.username,
            display_name=user.display_name,
            phone=user.phone,
            active=user.active,
            vehicle_id=user.vehicle_id,
            vehicle_name=vehicle_name,
            depot_names=tuple(sorted(d.name for d in user.depots)),
            last_login_at=user.last_login_at,
        )
        for user, vehicle_name in session.execute(stmt)
    ]
