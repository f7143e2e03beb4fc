"""Login, logout and the request guard: every page, Dash call and API route checks the user.

Cross-site request forgery: a cookie-authenticated write (POST, PUT, PATCH, DELETE) must either
carry a JSON body, which a form on another site cannot send without a CORS preflight we never
grant, or the session's CSRF token (`X-CSRF-Token` header, or a `csrf_token` field in our own
forms). Requests with a bearer token are not cookie-authenticated and need neither.
"""

from __future__ import annotations

import hmac
import logging
import secrets
from collections.abc import Callable
from datetime import timedelta
from typing import Any
from urllib.parse import urlparse

from flask import (
    Blueprint,
    Flask,
    current_app,
    g,
    jsonify,
    redirect,
    render_template,
    request,
    session,
)
from werkzeug.wrappers import Response

from backend.auth.permissions import Principal
from backend.auth.sessions import SessionRegistry, SessionStoreError
from backend.auth.throttle import LoginThrottle, ThrottleStoreError
from backend.auth.tokens import user_for_token
from backend.auth.users import authenticate, get_principal, principal_for
from backend.db.models import Role
from backend.runtime import current_runtime, runtime_of

log = logging.getLogger(__name__)

SESSION_USER_KEY = "uid"
SESSION_ID_KEY = "sid"
CSRF_SESSION_KEY = "csrf"
CSRF_HEADER = "X-CSRF-Token"
CSRF_FORM_FIELD = "csrf_token"
SESSION_LIFETIME = timedelta(hours=12)
# Paths anyone may fetch: the login form, liveness, metrics scrape, static assets.
PUBLIC_PREFIXES = (
    "/login",
    "/healthz",
    "/metrics",
    "/assets/",
    "/favicon.ico",
    "/api/v1/openapi.json",
)
# Exact paths anyone may reach: tracker apps (OsmAnd protocol) authenticate by device id only.
PUBLIC_PATHS = frozenset({"/osmand"})
# Where each role lands after login.
HOME_BY_ROLE = {Role.DRIVER: "/driver"}
DEFAULT_HOME = "/"
WRITE_METHODS = frozenset({"POST", "PUT", "PATCH", "DELETE"})
_EXTENSION_KEY = "fleet_auth"

blueprint = Blueprint("auth", __name__, template_folder="templates")


class AuthState:
    """The session registry and the login throttle of one app (both in the key-value store)."""

    def __init__(self, sessions: SessionRegistry, throttle: LoginThrottle) -> None:
        self.sessions = sessions
        self.throttle = throttle


def _state() -> AuthState:
    state: AuthState = current_app.extensions[_EXTENSION_KEY]
    return state


def current_principal() -> Principal | None:
    """The principal of this request (bearer token first, then the session cookie)."""
    if "principal" in g:
        cached: Principal | None = g.principal
        return cached
    principal: Principal | None = None
    via: str | None = None
    token = _bearer_token()
    runtime = current_runtime()
    if token:
        with runtime.db.session() as db:
            user = user_for_token(db, token=token, now=runtime.clock.now())
            principal = principal_for(user) if user else None
        via = "token"
    elif SESSION_USER_KEY in session:
        via = "session"
        principal = _session_principal()
    g.principal = principal
    g.auth_via = via if principal is not None else None
    return principal


def _session_principal() -> Principal | None:
    user_id, session_id = session.get(SESSION_USER_KEY), session.get(SESSION_ID_KEY)
    try:
        live = _state().sessions.is_live(session_id, user_id)
    except SessionStoreError:
        # Fail closed, but keep the cookie: the session is good again once the store is back.
        log.warning("session store unavailable; treating the request as anonymous")
        return None
    if not live or not isinstance(user_id, int):
        session.clear()  # logged out elsewhere, expired, or a cookie from before sessions
        return None
    with current_runtime().db.session() as db:
        principal = get_principal(db, user_id=user_id)
    if principal is None:
        session.clear()
    return principal


def csrf_token() -> str:
    """This session's CSRF token ("" when nobody is logged in with a cookie)."""
    token = session.get(CSRF_SESSION_KEY)
    return token if isinstance(token, str) else ""


CSRF_MESSAGE = f"Send a JSON body or the {CSRF_HEADER} header with this session's token."


def is_forged_write() -> bool:
    """Whether this request is a cookie-authenticated write without JSON or the CSRF token."""
    current_principal()
    return request.method in WRITE_METHODS and g.auth_via == "session" and not _csrf_ok()


def _csrf_ok() -> bool:
    # A JSON content type cannot come from a cross-site <form> or a "simple" fetch.
    if request.is_json:
        return True
    expected = csrf_token()
    sent = request.headers.get(CSRF_HEADER)
    if sent is None and request.mimetype in (
        "application/x-www-form-urlencoded",
        "multipart/form-data",
    ):
        sent = request.form.get(CSRF_FORM_FIELD)
    return bool(expected and sent) and hmac.compare_digest(expected, str(sent))


def _bearer_token() -> str | None:
    header = request.headers.get("Authorization", "")
    if header.lower().startswith("bearer "):
        return header[7:].strip()
    return None


def home_for(role: str) -> str:
    """The first page a user of this role sees."""
    return HOME_BY_ROLE.get(Role(role), DEFAULT_HOME) if role in set(Role) else DEFAULT_HOME


def _safe_next(target: str | None, fallback: str) -> str:
    # Only same-site relative paths, so the login form cannot be used as an open redirect.
    if not target:
        return fallback
    parsed = urlparse(target)
    if parsed.scheme or parsed.netloc or not target.startswith("/") or target.startswith("//"):
        return fallback
    if parsed.path.startswith(("/logout", "/login")):
        return fallback  # landing on the sign-out page right after signing in helps nobody
    return target


def _wants_json() -> bool:
    return request.is_json or request.accept_mimetypes.best == "application/json"


def _login_refused(
    status: int, code: str, message: str, next_path: str, retry_after: int | None = None
) -> Response:
    if _wants_json():
        error: dict[str, Any] = {"code": code, "message": message}
        response = jsonify({"error": error})
    else:
        response = current_app.make_response(
            render_template("login.html", error=message, next=next_path)
        )
    response.status_code = status
    if retry_after:
        response.headers["Retry-After"] = str(retry_after)
    return response


def _credentials() -> tuple[str, str]:
    if request.is_json:
        body = request.get_json(silent=True)
        body = body if isinstance(body, dict) else {}
        username, password = body.get("username"), body.get("password")
    else:
        username, password = request.form.get("username"), request.form.get("password")
    # Anything but short strings is not a credential; bound the work a request can cause.
    username = username if isinstance(username, str) and len(username) <= 200 else ""
    password = password if isinstance(password, str) and len(password) <= 1024 else ""
    return username, password


def _start_session(user_id: int) -> None:
    state = _state()
    # Rotate: a new id and token at every login, so an id planted or copied before is worthless.
    state.sessions.end(session.get(SESSION_ID_KEY))
    session.clear()
    session.permanent = True
    session[SESSION_USER_KEY] = user_id
    session[SESSION_ID_KEY] = state.sessions.start(user_id)
    session[CSRF_SESSION_KEY] = secrets.token_urlsafe(32)


def _minutes(seconds: int) -> str:
    minutes = max(1, -(-seconds // 60))
    return f"{minutes} minute{'s' if minutes != 1 else ''}"


@blueprint.route("/login", methods=["GET", "POST"])
def login() -> Response | str | tuple[str, int]:
    """Show the login form; on POST check the credentials (throttled) and start a session.

    Form posts get the form back with a message; JSON clients (a JSON body or
    `Accept: application/json`) get `{"error": {...}}` and, when throttled, 429 with Retry-After.
    """
    next_path = request.values.get("next", "")
    if request.method != "POST":
        return render_template("login.html", error="", next=next_path)
    username, password = _credentials()
    if not username or not password:
        return _login_refused(
            400, "missing_credentials", "Enter your username and password.", next_path
        )
    runtime = current_runtime()
    now = runtime.clock.now()
    address = request.remote_addr or ""
    throttle = _state().throttle
    try:
        wait = throttle.begin(username=username, address=address, now=now)
        if wait:
            return _login_refused(
                429,
                "too_many_attempts",
                f"Too many failed sign-ins. Try again in {_minutes(wait)}.",
                next_path,
                retry_after=wait,
            )
        with runtime.db.session() as db:
            user = authenticate(db, username=username, password=password, now=now)
            if user is not None:
                throttle.succeeded(username=username, address=address, now=now)
                _start_session(user.id)
                target = _safe_next(next_path, home_for(user.role))
                if _wants_json():
                    return jsonify({"redirect": target})
                return redirect(target)
    except (SessionStoreError, ThrottleStoreError):
        log.exception("login refused: the key-value store is unavailable")
        return _login_refused(
            503, "unavailable", "Sign-in is unavailable right now; try again soon.", next_path
        )
    return _login_refused(
        401, "invalid_credentials", "Unknown username or wrong password.", next_path
    )


@blueprint.route("/logout", methods=["GET", "POST"])
def logout() -> Response | str:
    """POST (with the CSRF token, checked by the guard) ends the session; GET asks first.

    A GET never logs out: an <img src="/logout"> on any page of the same site must not.
    """
    if request.method != "POST":
        return render_template("logout.html", csrf_token=csrf_token())
    _state().sessions.end(session.get(SESSION_ID_KEY))
    session.clear()
    return redirect("/login")


PagePermission = Callable[[str], str | None]


def install_guard(server: Flask, *, page_permission: PagePermission) -> None:
    """Refuse anonymous requests, forged cookie writes and pages the user may not open."""
    runtime = runtime_of(server)
    server.config.update(
        SESSION_COOKIE_HTTPONLY=True,
        SESSION_COOKIE_SAMESITE="Lax",
        SESSION_COOKIE_NAME="fleet_session",
        SESSION_COOKIE_SECURE=runtime.settings.cookie_secure,
        PERMANENT_SESSION_LIFETIME=SESSION_LIFETIME,
    )
    store = runtime.store
    server.extensions[_EXTENSION_KEY] = AuthState(
        SessionRegistry(store, SESSION_LIFETIME), LoginThrottle(store)
    )
    server.register_blueprint(blueprint)

    def _drop_ended_session() -> None:
        # Before every other hook (the realtime socket reads the cookie in its own): a cookie
        # whose session was logged out or rotated is emptied here, so nothing downstream sees it.
        if SESSION_USER_KEY in session and _bearer_token() is None:
            current_principal()

    server.before_request_funcs.setdefault(None, []).insert(0, _drop_ended_session)

    @server.before_request
    def _guard() -> Response | tuple[Response, int] | None:
        path = request.path
        if path.startswith(PUBLIC_PREFIXES) or path in PUBLIC_PATHS:
            return None
        principal = current_principal()
        wants_json = path.startswith(("/api/", "/_dash-", "/ws"))
        if principal is None:
            if wants_json:
                return _json_error(401, "unauthenticated", "Log in or send a bearer token.")
            return redirect(f"/login?next={request.full_path.rstrip('?')}")
        if is_forged_write():
            if wants_json:
                return _json_error(403, "csrf_failed", CSRF_MESSAGE)
            return Response(CSRF_MESSAGE, status=403, mimetype="text/plain")
        if wants_json or path.startswith(("/assets/", "/_reload-hash", "/_favicon")):
            return None
        # The page's permission, by the same names the REST API and the socket check.
        needed = page_permission(path)
        if needed is not None and not principal.can(needed):
            return redirect(home_for(principal.role))
        return None


def _json_error(status: int, code: str, message: str) -> tuple[Response, int]:
    return jsonify({"error": {"code": code, "message": message}}), status
