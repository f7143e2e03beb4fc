"""Matrix providers: haversine with detour and speed profile, OSRM table, Euclidean.

The OSRM response in osrm_table_response.json is in the exact shape of OSRM's `/table/v1`
answer (code, durations, distances, sources, destinations); there is no network here, so it
was written by hand for three Bratislava points rather than captured from a live server.
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from backend.solver import (
    Depot,
    EuclideanProvider,
    HaversineProvider,
    Location,
    Order,
    OsrmProvider,
    Problem,
    ProblemError,
    SpeedProfile,
    Vehicle,
    solve,
)
from backend.solver.matrix import haversine_m

RECORDED = Path(__file__).with_name("osrm_table_response.json")
POINTS = [
    Location(48.143889, 17.107748),
    Location(48.145833, 17.131944),
    Location(48.125556, 17.118611),
]


def test_haversine_known_distance() -> None:
    # Paris to London is about 343.5 km along the great circle.
    d = haversine_m(Location(48.8566, 2.3522), Location(51.5074, -0.1278))
    assert d == pytest.approx(343_500, rel=0.005)


def test_haversine_provider_applies_detour_and_speed_bands() -> None:
    provider = HaversineProvider(detour=1.5, profile=SpeedProfile(bands=((100.0, 36.0),)))
    m = provider.matrices(POINTS)
    straight = haversine_m(POINTS[0], POINTS[1])
    assert m.distance[0, 1] == round(straight * 1.5)
    # 36 km/h is 10 m/s.
    assert m.duration[0, 1] == pytest.approx(m.distance[0, 1] / 10, abs=1)
    assert m.distance.dtype == np.int64 and (np.diag(m.distance) == 0).all()


def test_speed_profile_short_hops_are_slower() -> None:
    profile = SpeedProfile()
    secs = profile.seconds(np.array([1000.0, 30_000.0]))
    assert secs[0] / 1.0 > secs[1] / 30.0


def test_osrm_provider_reads_a_recorded_table_response() -> None:
    body = json.loads(RECORDED.read_text())
    urls: list[str] = []

    def fetch(url: str, timeout: float):
        urls.append(url)
        return body

    m = OsrmProvider("http://osrm.local:5000/", fetch=fetch).matrices(POINTS)
    assert urls == [
        "http://osrm.local:5000/table/v1/driving/17.107748,48.143889;17.131944,48.145833;"
        "17.118611,48.125556?annotations=duration,distance"
    ]
    assert m.distance[0, 1] == 3871 and m.duration[0, 1] == 413
    assert m.duration[2, 1] == 311


def test_osrm_unroutable_pairs_become_prohibitive() -> None:
    body = json.loads(RECORDED.read_text())
    body["durations"][0][2] = None
    body["distances"][0][2] = None
    m = OsrmProvider("http://x", fetch=lambda url, t: body).matrices(POINTS)
    assert m.duration[0, 2] >= 10**9


def test_osrm_error_is_a_problem_error() -> None:
    provider = OsrmProvider("http://x", fetch=lambda url, t: {"code": "InvalidQuery"})
    with pytest.raises(ProblemError) as info:
        provider.matrices(POINTS)
    assert info.value.field == "matrix"


def test_solve_with_osrm_matrix() -> None:
    body = json.loads(RECORDED.read_text())
    problem = Problem(
        orders=(Order("a", POINTS[1]), Order("b", POINTS[2])),
        vehicles=(Vehicle("v", "hub"),),
        depots=(Depot("hub", POINTS[0]),),
    )
    plan = solve(
        problem,
        engine="ortools",
        time_limit=0.5,
        matrix=OsrmProvider("http://x", fetch=lambda url, t: body),
    )
    # Either direction, in whole metres (3790.5 rounds half to even).
    assert plan.distance in (3871 + 2688 + 6151, 6205 + 2703 + 3790)


def test_euclidean_is_scaled_and_durations_round_up() -> None:
    m = EuclideanProvider(scale=1000).matrices([Location.xy(0, 0), Location.xy(1, 1)])
    assert m.distance[0, 1] == 1414
    assert m.duration[0, 1] == 1415
    assert m.dist_scale == 1000
