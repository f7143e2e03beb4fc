"""The OsmAnd / Traccar Client endpoint `/osmand`, on SQLite and real PostgreSQL.

Requests are shaped as the apps send them: OsmAnd's GET template, Traccar Client's (Android,
up to 8.x) POST with the parameters in the URL, a form-encoded body, and Traccar Client 9's
JSON. Time comes from the runtime's FixedClock, years away from the wall clock, so a test only
passes when the service takes `now` from the runtime.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import select

from backend.clock import FixedClock
from backend.config import load_settings
from backend.db.models import Position, TrackerDevice, VehicleState
from backend.ops.metrics import REGISTRY
from backend.realtime import get_realtime
from backend.realtime.osmand import KNOT_MPS, parse_json, parse_query, parse_timestamp
from backend.realtime.protocol import RealtimeConfig
from backend.realtime.ratelimit import RateLimiter
from backend.runtime import runtime_of
from backend.services.devices import register_device
from tests.realtime.conftest import Fleet, seed_fleet

T0 = datetime(2030, 6, 1, 12, 0, tzinfo=UTC)  # years from the wall clock on purpose
DEVICE_ID = "k3J9xQm2ZpL8vT4wR7nYb"  # 21 random characters, as the README asks
OTHER_ID = "Zq8-W2m_LkP4t9RvX1cN6"


@dataclass
class Tracker:
    """The real app over a seeded fleet, its clock, and DEVICE_ID registered to vehicle V1."""

    app: Any
    runtime: Any
    fleet: Fleet
    clock: FixedClock
    settings: Any

    @property
    def client(self) -> Any:
        return self.app.server.test_client()

    @property
    def vehicle_id(self) -> int:
        return self.fleet.vehicles[0]

    def positions(self) -> list[Position]:
        with self.runtime.db.session() as session:
            rows = session.scalars(select(Position).order_by(Position.recorded_at)).all()
            session.expunge_all()
            return list(rows)

    def state(self) -> VehicleState | None:
        with self.runtime.db.session() as session:
            state = session.get(VehicleState, self.vehicle_id)
            if state is not None:
                session.expunge(state)
            return state

    def api(self, method: str, path: str, role: str | None, **kwargs: Any) -> Any:
        headers = {"Authorization": f"Bearer {self.fleet.tokens[role]}"} if role else {}
        return self.client.open("/api/v1" + path, method=method, headers=headers, **kwargs)


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def tracker(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Tracker]:
    """create_app on an empty, migrated database; the clock pinned at T0."""
    from app import create_app
    from backend.db.migrate import upgrade
    from factories import empty_postgres

    url = request.getfixturevalue("postgres_url") if request.param == "postgres" else None
    settings = load_settings(DATA_DIR=str(tmp_path), DATABASE_URL=url, DEMO=False)
    dash_app = create_app(settings)
    runtime = runtime_of(dash_app.server)
    if url:
        empty_postgres(runtime.db.engine)
    else:
        upgrade(runtime.db.engine)
    clock = FixedClock(T0)
    runtime.clock = clock
    fleet = seed_fleet(runtime.db)
    with runtime.db.session() as session:
        register_device(
            session, vehicle_id=fleet.vehicles[0], device_id=DEVICE_ID, name="phone", now=T0
        )
    yield Tracker(dash_app, runtime, fleet, clock, settings)
    get_realtime(runtime).stop()
    runtime.db.engine.dispose()


def _ms(when: datetime) -> int:
    return int(when.timestamp() * 1000)


def _reports(outcome: str) -> float:
    return REGISTRY.get_sample_value("osmand_reports_total", {"outcome": outcome}) or 0.0


def _error(response: Any, status: int, code: str, field: str | None = None) -> dict[str, Any]:
    assert response.status_code == status, response.get_data(as_text=True)
    assert response.is_json, response.get_data(as_text=True)
    error: dict[str, Any] = response.get_json()["error"]
    assert error["code"] == code and error["message"], error
    if field is not None:
        assert error.get("field") == field, error
    return error


def traccar_json(device_id: str = DEVICE_ID, **location: Any) -> dict[str, Any]:
    """A report as Traccar Client 9 posts it (transistorsoft location, Traccar's extras)."""
    body: dict[str, Any] = {
        "location": {
            "timestamp": "2030-06-01T11:59:30.250Z",
            "coords": {
                "latitude": 41.9,
                "longitude": -87.65,
                "accuracy": 4.5,
                "speed": 12.5,
                "heading": 270.0,
                "altitude": 181.2,
                "ellipsoidal_altitude": 181.2,
                "altitude_accuracy": 3.1,
                "heading_accuracy": 10.0,
                "speed_accuracy": 0.5,
            },
            "is_moving": True,
            "uuid": "0f7b5c3e-6a59-4b7e-9d0c-5b1c3f0e2a11",
            "odometer": 1234.5,
            "event": "motionchange",
            "battery": {"level": 0.8, "is_charging": False},
            "activity": {"type": "in_vehicle", "confidence": 100},
            "extras": {},
        },
        "device_id": device_id,
    }
    body["location"].update(location)
    body["location"] = {k: v for k, v in body["location"].items() if v is not None}
    return body


# --- the forms the apps send ----------------------------------------------------------------


def test_osmand_get_template_is_stored_with_speed_converted_from_knots(tracker: Tracker) -> None:
    """OsmAnd's URL template (GET, ms timestamp, knots) stores one position in m/s."""
    stamp = T0 - timedelta(seconds=5)
    response = tracker.client.get(
        "/osmand",
        query_string=f"id={DEVICE_ID}&lat=41.901&lon=-87.651&timestamp={_ms(stamp)}"
        "&hdop=1.2&altitude=180.0&speed=10",
    )
    assert response.status_code == 200, response.get_data(as_text=True)
    [position] = tracker.positions()
    assert position.vehicle_id == tracker.vehicle_id
    assert position.seq == _ms(stamp)
    assert position.recorded_at == stamp
    assert (position.lat, position.lon) == (41.901, -87.651)
    assert position.speed == pytest.approx(10 * KNOT_MPS)
    state = tracker.state()
    assert state is not None and state.recorded_at == stamp and state.lat == 41.901


def test_traccar_client_post_with_query_in_url_is_stored(tracker: Tracker) -> None:
    """Traccar Client (Android) POSTs an empty body with every parameter in the URL."""
    stamp = T0 - timedelta(seconds=30)
    response = tracker.client.post(
        f"/osmand?id={DEVICE_ID}&timestamp={int(stamp.timestamp())}&lat=41.95&lon=-87.7"
        "&speed=20.5&bearing=90.0&altitude=170.0&accuracy=8.0&batt=76.0&charge=false",
        headers={"User-Agent": "Traccar Client"},
    )
    assert response.status_code == 200, response.get_data(as_text=True)
    [position] = tracker.positions()
    assert position.recorded_at == stamp
    assert position.heading == 90.0 and position.accuracy == 8.0
    assert position.speed == pytest.approx(20.5 * 0.514444, rel=1e-5)


def test_form_encoded_post_body_is_read_like_a_query(tracker: Tracker) -> None:
    """With no URL parameters the body is read as a form (Traccar does so whatever the type)."""
    stamp = T0 - timedelta(minutes=2)
    response = tracker.client.post(
        "/osmand",
        data={
            "deviceid": DEVICE_ID,
            "timestamp": str(int(stamp.timestamp())),
            "lat": "41.8",
            "lon": "-87.6",
        },
        content_type="application/x-www-form-urlencoded",
    )
    assert response.status_code == 200, response.get_data(as_text=True)
    [position] = tracker.positions()
    assert (position.lat, position.lon, position.recorded_at) == (41.8, -87.6, stamp)


def test_traccar_client_json_is_stored_with_speed_in_mps(tracker: Tracker) -> None:
    """Traccar Client 9's JSON (speed already m/s, ISO time with ms) stores one position."""
    response = tracker.client.post("/osmand", json=traccar_json())
    assert response.status_code == 200, response.get_data(as_text=True)
    [position] = tracker.positions()
    stamp = datetime(2030, 6, 1, 11, 59, 30, 250000, tzinfo=UTC)
    assert position.recorded_at == stamp and position.seq == _ms(stamp)
    assert (position.speed, position.heading, position.accuracy) == (12.5, 270.0, 4.5)


@pytest.mark.parametrize(
    ("timestamp", "expected"),
    [
        ("1906462770", datetime(2030, 5, 31, 12, 59, 30, tzinfo=UTC)),  # Unix seconds
        ("1906462770123", datetime(2030, 5, 31, 12, 59, 30, 123000, tzinfo=UTC)),  # Unix ms
        ("2030-06-01T11:58:00Z", datetime(2030, 6, 1, 11, 58, tzinfo=UTC)),  # ISO 8601, Z
        ("2030-06-01T13:58:00.5+02:00", datetime(2030, 6, 1, 11, 58, 0, 500000, tzinfo=UTC)),
        ("2030-06-01 11:57:00", datetime(2030, 6, 1, 11, 57, tzinfo=UTC)),  # yyyy-MM-dd HH:mm:ss
    ],
)
def test_each_timestamp_format(tracker: Tracker, timestamp: str, expected: datetime) -> None:
    """Seconds, milliseconds, ISO 8601 and `yyyy-MM-dd HH:mm:ss` (UTC) all give the same time."""
    response = tracker.client.get(
        "/osmand", query_string={"id": DEVICE_ID, "lat": 41.9, "lon": -87.6, "timestamp": timestamp}
    )
    assert response.status_code == 200, response.get_data(as_text=True)
    [position] = tracker.positions()
    assert position.recorded_at == expected and position.seq == _ms(expected)


def test_location_parameter_and_deviceid(tracker: Tracker) -> None:
    """`location=lat,lon` stands for lat/lon and `deviceid` for id."""
    response = tracker.client.get(
        "/osmand",
        query_string=f"deviceid={DEVICE_ID}&location=41.77,-87.61&timestamp={_ms(T0)}",
    )
    assert response.status_code == 200, response.get_data(as_text=True)
    [position] = tracker.positions()
    assert (position.lat, position.lon) == (41.77, -87.61)


def test_report_without_timestamp_takes_the_runtime_clock(tracker: Tracker) -> None:
    """No timestamp: the runtime's clock (T0, years from the wall clock) dates the fix."""
    response = tracker.client.get("/osmand", query_string={"id": DEVICE_ID, "lat": 1, "lon": 2})
    assert response.status_code == 200
    [position] = tracker.positions()
    assert position.recorded_at == T0


def test_resend_is_stored_once(tracker: Tracker) -> None:
    """The apps resend what got no 200; the seq (epoch ms) makes a resend store nothing twice."""
    query = f"id={DEVICE_ID}&lat=41.9&lon=-87.6&timestamp={int(T0.timestamp()) - 60}"
    for _ in range(3):
        assert tracker.client.post(f"/osmand?{query}").status_code == 200
    for _ in range(2):
        assert tracker.client.post("/osmand", json=traccar_json()).status_code == 200
    assert len(tracker.positions()) == 2


def test_fix_goes_through_the_bus_like_a_socket_position(tracker: Tracker) -> None:
    """The position is published on the depot's channel, as the socket writer does."""
    service = get_realtime(tracker.runtime)
    seen: list[tuple[str, str]] = []
    service.bus.subscribe(lambda channel, data: seen.append((channel, data)))
    assert tracker.client.post("/osmand", json=traccar_json()).status_code == 200
    service.writer.wait_idle()
    depot = tracker.fleet.depots[0]
    lines = [data for channel, data in seen if channel == f"depot:{depot}:positions"]
    assert lines and f'"vehicleId":{tracker.vehicle_id}' in lines[0]


# --- reports that do not move the vehicle ---------------------------------------------------


@pytest.mark.parametrize(
    "send",
    [
        lambda c: c.get("/osmand", query_string=f"id={DEVICE_ID}&cell=310,410,7033,17811,-71"),
        lambda c: c.get("/osmand", query_string=f"id={DEVICE_ID}&wifi=a0-b1-c2-d3-e4-f5,-60"),
        lambda c: c.get("/osmand", query_string=f"id={DEVICE_ID}&lat=1&lon=2&valid=false"),
        lambda c: c.post("/osmand", json=traccar_json(coords=None, event="heartbeat")),
    ],
    ids=["cell", "wifi", "valid-false", "json-without-coords"],
)
def test_report_without_a_fix_is_accepted_and_moves_nothing(tracker: Tracker, send: Any) -> None:
    """Cell- or wifi-only reports get 200 (else the app retries forever) and store nothing."""
    before = _reports("no_fix")
    response = send(tracker.client)
    assert response.status_code == 200, response.get_data(as_text=True)
    assert tracker.positions() == [] and tracker.state() is None
    assert _reports("no_fix") == before + 1
    with tracker.runtime.db.session() as session:
        device = session.scalar(select(TrackerDevice))
        assert device is not None and device.last_seen_at == T0


# --- refusals -------------------------------------------------------------------------------


def test_unregistered_device_is_refused_and_counted(tracker: Tracker) -> None:
    """An id nobody registered gets 404 unknown_device, is counted, and stores nothing."""
    before = _reports("unknown_device")
    query = f"id={OTHER_ID}&lat=41.9&lon=-87.6&timestamp={_ms(T0)}"
    _error(tracker.client.get(f"/osmand?{query}"), 404, "unknown_device", "id")
    _error(tracker.client.post("/osmand", json=traccar_json(OTHER_ID)), 404, "unknown_device")
    assert _reports("unknown_device") == before + 2
    assert tracker.positions() == []
    scrape = tracker.client.get("/metrics").get_data(as_text=True)
    assert 'osmand_reports_total{outcome="unknown_device"}' in scrape


@pytest.mark.parametrize(
    ("send", "field"),
    [
        (lambda c: c.get("/osmand", query_string="lat=41.9&lon=-87.6"), "id"),
        (lambda c: c.get("/osmand"), "id"),
        (lambda c: c.post("/osmand", data="lat=1&lon=2"), "id"),
        (lambda c: c.post("/osmand", json={"location": traccar_json()["location"]}), "device_id"),
    ],
    ids=["query", "empty", "form", "json"],
)
def test_missing_device_id_is_a_400(tracker: Tracker, send: Any, field: str) -> None:
    """A request without a device id gets 400 missing_device_id naming the parameter."""
    _error(send(tracker.client), 400, "missing_device_id", field)


FUTURE = _ms(T0 + timedelta(minutes=10))
ANCIENT = _ms(T0 - timedelta(days=30))


@pytest.mark.parametrize(
    ("query", "code", "field"),
    [
        (f"lat=abc&lon=1&timestamp={_ms(T0)}", "invalid_report", "lat"),
        (f"lat=91&lon=1&timestamp={_ms(T0)}", "invalid_report", "lat"),
        (f"lat=1&timestamp={_ms(T0)}", "invalid_report", "lon"),
        (f"location=1&timestamp={_ms(T0)}", "invalid_report", "location"),
        (f"location=1,x&timestamp={_ms(T0)}", "invalid_report", "location"),
        (f"lat=1&lon=2&timestamp={FUTURE}", "invalid_report", "timestamp"),
        (f"lat=1&lon=2&timestamp={ANCIENT}", "invalid_report", "timestamp"),
        ("lat=1&lon=2&timestamp=1", "invalid_report", "timestamp"),
        ("lat=1&lon=2&timestamp=yesterday", "invalid_report", "timestamp"),
        ("lat=1&lon=2&timestamp=99999999999999999999", "invalid_report", "timestamp"),
        ("lat=1&lon=2&timestamp=0001-01-01T00:00:00%2B01:00", "invalid_report", "timestamp"),
        (f"lat=1&lon=2&speed=nan&timestamp={_ms(T0)}", "invalid_report", "speed"),
        (f"lat=1&lon=2&speed=900&timestamp={_ms(T0)}", "invalid_report", "speed"),
        (f"lat=1&lon=2&bearing=400&timestamp={_ms(T0)}", "invalid_report", "bearing"),
    ],
)
def test_bad_query_gets_a_400_naming_the_parameter(
    tracker: Tracker, query: str, code: str, field: str
) -> None:
    """Bad values, and times far in the future or the past, are 400 and store nothing."""
    _error(tracker.client.get(f"/osmand?id={DEVICE_ID}&{query}"), 400, code, field)
    assert tracker.positions() == []


@pytest.mark.parametrize(
    ("body", "content_type", "status", "code"),
    [
        ("{not json", "application/json", 400, "malformed_json"),
        ("[1, 2]", "application/json", 400, "malformed_json"),
        (json.dumps({"device_id": DEVICE_ID}), "application/json", 400, "invalid_report"),
        (json.dumps(traccar_json(timestamp="soon")), "application/json", 400, "invalid_report"),
        (
            json.dumps(traccar_json(coords={"latitude": "41.9", "longitude": 1})),
            "application/json",
            400,
            "invalid_report",
        ),
        (json.dumps(traccar_json(battery=[])), "application/json", 400, "invalid_report"),
        ("x" * (70 * 1024), "text/plain", 413, "body_too_large"),
    ],
    ids=["syntax", "array", "no-location", "bad-time", "string-lat", "bad-battery", "huge"],
)
def test_bad_json_gets_a_4xx_never_a_500(
    tracker: Tracker, body: str, content_type: str, status: int, code: str
) -> None:
    """Malformed or oversized bodies get a JSON 4xx with a stable code."""
    response = tracker.client.post("/osmand", data=body, content_type=content_type)
    _error(response, status, code)


def test_rate_limits_per_device_and_per_address(tracker: Tracker) -> None:
    """Past the per-device or per-address limit: 429 JSON with Retry-After until the window ends."""
    # The view reads the limits per request (OSMAND_RATE_PER_DEVICE / _PER_ADDRESS).
    tracker.settings.osmand_rate_per_device = 3
    tracker.settings.osmand_rate_per_address = 5
    client = tracker.client
    for second in range(3):
        stamp = int(T0.timestamp()) - 10 + second
        response = client.get(f"/osmand?id={DEVICE_ID}&lat=1&lon=2&timestamp={stamp}")
        assert response.status_code == 200
    limited = client.get(f"/osmand?id={DEVICE_ID}&lat=1&lon=2&timestamp={_ms(T0)}")
    _error(limited, 429, "rate_limited")
    assert 1 <= int(limited.headers["Retry-After"]) <= 60
    # Another id from the same address still fits the address's limit of 5, then not.
    _error(client.get(f"/osmand?id={OTHER_ID}"), 404, "unknown_device")
    _error(client.get(f"/osmand?id={OTHER_ID}"), 429, "rate_limited")
    # Another address is not held back by this one's count.
    elsewhere = tracker.app.server.test_client()
    response = elsewhere.get(f"/osmand?id={OTHER_ID}", environ_base={"REMOTE_ADDR": "10.9.8.7"})
    _error(response, 404, "unknown_device")
    tracker.clock.advance(timedelta(seconds=61))
    fresh = client.get(f"/osmand?id={DEVICE_ID}&lat=1&lon=2&timestamp={_ms(tracker.clock.now())}")
    assert fresh.status_code == 200
    assert len(tracker.positions()) == 4


@pytest.mark.parametrize("backend", ["diskcache", pytest.param("redis", marks=pytest.mark.redis)])
def test_rate_limiter_counts_across_workers(
    request: pytest.FixtureRequest, tmp_path: Path, backend: str
) -> None:
    """Two limiters on their own store handles (two workers) share one count."""
    from backend.cache import make_store

    url = request.getfixturevalue("redis_url") if backend == "redis" else None
    settings = load_settings(DATA_DIR=str(tmp_path), REDIS_URL=url, DEMO=False)
    prefix = f"test:rl:{tmp_path.name}"
    workers = [RateLimiter(make_store(settings), prefix) for _ in range(2)]
    results = [workers[i % 2].hit("device:x", limit=4, window_s=60, now=T0) for i in range(6)]
    assert results[:4] == [None] * 4
    assert all(isinstance(wait, int) and 0 < wait <= 60 for wait in results[4:])
    later = T0 + timedelta(seconds=60)
    assert workers[0].hit("device:x", limit=4, window_s=60, now=later) is None


def test_rate_limiter_fails_open_when_its_store_is_down() -> None:
    """A cache outage must not stop positions: the limiter then allows the request."""

    class DownStore:
        def get(self, key: str) -> str | None:
            raise ConnectionError("cache down")

        def set(self, key: str, value: str, ttl: int) -> None:
            raise ConnectionError("cache down")

    limiter = RateLimiter(DownStore(), "test:down")  # type: ignore[arg-type]
    assert limiter.hit("device:x", limit=1, window_s=60, now=T0) is None


# --- registration ---------------------------------------------------------------------------


def test_device_ids_are_stored_only_hashed(tracker: Tracker) -> None:
    """The database holds the SHA-256 of the id, never the id itself."""
    with tracker.runtime.db.session() as session:
        device = session.scalar(select(TrackerDevice))
        assert device is not None
        assert device.device_id_hash == hashlib.sha256(DEVICE_ID.encode()).hexdigest()
        assert DEVICE_ID not in repr([getattr(device, c) for c in ("name", "device_id_hash")])


def test_cli_register_device(tracker: Tracker, monkeypatch: pytest.MonkeyPatch, capsys) -> None:
    """`register-device` binds an id to a vehicle by name; short ids and unknown vehicles fail."""
    from backend.cli import main

    monkeypatch.setenv("DATA_DIR", str(tracker.settings.data_dir))
    if tracker.settings.database_url:
        monkeypatch.setenv("DATABASE_URL", tracker.settings.database_url)
    else:
        monkeypatch.delenv("DATABASE_URL", raising=False)
    assert main(["register-device", "--device-id", OTHER_ID, "--vehicle", "V2"]) == 0
    assert "V2" in capsys.readouterr().out
    response = tracker.client.get(f"/osmand?id={OTHER_ID}&lat=1&lon=2&timestamp={_ms(T0)}")
    assert response.status_code == 200
    [position] = tracker.positions()
    assert position.vehicle_id == tracker.fleet.vehicles[1]

    assert main(["register-device", "--device-id", "123456", "--vehicle", "V2"]) == 2
    assert "device_id" in capsys.readouterr().err
    assert main(["register-device", "--device-id", "a" * 30, "--vehicle", "V2"]) == 2
    assert main(["register-device", "--device-id", OTHER_ID + "x", "--vehicle", "nope"]) == 2
    assert main(["register-device", "--device-id", OTHER_ID, "--vehicle", "V3"]) == 2  # taken
    assert main(["register-device", "--vehicle", "V3", "--name", "spare phone"]) == 0
    generated = capsys.readouterr().out.strip().rsplit(" ", 1)[-1]
    assert len(generated) >= 20
    response = tracker.client.get(f"/osmand?id={generated}&lat=3&lon=4&timestamp={_ms(T0)}")
    assert response.status_code == 200


def test_rest_admin_registers_lists_and_deletes_devices(tracker: Tracker) -> None:
    """An admin registers (id given or generated), lists and unregisters devices."""
    created = tracker.api(
        "POST",
        "/devices",
        "root",
        json={"vehicle_id": tracker.fleet.vehicles[2], "name": "van 3", "device_id": OTHER_ID},
    )
    assert created.status_code == 201, created.get_data(as_text=True)
    body = created.get_json()
    assert body["device_id"] == OTHER_ID and body["vehicle_name"] == "V3"
    generated = tracker.api("POST", "/devices", "root", json={"vehicle_id": 1})
    assert generated.status_code == 201 and len(generated.get_json()["device_id"]) >= 20

    listed = tracker.api("GET", "/devices", "root")
    assert listed.status_code == 200
    items = listed.get_json()["items"]
    assert {item["name"] for item in items} == {"phone", "van 3", ""}
    assert all("device_id" not in item and "device_id_hash" not in item for item in items)
    assert next(i for i in items if i["name"] == "phone")["last_seen_at"] is None

    report = f"/osmand?id={OTHER_ID}&lat=1&lon=2&timestamp={_ms(T0)}"
    assert tracker.client.get(report).status_code == 200
    assert tracker.api("DELETE", f"/devices/{body['id']}", "root").status_code == 204
    _error(tracker.client.get(report), 404, "unknown_device")
    _error(tracker.api("DELETE", f"/devices/{body['id']}", "root"), 404, "not_found")
    _error(tracker.api("DELETE", "/devices/abc", "root"), 422, "validation_error", "device_pk")
    paths = tracker.client.get("/api/v1/openapi.json").get_json()["paths"]
    assert {"/api/v1/devices", "/api/v1/devices/{device_pk}"} <= set(paths)


@pytest.mark.parametrize(
    ("body", "status", "field"),
    [
        ({"vehicle_id": 1, "device_id": "123456"}, 422, "device_id"),
        ({"vehicle_id": 1, "device_id": "x" * 25}, 422, "device_id"),
        ({"vehicle_id": 1, "device_id": "has spaces and is long enough"}, 422, "device_id"),
        ({"vehicle_id": 1, "device_id": DEVICE_ID}, 409, "device_id"),
        ({"vehicle_id": 999, "device_id": OTHER_ID}, 404, "vehicle_id"),
        ({"device_id": OTHER_ID}, 422, "vehicle_id"),
    ],
    ids=["short", "not-random", "charset", "taken", "no-vehicle", "missing-vehicle"],
)
def test_rest_refuses_weak_or_taken_ids(
    tracker: Tracker, body: dict[str, Any], status: int, field: str
) -> None:
    """Short, non-random, badly spelt or taken ids and unknown vehicles are refused."""
    response = tracker.api("POST", "/devices", "root", json=body)
    assert response.status_code == status, response.get_data(as_text=True)
    assert response.get_json()["error"]["field"] == field


def test_rest_devices_are_admin_only(tracker: Tracker) -> None:
    """A dispatcher gets 403 on every device route, an anonymous caller 401."""
    body = {"vehicle_id": 1, "device_id": OTHER_ID}
    for role, status in (("disp", 403), ("boss", 403), ("driver1", 403), (None, 401)):
        assert tracker.api("POST", "/devices", role, json=body).status_code == status
        assert tracker.api("GET", "/devices", role).status_code == status
        assert tracker.api("DELETE", "/devices/1", role).status_code == status
    with tracker.runtime.db.session() as session:
        assert len(session.scalars(select(TrackerDevice)).all()) == 1


def test_migration_matches_the_model_and_downgrades(tracker: Tracker) -> None:
    """0002 creates exactly the TrackerDevice table of the model, and drops it on downgrade."""
    from alembic.autogenerate import compare_metadata
    from alembic.migration import MigrationContext
    from sqlalchemy import inspect

    from backend.db.base import Base

    engine = tracker.runtime.db.engine
    with engine.connect() as connection:
        context = MigrationContext.configure(connection, opts={"compare_type": True})
        diffs = [d for d in compare_metadata(context, Base.metadata) if "tracker_device" in str(d)]
    assert diffs == []
    if engine.dialect.name == "sqlite":  # the PostgreSQL database is shared by the session
        from backend.db.migrate import downgrade, upgrade

        get_realtime(tracker.runtime).stop()
        downgrade(engine, "0001")
        assert "tracker_device" not in inspect(engine).get_table_names()
        upgrade(engine)
        assert "tracker_device" in inspect(engine).get_table_names()


# --- the pure parsers -----------------------------------------------------------------------


def test_parsers_follow_traccar_conventions() -> None:
    """Seconds below 2^31 else ms; knots in queries; -1 is "unknown" in JSON."""
    config = RealtimeConfig()
    assert parse_timestamp("2147483646") == datetime(2038, 1, 19, 3, 14, 6, tzinfo=UTC)
    assert parse_timestamp(1906462770123) == datetime(2030, 5, 31, 12, 59, 30, 123000, tzinfo=UTC)
    report = parse_query(
        {"id": DEVICE_ID, "lat": "1", "lon": "2", "speed": "1", "bearing": "-1"},
        now=T0,
        config=config,
    )
    assert report.speed == pytest.approx(0.514444, rel=1e-5) and report.heading is None
    body = traccar_json(
        coords={"latitude": 1, "longitude": 2, "speed": -1, "heading": -1, "accuracy": 3}
    )
    report = parse_json(body, now=T0, config=config)
    assert (report.speed, report.heading, report.accuracy) == (None, None, 3.0)
    assert report.battery == pytest.approx(80.0) and report.is_moving is True
    assert report.event == "motionchange" and report.device_id == DEVICE_ID
