"""The notification bell of the app shell: an unread count and the unread list.

The server renders an empty bell; assets/js/notifications.js fills it (from
`GET /api/v1/notifications?unread=true` on load and after every socket `welcome`, then from
live `notification` frames) and acknowledges through the socket's `notification_ack` (or the
REST call when offline). It writes text with textContent only, so no notification text is
ever parsed as HTML.
"""

from __future__ import annotations

from dash import html

from backend.auth.permissions import Principal
from backend.db.models import Role
from components import ids
from components.ui import aria

# Drivers hear about their own vehicle on their page, not the depot's alerts.
BELL_ROLES = frozenset({Role.DISPATCHER, Role.MANAGER, Role.ADMIN})


def create_notification_bell(principal: Principal | None) -> html.Div | None:
    """The bell for users who receive notifications (None for drivers and anonymous users)."""
    if principal is None or principal.role not in BELL_ROLES:
        return None
    return html.Div(
        id=ids.SHELL_BELL,
        className="bell",
        children=[
            html.Button(
                [
                    html.Span("Alerts", className="bell-icon"),
                    html.Span("0", id=ids.SHELL_BELL_COUNT, className="bell-count bell-empty"),
                ],
                id=ids.SHELL_BELL_BUTTON,
                className="bell-button",
                type="button",
                title="Notifications",
                **aria(label="Notifications", expanded="false", controls=ids.SHELL_BELL_PANEL),
            ),
            html.Div(
                id=ids.SHELL_BELL_PANEL,
                className="bell-panel",
                hidden=True,
                role="region",
                **aria(label="Unread notifications"),
                children=[
                    html.Div(
                        [
                            html.Span("Unread notifications", className="bell-title"),
                            html.Button(
                                "Acknowledge all",
                                id=ids.SHELL_BELL_ACK_ALL,
                                className="link-button bell-ack-all",
                                type="button",
                            ),
                        ],
                        className="bell-head",
                    ),
                    html.Ul(id=ids.SHELL_BELL_LIST, className="bell-list"),
                ],
            ),
        ],
    )
