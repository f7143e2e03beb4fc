"""components.ui: pills, KPI tiles, labelled fields and the number and time formatting."""

from __future__ import annotations

from datetime import UTC, datetime

from dash import dcc
from tree import by_class, text

from components.ui import (
    STATUS_COLOURS,
    create_field,
    create_kpi_card,
    create_status_pill,
    fmt_number,
    fmt_percent,
    fmt_window,
    local_time,
    status_label,
)


def test_status_pill_has_a_class_and_a_readable_label() -> None:
    pill = create_status_pill("en_route")
    assert pill.className == "pill pill-en_route"
    assert pill.children == "En route"
    assert status_label("") == "Unknown"


def test_every_order_status_has_a_colour() -> None:
    for status in ("new", "planned", "dispatched", "en_route", "arrived", "delivered", "failed"):
        assert STATUS_COLOURS[status].startswith("#")


def test_kpi_card_shows_label_value_hint_and_tone() -> None:
    card = create_kpi_card("On time", "91%", "of 120", "good")
    assert "kpi-good" in card.className
    assert text(card) == "On time 91% of 120"
    assert by_class(card, "kpi-value")[0].children == "91%"


def test_field_ties_label_to_control() -> None:
    field = create_field("Search", dcc.Input(id="x-search"), "x-search")
    label = field.children[0]
    assert label.htmlFor == "x-search" and label.children == "Search"


def test_formatting() -> None:
    assert fmt_number(12345.678, 1) == "12,345.7"
    assert fmt_number(None) == "–"
    assert fmt_percent(0.877) == "87.7%"
    assert fmt_percent(None) == "–"
    noon = datetime(2026, 11, 27, 18, 0, tzinfo=UTC)
    assert local_time(noon, "America/Chicago") == "12:00"
    assert local_time(noon, "Not/AZone") == "18:00"
    assert local_time(None) == "–"
    later = datetime(2026, 11, 27, 20, 30, tzinfo=UTC)
    assert fmt_window(noon, later, "America/Chicago") == "12:00–14:30"
