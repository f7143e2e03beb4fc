"""Login, logout and the request guard: every page, Dash call and API route checks the user."""

from __future__ import annotations

from collections.abc import Callable
from datetime import timedelta
from urllib.parse import urlparse

from flask import Blueprint, Flask, g, jsonify, redirect, render_template, request, session
from werkzeug.wrappers import Response

from backend.auth.permissions import Principal
from backend.auth.tokens import user_for_token
from backend.auth.users import authenticate, get_principal, principal_for
from backend.db.models import Role
from backend.runtime import current_runtime

SESSION_USER_KEY = "uid"
# Paths anyone may fetch: the login form, liveness, metrics scrape, static assets.
PUBLIC_PREFIXES = (
    "/login",
    "/healthz",
    "/metrics",
    "/assets/",
    "/favicon.ico",
    "/api/v1/openapi.json",
)
# Where each role lands after login.
HOME_BY_ROLE = {Role.DRIVER: "/driver"}
DEFAULT_HOME = "/"

blueprint = Blueprint("auth", __name__, template_folder="templates")


def current_principal() -> Principal | None:
    """The principal of this request (bearer token first, then the session cookie)."""
    if "principal" in g:
        cached: Principal | None = g.principal
        return cached
    principal: Principal | None = None
    token = _bearer_token()
    with current_runtime().db.session() as db:
        if token:
            user = user_for_token(db, token=token)
            principal = principal_for(user) if user else None
        elif SESSION_USER_KEY in session:
            principal = get_principal(db, user_id=int(session[SESSION_USER_KEY]))
            if principal is None:
                session.clear()
    g.principal = principal
    return principal


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
    return target


@blueprint.route("/login", methods=["GET", "POST"])
def login() -> Response | str | tuple[str, int]:
    """Show the login form; on POST check the credentials and start a session."""
    error = ""
    next_path = request.values.get("next", "")
    if request.method == "POST":
        username = request.form.get("username", "")
        password = request.form.get("password", "")
        if not username or not password:
            error = "Enter your username and password."
        else:
            with current_runtime().db.session() as db:
                user = authenticate(db, username=username, password=password)
                if user is not None:
                    session.clear()
                    session.permanent = True
                    session[SESSION_USER_KEY] = user.id
                    return redirect(_safe_next(next_path, home_for(user.role)))
            error = "Unknown username or wrong password."
        return render_template("login.html", error=error, next=next_path), 401
    return render_template("login.html", error=error, next=next_path)


@blueprint.route("/logout", methods=["GET", "POST"])
def logout() -> Response:
    """End the session and go back to the login form."""
    session.clear()
    return redirect("/login")


PageRoles = Callable[[str], frozenset[str] | None]


def install_guard(server: Flask, *, page_roles: PageRoles) -> None:
    """Refuse anonymous requests and pages outside the user's role, before any handler runs."""
    server.config.update(
        SESSION_COOKIE_HTTPONLY=True,
        SESSION_COOKIE_SAMESITE="Lax",
        SESSION_COOKIE_NAME="fleet_session",
        PERMANENT_SESSION_LIFETIME=timedelta(hours=12),
    )
    server.register_blueprint(blueprint)

    @server.before_request
    def _guard() -> Response | tuple[Response, int] | None:
        path = request.path
        if path.startswith(PUBLIC_PREFIXES):
            return None
        principal = current_principal()
        wants_json = path.startswith(("/api/", "/_dash-", "/ws"))
        if principal is None:
            if wants_json:
                return _json_error(401, "unauthenticated", "Log in or send a bearer token.")
            return redirect(f"/login?next={request.full_path.rstrip('?')}")
        if wants_json or path.startswith(("/assets/", "/_reload-hash", "/_favicon")):
            return None
        roles = page_roles(path)
        if roles is not None and principal.role not in roles:
            return redirect(home_for(principal.role))
        return None


def _json_error(status: int, code: str, message: str) -> tuple[Response, int]:
    return jsonify({"error": {"code": code, "message": message}}), status
