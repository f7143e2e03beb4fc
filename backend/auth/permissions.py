"""Roles, permissions and scope: who may see which depot, vehicle and page."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field

from backend.db.models import Role

# Permission names follow the original design; the realtime and REST layers check them.
DEFAULT_ROLE_PERMISSIONS: Mapping[str, frozenset[str]] = {
    Role.DRIVER: frozenset(
        {
            "vehicle:update_location",
            "route:create_event",
            "route:subscribe_status",
            "notification:subscribe",
            "route:read_own",
        }
    ),
    Role.DISPATCHER: frozenset(
        {
            "route:create_event",
            "route:subscribe_status",
            "vehicle:subscribe_status",
            "notification:subscribe",
            "order:read",
            "order:write",
            "vehicle:read",
            "vehicle:write",
            "depot:read",
            "plan:read",
            "plan:write",
            "analytics:read",
        }
    ),
    Role.MANAGER: frozenset(
        {
            "route:subscribe_status",
            "vehicle:subscribe_status",
            "notification:subscribe",
            "order:read",
            "vehicle:read",
            "depot:read",
            "plan:read",
            "analytics:read",
            "model:read",
        }
    ),
}
# Admins can do everything any role can, plus administration.
DEFAULT_ROLE_PERMISSIONS = {
    **DEFAULT_ROLE_PERMISSIONS,
    Role.ADMIN: frozenset().union(*DEFAULT_ROLE_PERMISSIONS.values())
    | {"depot:write", "user:admin", "system:health", "model:train"},
}


@dataclass(frozen=True)
class Principal:
    """Who is asking: user id, role, depot scope (None = all depots) and own vehicle."""

    user_id: int
    username: str
    role: str
    depot_ids: frozenset[int] | None = None
    vehicle_id: int | None = None
    display_name: str = ""
    permissions: frozenset[str] = field(default_factory=frozenset)

    def can(self, permission: str) -> bool:
        """Whether this principal holds `permission`."""
        return permission in self.permissions

    def sees_depot(self, depot_id: int | None) -> bool:
        """Whether the depot is inside this principal's scope."""
        return self.depot_ids is None or depot_id in self.depot_ids

    def depot_filter(self) -> frozenset[int] | None:
        """Depot ids to restrict queries to, or None for every depot."""
        return self.depot_ids


def make_principal(
    *,
    user_id: int,
    username: str,
    role: str,
    depot_ids: Iterable[int] = (),
    vehicle_id: int | None = None,
    display_name: str = "",
    role_permissions: Mapping[str, frozenset[str]] = DEFAULT_ROLE_PERMISSIONS,
) -> Principal:
    """Build a principal; managers and admins are never depot-scoped."""
    scoped = role in (Role.DRIVER, Role.DISPATCHER)
    return Principal(
        user_id=user_id,
        username=username,
        role=role,
        depot_ids=frozenset(depot_ids) if scoped else None,
        vehicle_id=vehicle_id,
        display_name=display_name or username,
        permissions=role_permissions.get(role, frozenset()),
    )
