"""Labelled filter controls shared by the list pages: depot, status, date and date range."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from dash import dcc

from components.ui import create_field, status_label


def create_depot_filter(control_id: str, label: str = "Depot") -> Any:
    """A depot dropdown; its options are filled by a callback from the user's depots."""
    return create_field(
        label,
        dcc.Dropdown(id=control_id, options=[], placeholder="All depots", clearable=True),
        control_id,
    )


def create_status_select(
    control_id: str,
    statuses: Sequence[str],
    selected: Sequence[str] = (),
    label: str = "Status",
) -> Any:
    """A multi-select of statuses (empty = all)."""
    return create_field(
        label,
        dcc.Dropdown(
            id=control_id,
            options=[{"label": status_label(s), "value": s} for s in statuses],
            multi=True,
            value=list(selected),
            placeholder="All statuses",
        ),
        control_id,
    )


def create_date_filter(control_id: str, label: str = "Date", value: str | None = None) -> Any:
    """A single date (filled with today by a callback when not given)."""
    return create_field(
        label,
        dcc.DatePickerSingle(
            id=control_id, date=value, display_format="MMM D, YYYY", clearable=True
        ),
        control_id,
    )


def create_date_range(control_id: str, label: str = "Dates") -> Any:
    """A date range (empty = all history)."""
    return create_field(
        label,
        dcc.DatePickerRange(id=control_id, display_format="MMM D, YYYY", clearable=True),
        control_id,
    )


def depot_options(depots: Sequence[Any]) -> list[dict[str, Any]]:
    """Dropdown options from depots (anything with id and name)."""
    return [{"label": d.name, "value": d.id} for d in depots]
