"""Helpers the page callbacks share: who is asking, a database session, input checks.

Callback inputs come from the browser, so a crafted request can put anything in them. The
`as_*` checks turn a value no control of ours would send into a 400 with a JSON error naming
the field (`InvalidInput`, answered by the API's error handler), never a 500 deep in a query.
"""

from __future__ import annotations

from collections.abc import Collection, Iterator, Mapping
from contextlib import contextmanager
from datetime import date
from typing import Any
from zoneinfo import ZoneInfo

import dash
from dash.exceptions import MissingCallbackContextException, PreventUpdate
from sqlalchemy.orm import Session

from backend.api.errors import ApiError
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


def parse_date(value: object) -> date | None:
    """A date from a date picker value ("2026-11-27" or an ISO timestamp), else None."""
    if not value or not isinstance(value, str):
        return None
    try:
        return date.fromisoformat(value[:10])
    except ValueError:
        return None


MAX_TEXT = 200
MAX_ID = 2**31 - 1
SORT_DIRECTIONS = frozenset({"asc", "desc"})


class InvalidInput(ApiError):
    """A callback input no control of ours would send: answered 400 with the field's name."""

    def __init__(self, field: str, message: str) -> None:
        super().__init__(400, "invalid_input", f"{field}: {message}", field)


def as_int(value: object, field: str, *, minimum: int = 0, maximum: int = MAX_ID) -> int | None:
    """An integer in [minimum, maximum] (ids, pages, sizes), None when empty; else 400."""
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int):
        raise InvalidInput(field, "must be a whole number")
    if not minimum <= value <= maximum:
        raise InvalidInput(field, f"must be between {minimum} and {maximum}")
    return value


def as_text(value: object, field: str, *, max_length: int = MAX_TEXT) -> str | None:
    """A short string (a search box), None when empty; else 400."""
    if value is None:
        return None
    if not isinstance(value, str) or len(value) > max_length:
        raise InvalidInput(field, f"must be text of at most {max_length} characters")
    return value


def as_choice(value: object, field: str, allowed: Collection[str]) -> str | None:
    """One of `allowed` (a radio or single dropdown), None when empty; else 400."""
    if value is None or value == "":
        return None
    if not isinstance(value, str) or value not in allowed:
        raise InvalidInput(field, f"must be one of {', '.join(sorted(allowed))}")
    return value


def as_choices(value: object, field: str, allowed: Collection[str]) -> list[str]:
    """Several of `allowed` (a multi dropdown), [] when empty; else 400."""
    if value is None:
        return []
    if isinstance(value, str):
        value = [value]  # a multi dropdown reports a single pick as a string at times
    if not isinstance(value, list) or len(value) > len(allowed):
        raise InvalidInput(field, "must be a list of choices")
    for item in value:
        if not isinstance(item, str) or item not in allowed:
            raise InvalidInput(field, f"must be among {', '.join(sorted(allowed))}")
    return list(dict.fromkeys(value))


def as_sort_by(value: object, field: str = "sort_by") -> list[dict[str, str]]:
    """A DataTable `sort_by`: a list of {column_id, direction}; [] when empty; else 400."""
    if value is None:
        return []
    if not isinstance(value, list) or len(value) > 10:
        raise InvalidInput(field, "must be a list of {column_id, direction}")
    for item in value:
        if (
            not isinstance(item, dict)
            or not isinstance(item.get("column_id"), str)
            or item.get("direction") not in SORT_DIRECTIONS
        ):
            raise InvalidInput(field, "must be a list of {column_id, direction}")
    return [{"column_id": i["column_id"], "direction": i["direction"]} for i in value]


def as_int_list(value: object, field: str, *, max_items: int = 1000) -> list[int]:
    """A list of non-negative integers (selected table rows), [] when empty; else 400."""
    if value is None:
        return []
    if not isinstance(value, list) or len(value) > max_items:
        raise InvalidInput(field, "must be a list of row numbers")
    return [n for item in value if (n := as_int(item, field)) is not None]


def as_records(value: object, field: str, *, max_items: int = 1000) -> list[dict[str, Any]]:
    """Table rows as the browser holds them: a list of objects, [] when empty; else 400."""
    if value is None:
        return []
    if not isinstance(value, list) or len(value) > max_items:
        raise InvalidInput(field, "must be a list of rows")
    if not all(isinstance(row, dict) for row in value):
        raise InvalidInput(field, "must be a list of rows")
    return value


def as_lookup(value: object, field: str = "lookup") -> dict[str, Any] | None:
    """The id -> name lookup a page keeps in a store, checked and cleaned; None when empty.

    It went through the browser: names must be text and a depot's time zone a real one (an
    unknown zone becomes UTC rather than failing every row).
    """
    if value is None:
        return None
    if not isinstance(value, Mapping):
        raise InvalidInput(field, "must be an object")
    vehicles, depots = value.get("vehicles", {}), value.get("depots", {})
    if not isinstance(vehicles, Mapping) or not isinstance(depots, Mapping):
        raise InvalidInput(field, "must hold vehicles and depots objects")
    clean_vehicles = {str(k): v for k, v in vehicles.items() if isinstance(v, str)}
    clean_depots: dict[str, dict[str, str]] = {}
    for key, depot in depots.items():
        if not isinstance(depot, Mapping):
            raise InvalidInput(field, "each depot must be an object")
        name, tz = depot.get("name"), depot.get("timezone")
        clean_depots[str(key)] = {
            "name": name if isinstance(name, str) else "",
            "timezone": tz if isinstance(tz, str) and _known_zone(tz) else "UTC",
        }
    return {"vehicles": clean_vehicles, "depots": clean_depots}


def _known_zone(name: str) -> bool:
    try:
        ZoneInfo(name)
    except (ValueError, KeyError, OSError):
        return False
    return True


def triggered_id() -> Any:
    """The id of the input that fired the running callback (None outside a callback)."""
    try:
        return dash.ctx.triggered_id
    except MissingCallbackContextException:
        return None
