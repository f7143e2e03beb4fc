"""The app shell: header, navigation filtered by role, user menu, live-connection badge."""

from __future__ import annotations

import functools
from collections.abc import Callable
from typing import Any

import dash
from dash import dcc, html

from backend.auth.permissions import Principal
from components import ids
from components.notifications import create_notification_bell


def page_permission(page: dict[str, Any]) -> str | None:
    """The permission a registered page needs (`permission=` in register_page; None: any user).

    The same names as the REST API and the socket (backend/auth/permissions.py).
    """
    permission = page.get("permission")
    return str(permission) if permission else None


def page_permission_lookup() -> Callable[[str], str | None]:
    """A path -> needed permission lookup over the page registry (None: unknown or open)."""
    by_path = {page["path"]: page_permission(page) for page in dash.page_registry.values()}

    def lookup(path: str) -> str | None:
        return by_path.get(path.rstrip("/") or "/")

    return lookup


def may_open(principal: Principal | None, page: dict[str, Any]) -> bool:
    """Whether `principal` may open `page`."""
    permission = page_permission(page)
    return principal is not None and (permission is None or principal.can(permission))


def create_access_denied() -> html.Div:
    """What a user sees on a page outside their role."""
    return html.Div(
        className="panel empty-state",
        children=[
            html.H2("Not available for your role"),
            html.P("Ask an administrator if you need access to this page."),
        ],
    )


def guard_page_layouts(get_principal: Callable[[], Principal | None]) -> None:
    """Wrap each page's layout so client-side navigation also checks the role."""
    for page in dash.page_registry.values():
        layout = page["layout"]
        if getattr(layout, "__fleet_guarded__", False):
            continue
        page["layout"] = _guarded(layout, page, get_principal)


def _guarded(
    layout: Callable[..., Any] | Any,
    page: dict[str, Any],
    get_principal: Callable[[], Principal | None],
) -> Callable[..., Any]:
    @functools.wraps(layout if callable(layout) else _guarded)
    def wrapper(**kwargs: Any) -> Any:
        principal = get_principal()
        if principal is not None and not may_open(principal, page):
            return create_access_denied()
        return layout(**kwargs) if callable(layout) else layout

    wrapper.__fleet_guarded__ = True  # type: ignore[attr-defined]
    return wrapper


def create_nav(principal: Principal | None) -> html.Nav:
    """Links to the pages this user may open, in registry order."""
    links = [
        dcc.Link(
            page["name"],
            href=page["relative_path"],
            className="nav-link",
            id=f"nav-{page['path'].strip('/') or 'dispatch'}",
        )
        for page in dash.page_registry.values()
        if may_open(principal, page) and not page.get("hide_from_nav")
    ]
    return html.Nav(links, className="nav", id=ids.SHELL_NAV)


def create_logout_form(csrf_token: str) -> html.Form:
    """Sign out: a POST carrying the session's CSRF token (a GET link could be forged)."""
    return html.Form(
        [
            dcc.Input(type="hidden", name="csrf_token", value=csrf_token),
            html.Button(
                "Sign out",
                type="submit",
                className="logout-link",
                # A button dressed as the link it replaces (inline: the stylesheet is shared).
                style={"background": "none", "border": 0, "padding": 0, "cursor": "pointer"},
            ),
        ],
        action="/logout",
        method="post",
        className="logout-form",
        style={"display": "inline", "margin": 0},
    )


def create_shell(principal: Principal | None = None, *, csrf_token: str = "") -> html.Div:
    """The whole-app layout around the current page (`csrf_token` signs the logout form)."""
    user_label = principal.display_name if principal else ""
    role_label = principal.role if principal else ""
    return html.Div(
        className="app",
        children=[
            dcc.Location(id=ids.SHELL_URL),
            html.Header(
                className="topbar",
                children=[
                    html.A(
                        [html.Span("◆", className="brand-mark"), " Fleet Dispatch"],
                        href="/",
                        className="brand",
                    ),
                    create_nav(principal),
                    html.Div(
                        className="topbar-right",
                        children=[
                            create_notification_bell(principal),
                            html.Span(
                                "offline",
                                id=ids.SHELL_CONNECTION,
                                className="conn-badge conn-offline",
                                title="Live connection to the server",
                            ),
                            html.Span(
                                [user_label, html.Small(f" · {role_label}")],
                                id=ids.SHELL_USER,
                                className="user-label",
                            ),
                            create_logout_form(csrf_token),
                        ],
                    ),
                ],
            ),
            html.Main(dash.page_container, className="content"),
        ],
    )
