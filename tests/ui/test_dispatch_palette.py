"""components.palette: one palette, its CSS file generated from it, the JS fed from it."""

from __future__ import annotations

from components.palette import (
    CSS_PATH,
    ROUTE_COLOURS,
    delay_class,
    palette_css,
    palette_for_js,
    route_colour,
)


def test_css_file_is_generated_from_the_palette() -> None:
    assert CSS_PATH.read_text() == palette_css(), "run: python -m components.palette"
    assert f"--route-0: {ROUTE_COLOURS[0]};" in palette_css()
    assert "--stop-at-risk:" in palette_css() and "--vehicle-on-route:" in palette_css()


def test_js_gets_the_same_colours() -> None:
    js = palette_for_js()
    assert js["routes"] == list(ROUTE_COLOURS)
    assert set(js["stops"]) == {"pending", "next", "arrived", "delivered", "failed", "cancelled"}
    assert set(js["vehicles"]) == {"on_route", "at_stop", "returning", "idle", "offline"}


def test_route_colours_cycle_and_delay_classes() -> None:
    assert route_colour(len(ROUTE_COLOURS)) == ROUTE_COLOURS[0]
    assert len(set(ROUTE_COLOURS)) == len(ROUTE_COLOURS)
    assert [delay_class(d) for d in (None, -5, 4.9, 5, 14, 15)] == [
        "on_time", "on_time", "on_time", "slight", "slight", "late",
    ]  # fmt: skip
