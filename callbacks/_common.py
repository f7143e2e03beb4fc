"""Helpers the page callbacks share: who is asking, a database session, date parsing."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from datetime import date
from typing import Any

import dash
from dash.exceptions import MissingCallbackContextException, PreventUpdate
from sqlalchemy.orm import Session

from backend.auth.permissions import Principal
from backend.auth.web import current_principal
from backend.runtime import current_runtime


def require_principal(*roles: str) -> Principal:
    """The logged-in principal; stops the callback when there is none or its role is not listed."""
    principal = current_principal()
    if principal is None or (roles and principal.role not in roles):
        raise PreventUpdate
    return principal


@contextmanager
def db_session() -> Iterator[Session]:
    """A session of this process's database for the duration of one callback."""
    with current_runtime().db.session() as session:
        yield session


def parse_date(value: str | None) -> date | None:
    """A date from a date picker value ("2026-11-27" or an ISO timestamp), else None."""
    if not value:
        return None
    try:
        return date.fromisoformat(str(value)[:10])
    except ValueError:
        return None


def triggered_id() -> Any:
    """The id of the input that fired the running callback (None outside a callback)."""
    try:
        return dash.ctx.triggered_id
    except MissingCallbackContextException:
        return None
