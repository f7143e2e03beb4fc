"""One simulated driver: drives a path at city speeds, streams GPS fixes, reports stop events.

It behaves like the phone app should: every fix gets an increasing `seq`, fixes are kept until
the server acknowledges them (so a dropped connection loses nothing: the backlog is resent as
one batch after reconnecting), and it reconnects with exponential backoff and jitter.
"""

from __future__ import annotations

import asyncio
import json
import logging
import math
import random
import time
from collections import OrderedDict
from dataclasses import dataclass, field
from datetime import UTC, datetime

from backend.sim.driver_socket import HandshakeError, WebSocketClient

log = logging.getLogger("sim.driver")

EARTH_RADIUS_M = 6_371_000.0
MAX_BACKLOG = 50_000  # fixes kept while offline (about 14 hours at 1 Hz)
BATCH = 500  # fixes per resend message
INCIDENTS = (  # (event type, relative weight, minutes stopped)
    ("traffic_jam", 50, 0.0),
    ("road_closure", 10, 0.0),
    ("weather_alert", 5, 0.0),
    ("delivery_issue", 15, 0.0),
    ("breakdown", 4, 10.0),
    ("accident", 1, 15.0),
)


@dataclass(frozen=True)
class Stop:
    """A place to stop at: an order to deliver, or only a waypoint (order_id None)."""

    lat: float
    lon: float
    order_id: int | None = None
    service_s: float = 300.0


@dataclass
class DriverPlan:
    """Who drives which vehicle along which path, with which stops (a stop is a path vertex)."""

    vehicle_id: int
    token: str
    path: list[tuple[float, float]]
    stops: dict[int, Stop] = field(default_factory=dict)  # path index -> stop
    route_id: int | None = None
    loop: bool = True  # start over when the path ends (random drives)


def distance_m(a: tuple[float, float], b: tuple[float, float]) -> float:
    """Great-circle distance in metres."""
    lat1, lon1, lat2, lon2 = map(math.radians, (a[0], a[1], b[0], b[1]))
    h = (
        math.sin((lat2 - lat1) / 2) ** 2
        + math.cos(lat1) * math.cos(lat2) * math.sin((lon2 - lon1) / 2) ** 2
    )
    return 2 * EARTH_RADIUS_M * math.asin(math.sqrt(h))


def bearing_deg(a: tuple[float, float], b: tuple[float, float]) -> float:
    """Initial bearing from a to b, degrees clockwise from north."""
    lat1, lon1, lat2, lon2 = map(math.radians, (a[0], a[1], b[0], b[1]))
    y = math.sin(lon2 - lon1) * math.cos(lat2)
    x = math.cos(lat1) * math.sin(lat2) - math.sin(lat1) * math.cos(lat2) * math.cos(lon2 - lon1)
    return (math.degrees(math.atan2(y, x)) + 360.0) % 360.0


class SimulatedDriver:
    """Drives `plan` and talks to the server at `url`; `run()` until `stop` is set."""

    def __init__(
        self,
        plan: DriverPlan,
        url: str,
        *,
        rate_hz: float = 1.0,
        incidents_per_hour: float = 0.3,
        seed: int | None = None,
    ) -> None:
        self.plan = plan
        self.url = url
        self.rate_hz = rate_hz
        self.incidents_per_hour = incidents_per_hour
        self.rng = random.Random(seed if seed is not None else plan.vehicle_id)
        # Milliseconds since the epoch: still increasing after the simulator restarts.
        self.seq = int(time.time() * 1000)
        self.unacked: OrderedDict[int, dict[str, object]] = OrderedDict()
        self.pending_events: OrderedDict[str, dict[str, object]] = OrderedDict()
        self.ws: WebSocketClient | None = None
        self.position = plan.path[0]
        self.index = 0  # the path vertex we are heading away from
        self.offset_m = 0.0
        self.speed = 0.0
        self.heading = 0.0
        self.pause_until = 0.0
        self.cruise = self.rng.uniform(8.0, 13.0)  # m/s: 29-47 km/h in town
        self.sent = 0
        self.acked = 0
        self.refused = False  # the server refused our token: give up

    # Motion --------------------------------------------------------------------------------
    def step(self, dt: float, now: float) -> None:
        """Advance along the path by dt seconds (or stand still while stopped)."""
        path = self.plan.path
        if now < self.pause_until or len(path) < 2:
            self.speed = 0.0
            return
        target = 0.8 * self.speed + 0.2 * self.cruise * self.rng.uniform(0.6, 1.2)
        self.speed = max(0.0, min(target, 25.0))
        remaining = self.speed * dt
        while remaining > 0:
            if self.index >= len(path) - 1:
                if not self.plan.loop:
                    self.speed = 0.0
                    return
                self.index, self.offset_m = 0, 0.0
                self.plan.stops = {}  # the deliveries are done; keep driving the loop
            a, b = path[self.index], path[self.index + 1]
            length = distance_m(a, b)
            if self.offset_m + remaining < length:
                self.offset_m += remaining
                f = self.offset_m / length
                self.position = (a[0] + (b[0] - a[0]) * f, a[1] + (b[1] - a[1]) * f)
                self.heading = bearing_deg(a, b)
                return
            remaining -= length - self.offset_m
            self.index += 1
            self.offset_m = 0.0
            self.position = b
            stop = self.plan.stops.pop(self.index, None)
            if stop is not None and stop.order_id is not None:
                self.arrive(stop, now)
                return

    def arrive(self, stop: Stop, now: float) -> None:
        """Report arrival, stand for the service time, then report delivered or failed."""
        self.speed = 0.0
        service = stop.service_s * self.rng.uniform(0.6, 1.4)
        self.pause_until = now + service
        self.report("arrived", order_id=stop.order_id)
        outcome = "delivered" if self.rng.random() < 0.93 else "failed"
        data = (
            {}
            if outcome == "delivered"
            else {
                "reason": self.rng.choice(["customer_unavailable", "address_not_found", "refused"])
            }
        )
        asyncio.get_running_loop().call_later(
            service, lambda: self.report(outcome, order_id=stop.order_id, data=data)
        )

    def maybe_incident(self, dt: float, now: float) -> None:
        """Now and then, something happens on the road."""
        if self.rng.random() >= self.incidents_per_hour * dt / 3600.0:
            return
        kinds, weights, stops = zip(*INCIDENTS, strict=True)
        kind = self.rng.choices(kinds, weights)[0]
        minutes = stops[kinds.index(kind)]
        if minutes:
            self.pause_until = max(self.pause_until, now + minutes * 60.0)
        self.report(kind, data={"note": f"simulated {kind.replace('_', ' ')}"})

    # Messages ------------------------------------------------------------------------------
    def fix(self) -> dict[str, object]:
        """The current position as a new, sequenced fix (kept until acknowledged)."""
        self.seq += 1
        item: dict[str, object] = {
            "seq": self.seq,
            "recordedAt": datetime.now(UTC).isoformat(timespec="milliseconds"),
            "lat": round(self.position[0], 6),
            "lon": round(self.position[1], 6),
            "speed": round(self.speed, 2),
            "heading": round(self.heading, 1),
            "accuracy": round(self.rng.uniform(3.0, 12.0), 1),
        }
        self.unacked[self.seq] = item
        while len(self.unacked) > MAX_BACKLOG:
            self.unacked.popitem(last=False)
        return item

    def report(self, event_type: str, *, order_id: int | None = None, data: dict | None = None):
        """Queue a route event (resent until acknowledged, deduplicated by clientEventId)."""
        event_id = f"{self.plan.vehicle_id}-{self.seq}-{event_type}-{self.rng.randrange(10**6)}"
        message: dict[str, object] = {
            "type": "route_event",
            "eventType": event_type,
            "clientEventId": event_id,
            "requestId": event_id,
            "occurredAt": datetime.now(UTC).isoformat(timespec="milliseconds"),
            "lat": round(self.position[0], 6),
            "lon": round(self.position[1], 6),
            "data": data or {},
        }
        if order_id is not None:
            message["orderId"] = order_id
        if self.plan.route_id is not None:
            message["routeId"] = self.plan.route_id
        self.pending_events[event_id] = message
        self._send(message)

    def _send(self, message: dict[str, object]) -> None:
        if self.ws is not None and self.ws.close_code is None:
            self.ws.send_text_nowait(json.dumps(message, separators=(",", ":")))
            self.sent += 1

    def _resend_backlog(self) -> None:
        items = list(self.unacked.values())
        for start in range(0, len(items), BATCH):
            self._send(
                {
                    "type": "vehicle_location_update",
                    "requestId": f"backlog-{items[start]['seq']}",
                    "positions": items[start : start + BATCH],
                }
            )
        for message in list(self.pending_events.values()):
            self._send(message)

    def on_message(self, text: str) -> None:
        """Forget what the server acknowledged."""
        try:
            message = json.loads(text)
        except ValueError:
            return
        if message.get("type") == "acknowledgment":
            if message.get("ackType") == "vehicle_location_update":
                for seq in message.get("seqs") or [message.get("seq")]:
                    if self.unacked.pop(seq, None) is not None:
                        self.acked += 1
            elif message.get("ackType") == "route_event":
                self.pending_events.pop(str(message.get("requestId")), None)
        elif message.get("type") == "error":
            log.debug("vehicle %s: %s", self.plan.vehicle_id, message.get("errorMessage"))
            refused = message.get("errorCode") in ("invalid_message", "permission_denied")
            if refused and message.get("requestId") in self.pending_events:
                # Refused for good (e.g. the order was reassigned): do not resend forever.
                self.pending_events.pop(message["requestId"], None)

    # Loops ---------------------------------------------------------------------------------
    async def run(self, stop: asyncio.Event) -> None:
        """Drive and stay connected until `stop` is set."""
        connection = asyncio.create_task(self._stay_connected(stop))
        period = 1.0 / self.rate_hz
        last = time.monotonic()
        await asyncio.sleep(self.rng.uniform(0, period))  # spread the fleet over the period
        try:
            while not stop.is_set() and not self.refused:
                now = time.monotonic()
                dt, last = now - last, now
                self.step(dt, now)
                self.maybe_incident(dt, now)
                item = self.fix()
                self._send({"type": "vehicle_location_update", **item})
                try:
                    await asyncio.wait_for(stop.wait(), period)
                except TimeoutError:
                    pass
        finally:
            connection.cancel()
            if self.ws is not None:
                await self.ws.close()

    async def _stay_connected(self, stop: asyncio.Event) -> None:
        delay = 1.0
        while not stop.is_set():
            try:
                self.ws = await WebSocketClient.connect(f"{self.url}?token={self.plan.token}")
                delay = 1.0
                self._resend_backlog()
                while (text := await self.ws.recv()) is not None:
                    if isinstance(text, str):
                        self.on_message(text)
                if self.ws.close_code == 1008:
                    log.warning("vehicle %s: token refused; stopping", self.plan.vehicle_id)
                    self.refused = True
                    return
            except HandshakeError as exc:
                if exc.status in (401, 403):
                    self.refused = True
                    return
            except (OSError, ConnectionError, TimeoutError):
                pass
            self.ws = None
            # Exponential backoff with ±10% jitter, capped at 30 s.
            await asyncio.sleep(delay * self.rng.uniform(0.9, 1.1))
            delay = min(delay * 2, 30.0)
