"""Realtime benchmark: N simulated drivers stream positions, M dashboards watch, over loopback.

    python bench/realtime.py --drivers 3000 --dashboards 5 --rate 1 --duration 30 [--workers 2]
        [--redis] [--postgres | --database-url URL] [--worker-class gthread]
        [--url ws://host:port/ws (--data-dir DIR | --database-url URL) [--server-pid PID]]

Seeds a fleet (drivers with tokens, managers for the dashboards), starts the server as in
production (gunicorn, gevent workers) on a free 127.0.0.1 port unless --url names a running one
(then its database must be given, and --server-pid for its figures), runs for at most 60 s,
stops what it started, and prints figures; the last line is one JSON object. Latency is driver
send (`recordedAt`) to dashboard receive. `server_cpu_wait_s_per_s` is the time the server was
ready to run but waited for a CPU: other load on the machine. Not a timed test.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import random
import resource
import signal
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request
import uuid
from datetime import datetime
from datetime import time as dtime
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from sqlalchemy import create_engine, insert, select, text  # noqa: E402

from backend.sim.driver_socket import WebSocketClient  # noqa: E402

CENTER = (41.88, -87.65)


def raise_fd_limit() -> int:
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))
    return hard


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def seed(settings, drivers: int, dashboards: int, depots: int) -> tuple[list[str], list[str]]:
    """Depots, one vehicle and driver per simulated driver, managers for the dashboards."""
    tag = uuid.uuid4().hex[:6]  # names unique per run, so a target database can be reused
    from backend.auth.passwords import hash_password
    from backend.auth.tokens import issue_token
    from backend.db.engine import Database
    from backend.db.migrate import upgrade
    from backend.db.models import Depot, User, Vehicle, user_depot

    db = Database(settings)
    upgrade(db.engine)
    password = hash_password("bench-only")
    with db.session() as session:
        depot_rows = [
            Depot(name=f"Bench {tag} {i}", lat=CENTER[0], lon=CENTER[1]) for i in range(depots)
        ]
        session.add_all(depot_rows)
        session.flush()
        depot_ids = [d.id for d in depot_rows]
        session.execute(
            insert(Vehicle),
            [
                {
                    "name": f"bench-{tag}-{i}",
                    "vehicle_type": "van",
                    "depot_id": depot_ids[i % depots],
                    "start_depot_id": depot_ids[i % depots],
                    "end_depot_id": depot_ids[i % depots],
                    "capacity": {"kg": 1000},
                    "fuel_l_per_km": 0.1,
                    "cost_per_km": 0.5,
                    "cost_per_hour": 20.0,
                    "shift_start": dtime(0),
                    "shift_end": dtime(23, 59),
                }
                for i in range(drivers)
            ],
        )
        vehicle_ids = list(
            session.scalars(
                select(Vehicle.id).where(Vehicle.name.like(f"bench-{tag}-%")).order_by(Vehicle.id)
            )
        )
        session.execute(
            insert(User),
            [
                {
                    "username": f"bench-{tag}-driver-{i}",
                    "role": "driver",
                    "password_hash": password,
                    "vehicle_id": vid,
                    "display_name": f"Driver {i}",
                }
                for i, vid in enumerate(vehicle_ids)
            ]
            + [
                {
                    "username": f"bench-{tag}-manager-{i}",
                    "role": "manager",
                    "password_hash": password,
                    "display_name": f"Manager {i}",
                }
                for i in range(dashboards)
            ],
        )
        users = {
            u.username: u
            for u in session.scalars(select(User).where(User.username.like(f"bench-{tag}-%")))
        }
        session.execute(
            insert(user_depot),
            [
                {"user_id": users[f"bench-{tag}-driver-{i}"].id, "depot_id": depot_ids[i % depots]}
                for i in range(drivers)
            ],
        )
        driver_tokens = [
            issue_token(session, user=users[f"bench-{tag}-driver-{i}"], name="bench")
            for i in range(drivers)
        ]
        dashboard_tokens = [
            issue_token(session, user=users[f"bench-{tag}-manager-{i}"], name="bench")
            for i in range(dashboards)
        ]
    db.engine.dispose()
    return driver_tokens, dashboard_tokens


def start_server(args, env: dict[str, str], port: int) -> subprocess.Popen[bytes]:
    command = [
        sys.executable,
        "-m",
        "gunicorn",
        "app:server",
        "--worker-class",
        args.worker_class,
        *(
            ["--threads", str(args.drivers + args.dashboards + 50)]
            if args.worker_class == "gthread"
            else []
        ),
        "--workers",
        str(args.workers),
        "--worker-connections",
        "20000",
        "--bind",
        f"127.0.0.1:{port}",
        "--timeout",
        "120",
        "--graceful-timeout",
        "20",
        "--no-control-socket",
        "--log-level",
        "warning",
    ]
    log = open(Path(env["DATA_DIR"]) / "server.log", "wb")  # noqa: SIM115
    proc = subprocess.Popen(command, cwd=ROOT, env=env, stdout=log, stderr=subprocess.STDOUT)
    deadline = time.monotonic() + 90
    while time.monotonic() < deadline:
        try:
            urllib.request.urlopen(f"http://127.0.0.1:{port}/healthz", timeout=2)
            return proc
        except OSError:
            if proc.poll() is not None:
                raise SystemExit(f"server exited: see {env['DATA_DIR']}/server.log") from None
            time.sleep(0.5)
    raise SystemExit("server did not start")


def process_tree(pid: int) -> list[int]:
    pids = [pid]
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                fields = (entry / "stat").read_text().rsplit(")", 1)[1].split()
            except OSError:
                continue
            if int(fields[1]) == pid:
                pids.append(int(entry.name))
    return pids


def cpu_wait_s(pids: list[int]) -> float:
    """Seconds the processes' threads were runnable but waited for a CPU (other load)."""
    total = 0
    for pid in pids:
        for task in Path(f"/proc/{pid}/task").glob("*"):
            try:
                total += int((task / "schedstat").read_text().split()[1])
            except (OSError, IndexError, ValueError):
                continue
    return total / 1e9


def proc_figures(pids: list[int]) -> tuple[float, int, float]:
    """RSS (MB), threads and CPU seconds summed over processes."""
    rss = threads = 0
    cpu = 0.0
    tick = os.sysconf("SC_CLK_TCK")
    for pid in pids:
        try:
            status = Path(f"/proc/{pid}/status").read_text()
            stat = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        for line in status.splitlines():
            if line.startswith("VmRSS:"):
                rss += int(line.split()[1])
            elif line.startswith("Threads:"):
                threads += int(line.split()[1])
        cpu += (int(stat[11]) + int(stat[12])) / tick
    return rss / 1024, threads, cpu


class Stats:
    def __init__(self) -> None:
        self.sent = 0
        self.acked = 0
        self.errors: dict[str, int] = {}
        self.latencies: list[float] = []
        self.acked_keys: dict[int, set[int]] = {}
        self.measuring = False
        self.dashboard_frames = 0
        self.tasks: set[asyncio.Task[None]] = set()  # asyncio keeps only weak references

    def spawn(self, coroutine) -> None:
        task = asyncio.get_running_loop().create_task(coroutine)
        self.tasks.add(task)
        task.add_done_callback(self.tasks.discard)
        self.closed: dict[int, int] = {}


async def run_dashboard(url: str, token: str, stats: Stats, ready: asyncio.Event) -> None:
    ws = await WebSocketClient.connect(url, headers={"Authorization": f"Bearer {token}"})
    ready.set()
    parse = datetime.fromisoformat
    while (message := await ws.recv()) is not None:
        stats.dashboard_frames += 1
        if not stats.measuring or '"positions"' not in message[:80]:
            continue
        now = time.time()
        frame = json.loads(message)
        if frame.get("snapshot"):
            continue
        stats.latencies.extend(
            (now - parse(p["recordedAt"]).timestamp()) * 1000 for p in frame["positions"]
        )


class Driver:
    __slots__ = ("index", "vehicle_id", "token", "ws", "seq", "lat", "lon")

    def __init__(self, index: int, token: str) -> None:
        self.index = index
        self.vehicle_id = 0
        self.token = token
        self.ws: WebSocketClient | None = None
        self.seq = 0
        self.lat = CENTER[0] + random.uniform(-0.1, 0.1)
        self.lon = CENTER[1] + random.uniform(-0.1, 0.1)


async def driver_reader(driver: Driver, stats: Stats) -> None:
    assert driver.ws is not None
    acked = stats.acked_keys.setdefault(driver.index, set())
    while (message := await driver.ws.recv()) is not None:
        if '"acknowledgment"' in message[:30]:
            seq = json.loads(message).get("seq")
            if seq is not None:
                acked.add(seq)
                stats.acked += 1
        elif '"error"' in message[:20]:
            code = json.loads(message)["errorCode"]
            stats.errors[code] = stats.errors.get(code, 0) + 1
    code = driver.ws.close_code or 0
    stats.closed[code] = stats.closed.get(code, 0) + 1


async def connect_driver(url: str, driver: Driver, stats: Stats, gate: asyncio.Semaphore) -> None:
    async with gate:
        for attempt in range(5):
            try:
                driver.ws = await WebSocketClient.connect(f"{url}?token={driver.token}", timeout=60)
                break
            except (OSError, ConnectionError, TimeoutError):
                await asyncio.sleep(0.5 * (attempt + 1))
        else:
            stats.errors["connect_failed"] = stats.errors.get("connect_failed", 0) + 1
            return
        welcome = json.loads(await driver.ws.recv() or "{}")
        driver.vehicle_id = welcome.get("user", {}).get("vehicleId") or 0
    stats.spawn(driver_reader(driver, stats))


async def drive(drivers: list[Driver], rate: float, duration: float, stats: Stats) -> None:
    period = 1.0 / rate
    n = len(drivers)
    start = time.monotonic()
    next_due = [start + period * i / n for i in range(n)]
    pointer = 0
    end = start + duration
    while True:
        now = time.monotonic()
        if now >= end:
            return
        wall_ms = time.time() * 1000
        sent = 0
        while next_due[pointer] <= now and sent < n:
            driver = drivers[pointer]
            if driver.ws is not None and driver.ws.close_code is None:
                driver.seq += 1
                driver.lat += random.uniform(-0.0002, 0.0002)
                driver.lon += random.uniform(-0.0002, 0.0002)
                driver.ws.send_text_nowait(
                    f'{{"type":"vehicle_location_update","seq":{driver.seq},'
                    f'"recordedAt":{wall_ms:.1f},"lat":{driver.lat:.6f},"lon":{driver.lon:.6f},'
                    f'"speed":11.5,"heading":{driver.index % 360}}}'
                )
                stats.sent += 1
            next_due[pointer] += period
            pointer = (pointer + 1) % n
            sent += 1
        await asyncio.sleep(0.005)


def percentile(values: list[float], q: float) -> float | None:
    if not values:
        return None
    ordered = sorted(values)
    return round(ordered[min(len(ordered) - 1, int(q * len(ordered)))], 1)


async def bench(
    args, url: str, driver_tokens: list[str], dashboard_tokens: list[str], server_pids
) -> dict:
    stats = Stats()
    dashboards_ready = [asyncio.Event() for _ in dashboard_tokens]
    for token, ready in zip(dashboard_tokens, dashboards_ready, strict=True):
        stats.spawn(run_dashboard(url, token, stats, ready))
    for ready in dashboards_ready:
        await asyncio.wait_for(ready.wait(), 60)
    drivers = [Driver(i, token) for i, token in enumerate(driver_tokens)]
    t0 = time.monotonic()
    gate = asyncio.Semaphore(args.connect_concurrency)
    await asyncio.gather(*(connect_driver(url, d, stats, gate) for d in drivers))
    connected = sum(1 for d in drivers if d.ws is not None)
    connect_s = time.monotonic() - t0
    print(f"connected {connected}/{len(drivers)} drivers in {connect_s:.1f} s", flush=True)
    # Warm-up, then measure.
    await drive(drivers, args.rate, min(5.0, args.duration / 4), stats)
    stats.latencies.clear()
    sent0, acked0 = stats.sent, stats.acked
    pids = server_pids()
    _, _, server_cpu0 = proc_figures(pids)
    server_wait0 = cpu_wait_s(pids)
    load0 = os.getloadavg()[0]
    own0 = resource.getrusage(resource.RUSAGE_SELF)
    t_measure = time.monotonic()
    stats.measuring = True
    await drive(drivers, args.rate, args.duration, stats)
    stats.measuring = False
    measured_s = time.monotonic() - t_measure
    rss, threads, server_cpu1 = proc_figures(server_pids())
    server_wait1 = cpu_wait_s(server_pids())
    own1 = resource.getrusage(resource.RUSAGE_SELF)
    acked_in_window = stats.acked - acked0
    sent_in_window = stats.sent - sent0
    # Let the last acknowledgments arrive.
    deadline = time.monotonic() + 15
    while stats.acked < stats.sent and time.monotonic() < deadline:
        await asyncio.sleep(0.2)
    for d in drivers:
        if d.ws is not None:
            await d.ws.close()
    return {
        "connected": connected,
        "connect_s": round(connect_s, 1),
        "measured_s": round(measured_s, 1),
        "sent_in_window": sent_in_window,
        "accepted_per_s": round(acked_in_window / measured_s, 1),
        "p50_ms": percentile(stats.latencies, 0.5),
        "p99_ms": percentile(stats.latencies, 0.99),
        "max_ms": percentile(stats.latencies, 1.0),
        "latency_samples": len(stats.latencies),
        "dashboard_frames": stats.dashboard_frames,
        "sent": stats.sent,
        "acked": stats.acked,
        "errors": stats.errors,
        "closed_codes": stats.closed,
        "server_rss_mb": round(rss, 1),
        "server_threads": threads,
        "server_cpu_s_per_s": round((server_cpu1 - server_cpu0) / measured_s, 2),
        "server_cpu_wait_s_per_s": round((server_wait1 - server_wait0) / measured_s, 2),
        "loadavg_1m": [round(load0, 2), round(os.getloadavg()[0], 2)],
        "loadgen_cpu_s_per_s": round(
            (own1.ru_utime + own1.ru_stime - own0.ru_utime - own0.ru_stime) / measured_s, 2
        ),
        "_acked_keys": stats.acked_keys,
        "_drivers": drivers,
    }


def count_persisted(database_url: str, drivers: list[Driver], acked_keys: dict[int, set[int]]):
    """Positions stored for the bench's vehicles, and acknowledged ones that are missing."""
    engine = create_engine(database_url)
    ours = {d.vehicle_id for d in drivers}
    stored: dict[int, set[int]] = {}
    with engine.connect() as conn:
        for vehicle_id, seq in conn.execute(text("SELECT vehicle_id, seq FROM position")):
            if vehicle_id in ours:
                stored.setdefault(vehicle_id, set()).add(seq)
    engine.dispose()
    missing = 0
    for driver in drivers:
        missing += len(acked_keys.get(driver.index, set()) - stored.get(driver.vehicle_id, set()))
    return sum(len(seqs) for seqs in stored.values()), missing


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawTextHelpFormatter
    )
    parser.add_argument("--drivers", type=int, default=100)
    parser.add_argument("--dashboards", type=int, default=5)
    parser.add_argument("--rate", type=float, default=1.0, help="positions per second per driver")
    parser.add_argument("--duration", type=float, default=30.0, help="measured seconds (<= 60)")
    parser.add_argument("--workers", type=int, default=1)
    parser.add_argument("--depots", type=int, default=10)
    parser.add_argument(
        "--worker-class",
        default="gevent",
        choices=["gevent", "gthread"],
        help="gthread: one thread per connection, for comparison",
    )
    parser.add_argument("--redis", action="store_true", help="use the Redis bus (127.0.0.1:6379)")
    parser.add_argument("--redis-url", default="redis://127.0.0.1:6379/0")
    parser.add_argument("--postgres", action="store_true", help="a temporary PostgreSQL database")
    parser.add_argument(
        "--postgres-admin", default="postgresql+psycopg://postgres@127.0.0.1:5432/test"
    )
    parser.add_argument("--database-url")
    parser.add_argument(
        "--url",
        help="target a running server instead; --data-dir or --database-url must name its "
        "database (the bench adds its drivers there)",
    )
    parser.add_argument("--server-pid", type=int, help="with --url: the server to measure")
    parser.add_argument("--data-dir")
    parser.add_argument("--connect-concurrency", type=int, default=200)
    args = parser.parse_args()
    args.duration = min(args.duration, 60.0)
    if args.workers > 1 and not (args.redis or args.url):
        print("note: several workers without --redis do not share the bus", flush=True)
    hard = raise_fd_limit()
    if args.drivers + args.dashboards + 100 > hard:
        raise SystemExit(f"ulimit -n is {hard}: too low for {args.drivers} drivers")

    from backend.config import load_settings

    data_dir = args.data_dir or tempfile.mkdtemp(prefix="fleet-bench-")
    database_url = args.database_url
    pg_name = None
    if args.postgres and not database_url:
        pg_name = f"fleet_bench_{uuid.uuid4().hex[:8]}"
        admin = create_engine(args.postgres_admin, isolation_level="AUTOCOMMIT")
        with admin.connect() as conn:
            conn.execute(text(f'CREATE DATABASE "{pg_name}"'))
        admin.dispose()
        database_url = args.postgres_admin.rsplit("/", 1)[0] + f"/{pg_name}"
    settings = load_settings(DATA_DIR=data_dir, DEMO=False, DATABASE_URL=database_url)
    proc = None
    try:
        t0 = time.monotonic()
        driver_tokens, dashboard_tokens = seed(settings, args.drivers, args.dashboards, args.depots)
        print(f"seeded {args.drivers} drivers in {time.monotonic() - t0:.1f} s", flush=True)
        env = dict(
            os.environ,
            DATA_DIR=data_dir,
            DEMO="false",
            LOG_LEVEL="WARNING",
            APP_ENV="production",
            SECRET_KEY="bench-" + uuid.uuid4().hex,
        )
        if database_url:
            env["DATABASE_URL"] = database_url
        if args.redis:
            env["REDIS_URL"] = args.redis_url
        else:
            env.pop("REDIS_URL", None)
        if args.url:
            # A server started elsewhere on this database: figures of --server-pid, if given.
            url = args.url
            pid = args.server_pid
        else:
            port = free_port()
            proc = start_server(args, env, port)
            url, pid = f"ws://127.0.0.1:{port}/ws", proc.pid
        result = asyncio.run(
            bench(
                args,
                url,
                driver_tokens,
                dashboard_tokens,
                lambda: process_tree(pid) if pid else [],
            )
        )
        acked_keys = result.pop("_acked_keys")
        drivers = result.pop("_drivers")
        time.sleep(1.0)
        persisted, missing = count_persisted(settings.sqlalchemy_url, drivers, acked_keys)
        summary = {
            "drivers": args.drivers,
            "dashboards": args.dashboards,
            "rate_hz": args.rate,
            "workers": args.workers,
            "worker_class": args.worker_class,
            "bus": "redis" if args.redis else "in-process",
            "database": "postgresql" if database_url else "sqlite",
            **result,
            "persisted": persisted,
            "acked_not_persisted": missing,
        }
        for key, value in summary.items():
            print(f"  {key:22} {value}")
        print(json.dumps(summary), flush=True)
    finally:
        if proc is not None:
            proc.send_signal(signal.SIGTERM)
            try:
                proc.wait(30)
            except subprocess.TimeoutExpired:
                proc.kill()
        if pg_name:
            admin = create_engine(args.postgres_admin, isolation_level="AUTOCOMMIT")
            with admin.connect() as conn:
                conn.execute(text(f'DROP DATABASE IF EXISTS "{pg_name}" WITH (FORCE)'))
            admin.dispose()


if __name__ == "__main__":
    main()
