"""JSON errors for the API: every 4xx names what was wrong."""

from __future__ import annotations

import logging
import re
from collections.abc import Mapping
from typing import Any

from flask import Flask, jsonify, request
from flask_openapi3 import OpenAPI
from pydantic import BaseModel, ValidationError
from werkzeug.exceptions import HTTPException
from werkzeug.wrappers import Response

from backend.auth.permissions import Principal
from backend.auth.web import current_principal
from backend.planning.request import PlanningError
from backend.services import (
    ConflictError,
    ForbiddenError,
    InvalidInputError,
    NotFoundError,
    ServiceError,
)

log = logging.getLogger(__name__)

SERVICE_ERROR_STATUS: dict[type[ServiceError], int] = {
    NotFoundError: 404,
    ConflictError: 409,
    InvalidInputError: 422,
    ForbiddenError: 403,
    PlanningError: 422,
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


def error_responses(*statuses: int) -> dict[int | str, Any]:
    """`responses=` entries for statuses a route's own code answers with an ErrorResponse."""
    return dict.fromkeys(statuses, ErrorResponse)


_ERROR_REF = {"$ref": "#/components/schemas/ErrorResponse"}
_WRITE_METHODS = frozenset({"post", "put", "patch", "delete"})
# Statuses answered before or around every route's own code, so documented once for all of
# them: the auth guard (401), the size cap (413, on any request with a body), the checks of
# backend.api.hooks (403 for a cookie write without its CSRF proof; 400 and 415 for a write's
# body) and flask-openapi3's validation (422).
_EVERY_OPERATION = {
    "401": "No valid session or bearer token.",
    "413": "The request body is over the size limit.",
    "422": "A parameter or body field is invalid: error.field names it, error.details each.",
    "500": "An unexpected failure (logged); never an HTML page.",
}
_EVERY_WRITE = {
    "400": "The body is not valid JSON.",
    "403": "Your role may not do this, or a cookie write lacks its CSRF proof.",
    "415": "The body is not application/json.",
}


def complete_error_responses(spec: dict[str, Any]) -> None:
    """Document, on every /api/ operation, the error statuses answered outside its handler.

    flask-openapi3 also adds a 422 of its own (a list of pydantic errors) to any operation that
    does not name one; this API answers an ErrorResponse instead, so that entry is replaced.
    """
    for path, item in spec.get("paths", {}).items():
        if not path.startswith("/api/"):
            continue
        for method, operation in item.items():
            responses = operation.setdefault("responses", {})
            validation = responses.get("422", {}).get("content", {}).get("application/json", {})
            if validation.get("schema", {}).get("type") == "array":
                del responses["422"]
            common = dict(_EVERY_OPERATION)
            if not operation.get("security"):
                del common["401"]
            if method in _WRITE_METHODS:
                common.update(_EVERY_WRITE)
            for status, description in common.items():
                responses.setdefault(
                    status,
                    {
                        "description": description,
                        "content": {"application/json": {"schema": dict(_ERROR_REF)}},
                    },
                )
            operation["responses"] = dict(sorted(responses.items()))


def document_errors(server: OpenAPI) -> None:
    """Make the served document list the error bodies this API really answers with."""
    # Lists ErrorResponse, not flask-openapi3's ValidationErrorModel, among the components.
    server.validation_error_model = ErrorResponse
    generate = server.generate_spec_json

    def generate_spec_json() -> None:
        generate()
        complete_error_responses(server.spec_json)

    # The document is built once, on its first request, after every blueprint registered.
    server.generate_spec_json = generate_spec_json  # type: ignore[method-assign]


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
