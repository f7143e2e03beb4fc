"""The WebSocket protocol: message types, error codes, limits and position validation.

Everything here is pure (no I/O), so the rules can be tested without a socket or a database.
"""

from __future__ import annotations

import json
import math
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

from backend.auth.permissions import DEFAULT_ROLE_PERMISSIONS
from backend.services import MAX_ID

SERVER_VERSION = "1.0"
PROTOCOLS = ("route_optimization", "vehicle_tracking", "notification")

# Client -> server message types and the permission each needs (names from the original design).
MESSAGE_PERMISSIONS: Mapping[str, str | None] = {
    "vehicle_location_update": "vehicle:update_location",
    "route_event": "route:create_event",
    # One name per action: the same permission the panel and REST check for planning.
    "route_optimization_request": "plan:write",
    "route_optimization_cancel": "plan:write",
    "route_status_subscription": "route:subscribe_status",
    "vehicle_status_subscription": "vehicle:subscribe_status",
    "notification_subscription": "notification:subscribe",
    # Marking one's own notifications read needs no more than receiving them.
    "notification_ack": "notification:subscribe",
    "ping": None,
}

# Stable error codes (the `errorCode` of an `error` frame).
INVALID_JSON = "invalid_json"
INVALID_MESSAGE = "invalid_message"
UNKNOWN_MESSAGE_TYPE = "unknown_message_type"
PERMISSION_DENIED = "permission_denied"
RATE_LIMITED = "rate_limited"
PAYLOAD_TOO_LARGE = "payload_too_large"
INVALID_CONNECTION = "invalid_connection"
SERVER_BUSY = "server_busy"
UNAVAILABLE = "unavailable"
INTERNAL_ERROR = "internal_error"
INVALID_TRANSITION = "invalid_transition"  # the order's lifecycle does not allow the event
TIMESTAMP_OUT_OF_RANGE = "timestamp_out_of_range"  # occurredAt too far from the server's now

# Close codes: 1008 refuses an unauthenticated upgrade; 1013 asks a slow consumer to come back.
CLOSE_POLICY = 1008
CLOSE_TRY_AGAIN = 1013
CLOSE_GOING_AWAY = 1001

ORDER_EVENT_STATUS = {"arrived": "arrived", "delivered": "delivered", "failed": "failed"}

# The window around the server's `now` a reported event may fall in: a phone's clock drifts a
# little, and a backlog resent after a day offline is still history worth keeping; a date in
# 1970 or 2099 is a broken clock, never an event.
EVENT_MAX_FUTURE = timedelta(minutes=5)
EVENT_MAX_AGE = timedelta(hours=48)


@dataclass(frozen=True)
class RealtimeConfig:
    """Limits and policies of the realtime server; the defaults suit a phone at 1 Hz."""

    max_frame_bytes: int = 256 * 1024  # answered with payload_too_large
    hard_frame_bytes: int = 1024 * 1024  # closed with 1009 before it is even buffered
    max_batch: int = 1000
    rate_per_s: float = 20.0
    rate_burst: float = 60.0
    ping_interval_s: float = 25.0
    send_timeout_s: float = 20.0
    fanout_max_fps: float = 10.0  # position frames a second per dashboard (WS_FANOUT_MAX_FPS)
    event_backlog: int = 2000  # undelivered events before a consumer is disconnected
    writer_queue: int = 200_000
    writer_batch: int = 5000
    clock_skew_s: float = 30.0
    max_age: timedelta = timedelta(days=7)
    max_speed_mps: float = 90.0  # 324 km/h
    allowed_origins: frozenset[str] = frozenset()  # besides the server's own host
    role_permissions: Mapping[str, frozenset[str]] = field(
        default_factory=lambda: dict(DEFAULT_ROLE_PERMISSIONS)
    )
    message_permissions: Mapping[str, str | None] = field(
        default_factory=lambda: dict(MESSAGE_PERMISSIONS)
    )

    @classmethod
    def from_settings(cls, settings: Any, **overrides: Any) -> RealtimeConfig:
        """The defaults with what the settings configure (WS_FANOUT_MAX_FPS, WS_ALLOWED_ORIGINS)."""
        values: dict[str, Any] = {
            "fanout_max_fps": settings.ws_fanout_max_fps,
            "allowed_origins": settings.allowed_ws_origins,
        }
        return cls(**(values | overrides))

    @property
    def position_frame_interval_s(self) -> float:
        """The least time between two position frames to one dashboard."""
        return 1.0 / self.fanout_max_fps


class ProtocolError(Exception):
    """A message the server refuses; becomes an `error` frame."""

    def __init__(self, code: str, message: str, **details: Any) -> None:
        super().__init__(message)
        self.code = code
        self.message = message
        self.details = details

    def frame(self, request_id: Any = None) -> dict[str, Any]:
        """The `error` frame for this refusal."""
        out: dict[str, Any] = {
            "type": "error",
            "errorCode": self.code,
            "errorMessage": self.message,
        }
        if request_id is not None:
            out["requestId"] = request_id
        out.update(self.details)
        return out


# One encoder for every frame: json.dumps with options builds a new encoder on each call.
encode_json = json.JSONEncoder(separators=(",", ":"), default=str).encode


def error_frame(code: str, message: str, **details: Any) -> dict[str, Any]:
    """An `error` frame with a stable code."""
    return ProtocolError(code, message, **details).frame()


@dataclass(frozen=True, slots=True)
class PositionFix:
    """One validated GPS fix of a vehicle."""

    vehicle_id: int
    seq: int
    recorded_at: datetime
    lat: float
    lon: float
    speed: float | None
    heading: float | None
    accuracy: float | None


def _number(item: Mapping[str, Any], name: str, low: float, high: float, required: bool) -> Any:
    value = item.get(name)
    if value is None:
        if required:
            raise ProtocolError(INVALID_MESSAGE, f"{name} is required", field=name)
        return None
    if isinstance(value, bool) or not isinstance(value, int | float) or not math.isfinite(value):
        raise ProtocolError(INVALID_MESSAGE, f"{name} must be a finite number", field=name)
    if not low <= value <= high:
        raise ProtocolError(INVALID_MESSAGE, f"{name} must be within [{low}, {high}]", field=name)
    return float(value)


def parse_id(value: Any, name: str) -> int:
    """A database id (1 .. 2**31-1): a larger number would overflow the column, not be unknown."""
    if isinstance(value, bool) or not isinstance(value, int) or not 1 <= value <= MAX_ID:
        raise ProtocolError(INVALID_MESSAGE, f"{name} must be an id from 1 to {MAX_ID}", field=name)
    return value


def parse_event_time(value: Any, *, now: datetime, name: str = "occurredAt") -> datetime:
    """When an event happened (default `now`); refused outside EVENT_MAX_AGE / EVENT_MAX_FUTURE."""
    if value is None:
        return now
    at = parse_timestamp(value, name)
    if not now - EVENT_MAX_AGE <= at <= now + EVENT_MAX_FUTURE:
        raise ProtocolError(
            TIMESTAMP_OUT_OF_RANGE,
            f"{name} must lie between {EVENT_MAX_AGE} before and {EVENT_MAX_FUTURE} after the "
            f"server's time ({format_timestamp(now)})",
            field=name,
        )
    return at


def parse_timestamp(value: Any, name: str = "recordedAt") -> datetime:
    """An ISO 8601 string with offset (or Z) or epoch milliseconds, as aware UTC."""
    if isinstance(value, str) and 10 <= len(value) <= 40:
        try:
            parsed = datetime.fromisoformat(value)
        except ValueError:
            raise ProtocolError(INVALID_MESSAGE, f"{name} is not ISO 8601", field=name) from None
        if parsed.tzinfo is None:
            raise ProtocolError(INVALID_MESSAGE, f"{name} needs a UTC offset", field=name)
        try:
            return parsed.astimezone(UTC)
        except OverflowError:  # e.g. 9999-12-31T23:00-05:00 lies past the year 9999 in UTC
            raise ProtocolError(INVALID_MESSAGE, f"{name} is out of range", field=name) from None
    if isinstance(value, int | float) and not isinstance(value, bool) and math.isfinite(value):
        if 0 < value < 1e14:
            return datetime.fromtimestamp(value / 1000.0, UTC)
    raise ProtocolError(INVALID_MESSAGE, f"{name} must be ISO 8601 or epoch ms", field=name)


def parse_position(
    item: Any, *, vehicle_id: int, now: datetime, config: RealtimeConfig
) -> PositionFix:
    """Validate one position item; raise ProtocolError naming the bad field."""
    if not isinstance(item, dict):
        raise ProtocolError(INVALID_MESSAGE, "a position must be an object")
    seq = item.get("seq")
    if isinstance(seq, bool) or not isinstance(seq, int) or not 0 <= seq < 2**62:
        raise ProtocolError(INVALID_MESSAGE, "seq must be a non-negative integer", field="seq")
    recorded_at = parse_timestamp(item.get("recordedAt"))
    if recorded_at > now + timedelta(seconds=config.clock_skew_s):
        raise ProtocolError(INVALID_MESSAGE, "recordedAt is in the future", field="recordedAt")
    if recorded_at < now - config.max_age:
        raise ProtocolError(INVALID_MESSAGE, "recordedAt is too old", field="recordedAt")
    return PositionFix(
        vehicle_id=vehicle_id,
        seq=seq,
        recorded_at=recorded_at,
        lat=_number(item, "lat", -90.0, 90.0, True),
        lon=_number(item, "lon", -180.0, 180.0, True),
        speed=_number(item, "speed", 0.0, config.max_speed_mps, False),
        heading=_number(item, "heading", 0.0, 360.0, False),
        accuracy=_number(item, "accuracy", 0.0, 100_000.0, False),
    )


def format_timestamp(value: datetime) -> str:
    """ISO 8601 in UTC with milliseconds and a Z, as the browser's Date parses it."""
    return value.astimezone(UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")


def position_record(fix: PositionFix, depot_id: int | None) -> dict[str, Any]:
    """A position as dashboards receive it."""
    return {
        "vehicleId": fix.vehicle_id,
        "depotId": depot_id,
        "seq": fix.seq,
        "lat": fix.lat,
        "lon": fix.lon,
        "speed": fix.speed,
        "heading": fix.heading,
        "recordedAt": format_timestamp(fix.recorded_at),
    }
