"""JSON errors for the API: every 4xx names what was wrong."""

from __future__ import annotations

import logging
import re
from collections.abc import Mapping
from typing import Any

from flask import Flask, jsonify, request
from pydantic import BaseModel, ValidationError
from werkzeug.exceptions import HTTPException
from werkzeug.wrappers import Response

from backend.auth.permissions import Principal
from backend.auth.web import current_principal
from backend.services import ConflictError, InvalidInputError, NotFoundError, ServiceError

log = logging.getLogger(__name__)

SERVICE_ERROR_STATUS: dict[type[ServiceError], int] = {
    NotFoundError: 404,
    ConflictError: 409,
    InvalidInputError: 422,
}


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


def _field_and_message(err: Mapping[str, Any]) -> tuple[str, str]:
    loc = [str(part) for part in err.get("loc", ())]
    message = str(err.get("msg", "invalid")).removeprefix("Value error, ")
    # Model-level validators cannot set a location: they start the message with "field: ".
    match = _FIELD_IN_MESSAGE.match(message)
    if match:
        named = match.group("field")
        if not loc or loc[-1] != named:
            loc.append(named)
        message = match.group("message")
    return ".".join(loc) or "body", message


_FIELD_IN_MESSAGE = re.compile(r"^(?P<field>[a-z_][a-z0-9_.]*): (?P<message>.+)$", re.DOTALL)


class ErrorDetail(BaseModel):
    """One invalid field."""

    field: str
    message: str


class ErrorInfo(BaseModel):
    """What went wrong: a stable code, a message and the field at fault when there is one."""

    code: str
    message: str
    field: str | None = None
    details: list[ErrorDetail] | None = None


class ErrorResponse(BaseModel):
    """The JSON body of every API error."""

    error: ErrorInfo


def validation_error_response(exc: ValidationError) -> Response:
    """A 422 naming every invalid field (used as flask-openapi3's validation handler)."""
    errors = []
    for err in exc.errors(include_url=False, include_input=False, include_context=False):
        field, message = _field_and_message(err)
        errors.append({"field": field, "message": message})
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

    @server.errorhandler(ValidationError)
    def _validation_error(exc: ValidationError) -> Response:
        return validation_error_response(exc)

    @server.errorhandler(ServiceError)
    def _service_error(exc: ServiceError) -> tuple[Response, int]:
        status = next(
            (code for cls, code in SERVICE_ERROR_STATUS.items() if isinstance(exc, cls)), 400
        )
        error: dict[str, Any] = {"code": exc.code, "message": exc.message}
        if exc.field:
            error["field"] = exc.field
        error.update(exc.details)
        return jsonify({"error": error}), status

    @server.errorhandler(Exception)
    def _unexpected(exc: Exception) -> tuple[Response, int]:
        if not request.path.startswith("/api/"):
            raise exc
        # Never an HTML page or a stack trace to an API client; the log keeps the details.
        log.exception("unhandled error in %s %s", request.method, request.path)
        body = {"error": {"code": "internal_error", "message": "Something went wrong."}}
        return jsonify(body), 500

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
