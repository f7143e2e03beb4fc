"""Checks requests pass before their handler: size, then (API) permission and a sane JSON body.

The permission a route needs is declared once with `@permission(...)` under the route decorator.
Checking it here, before flask-openapi3 validates the body, means a caller without the right
gets 403 whatever it sent, and never learns which fields a write would accept.

Every request body is capped at MAX_REQUEST_BYTES (413, JSON on API and Dash paths), and a Dash
callback request must have the shape the renderer sends for a registered callback, so a crafted
body gets a 400 instead of an exception deep inside Dash.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Mapping
from typing import Any, TypeVar

from flask import Flask, current_app, jsonify, request
from werkzeug.exceptions import RequestEntityTooLarge
from werkzeug.wrappers import Response

from backend.api.errors import ApiError
from backend.auth.web import CSRF_MESSAGE, PUBLIC_PREFIXES, current_principal, is_forged_write
from backend.runtime import runtime_of

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


def _json_paths() -> bool:
    return request.path.startswith(("/api/", "/_dash-"))


def _too_large(limit: int) -> Response:
    message = f"The body exceeds {limit} bytes."
    if not _json_paths():
        return Response(message, status=413, mimetype="text/plain")
    response = jsonify({"error": {"code": "body_too_large", "message": message, "field": "body"}})
    response.status_code = 413
    return response


def install_size_limit(server: Flask, max_bytes: int) -> None:
    """Cap every request body at `max_bytes` (MAX_REQUEST_BYTES): 413 before it is read."""
    # Flask enforces it on bodies sent without a length (chunked) while they are read.
    server.config["MAX_CONTENT_LENGTH"] = max_bytes

    @server.before_request
    def _declared_size() -> Response | None:
        # A declared length over the cap is refused before anything (even auth) reads it.
        if request.content_length is not None and request.content_length > max_bytes:
            return _too_large(max_bytes)
        return None

    @server.errorhandler(RequestEntityTooLarge)
    def _read_too_much(_: RequestEntityTooLarge) -> Response:
        return _too_large(request.max_content_length or max_bytes)


def install_request_checks(server: Flask) -> None:
    """Cap request sizes; run the permission and body checks on /api/ requests naming a user."""
    install_size_limit(server, runtime_of(server).settings.max_request_bytes)

    @server.before_request
    def _api_checks() -> None:
        path = request.path
        if not path.startswith("/api/") or path.startswith(PUBLIC_PREFIXES):
            return
        if current_principal() is None:
            return  # the auth guard answers 401 before anything else is looked at
        if is_forged_write():
            # Before the body is looked at, so a forged form post learns nothing about it.
            raise ApiError(403, "csrf_failed", CSRF_MESSAGE)
        _check_permission()
        if request.method in _WRITE_METHODS:
            _check_body()


DASH_CALLBACK_PATH = "/_dash-update-component"
CallbackMap = Callable[[], Mapping[str, Mapping[str, Any]]]


class _BadCallback(ValueError):
    def __init__(self, field: str, message: str) -> None:
        super().__init__(message)
        self.field = field


def _check_dependency(item: Any, expected: Mapping[str, Any], field: str) -> None:
    # Pattern-matching (dict id) inputs arrive as a list of matches, or one match for MATCH.
    wildcard = isinstance(expected.get("id"), dict)
    matches = item if wildcard and isinstance(item, list) else [item]
    for match in matches:
        if not isinstance(match, dict) or not isinstance(match.get("property"), str):
            raise _BadCallback(field, "each input needs an id and a property")
        if match["property"] != expected.get("property"):
            raise _BadCallback(field, "an input names the wrong property")
        if wildcard:
            if not isinstance(match.get("id"), dict):
                raise _BadCallback(field, "a pattern-matching input needs an object id")
        elif match.get("id") != expected.get("id"):
            raise _BadCallback(field, "an input names the wrong component")


def _check_callback_body(body: Any, callbacks: Mapping[str, Mapping[str, Any]]) -> None:
    if not isinstance(body, dict):
        raise _BadCallback("body", "the body must be a JSON object")
    output = body.get("output")
    if not isinstance(output, str) or output not in callbacks:
        raise _BadCallback("output", "no such callback")
    spec = callbacks[output]
    for key, expected_key in (("inputs", "inputs"), ("state", "state")):
        items = body.get(key, [])
        expected = spec.get(expected_key) or []
        if not isinstance(items, list) or len(items) != len(expected):
            raise _BadCallback(key, f"{key} must list the callback's {len(expected)} items")
        for item, want in zip(items, expected, strict=True):
            _check_dependency(item, want, key)
    outputs = body.get("outputs", [])
    flat = outputs if isinstance(outputs, list) else [outputs]
    for item in flat:
        for one in item if isinstance(item, list) else [item]:
            if not isinstance(one, dict) or not isinstance(one.get("property"), str):
                raise _BadCallback("outputs", "each output needs an id and a property")
            if not isinstance(one.get("id"), str | dict):
                raise _BadCallback("outputs", "each output needs an id and a property")
    changed = body.get("changedPropIds", [])
    if not isinstance(changed, list) or not all(isinstance(p, str) for p in changed):
        raise _BadCallback("changedPropIds", "changedPropIds must be a list of strings")


def install_dash_checks(server: Flask, callbacks: CallbackMap) -> None:
    """Answer 400 (JSON) to a Dash callback request that is not shaped like the renderer's.

    `callbacks` returns the Dash app's callback map (output id -> inputs and state), so only
    registered callbacks with their declared inputs reach Dash's dispatcher; the values inside
    are the callbacks' to check.
    """

    @server.before_request
    def _dash_shape() -> tuple[Response, int] | None:
        if request.path != DASH_CALLBACK_PATH or request.method != "POST":
            return None
        if not request.is_json:
            error = ApiError(415, "unsupported_media_type", "Send application/json.", "body")
            return jsonify(error.body()), error.status
        body = request.get_json(silent=True)
        try:
            _check_callback_body(body, callbacks())
        except _BadCallback as exc:
            error = ApiError(400, "invalid_callback_request", str(exc), exc.field)
            return jsonify(error.body()), error.status
        return None
