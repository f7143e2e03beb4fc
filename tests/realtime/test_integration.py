"""Two server processes (gunicorn, gevent) on loopback sharing real PostgreSQL and Redis: a
driver on one, a dispatcher on the other; Redis restarted mid-stream (the bus reconnects and
positions keep being stored); PostgreSQL restarted (the writer retries, and every acknowledged
position is stored afterwards, each one compared). The restarted servers are private instances
on ports of their own, started by these tests: the shared ones are never touched."""

from __future__ import annotations

import asyncio
import gc
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
import urllib.request
import uuid
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import select, text

from backend.config import load_settings
from backend.db.engine import Database
from backend.db.migrate import upgrade
from backend.db.models import Position
from backend.sim.driver_socket import WebSocketClient
from tests.realtime.conftest import Fleet, free_port, seed_fleet
from tests.realtime.test_server import _next

ROOT = Path(__file__).resolve().parents[2]
pytestmark = [pytest.mark.postgres, pytest.mark.redis, pytest.mark.slow]


class Cluster:
    """Two single-worker gunicorn servers on the same database and Redis."""

    def __init__(self, data_dir: Path, database_url: str, redis_url: str) -> None:
        self.database = Database(load_settings(DATA_DIR=str(data_dir), DATABASE_URL=database_url))
        upgrade(self.database.engine)
        self.fleet: Fleet = seed_fleet(self.database)
        env = dict(
            os.environ,
            DATA_DIR=str(data_dir),
            DATABASE_URL=database_url,
            REDIS_URL=redis_url,
            DEMO="false",
            LOG_LEVEL="WARNING",
            SECRET_KEY="test-" + uuid.uuid4().hex,
        )
        self.ports = [free_port(), free_port()]
        self.procs = [
            subprocess.Popen(
                [
                    sys.executable,
                    "-m",
                    "gunicorn",
                    "app:server",
                    "-k",
                    "gevent",
                    "-w",
                    "1",
                    "-b",
                    f"127.0.0.1:{port}",
                    "--no-control-socket",
                    "--log-level",
                    "warning",
                ],
                cwd=ROOT,
                env=env,
                stdout=subprocess.DEVNULL,
                stderr=subprocess.DEVNULL,
            )
            for port in self.ports
        ]
        for port in self.ports:
            _wait_http(f"http://127.0.0.1:{port}/healthz")
        self.urls = [f"ws://127.0.0.1:{port}/ws" for port in self.ports]

    def stored_seqs(self, vehicle_id: int) -> set[int]:
        with self.database.session() as session:
            return set(
                session.scalars(select(Position.seq).where(Position.vehicle_id == vehicle_id))
            )

    def stop(self) -> None:
        for proc in self.procs:
            proc.terminate()
        for proc in self.procs:
            try:
                proc.wait(20)
            except subprocess.TimeoutExpired:
                proc.kill()
        self.database.engine.dispose()


def _wait_http(url: str, timeout: float = 60.0) -> None:
    deadline = time.monotonic() + timeout
    while True:
        try:
            urllib.request.urlopen(url, timeout=2)
            return
        except OSError:
            if time.monotonic() > deadline:
                raise
            time.sleep(0.3)


PG_BIN = (
    Path("/usr/lib/postgresql")
    / (
        sorted(os.listdir("/usr/lib/postgresql"))[-1]
        if os.path.isdir("/usr/lib/postgresql")
        else ""
    )
    / "bin"
)


class PrivatePostgres:
    """A throwaway PostgreSQL server on a port of its own (run as the postgres user)."""

    def __init__(self) -> None:
        if not (PG_BIN / "initdb").exists():
            pytest.skip("PostgreSQL server binaries not installed")
        self.port = free_port()
        self.dir = Path(tempfile.mkdtemp(prefix="fleet-pg-"))
        self.data = self.dir / "data"
        as_postgres = ["runuser", "-u", "postgres", "--"] if os.geteuid() == 0 else []
        if as_postgres:
            shutil.chown(self.dir, "postgres", "postgres")
        self.ctl = [*as_postgres, str(PG_BIN / "pg_ctl"), "-D", str(self.data), "-w"]
        _run_args(
            [
                *as_postgres,
                str(PG_BIN / "initdb"),
                "-D",
                str(self.data),
                "-A",
                "trust",
                "-U",
                "postgres",
            ]
        )
        self.options = f"-p {self.port} -k {self.dir} -c listen_addresses=127.0.0.1 -c fsync=off"
        _run_args([*self.ctl, "-o", self.options, "-l", str(self.dir / "log"), "start"])
        admin = f"postgresql+psycopg://postgres@127.0.0.1:{self.port}/postgres"
        from sqlalchemy import create_engine

        engine = create_engine(admin, isolation_level="AUTOCOMMIT")
        with engine.connect() as conn:
            conn.execute(text('CREATE DATABASE "fleet"'))
        engine.dispose()
        self.url = f"postgresql+psycopg://postgres@127.0.0.1:{self.port}/fleet"

    def restart(self) -> None:
        # With its log in a file: the server must not inherit our captured stdout.
        log = str(self.dir / "log")
        _run_args([*self.ctl, "-o", self.options, "-l", log, "-m", "fast", "restart"])

    def stop(self) -> None:
        subprocess.run([*self.ctl, "-m", "immediate", "stop"], capture_output=True, timeout=60)
        shutil.rmtree(self.dir, ignore_errors=True)


class PrivateRedis:
    """A throwaway Redis server on a port of its own."""

    def __init__(self) -> None:
        if shutil.which("redis-server") is None:
            pytest.skip("redis-server not installed")
        self.port = free_port()
        self.url = f"redis://127.0.0.1:{self.port}/0"
        self.start()

    def start(self) -> None:
        _run_args(
            [
                "redis-server",
                "--daemonize",
                "yes",
                "--bind",
                "127.0.0.1",
                "--port",
                str(self.port),
                "--save",
                "",
                "--appendonly",
                "no",
            ]
        )
        deadline = time.monotonic() + 10
        while (
            subprocess.run(
                ["redis-cli", "-p", str(self.port), "ping"], capture_output=True, text=True
            ).stdout.strip()
            != "PONG"
        ):
            if time.monotonic() > deadline:
                raise RuntimeError("private redis did not start")
            time.sleep(0.1)

    def stop(self) -> None:
        subprocess.run(
            ["redis-cli", "-p", str(self.port), "shutdown", "nosave"],
            capture_output=True,
            timeout=30,
        )


def _run_args(args: list[str]) -> None:
    subprocess.run(args, check=True, capture_output=True, timeout=120)


@pytest.fixture
def private_postgres() -> Iterator[PrivatePostgres]:
    server = PrivatePostgres()
    yield server
    server.stop()


@pytest.fixture
def private_redis() -> Iterator[PrivateRedis]:
    server = PrivateRedis()
    yield server
    server.stop()


@pytest.fixture
def cluster(data_dir: Path, own_postgres_url: str, redis_url: str) -> Iterator[Cluster]:
    servers = Cluster(data_dir, own_postgres_url, redis_url)
    yield servers
    servers.stop()


@pytest.fixture
def cluster_on_private_redis(
    data_dir: Path, own_postgres_url: str, private_redis: PrivateRedis
) -> Iterator[tuple[Cluster, PrivateRedis]]:
    servers = Cluster(data_dir, own_postgres_url, private_redis.url)
    yield servers, private_redis
    servers.stop()


@pytest.fixture
def cluster_on_private_postgres(
    data_dir: Path, private_postgres: PrivatePostgres, redis_url: str
) -> Iterator[tuple[Cluster, PrivatePostgres]]:
    servers = Cluster(data_dir, private_postgres.url, redis_url)
    yield servers, private_postgres
    servers.stop()


class Streamer:
    """A driver sending one fix every `period` s and keeping the acknowledged seqs."""

    def __init__(self, ws: WebSocketClient) -> None:
        self.ws = ws
        self.seq = 0
        self.acked: set[int] = set()
        self.errors: list[dict[str, Any]] = []

    async def read(self) -> None:
        while (message := await self.ws.recv()) is not None:
            frame = json.loads(message)
            if frame["type"] == "acknowledgment":
                self.acked.add(frame["seq"])
            elif frame["type"] == "error":
                self.errors.append(frame)

    async def send_for(self, seconds: float, period: float = 0.1) -> None:
        end = time.monotonic() + seconds
        while time.monotonic() < end:
            self.seq += 1
            fix = {
                "type": "vehicle_location_update",
                "seq": self.seq,
                "lat": 41.9,
                "lon": -87.65 + self.seq * 1e-5,
                "recordedAt": datetime.now(UTC).isoformat(),
            }
            await self.ws.send_text(json.dumps(fix))
            await asyncio.sleep(period)


async def _dispatcher_sees(ws: WebSocketClient, vehicle_id: int, above_seq: int, timeout: float):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        frame = await _next(ws, "vehicle_location_update", deadline - time.monotonic())
        if any(p["vehicleId"] == vehicle_id and p["seq"] > above_seq for p in frame["positions"]):
            return True
    return False


async def _open(url: str, token: str) -> WebSocketClient:
    ws = await WebSocketClient.connect(url, headers={"Authorization": f"Bearer {token}"})
    await _next(ws, "welcome")
    return ws


def test_driver_on_one_worker_reaches_the_dispatcher_on_the_other(cluster: Cluster) -> None:
    vehicle = cluster.fleet.vehicles[0]

    async def scenario() -> None:
        dispatcher = await _open(cluster.urls[1], cluster.fleet.tokens["disp"])
        driver = Streamer(await _open(cluster.urls[0], cluster.fleet.tokens["driver1"]))
        reader = asyncio.create_task(driver.read())
        await driver.send_for(1.0)
        assert await _dispatcher_sees(dispatcher, vehicle, driver.seq - 1, 5.0)
        await asyncio.sleep(0.5)
        assert driver.acked == set(range(1, driver.seq + 1))
        assert driver.acked <= cluster.stored_seqs(vehicle)
        reader.cancel()

    asyncio.run(scenario())


def test_redis_restart_mid_stream(cluster_on_private_redis: tuple[Cluster, PrivateRedis]) -> None:
    cluster, redis_server = cluster_on_private_redis
    vehicle = cluster.fleet.vehicles[0]

    async def scenario() -> None:
        dispatcher = await _open(cluster.urls[1], cluster.fleet.tokens["disp"])
        driver = Streamer(await _open(cluster.urls[0], cluster.fleet.tokens["driver1"]))
        reader = asyncio.create_task(driver.read())
        await driver.send_for(1.0)
        assert await _dispatcher_sees(dispatcher, vehicle, 0, 5.0)
        redis_server.stop()
        try:
            await driver.send_for(1.0)  # Redis is down: positions are still stored and acked
        finally:
            redis_server.start()
        during = driver.seq
        await asyncio.sleep(0.5)
        assert set(range(1, during + 1)) <= driver.acked
        # The listener reconnects (backoff <= 5 s): fixes sent after that reach the other worker.
        seen = False
        for _ in range(12):
            await driver.send_for(0.5)
            try:
                seen = await _dispatcher_sees(dispatcher, vehicle, during, 0.5)
            except TimeoutError:
                seen = False
            if seen:
                break
        assert seen, "the dispatcher never got positions again after Redis came back"
        await asyncio.sleep(0.5)
        assert driver.acked <= cluster.stored_seqs(vehicle)
        assert len(driver.acked) == driver.seq
        reader.cancel()

    asyncio.run(scenario())


def test_postgres_restart_loses_no_acknowledged_position(
    cluster_on_private_postgres: tuple[Cluster, PrivatePostgres],
) -> None:
    cluster, postgres = cluster_on_private_postgres
    vehicle = cluster.fleet.vehicles[0]

    async def scenario() -> None:
        driver = Streamer(await _open(cluster.urls[0], cluster.fleet.tokens["driver1"]))
        reader = asyncio.create_task(driver.read())
        await driver.send_for(1.0)
        restart = asyncio.get_running_loop().run_in_executor(None, postgres.restart)
        await driver.send_for(3.0)
        await restart
        await driver.send_for(1.0)
        deadline = time.monotonic() + 30
        while len(driver.acked) < driver.seq and time.monotonic() < deadline:
            await asyncio.sleep(0.2)
        assert driver.errors == []
        assert driver.acked == set(range(1, driver.seq + 1))
        reader.cancel()
        nonlocal driver_acked, driver_sent
        driver_acked, driver_sent = set(driver.acked), driver.seq

    driver_acked: set[int] = set()
    driver_sent = 0
    asyncio.run(scenario())
    _dispose_every_engine()
    _wait_postgres(cluster)
    stored = cluster.stored_seqs(vehicle)
    # Every acknowledged seq, one by one, is stored; and nothing was stored that was not sent.
    missing = sorted(driver_acked - stored)
    assert missing == [], f"acknowledged but not stored: {missing}"
    assert stored <= set(range(1, driver_sent + 1))


def _dispose_every_engine() -> None:
    # The restart killed every pooled PostgreSQL connection of this process too, including
    # those of session fixtures (tests/conftest.py's admin engine has no pre-ping): drop the
    # pools so the next use reconnects instead of failing at teardown.
    from sqlalchemy.engine import Engine

    for obj in gc.get_objects():
        if isinstance(obj, Engine):
            obj.dispose()


def _wait_postgres(cluster: Cluster) -> None:
    deadline = time.monotonic() + 30
    while True:
        try:
            with cluster.database.engine.connect() as conn:
                conn.execute(text("SELECT 1"))
            return
        except Exception:
            if time.monotonic() > deadline:
                raise
            time.sleep(0.5)
