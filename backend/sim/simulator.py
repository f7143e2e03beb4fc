"""The driver simulator: the demo fleet drives today's routes and streams over the WebSocket.

    python -m backend.sim.simulator --url ws://127.0.0.1:8050/ws --vehicles 20 --rate 1

Each vehicle follows today's planned route (its `Route`/`RouteStop` rows) if it has one, else a
path from its depot through today's orders assigned to it, else a random drive around the city.
Tokens come from `backend.sim.demo.issue_driver_tokens` (one per active driver with a vehicle);
the simulator's tokens from a previous run are revoked first.
"""

from __future__ import annotations

import argparse
import asyncio
import logging
import random
import sys
import threading
from dataclasses import dataclass
from datetime import date

from sqlalchemy import select, update
from sqlalchemy.orm import Session

from backend.config import Settings, load_settings
from backend.db.base import utcnow
from backend.db.engine import Database
from backend.db.models import (
    FINAL_ORDER_STATUSES,
    ROUTES_IN_FORCE,
    ApiToken,
    Depot,
    Order,
    Route,
    RouteStop,
    Vehicle,
)
from backend.sim.city import CITY_BOX, is_on_land, today_in_city
from backend.sim.driver import DriverPlan, SimulatedDriver, Stop

log = logging.getLogger("sim")


def _grid_leg(path: list[tuple[float, float]], b: tuple[float, float], turn_first_ns: bool) -> int:
    # Chicago is a grid: drive one axis, turn once, drive the other; returns b's index.
    a = path[-1]
    path.append((b[0], a[1]) if turn_first_ns else (a[0], b[1]))
    path.append(b)
    return len(path) - 1


def _random_points(rng: random.Random, count: int) -> list[tuple[float, float]]:
    points: list[tuple[float, float]] = []
    while len(points) < count:
        lat = rng.uniform(CITY_BOX["lat_min"], CITY_BOX["lat_max"])
        lon = rng.uniform(CITY_BOX["lon_min"], CITY_BOX["lon_max"])
        if bool(is_on_land(lat, lon)):
            points.append((lat, lon))
    return points


def build_plan(
    vehicle_id: int,
    token: str,
    depot: tuple[float, float],
    stops: list[Stop],
    *,
    route_id: int | None,
    rng: random.Random,
) -> DriverPlan:
    """A drive from the depot through `stops` and back; a random loop when there are none."""
    path = [depot]
    indexed: dict[int, Stop] = {}
    loop = not stops
    waypoints = stops or [Stop(lat, lon) for lat, lon in _random_points(rng, 6)]
    for k, stop in enumerate(waypoints):
        index = _grid_leg(path, (stop.lat, stop.lon), k % 2 == 0)
        if stop.order_id is not None:
            indexed[index] = stop
    _grid_leg(path, depot, len(waypoints) % 2 == 0)
    return DriverPlan(vehicle_id, token, path, indexed, route_id=route_id, loop=loop)


def load_plans(
    session: Session, *, vehicles: int | None = None, day: date | None = None, seed: int = 7
) -> list[DriverPlan]:
    """Plans for the first `vehicles` vehicles that have a driver (a few set-based queries)."""
    from backend.sim.demo import SIMULATOR_TOKEN_NAME, issue_driver_tokens

    day = day or today_in_city()
    session.execute(
        update(ApiToken)
        .where(ApiToken.name == SIMULATOR_TOKEN_NAME, ApiToken.revoked_at.is_(None))
        .values(revoked_at=utcnow())
    )
    tokens = issue_driver_tokens(session)
    vehicle_ids = sorted(tokens)[:vehicles] if vehicles is not None else sorted(tokens)
    if not vehicle_ids:
        return []
    depots = {
        vid: (lat, lon)
        for vid, lat, lon in session.execute(
            select(Vehicle.id, Depot.lat, Depot.lon)
            .join(Depot, Depot.id == Vehicle.start_depot_id)
            .where(Vehicle.id.in_(vehicle_ids))
        )
    }
    routes: dict[int, tuple[int, list[Stop]]] = {}
    stop_rows = session.execute(
        select(Route.id, Route.vehicle_id, RouteStop, Order.service_minutes)
        .join(RouteStop, RouteStop.route_id == Route.id)
        .outerjoin(Order, Order.id == RouteStop.order_id)
        .where(
            Route.vehicle_id.in_(vehicle_ids),
            Route.service_date == day,
            Route.status.in_(sorted(ROUTES_IN_FORCE)),
        )
        .order_by(Route.vehicle_id, Route.id, RouteStop.sequence)
    ).all()
    for stop_route, vehicle_id, stop, service_minutes in stop_rows:
        route_stops = routes.setdefault(vehicle_id, (stop_route, []))
        if route_stops[0] == stop_route and stop.kind == "delivery":
            route_stops[1].append(
                Stop(stop.lat, stop.lon, stop.order_id, 60.0 * (service_minutes or 5.0))
            )
    orders: dict[int, list[Stop]] = {}
    for order in session.scalars(
        select(Order)
        .where(
            Order.vehicle_id.in_(vehicle_ids),
            Order.service_date == day,
            Order.status.not_in([s.value for s in FINAL_ORDER_STATUSES]),
        )
        .order_by(Order.vehicle_id, Order.window_start)
    ):
        assert order.vehicle_id is not None
        orders.setdefault(order.vehicle_id, []).append(
            Stop(order.lat, order.lon, order.id, 60.0 * order.service_minutes)
        )
    plans = []
    for vehicle_id in vehicle_ids:
        rng = random.Random(seed * 100_003 + vehicle_id)
        route_id: int | None = None
        stops = orders.get(vehicle_id, [])
        if vehicle_id in routes:
            route_id, stops = routes[vehicle_id]
        plans.append(
            build_plan(
                vehicle_id,
                tokens[vehicle_id],
                depots[vehicle_id],
                stops,
                route_id=route_id,
                rng=rng,
            )
        )
    return plans


class Simulator:
    """Runs simulated drivers on one asyncio loop."""

    def __init__(
        self,
        url: str,
        plans: list[DriverPlan],
        *,
        rate_hz: float = 1.0,
        incidents_per_hour: float = 0.3,
        seed: int = 7,
    ) -> None:
        self.url = url
        self.drivers = [
            SimulatedDriver(
                plan,
                url,
                rate_hz=rate_hz,
                incidents_per_hour=incidents_per_hour,
                seed=seed * 1_000_003 + plan.vehicle_id,
            )
            for plan in plans
        ]
        self._stop: asyncio.Event | None = None
        self._loop: asyncio.AbstractEventLoop | None = None

    async def run(self, duration: float | None = None) -> None:
        """Drive until stopped (or for `duration` seconds)."""
        self._loop = asyncio.get_running_loop()
        self._stop = asyncio.Event()
        if duration is not None:
            self._loop.call_later(duration, self._stop.set)
        await asyncio.gather(*(driver.run(self._stop) for driver in self.drivers))

    def stop(self) -> None:
        """Stop from any thread."""
        if self._loop is not None and self._stop is not None:
            self._loop.call_soon_threadsafe(self._stop.set)

    @property
    def figures(self) -> dict[str, int]:
        """Messages sent, fixes acknowledged and still waiting."""
        return {
            "vehicles": len(self.drivers),
            "sent": sum(d.sent for d in self.drivers),
            "acked": sum(d.acked for d in self.drivers),
            "unacked": sum(len(d.unacked) for d in self.drivers),
        }


@dataclass
class SimulatorHandle:
    """A simulator running in a background thread; `stop()` ends it."""

    simulator: Simulator
    thread: threading.Thread

    def stop(self, timeout: float = 10.0) -> None:
        """Stop the drivers and wait for the thread."""
        self.simulator.stop()
        self.thread.join(timeout)


def websocket_url(base_url: str) -> str:
    """`http://host:port` (or a ws:// URL) -> `ws://host:port/ws`."""
    url = base_url.rstrip("/")
    if url.startswith("http"):
        url = "ws" + url[4:]
    return url if url.endswith("/ws") else url + "/ws"


def start_embedded_simulator(
    settings: Settings, base_url: str, *, vehicles: int | None = None, rate_hz: float = 1.0
) -> SimulatorHandle:
    """Start the demo fleet driving against the server at `base_url` in a daemon thread."""
    database = Database(settings)
    try:
        with database.session() as session:
            plans = load_plans(session, vehicles=vehicles, seed=settings.demo_seed)
    finally:
        database.engine.dispose()
    simulator = Simulator(websocket_url(base_url), plans, rate_hz=rate_hz, seed=settings.demo_seed)
    thread = threading.Thread(
        target=lambda: asyncio.run(simulator.run()), name="driver-simulator", daemon=True
    )
    thread.start()
    log.info("simulating %d vehicles against %s", len(plans), simulator.url)
    return SimulatorHandle(simulator, thread)


def main(argv: list[str] | None = None) -> int:
    """Entry point of `python -m backend.sim.simulator`."""
    parser = argparse.ArgumentParser(
        prog="python -m backend.sim.simulator",
        description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("--url", default="ws://127.0.0.1:8050/ws")
    parser.add_argument("--vehicles", type=int, help="how many vehicles (default: all)")
    parser.add_argument("--rate", type=float, default=1.0, help="fixes per second per vehicle")
    parser.add_argument("--duration", type=float, help="seconds to run (default: until Ctrl-C)")
    parser.add_argument("--incidents-per-hour", type=float, default=0.3)
    parser.add_argument("--seed", type=int, default=7)
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(name)s %(message)s")
    settings = load_settings()
    database = Database(settings)
    with database.session() as session:
        plans = load_plans(session, vehicles=args.vehicles, seed=args.seed)
    database.engine.dispose()
    if not plans:
        print(
            "error: no driver with a vehicle in the database (seed the demo first)", file=sys.stderr
        )
        return 2
    simulator = Simulator(
        args.url,
        plans,
        rate_hz=args.rate,
        incidents_per_hour=args.incidents_per_hour,
        seed=args.seed,
    )
    print(f"simulating {len(plans)} vehicles at {args.rate:g} Hz against {args.url}", flush=True)
    try:
        asyncio.run(simulator.run(args.duration))
    except KeyboardInterrupt:
        pass
    print(simulator.figures, flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
