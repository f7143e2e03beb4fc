"""The REST API under /api/v1 (flask-openapi3: pydantic models and an OpenAPI document)."""

from __future__ import annotations

from typing import Any, Literal

from flask import Response, jsonify
from flask_openapi3 import APIBlueprint, OpenAPI, Tag
from pydantic import BaseModel

from backend.api.devices import devices_api
from backend.api.errors import (
    ApiError,
    document_errors,
    error_responses,
    install_error_handlers,
    require,
)
from backend.api.fleet import fleet_api
from backend.api.hooks import install_request_checks
from backend.api.notifications import notifications_api
from backend.api.orders import orders_api
from backend.api.plans import plans_api
from backend.auth.web import current_principal
from backend.ops.health import health_response

system_api = APIBlueprint(
    "system",
    __name__,
    url_prefix="/api/v1",
    abp_tags=[Tag(name="system")],
    abp_security=[{"bearer": []}],
)


class MeOut(BaseModel):
    """The caller: role, depot scope (null = every depot), own vehicle and permissions."""

    user_id: int
    username: str
    display_name: str
    role: str
    depot_ids: list[int] | None
    vehicle_id: int | None
    permissions: list[str]


class HealthOut(BaseModel):
    """The admin health report: status "degraded" (503) when the database or Redis is down."""

    status: Literal["ok", "degraded"]
    background_jobs: str
    database: dict[str, Any]
    pool: dict[str, Any]
    redis: dict[str, Any]


@system_api.get(
    "/health",
    summary="Database, Redis, pool and job-backend health (admin only)",
    responses={200: HealthOut, 503: HealthOut, **error_responses(403)},
)
def get_health():
    """Report reachability of the database and Redis, pool figures and the job backend."""
    require("system:health")
    return health_response()


@system_api.get("/me", summary="Who am I", responses={200: MeOut})
def get_me():
    """The caller's principal, as every other route sees it."""
    principal = current_principal()
    if principal is None:  # the guard answers first; kept for callers outside it
        raise ApiError(401, "unauthenticated", "Log in or send a bearer token.")
    return MeOut(
        user_id=principal.user_id,
        username=principal.username,
        display_name=principal.display_name,
        role=principal.role,
        depot_ids=sorted(principal.depot_ids) if principal.depot_ids is not None else None,
        vehicle_id=principal.vehicle_id,
        permissions=sorted(principal.permissions),
    ).model_dump(mode="json")


def register_api(server: OpenAPI) -> None:
    """Register every API blueprint, the request checks and the JSON error handlers."""
    install_error_handlers(server)
    document_errors(server)
    install_request_checks(server)
    # Bearer tokens for devices and scripts; the dashboard's session cookie works too.
    server.security_schemes = {"bearer": {"type": "http", "scheme": "bearer"}}
    for api in (system_api, orders_api, fleet_api, plans_api, devices_api, notifications_api):
        server.register_api(api)
    # Dash serves every other GET path as a page; an unknown API path must stay a JSON 404.
    server.add_url_rule("/api/<path:rest>", "api_not_found", _api_not_found, methods=["GET"])


def _api_not_found(rest: str) -> tuple[Response, int]:
    body = {"error": {"code": "not_found", "message": f"No API route /api/{rest}."}}
    return jsonify(body), 404
