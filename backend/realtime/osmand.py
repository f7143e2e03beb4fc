"""The OsmAnd protocol that tracker apps speak (OsmAnd, Traccar Client), on `/osmand`.

Two forms, as Traccar's `osmand` decoder reads them:
- query: `GET|POST /osmand?id=<device>&lat=..&lon=..&timestamp=..&speed=..&bearing=..` (the
  parameters may also come as a form-encoded body); `deviceid` may stand for `id` and
  `location=lat,lon` for `lat`/`lon`; speed is in knots; timestamp is Unix seconds, Unix
  milliseconds, ISO 8601 or `yyyy-MM-dd HH:mm:ss` (UTC);
- JSON (`Content-Type: application/json`, Traccar Client 9+):
  `{"device_id": .., "location": {"timestamp": ISO, "coords": {"latitude", "longitude",
  "speed" (m/s), "heading", "accuracy", "altitude"}, "is_moving", "event", "battery": {..}}}`;
  -1 means "unknown" for speed, heading and battery level.

A report without coordinates (cell or wifi only, `valid=false`, or JSON without `coords`) is
answered 200 and moves nothing. A fix goes through the same writer and bus as socket positions;
its seq is its time in epoch milliseconds, so a resend (the apps resend whatever got no 200)
is stored once. The answer is 200 only once the fix is durable, as the apps then drop it.
The parse functions are pure; the view at the bottom does the I/O.
"""

from __future__ import annotations

import json
import logging
import math
import threading
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING, Any
from urllib.parse import parse_qsl

from flask import Flask, Response, jsonify, request
from sqlalchemy.exc import DBAPIError
from werkzeug.exceptions import RequestEntityTooLarge

from backend.cache import make_store
from backend.realtime import metrics
from backend.realtime.ingest import PendingAck
from backend.realtime.protocol import (
    PositionFix,
    ProtocolError,
    RealtimeConfig,
    format_timestamp,
    parse_position,
)
from backend.realtime.ratelimit import RateLimiter
from backend.services.devices import MAX_DEVICE_ID_LENGTH, find_device, hash_device_id, mark_seen

if TYPE_CHECKING:
    from backend.runtime import Runtime

log = logging.getLogger("realtime.osmand")

OSMAND_PATH = "/osmand"
KNOT_MPS = 1852 / 3600  # the query form's speed is in knots (as Traccar reads it); we keep m/s
SECONDS_BELOW = 2**31 - 1  # Traccar's rule: a smaller number is seconds, a larger milliseconds
MAX_EPOCH_MS = 10**14  # year 5138: anything above is not a time
MAX_BODY_BYTES = 64 * 1024  # one report is a few hundred bytes
MAX_FIELDS = 100
ACK_TIMEOUT_S = 10.0
RETRY_AFTER_BUSY_S = 5
RATE_WINDOW_S = 60
EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
JSON_TYPE = "application/json"

MISSING_DEVICE_ID = "missing_device_id"
UNKNOWN_DEVICE = "unknown_device"
INVALID_REPORT = "invalid_report"
MALFORMED_JSON = "malformed_json"
BODY_TOO_LARGE = "body_too_large"
RATE_LIMITED = "rate_limited"
SERVER_BUSY = "server_busy"
UNAVAILABLE = "unavailable"
INTERNAL_ERROR = "internal_error"


class OsmAndError(Exception):
    """A refused report: HTTP status, stable code, message and the parameter at fault."""

    def __init__(
        self,
        status: int,
        code: str,
        message: str,
        field: str | None = None,
        *,
        retry_after: int | None = None,
    ) -> None:
        super().__init__(message)
        self.status = status
        self.code = code
        self.message = message
        self.field = field
        self.retry_after = retry_after

    def body(self) -> dict[str, Any]:
        """The JSON body, shaped like the REST API's errors."""
        error: dict[str, Any] = {"code": self.code, "message": self.message}
        if self.field:
            error["field"] = self.field
        return {"error": error}


def _invalid(field: str, message: str) -> OsmAndError:
    return OsmAndError(400, INVALID_REPORT, f"{field} {message}", field)


@dataclass(frozen=True, slots=True)
class Payload:
    """A request's parameters before validation: which form, its data and the device id."""

    form: str  # "query" or "json"
    data: Mapping[str, Any]
    device_id: str


@dataclass(frozen=True, slots=True)
class TrackerReport:
    """One validated report; lat/lon are None when it carried no fix (cell or wifi only)."""

    form: str
    device_id: str
    recorded_at: datetime  # whole milliseconds
    lat: float | None = None
    lon: float | None = None
    speed: float | None = None  # m/s, like Position.speed
    heading: float | None = None
    accuracy: float | None = None
    altitude: float | None = None
    battery: float | None = None  # percent
    is_moving: bool | None = None
    event: str | None = None

    @property
    def seq(self) -> int:
        """The position's sequence number: epoch milliseconds (Position.seq is a BIGINT)."""
        return (self.recorded_at - EPOCH) // timedelta(milliseconds=1)

    @property
    def has_fix(self) -> bool:
        """Whether the report places the vehicle somewhere."""
        return self.lat is not None and self.lon is not None

    def fix(self, vehicle_id: int, *, now: datetime, config: RealtimeConfig) -> PositionFix:
        """The position to store, checked by the same rules as a socket position."""
        item = {
            "seq": self.seq,
            "recordedAt": format_timestamp(self.recorded_at),
            "lat": self.lat,
            "lon": self.lon,
            "speed": self.speed,
            "heading": self.heading,
            "accuracy": self.accuracy,
        }
        try:
            return parse_position(item, vehicle_id=vehicle_id, now=now, config=config)
        except ProtocolError as exc:
            raise _renamed(exc, self.form, config) from None


# The socket rules name fields as the socket does; a tracker app should read its own names.
_FIELD_NAMES = {
    "query": {"lat": "lat", "lon": "lon", "speed": "speed", "heading": "bearing"},
    "json": {
        "lat": "location.coords.latitude",
        "lon": "location.coords.longitude",
        "speed": "location.coords.speed",
        "heading": "location.coords.heading",
        "accuracy": "location.coords.accuracy",
    },
}


def _renamed(exc: ProtocolError, form: str, config: RealtimeConfig) -> OsmAndError:
    field = str(exc.details.get("field", ""))
    name = _FIELD_NAMES[form].get(field, field)
    message = exc.message
    if field == "speed":
        limit = config.max_speed_mps / KNOT_MPS if form == "query" else config.max_speed_mps
        message = f"speed must be at most {limit:.0f} {'knots' if form == 'query' else 'm/s'}"
    elif field and message.startswith(field):
        message = name + message[len(field) :]
    return OsmAndError(400, INVALID_REPORT, message, name or None)


def read_payload(args: Mapping[str, str], body: bytes, content_type: str) -> Payload:
    """Find the form and the device id of a request (JSON by content type, else a query)."""
    looks_json = not args and body.lstrip()[:1] == b"{"
    if content_type.lower().startswith(JSON_TYPE) or looks_json:
        try:
            document = json.loads(body)
        except (ValueError, RecursionError):
            raise OsmAndError(400, MALFORMED_JSON, "the body is not valid JSON", "body") from None
        if not isinstance(document, dict):
            raise OsmAndError(400, MALFORMED_JSON, "the body must be a JSON object", "body")
        device_id = document.get("device_id")
        if isinstance(device_id, int) and not isinstance(device_id, bool):
            device_id = str(device_id)
        if device_id is None:
            device_id = _query_device_id(args)
        if not isinstance(device_id, str) or not device_id.strip():
            raise OsmAndError(
                400,
                MISSING_DEVICE_ID,
                "device_id is required (the app's device identifier)",
                "device_id",
            )
        return Payload("json", document, device_id.strip())
    params = dict(args)
    if not params and body:
        # Traccar reads a form-encoded body when the URL has no parameters, whatever the type.
        try:
            pairs = parse_qsl(
                body.decode("utf-8", "replace"), keep_blank_values=True, max_num_fields=MAX_FIELDS
            )
        except ValueError:
            raise OsmAndError(400, INVALID_REPORT, "too many parameters", "body") from None
        params = dict(reversed(pairs))  # the first of a repeated name wins, as in request.args
    device_id = _query_device_id(params)
    if device_id is None:
        raise OsmAndError(
            400, MISSING_DEVICE_ID, "id is required (the app's device identifier)", "id"
        )
    return Payload("query", params, device_id)


def _query_device_id(params: Mapping[str, Any]) -> str | None:
    for name in ("id", "deviceid"):
        value = params.get(name)
        if isinstance(value, str) and value.strip():
            return value.strip()
    return None


def parse_payload(payload: Payload, *, now: datetime, config: RealtimeConfig) -> TrackerReport:
    """Validate a payload of either form into a report."""
    if payload.form == "json":
        return parse_json(payload.data, now=now, config=config)
    return parse_query(payload.data, now=now, config=config)


def parse_timestamp(value: Any, field: str = "timestamp") -> datetime:
    """Unix seconds or milliseconds (number or digits), ISO 8601, or `yyyy-MM-dd HH:mm:ss`.

    Times without an offset are UTC. The result is truncated to whole milliseconds, the
    resolution of the seq it becomes.
    """
    number: float | None = None
    if isinstance(value, bool):
        raise _invalid(field, "must be a time")
    if isinstance(value, int | float):
        number = float(value)
    elif isinstance(value, str):
        text = value.strip()
        if not text or len(text) > 40:
            raise _invalid(field, "must be a time")
        if text.replace(".", "", 1).isdigit():
            number = float(text)
        else:
            try:
                parsed = datetime.fromisoformat(text)
            except ValueError:
                raise _invalid(
                    field, "must be Unix seconds or ms, ISO 8601 or yyyy-MM-dd HH:mm:ss"
                ) from None
            try:
                parsed = parsed.replace(tzinfo=UTC) if parsed.tzinfo is None else parsed
                return _whole_ms(parsed.astimezone(UTC))
            except OverflowError:
                raise _invalid(field, "is not a plausible time") from None
    else:
        raise _invalid(field, "must be a time")
    if not math.isfinite(number) or not 0 < number < MAX_EPOCH_MS:
        raise _invalid(field, "is not a plausible time")
    millis = int(number * 1000) if number < SECONDS_BELOW else int(number)
    return EPOCH + timedelta(milliseconds=millis)


def _whole_ms(value: datetime) -> datetime:
    return value.replace(microsecond=value.microsecond // 1000 * 1000)


def _check_time(
    recorded_at: datetime, field: str, *, now: datetime, config: RealtimeConfig
) -> None:
    if recorded_at > now + timedelta(seconds=config.clock_skew_s):
        raise _invalid(field, "is in the future (is the phone's clock right?)")
    if recorded_at < now - config.max_age:
        raise _invalid(field, f"is older than {config.max_age.days} days")


def _query_number(params: Mapping[str, str], name: str) -> float | None:
    value = params.get(name)
    if value is None or not value.strip():
        return None  # the apps leave a parameter empty when the phone does not know it
    try:
        number = float(value)
    except ValueError:
        raise _invalid(name, "must be a number") from None
    if not math.isfinite(number):
        raise _invalid(name, "must be a finite number")
    return number


def _known(value: float | None) -> float | None:
    # The apps send -1 for "unknown" speed, heading, accuracy and battery.
    return None if value is None or value < 0 else value


def parse_query(
    params: Mapping[str, str], *, now: datetime, config: RealtimeConfig
) -> TrackerReport:
    """Validate the query form (`id`, `lat`, `lon`, `timestamp`, `speed` in knots, ...)."""
    device_id = _query_device_id(params)
    if device_id is None:
        raise OsmAndError(400, MISSING_DEVICE_ID, "id is required", "id")
    stamp = params.get("timestamp")
    # Traccar takes "now" for a report without a time; so do we, from the runtime's clock.
    recorded_at = _whole_ms(now) if stamp is None or not stamp.strip() else parse_timestamp(stamp)
    _check_time(recorded_at, "timestamp", now=now, config=config)
    lat, lon = _query_number(params, "lat"), _query_number(params, "lon")
    location = params.get("location")
    if location is not None and location.strip():
        parts = location.split(",")
        if len(parts) != 2:
            raise _invalid("location", "must be lat,lon")
        lat, lon = (_query_number({"location": part}, "location") for part in parts)
    if (lat is None) != (lon is None):
        raise _invalid("lat" if lat is None else "lon", "is required with the other coordinate")
    if params.get("valid", "").strip().lower() in ("false", "0"):
        lat = lon = None  # the phone says the fix is not to be trusted
    speed = _known(_query_number(params, "speed"))
    heading = _query_number(params, "bearing")
    if heading is None:
        heading = _query_number(params, "heading")
    return TrackerReport(
        form="query",
        device_id=device_id,
        recorded_at=recorded_at,
        lat=lat,
        lon=lon,
        speed=None if speed is None else speed * KNOT_MPS,
        heading=_known(heading),
        accuracy=_known(_query_number(params, "accuracy")),
        altitude=_query_number(params, "altitude"),
        battery=_known(_query_number(params, "batt")),
    )


def _json_number(obj: Mapping[str, Any], name: str, path: str) -> float | None:
    value = obj.get(name)
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int | float) or not math.isfinite(value):
        raise _invalid(f"{path}.{name}", "must be a finite number")
    return float(value)


def _json_object(obj: Mapping[str, Any], name: str, path: str) -> Mapping[str, Any] | None:
    value = obj.get(name)
    if value is None:
        return None
    if not isinstance(value, dict):
        raise _invalid(f"{path}.{name}" if path else name, "must be an object")
    return value


def parse_json(
    document: Mapping[str, Any], *, now: datetime, config: RealtimeConfig
) -> TrackerReport:
    """Validate the JSON form of Traccar Client (`device_id`, `location.coords`, ...)."""
    raw_id = document.get("device_id")
    device_id = str(raw_id).strip() if isinstance(raw_id, str | int) else ""
    location = _json_object(document, "location", "")
    if location is None:
        raise _invalid("location", "is required")
    if "timestamp" not in location:
        raise _invalid("location.timestamp", "is required")
    recorded_at = parse_timestamp(location["timestamp"], "location.timestamp")
    _check_time(recorded_at, "location.timestamp", now=now, config=config)
    lat = lon = speed = heading = accuracy = altitude = None
    coords = _json_object(location, "coords", "location")
    if coords is not None:
        lat = _json_number(coords, "latitude", "location.coords")
        lon = _json_number(coords, "longitude", "location.coords")
        if lat is None or lon is None:
            raise _invalid("location.coords", "needs latitude and longitude")
        speed = _known(_json_number(coords, "speed", "location.coords"))
        heading = _known(_json_number(coords, "heading", "location.coords"))
        accuracy = _known(_json_number(coords, "accuracy", "location.coords"))
        altitude = _json_number(coords, "altitude", "location.coords")
    battery = _json_object(location, "battery", "location")
    level = None if battery is None else _known(_json_number(battery, "level", "location.battery"))
    is_moving = location.get("is_moving")
    event = location.get("event")
    return TrackerReport(
        form="json",
        device_id=device_id,
        recorded_at=recorded_at,
        lat=lat,
        lon=lon,
        speed=speed,
        heading=heading,
        accuracy=accuracy,
        altitude=altitude,
        battery=None if level is None else min(level, 1.0) * 100,
        is_moving=is_moving if isinstance(is_moving, bool) else None,
        event=event[:64] if isinstance(event, str) else None,
    )


def init_osmand(server: Flask, runtime: Runtime) -> None:
    """Mount `/osmand` (GET and POST) on `server`, writing through `runtime.realtime`.

    The path is public in the auth guard: these apps send no cookie or token, only their id.
    """
    from backend.realtime.server import get_realtime

    limiters: list[RateLimiter] = []
    lock = threading.Lock()

    def limiter() -> RateLimiter:
        # Built on first use, in the worker that serves: a diskcache or Redis handle opened
        # before gunicorn forks would be shared by every worker.
        with lock:
            if not limiters:
                limiters.append(RateLimiter(make_store(runtime.settings), "osmand:rl"))
            return limiters[0]

    @server.route(OSMAND_PATH, methods=["GET", "POST"])
    def osmand_report() -> Response | tuple[Response, int]:
        """Take one report from a tracker app; 200 once stored, a JSON error otherwise."""
        try:
            outcome = _receive(runtime, get_realtime(runtime), limiter())
        except OsmAndError as exc:
            metrics.OSMAND_REPORTS.labels(exc.code).inc()
            return _error_response(exc)
        except DBAPIError:
            log.exception("osmand report failed on the database")
            metrics.OSMAND_REPORTS.labels(UNAVAILABLE).inc()
            return _error_response(
                OsmAndError(503, UNAVAILABLE, "the database is unavailable", retry_after=30)
            )
        except Exception:
            log.exception("osmand report failed")
            metrics.OSMAND_REPORTS.labels(INTERNAL_ERROR).inc()
            return _error_response(
                OsmAndError(500, INTERNAL_ERROR, "the server failed on this report")
            )
        metrics.OSMAND_REPORTS.labels(outcome).inc()
        # An empty 200, as Traccar answers: the apps read nothing else from it.
        return Response(status=200)


def _error_response(exc: OsmAndError) -> tuple[Response, int]:
    response = jsonify(exc.body())
    if exc.retry_after is not None:
        response.headers["Retry-After"] = str(exc.retry_after)
    return response, exc.status


def _limit(limiter: RateLimiter, key: str, limit: int, now: datetime, what: str) -> None:
    wait = limiter.hit(key, limit=limit, window_s=RATE_WINDOW_S, now=now)
    if wait is not None:
        raise OsmAndError(
            429, RATE_LIMITED, f"more than {limit} reports a minute {what}", retry_after=wait
        )


def _receive(runtime: Runtime, service: Any, limiter: RateLimiter) -> str:
    now = runtime.clock.now()
    settings = runtime.settings
    address = request.remote_addr or ""
    _limit(limiter, f"address:{address}", settings.osmand_rate_per_address, now, "from here")
    request.max_content_length = MAX_BODY_BYTES
    try:
        body = request.get_data(cache=True)
    except RequestEntityTooLarge:
        raise OsmAndError(
            413, BODY_TOO_LARGE, f"the body exceeds {MAX_BODY_BYTES} bytes", "body"
        ) from None
    payload = read_payload(dict(request.args.items()), body, request.content_type or "")
    _limit(
        limiter, f"device:{payload.device_id}", settings.osmand_rate_per_device, now, "per device"
    )
    with runtime.db.session() as session:
        target = find_device(session, device_id=payload.device_id)
        if target is not None:
            mark_seen(session, device_pk=target.device_pk, now=now)
    if target is None:
        # The id itself is a secret: log only a prefix of its hash, to match repeated attempts.
        digest = hash_device_id(payload.device_id[:MAX_DEVICE_ID_LENGTH])[:12]
        log.info("osmand report from unknown device %s at %s", digest, address)
        raise OsmAndError(
            404,
            UNKNOWN_DEVICE,
            "this device id is not registered; an admin registers it with "
            "`python -m backend.cli register-device` or POST /api/v1/devices",
            "device_id" if payload.form == "json" else "id",
        )
    report = parse_payload(payload, now=now, config=service.config)
    if not report.has_fix:
        return "no_fix"
    fix = report.fix(target.vehicle_id, now=now, config=service.config)
    service.start()
    durable = threading.Event()
    ack = PendingAck(lambda _frame: durable.set(), {}, 1)
    if not service.submit_positions([(fix, target.depot_id)], ack):
        raise OsmAndError(
            503,
            SERVER_BUSY,
            "the position queue is full; resend later",
            retry_after=RETRY_AFTER_BUSY_S,
        )
    if not durable.wait(ACK_TIMEOUT_S):
        # It may still be written; a resend then finds it and stores nothing twice.
        raise OsmAndError(
            503,
            SERVER_BUSY,
            "the position is not stored yet; resend later",
            retry_after=RETRY_AFTER_BUSY_S,
        )
    return "stored"
