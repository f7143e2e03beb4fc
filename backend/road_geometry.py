"""Routes drawn on roads: OSRM's `route` service when OSRM_URL is set, straight lines otherwise.

`OsrmRouteGeometry(base_url).geometry(points)` asks
`{base}/route/v1/{profile}/{lon,lat;...}?overview=full&geometries=geojson` for the road line
through a route's points (depot, stops in order, depot) and returns it as (lat, lon) pairs.
Answers are kept in a bounded per-process cache keyed by the points (a plan's line does not
change; losing the cache only costs a request). An unreachable or failing server is logged
once as a warning, the straight line is drawn instead, and the server is left alone for
RETRY_AFTER_S. The solver's OSRM `table` provider (backend.solver.matrix) is separate.
"""

from __future__ import annotations

import json
import logging
import threading
import time
import urllib.request
from collections import OrderedDict
from collections.abc import Callable, Sequence
from typing import Any

logger = logging.getLogger(__name__)

Point = tuple[float, float]
# OSRM's default limit of coordinates in one route request.
MAX_POINTS = 500
CACHE_SIZE = 4096
RETRY_AFTER_S = 60.0


def _http_get_json(url: str, timeout: float) -> Any:
    with urllib.request.urlopen(url, timeout=timeout) as response:  # noqa: S310 - URL is configured
        return json.load(response)


class OsrmRouteGeometry:
    """Road lines from an OSRM server, cached, falling back to the straight line."""

    def __init__(
        self,
        base_url: str,
        *,
        profile: str = "driving",
        timeout: float = 3.0,
        fetch: Callable[[str, float], Any] = _http_get_json,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.base_url = base_url.rstrip("/")
        self.profile = profile
        self.timeout = timeout
        self.fetch = fetch
        self.clock = clock
        self._cache: OrderedDict[tuple[Point, ...], list[Point]] = OrderedDict()
        self._down_until = 0.0
        self._lock = threading.Lock()

    def url(self, points: Sequence[Point]) -> str:
        """The route request for `points` ((lat, lon); OSRM wants lon,lat)."""
        coords = ";".join(f"{lon:.6f},{lat:.6f}" for lat, lon in points)
        return (
            f"{self.base_url}/route/v1/{self.profile}/{coords}"
            "?overview=full&geometries=geojson&steps=false"
        )

    def geometry(self, points: Sequence[Point]) -> list[Point]:
        """The road line through `points`, or `points` themselves when OSRM cannot say."""
        line = [(float(lat), float(lon)) for lat, lon in points]
        if len(line) < 2 or len(line) > MAX_POINTS:
            return line
        key = tuple((round(lat, 6), round(lon, 6)) for lat, lon in line)
        with self._lock:
            cached = self._cache.get(key)
            if cached is not None:
                self._cache.move_to_end(key)
                return cached
            if self.clock() < self._down_until:
                return line
        try:
            road = self._parse(self.fetch(self.url(line), self.timeout))
        except Exception as exc:  # any failure: draw the straight line, say so once
            self._down_until = self.clock() + RETRY_AFTER_S
            logger.warning("OSRM route geometry unavailable (%s); drawing straight lines", exc)
            return line
        with self._lock:
            self._cache[key] = road
            if len(self._cache) > CACHE_SIZE:
                self._cache.popitem(last=False)
        return road

    @staticmethod
    def _parse(body: Any) -> list[Point]:
        if not isinstance(body, dict) or body.get("code") != "Ok":
            code = body.get("code") if isinstance(body, dict) else type(body).__name__
            raise ValueError(f"OSRM answered {code!r}")
        coordinates = body["routes"][0]["geometry"]["coordinates"]
        road = [(float(lat), float(lon)) for lon, lat in coordinates]
        if len(road) < 2:
            raise ValueError("OSRM returned a line of fewer than two points")
        return road


_PROVIDERS: dict[str, OsrmRouteGeometry] = {}


def route_geometry_for(osrm_url: str | None) -> OsrmRouteGeometry | None:
    """The process's provider for OSRM_URL (one per URL, so its cache is shared), or None."""
    if not osrm_url:
        return None
    provider = _PROVIDERS.get(osrm_url)
    if provider is None:
        provider = _PROVIDERS[osrm_url] = OsrmRouteGeometry(osrm_url)
    return provider
