"""The REST API under /api/v1 (flask-openapi3: pydantic models and an OpenAPI document)."""

from __future__ import annotations

from flask_openapi3 import APIBlueprint, OpenAPI, Tag

from backend.api.errors import install_error_handlers, require
from backend.ops.health import health_response

system_api = APIBlueprint("system", __name__, url_prefix="/api/v1", abp_tags=[Tag(name="system")])


@system_api.get("/health", summary="Database, Redis, pool and job-backend health (admin only)")
def get_health():  # type: ignore[no-untyped-def]
    """Report reachability of the database and Redis, pool figures and the job backend."""
    require("system:health")
    return health_response()


def register_api(server: OpenAPI) -> None:
    """Register every API blueprint and the JSON error handlers on the server."""
    install_error_handlers(server)
    server.register_api(system_api)
