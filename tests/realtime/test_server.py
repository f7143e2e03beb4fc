"""The /ws endpoint over real sockets on a loopback port: authentication (1008), welcome,
acks, batched dashboard frames, heartbeats, slow consumers cut without delaying others."""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from werkzeug.serving import make_server

from backend.config import load_settings
from backend.db.engine import Database
from backend.db.migrate import upgrade
from backend.realtime import get_realtime
from backend.runtime import runtime_of
from backend.sim.driver_socket import OP_CLOSE, WebSocketClient, encode_frame
from tests.realtime.conftest import Fleet, fix, seed_fleet


class LiveServer:
    def __init__(self, flask_app: Any, runtime: Any, fleet: Fleet) -> None:
        self.httpd = make_server("127.0.0.1", 0, flask_app, threaded=True)
        self.url = f"ws://127.0.0.1:{self.httpd.server_port}/ws"
        self.runtime = runtime
        self.fleet = fleet
        self.flask_app = flask_app
        self.thread = threading.Thread(target=self.httpd.serve_forever, daemon=True)
        self.thread.start()

    @property
    def service(self):
        return get_realtime(self.runtime)

    def stop(self) -> None:
        self.service.stop()
        self.httpd.shutdown()
        self.runtime.db.engine.dispose()


@pytest.fixture
def live(data_dir: Path) -> Iterator[LiveServer]:
    """The real app (create_app) served by the threaded development server."""
    from app import create_app

    settings = load_settings(DATA_DIR=str(data_dir), DEMO=False)
    migrated = Database(settings)
    upgrade(migrated.engine)  # before create_app: its metrics collectors read the schema
    migrated.engine.dispose()
    dash_app = create_app(settings)
    runtime = runtime_of(dash_app.server)
    server = LiveServer(dash_app.server, runtime, seed_fleet(runtime.db))
    yield server
    server.stop()


async def _connect(url: str, token: str | None = None, **headers: str) -> WebSocketClient:
    if token:
        headers["Authorization"] = f"Bearer {token}"
    return await WebSocketClient.connect(url, headers=headers)


async def _next(ws: WebSocketClient, kind: str, timeout: float = 5.0) -> dict[str, Any]:
    deadline = time.monotonic() + timeout
    while True:
        text = await asyncio.wait_for(ws.recv(), max(0.01, deadline - time.monotonic()))
        assert text is not None, f"closed {ws.close_code} {ws.close_reason}"
        message = json.loads(text)
        if message["type"] == kind:
            return message


def test_unauthenticated_upgrades_are_closed_with_1008(live: LiveServer) -> None:
    async def scenario() -> None:
        for ws in (
            await _connect(live.url),
            await _connect(live.url, "fd_not-a-real-token"),
            await WebSocketClient.connect(live.url + "?token=nope"),
        ):
            assert await ws.recv() is None
            assert ws.close_code == 1008

    asyncio.run(scenario())


async def _raw_session(url: str, path: str, send: bytes = b"") -> bytes:
    """Upgrade by hand, optionally send frames, and return every byte up to EOF after 101."""
    host, port = url.removeprefix("ws://").split("/")[0].split(":")
    reader, writer = await asyncio.open_connection(host, int(port))
    writer.write(
        f"GET {path} HTTP/1.1\r\nHost: {host}:{port}\r\nUpgrade: websocket\r\n"
        "Connection: Upgrade\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n"
        "Sec-WebSocket-Version: 13\r\n\r\n".encode()
    )
    head = await reader.readuntil(b"\r\n\r\n")
    assert head.startswith(b"HTTP/1.1 101")
    await asyncio.sleep(0.3)
    writer.write(send)
    data = await asyncio.wait_for(reader.read(), 10)
    writer.close()
    return data


def _frames_then_rest(data: bytes) -> tuple[list[tuple[int, bytes]], bytes]:
    frames = []
    while len(data) >= 2:
        opcode, length = data[0] & 0x0F, data[1] & 0x7F
        offset = 2
        if length == 126:
            length, offset = int.from_bytes(data[2:4], "big"), 4
        frames.append((opcode, data[offset : offset + length]))
        data = data[offset + length :]
        if opcode == OP_CLOSE:
            break
    return frames, data


def test_nothing_follows_the_close_frame_on_the_wire(live: LiveServer) -> None:
    # The development server must not write an HTTP response after the WebSocket ends.
    async def scenario() -> None:
        frames, rest = _frames_then_rest(await _raw_session(live.url, "/ws"))
        assert frames[-1][0] == OP_CLOSE and frames[-1][1][:2] == (1008).to_bytes(2, "big")
        assert rest == b""
        token = live.fleet.tokens["driver1"]
        close = encode_frame(OP_CLOSE, (1000).to_bytes(2, "big"))
        frames, rest = _frames_then_rest(await _raw_session(live.url, f"/ws?token={token}", close))
        assert frames[-1][0] == OP_CLOSE and rest == b""

    asyncio.run(scenario())


def test_the_session_cookie_works_only_from_our_own_origin(live: LiveServer) -> None:
    client = live.flask_app.test_client()
    client.post("/login", data={"username": "disp", "password": "disp-pass"})
    cookie = client.get_cookie("fleet_session")
    assert cookie is not None
    host = live.url.removeprefix("ws://").removesuffix("/ws")

    async def scenario() -> None:
        cookie_header = f"fleet_session={cookie.value}"
        evil = await _connect(live.url, Cookie=cookie_header, Origin="http://evil.example")
        assert await evil.recv() is None and evil.close_code == 1008
        ours = await _connect(live.url, Cookie=cookie_header, Origin=f"http://{host}")
        welcome = await _next(ours, "welcome")
        assert welcome["roles"] == ["dispatcher"] and welcome["user"]["username"] == "disp"
        assert welcome["protocols"] == ["route_optimization", "vehicle_tracking", "notification"]
        await ours.close()

    asyncio.run(scenario())


def test_driver_positions_are_acked_and_reach_the_dispatcher_in_batches(live: LiveServer) -> None:
    fleet = live.fleet

    async def scenario() -> None:
        dispatcher = await _connect(live.url, fleet.tokens["disp"])
        welcome = await _next(dispatcher, "welcome")
        assert f"depot_{fleet.depots[0]}" in welcome["rooms"]
        snapshot = await _next(dispatcher, "vehicle_location_update")
        assert snapshot["snapshot"] is True
        drivers = [await _connect(live.url, fleet.tokens[f"driver{i}"]) for i in (1, 2)]
        for ws in drivers:
            await _next(ws, "welcome")
        for seq in range(1, 21):
            for ws in drivers:
                await ws.send_text(json.dumps({"type": "vehicle_location_update", **fix(seq)}))
        for ws in drivers:
            acked = [(await _next(ws, "acknowledgment"))["seq"] for _ in range(20)]
            assert acked == list(range(1, 21))
        latest: dict[int, int] = {}
        frames = 0
        while any(latest.get(v, 0) < 20 for v in fleet.vehicles[:2]):
            frame = await _next(dispatcher, "vehicle_location_update")
            frames += 1
            for position in frame["positions"]:
                latest[position["vehicleId"]] = position["seq"]
        # Coalesced: far fewer frames than the 40 positions sent.
        assert frames < 40
        for ws in [*drivers, dispatcher]:
            await ws.close()

    asyncio.run(scenario())


def test_a_stuck_dashboard_is_cut_and_never_delays_the_others(live: LiveServer) -> None:
    fleet = live.fleet
    service = live.service

    async def scenario() -> None:
        stuck = await _connect(live.url, fleet.tokens["disp"])  # never reads again
        healthy = await _connect(live.url, fleet.tokens["boss"])
        await _next(healthy, "welcome")
        await asyncio.sleep(0.2)
        big = {"type": "route_event", "event": {"vehicleId": None, "data": "x" * 10_000}}
        started = time.monotonic()
        received = 0
        for i in range(4000):
            service.publish(fleet.depots[0], "events", {**big, "n": i})
            if i % 50 == 0:
                # The healthy dashboard keeps receiving while the stuck one's queue grows.
                while received <= i - 50:
                    await _next(healthy, "route_event")
                    received += 1
        while received < 4000:
            await _next(healthy, "route_event")
            received += 1
        elapsed = time.monotonic() - started
        deadline = time.monotonic() + 10
        while len(service.hub.connections) > 1 and time.monotonic() < deadline:
            await asyncio.sleep(0.1)
        assert [c.principal.username for c in service.hub.connections] == ["boss"]
        assert elapsed < 20
        await healthy.close()
        stuck.abort()

    asyncio.run(scenario())


def test_heartbeats_close_a_connection_that_stopped_answering(data_dir: Path) -> None:
    from flask import Flask

    from backend.realtime import init_realtime
    from backend.realtime.protocol import RealtimeConfig
    from backend.runtime import Runtime

    runtime = Runtime(load_settings(DATA_DIR=str(data_dir), DEMO=False))
    upgrade(runtime.db.engine)
    fleet = seed_fleet(runtime.db)
    flask_app = Flask(__name__)
    flask_app.secret_key = "test"
    runtime.init_app(flask_app)
    init_realtime(flask_app, runtime, RealtimeConfig(ping_interval_s=0.3))
    server = LiveServer(flask_app, runtime, fleet)
    try:

        async def scenario() -> None:
            alive = await _connect(server.url, fleet.tokens["driver1"])
            silent = await _connect(server.url, fleet.tokens["driver2"])
            await _next(silent, "welcome")
            # `alive` reads (and so answers pings); `silent` never reads again.
            reader = asyncio.create_task(_next(alive, "never-sent", timeout=3.0))
            await asyncio.sleep(2.0)
            names = sorted(c.principal.username for c in server.service.hub.connections)
            assert names == ["driver1"]
            reader.cancel()
            await alive.close()

        asyncio.run(scenario())
    finally:
        server.stop()


def test_a_client_that_closes_right_after_welcome_is_let_go_quietly(
    live: LiveServer, caplog: pytest.LogCaptureFixture, capfd: pytest.CaptureFixture[str]
) -> None:
    # Frames keep coming for the dashboard while it closes: a send then meets a closed socket.
    stop = threading.Event()
    marker = "x" * 2000

    def publish() -> None:
        while not stop.is_set():
            live.service.publish(
                live.fleet.depots[0], "events", {"type": "route_event", "pad": marker}
            )
            time.sleep(0.002)

    publisher = threading.Thread(target=publish, daemon=True)
    publisher.start()
    token = live.fleet.tokens["disp"]
    close = encode_frame(OP_CLOSE, (1000).to_bytes(2, "big"))

    async def scenario() -> None:
        for _ in range(30):
            ws = await _connect(live.url, token)
            await _next(ws, "welcome")
            ws._writer.write(close)  # close frame at once, then keep reading to the end
            with contextlib.suppress(Exception):
                await asyncio.wait_for(ws._reader.read(), 5)
            ws.abort()

    caplog.set_level(logging.WARNING)
    try:
        asyncio.run(scenario())
        deadline = time.monotonic() + 5
        while len(live.service.hub.connections) and time.monotonic() < deadline:
            time.sleep(0.05)
    finally:
        stop.set()
        publisher.join(2)
    assert not live.service.hub.connections
    assert [r.getMessage()[:200] for r in caplog.records if r.levelno >= logging.WARNING] == []
    err = capfd.readouterr().err
    assert "Traceback" not in err and marker not in err


def test_fanout_cap_and_allowed_origins_come_from_the_settings(data_dir: Path) -> None:
    from app import create_app
    from backend.config import ConfigError
    from backend.realtime.protocol import RealtimeConfig

    assert RealtimeConfig().fanout_max_fps == 10.0
    assert load_settings(DATA_DIR=str(data_dir)).ws_fanout_max_fps == 10.0
    for name, bad in (("WS_FANOUT_MAX_FPS", "0"), ("WS_ALLOWED_ORIGINS", "ops.example/x")):
        with pytest.raises(ConfigError, match=name):
            load_settings(**{name: bad})
    settings = load_settings(
        DATA_DIR=str(data_dir),
        DEMO=False,
        WS_FANOUT_MAX_FPS="25",
        WS_ALLOWED_ORIGINS=" https://ops.example , http://10.0.0.5:8050/",
    )
    migrated = Database(settings)
    upgrade(migrated.engine)
    migrated.engine.dispose()
    dash_app = create_app(settings)
    runtime = runtime_of(dash_app.server)
    server = LiveServer(dash_app.server, runtime, seed_fleet(runtime.db))
    try:
        config = server.service.config
        assert config.fanout_max_fps == 25.0 and config.position_frame_interval_s == 0.04
        assert config.allowed_origins == {"https://ops.example", "http://10.0.0.5:8050"}
        client = dash_app.server.test_client()
        client.post("/login", data={"username": "disp", "password": "disp-pass"})
        cookie = f"fleet_session={client.get_cookie('fleet_session').value}"

        async def scenario() -> None:
            ops = await _connect(server.url, Cookie=cookie, Origin="https://ops.example")
            assert (await _next(ops, "welcome"))["user"]["username"] == "disp"
            await ops.close()
            evil = await _connect(server.url, Cookie=cookie, Origin="https://evil.example")
            assert await evil.recv() is None and evil.close_code == 1008

        asyncio.run(scenario())
    finally:
        server.stop()


def test_a_dashboard_gets_at_most_the_configured_frames_a_second(live: LiveServer) -> None:
    fleet = live.fleet
    assert live.service.config.fanout_max_fps == 10.0

    async def scenario() -> None:
        dashboard = await _connect(live.url, fleet.tokens["disp"])
        await _next(dashboard, "vehicle_location_update")  # the snapshot
        driver = await _connect(live.url, fleet.tokens["driver1"])
        await _next(driver, "welcome")
        frames: list[float] = []

        async def count() -> None:
            while True:
                await _next(dashboard, "vehicle_location_update")
                frames.append(time.monotonic())

        counter = asyncio.create_task(count())
        for seq in range(1, 301):  # 300 fixes in about 1.5 s, far more than 10 a second
            await driver.send_text(json.dumps({"type": "vehicle_location_update", **fix(seq)}))
            await asyncio.sleep(0.005)
        await asyncio.sleep(0.3)
        counter.cancel()
        assert len(frames) >= 3
        # 10 a second (the old default was 40); two frames of slack for reads that bunch up.
        assert len(frames) - 1 <= (frames[-1] - frames[0]) * 10 + 2
        await driver.close()
        await dashboard.close()

    asyncio.run(scenario())
