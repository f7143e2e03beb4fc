"""Distance and travel-time matrix providers, all behind one interface.

A provider turns a list of locations into :class:`Matrices`: integer distance and
duration matrices, scaled once here so that every engine, the evaluator and the
explainer work on the very same integers.

* :class:`HaversineProvider` (default, offline): great-circle distance times a
  detour factor; speed from a distance-band profile (short hops are urban and
  slow, long legs use faster roads).  Metres and seconds.
* :class:`OsrmProvider`: the OSRM ``table`` API (road distances and durations).
* :class:`EuclideanProvider`: plane coordinates (benchmark instances); distances
  and times are multiplied by ``scale`` so that rounding does not hurt the gap.
"""

from __future__ import annotations

import json
import urllib.request
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any, Protocol

import numpy as np

from backend.solver.model import Location, ProblemError

EARTH_RADIUS_M = 6_371_008.8


@dataclass(frozen=True)
class Matrices:
    """Integer matrices plus the scales that map them back to problem units.

    ``distance[i, j]`` is in ``1 / dist_scale`` problem distance units (metres for
    lat/lon problems); ``duration[i, j]`` in ``1 / time_scale`` seconds;
    ``per_km`` is how many internal distance units make one kilometre (for plane
    problems: one coordinate unit), used to turn ``cost_per_km`` into an
    integer arc cost.
    """

    distance: np.ndarray
    duration: np.ndarray
    dist_scale: int = 1
    time_scale: int = 1
    per_km: int = 1000


class MatrixProvider(Protocol):
    """Anything that turns locations into :class:`Matrices`."""

    def matrices(self, points: Sequence[Location]) -> Matrices:
        """Return distance and duration matrices for ``points`` in the given order."""
        ...


@dataclass(frozen=True)
class SpeedProfile:
    """Average speed (km/h) by leg length: ``bands`` are ``(up_to_km, kmh)`` ascending."""

    bands: tuple[tuple[float, float], ...] = ((2.0, 18.0), (10.0, 30.0), (40.0, 50.0))
    beyond_kmh: float = 70.0

    def seconds(self, metres: np.ndarray) -> np.ndarray:
        """Travel time in seconds for road distances in metres."""
        km = metres / 1000.0
        kmh = np.full(km.shape, self.beyond_kmh, dtype=float)
        # Walk bands from the longest down so the tightest band wins.
        for up_to, speed in reversed(self.bands):
            kmh = np.where(km <= up_to, speed, kmh)
        return km / kmh * 3600.0


def _haversine_m(points: Sequence[Location]) -> np.ndarray:
    lat = np.radians(np.array([p.lat for p in points], dtype=float))
    lon = np.radians(np.array([p.lon for p in points], dtype=float))
    dlat = lat[:, None] - lat[None, :]
    dlon = lon[:, None] - lon[None, :]
    a = np.sin(dlat / 2) ** 2 + np.cos(lat[:, None]) * np.cos(lat[None, :]) * np.sin(dlon / 2) ** 2
    return 2 * EARTH_RADIUS_M * np.arcsin(np.sqrt(np.clip(a, 0.0, 1.0)))


@dataclass(frozen=True)
class HaversineProvider:
    """Great-circle metres × ``detour`` and a :class:`SpeedProfile`; needs no network."""

    detour: float = 1.3
    profile: SpeedProfile = SpeedProfile()

    def matrices(self, points: Sequence[Location]) -> Matrices:
        """Return road-like distance (m) and duration (s) matrices."""
        metres = _haversine_m(points) * self.detour
        seconds = self.profile.seconds(metres)
        return Matrices(
            distance=np.rint(metres).astype(np.int64),
            duration=np.ceil(seconds - 1e-9).astype(np.int64),
        )


@dataclass(frozen=True)
class EuclideanProvider:
    """Plane distances × ``scale``; travel time equals distance (Solomon convention) / ``speed``.

    Durations are rounded up so that a schedule feasible on the integers is also
    feasible on the exact float distances.
    """

    scale: int = 1000
    speed: float = 1.0

    def matrices(self, points: Sequence[Location]) -> Matrices:
        """Return scaled Euclidean distance and duration matrices."""
        x = np.array([p.lon for p in points], dtype=float)
        y = np.array([p.lat for p in points], dtype=float)
        d = np.hypot(x[:, None] - x[None, :], y[:, None] - y[None, :])
        return Matrices(
            distance=np.rint(d * self.scale).astype(np.int64),
            duration=np.ceil(d / self.speed * self.scale - 1e-6).astype(np.int64),
            dist_scale=self.scale,
            time_scale=self.scale,
            per_km=self.scale,
        )


def _http_get_json(url: str, timeout: float) -> Any:
    with urllib.request.urlopen(url, timeout=timeout) as response:  # noqa: S310 - URL is configured
        return json.load(response)


@dataclass(frozen=True)
class OsrmProvider:
    """OSRM ``/table/v1/{profile}`` with distances and durations (metres, seconds).

    ``fetch`` performs the GET and returns the decoded JSON; it is injectable so a
    recorded response can stand in for the server.
    """

    base_url: str
    profile: str = "driving"
    timeout: float = 30.0
    fetch: Callable[[str, float], Any] = _http_get_json

    def url(self, points: Sequence[Location]) -> str:
        """The table request URL for ``points`` (OSRM wants lon,lat)."""
        coords = ";".join(f"{p.lon:.6f},{p.lat:.6f}" for p in points)
        return (
            f"{self.base_url.rstrip('/')}/table/v1/{self.profile}/{coords}"
            "?annotations=duration,distance"
        )

    def matrices(self, points: Sequence[Location]) -> Matrices:
        """Query OSRM and return its road distance and duration matrices."""
        body = self.fetch(self.url(points), self.timeout)
        if not isinstance(body, dict) or body.get("code") != "Ok":
            code = body.get("code") if isinstance(body, dict) else None
            raise ProblemError("matrix", f"OSRM table request failed: {code!r}")
        n = len(points)
        durations = body.get("durations")
        distances = body.get("distances")
        if durations is None or distances is None:
            raise ProblemError("matrix", "OSRM response lacks durations or distances")
        dur = np.array(durations, dtype=object)
        dist = np.array(distances, dtype=object)
        if dur.shape != (n, n) or dist.shape != (n, n):
            raise ProblemError(
                "matrix", f"OSRM returned a matrix of shape {dur.shape}, want {n}x{n}"
            )
        # OSRM answers null for unroutable pairs; make them prohibitively long, not zero.
        unreachable = 10**9
        dur_f = np.array([[unreachable if v is None else v for v in row] for row in dur], float)
        dist_f = np.array([[unreachable if v is None else v for v in row] for row in dist], float)
        return Matrices(
            distance=np.rint(dist_f).astype(np.int64),
            duration=np.ceil(dur_f - 1e-9).astype(np.int64),
        )


def default_provider(coordinates: str) -> MatrixProvider:
    """The provider used when none is given: haversine for lat/lon, Euclidean for planes."""
    return EuclideanProvider() if coordinates == "plane" else HaversineProvider()


def haversine_m(a: Location, b: Location) -> float:
    """Great-circle distance in metres between two points (helper for callers and tests)."""
    return float(_haversine_m([a, b])[0, 1])
