"""JSON errors for the API: every 4xx names what was wrong."""

from __future__ import annotations

from typing import Any

from flask import Flask, jsonify, request
from pydantic import ValidationError
from werkzeug.exceptions import HTTPException
from werkzeug.wrappers import Response

from backend.auth.permissions import Principal
from backend.auth.web import current_principal


class ApiError(Exception):
    """An error answered as JSON: HTTP status, stable code, message, optional field."""

    def __init__(self, status: int, code: str, message: str, field: str | None = None) -> None:
        super().__init__(message)
        self.status = status
        self.code = code
        self.message = message
        self.field = field

    def body(self) -> dict[str, Any]:
        """The JSON body of this error."""
        error: dict[str, Any] = {"code": self.code, "message": self.message}
        if self.field:
            error["field"] = self.field
        return {"error": error}


def require(permission: str) -> Principal:
    """The current principal if it holds `permission`, else a 401/403 ApiError."""
    principal = current_principal()
    if principal is None:
        raise ApiError(401, "unauthenticated", "Log in or send a bearer token.")
    if not principal.can(permission):
        raise ApiError(403, "permission_denied", f"Your role may not {permission}.")
    return principal


def validation_error_response(exc: ValidationError) -> Response:
    """A 422 naming every invalid field (used as flask-openapi3's validation handler)."""
    errors = [
        {
            "field": ".".join(str(part) for part in err.get("loc", ())),
            "message": err.get("msg", "invalid"),
        }
        for err in exc.errors()
    ]
    first = errors[0] if errors else {"field": "", "message": "invalid"}
    body = {
        "error": {
            "code": "validation_error",
            "message": f"{first['field']}: {first['message']}",
            "field": first["field"],
            "details": errors,
        }
    }
    response = jsonify(body)
    response.status_code = 422
    return response


def install_error_handlers(server: Flask) -> None:
    """Answer API errors (ours and HTTP ones) with JSON instead of HTML."""
    # flask-openapi3 calls this when a request fails its pydantic model.
    server.validation_error_callback = validation_error_response  # type: ignore[attr-defined]

    @server.errorhandler(ApiError)
    def _api_error(exc: ApiError) -> tuple[Response, int]:
        return jsonify(exc.body()), exc.status

    @server.errorhandler(HTTPException)
    def _http_error(exc: HTTPException) -> Response | HTTPException:
        if not request.path.startswith("/api/"):
            return exc
        response = jsonify(
            {
                "error": {
                    "code": (exc.name or "error").lower().replace(" ", "_"),
                    "message": exc.description or exc.name,
                }
            }
        )
        response.status_code = exc.code or 500
        return response
