"""Checks every API request passes before its handler: permission first, then a sane JSON body.

The permission a route needs is declared once with `@permission(...)` under the route decorator.
Checking it here, before flask-openapi3 validates the body, means a caller without the right
gets 403 whatever it sent, and never learns which fields a write would accept.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any, TypeVar

from flask import Flask, current_app, request
from werkzeug.exceptions import RequestEntityTooLarge

from backend.api.errors import ApiError
from backend.auth.web import PUBLIC_PREFIXES, current_principal

# An order or a vehicle is well under a few KiB; anything near this is a mistake or an attack.
MAX_BODY_BYTES = 256 * 1024
_PERMISSION_ATTR = "_api_permission"
_WRITE_METHODS = frozenset({"POST", "PUT", "PATCH", "DELETE"})

F = TypeVar("F", bound=Callable[..., Any])


def permission(name: str) -> Callable[[F], F]:
    """Declare the permission a route needs (checked before its body is even parsed)."""

    def mark(func: F) -> F:
        setattr(func, _PERMISSION_ATTR, name)
        return func

    return mark


def _check_permission() -> None:
    view = current_app.view_functions.get(request.endpoint or "")
    needed = getattr(view, _PERMISSION_ATTR, None)
    principal = current_principal()
    if needed and principal is not None and not principal.can(needed):
        raise ApiError(403, "permission_denied", f"Your role may not {needed}.")


def _check_body() -> None:
    request.max_content_length = MAX_BODY_BYTES
    try:
        raw = request.get_data(cache=True)
    except RequestEntityTooLarge:
        raise ApiError(
            413, "body_too_large", f"The body exceeds {MAX_BODY_BYTES} bytes.", "body"
        ) from None
    if not raw:
        return
    if not request.is_json:
        raise ApiError(415, "unsupported_media_type", "Send application/json.", "body")
    try:
        data = json.loads(raw)
    except (ValueError, RecursionError):
        # ValueError covers bad syntax, bad UTF-8 and integers too long to convert.
        raise ApiError(400, "malformed_json", "The body is not valid JSON.", "body") from None
    if not isinstance(data, dict):
        raise ApiError(422, "validation_error", "The body must be a JSON object.", "body")


def install_request_checks(server: Flask) -> None:
    """Run the permission and body checks on every /api/ request that names a user."""

    @server.before_request
    def _api_checks() -> None:
        path = request.path
        if not path.startswith("/api/") or path.startswith(PUBLIC_PREFIXES):
            return
        if current_principal() is None:
            return  # the auth guard answers 401 before anything else is looked at
        _check_permission()
        if request.method in _WRITE_METHODS:
            _check_body()
