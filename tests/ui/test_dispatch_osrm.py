"""Road geometry from OSRM's `route` service (OSRM_URL), tested against responses in OSRM's
documented format (https://project-osrm.org/docs/v5.24.0/api/#route-service): the line is
drawn on roads, cached, and an unreachable or failing server falls back to the straight line
with one warning."""

from __future__ import annotations

import logging

from backend.db.queries.dispatch import RouteRow, with_road_geometry
from backend.road_geometry import OsrmRouteGeometry, route_geometry_for

# The shape of /route/v1/driving/...?overview=full&geometries=geojson (trimmed).
OSRM_ROUTE = {
    "code": "Ok",
    "routes": [
        {
            "geometry": {
                "type": "LineString",
                "coordinates": [[-87.6, 41.9], [-87.605, 41.902], [-87.61, 41.91], [-87.62, 41.92]],
            },
            "legs": [
                {"steps": [], "summary": "", "weight": 263.1, "duration": 260.1, "distance": 1886.3}
            ],
            "weight_name": "routability",
            "weight": 263.1,
            "duration": 260.1,
            "distance": 1886.3,
        }
    ],
    "waypoints": [
        {"hint": "x", "distance": 4.2, "name": "W Chicago Ave", "location": [-87.6, 41.9]},
        {"hint": "y", "distance": 2.1, "name": "N Halsted St", "location": [-87.62, 41.92]},
    ],
}
POINTS = [(41.9, -87.6), (41.91, -87.61), (41.92, -87.62)]


def test_the_line_follows_the_roads_and_is_cached() -> None:
    calls: list[str] = []

    def fetch(url: str, timeout: float) -> object:
        calls.append(url)
        return OSRM_ROUTE

    osrm = OsrmRouteGeometry("http://osrm:5000/", fetch=fetch)
    line = osrm.geometry(POINTS)
    assert line == [(41.9, -87.6), (41.902, -87.605), (41.91, -87.61), (41.92, -87.62)]
    assert calls == [
        "http://osrm:5000/route/v1/driving/-87.600000,41.900000;-87.610000,41.910000;"
        "-87.620000,41.920000?overview=full&geometries=geojson&steps=false"
    ]
    assert osrm.geometry(POINTS) == line and len(calls) == 1


def test_unreachable_or_failing_falls_back_once_with_a_warning(caplog) -> None:
    now = [0.0]
    calls = []

    def down(url: str, timeout: float) -> object:
        calls.append(url)
        raise OSError("connection refused")

    osrm = OsrmRouteGeometry("http://osrm:5000", fetch=down, clock=lambda: now[0])
    with caplog.at_level(logging.WARNING):
        assert osrm.geometry(POINTS) == POINTS
        assert osrm.geometry(POINTS) == POINTS  # not asked again right away
    assert len(calls) == 1 and "straight lines" in caplog.text
    now[0] += 61
    osrm.fetch = lambda url, timeout: {"code": "NoRoute", "message": "Impossible route"}
    assert osrm.geometry(POINTS) == POINTS


def test_routes_get_road_lines_and_their_driven_part_is_recut() -> None:
    osrm = OsrmRouteGeometry("http://osrm:5000", fetch=lambda url, timeout: OSRM_ROUTE)
    route = RouteRow(1, 0, 7, "VAN-7", "active", POINTS, 1, 3.0, None, 1)
    (drawn,) = with_road_geometry([route], [], osrm)
    assert len(drawn.points) == 4 and drawn.driven_points == 1
    assert route_geometry_for(None) is None
    assert route_geometry_for("http://a:5000") is route_geometry_for("http://a:5000")
