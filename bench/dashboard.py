"""Dispatch dashboard benchmark: 500 vehicles, 5,000 stops, live positions, headless Chromium.

    python bench/dashboard.py [--vehicles 500] [--stops 5000] [--live 15] [--no-baseline]

Seeds a fleet into a temporary SQLite database (depots, vehicles with drivers, today's routes
part driven, stops, vehicle states), starts the app on a free 127.0.0.1 port in this process,
opens Dispatch in headless Chromium as a dispatcher of every depot, and measures:

* `interactive_s`: navigation to the vehicle list and the map layers drawn, every callback
  answered;
* per callback: server time and query count (SQLAlchemy cursor executions), their sums;
* with `--vehicles` simulated vehicles at 1 position/s through the real socket (admin service
  sockets, each under the per-connection rate limit): main-thread busy ms per second (CDP
  Performance.getMetrics TaskDuration), frames per second (requestAnimationFrame), p50/p99
  latency from a fix's `recordedAt` to its marker moved (window.fleetMap.stats()).

The same database is then served by the commit before this work (`--baseline-ref`, default
the first parent of the first commit that added this file, run from a `git worktree`) and
measured the same way, and the ratios are printed. Bounded (each phase has a deadline),
loopback only. The last line is one JSON object. Not a timed test.
"""

from __future__ import annotations

import argparse
import asyncio
import gc
import json
import math
import os
import random
import shutil
import subprocess
import sys
import tempfile
import threading
import time
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
PASSWORD = "bench-pass-123"
DISPATCHER = "bench-dispatcher"
CENTER = (41.88, -87.65)
# The baseline: the Dispatch page as it was before the live-day work.
DEFAULT_BASELINE_REF = "d8421ca"
# Messages a second one socket may send (WS rate limit 20/s), with headroom.
PER_SOCKET_RATE = 16


# ----------------------------------------------------------------------------- seeding


def seed_day(
    session: Any,
    *,
    depots: int,
    vehicles: int,
    stops: int,
    now: datetime,
    today: date,
    seed: int = 7,
    prefix: str = "B",
    dispatchers: dict[str, list[int]] | None = None,
) -> dict[str, Any]:
    """Seed `depots` depots with `vehicles` vehicles and `stops` stops of today's routes.

    Routes started three hours before `now`, 20 minutes a stop; stops already due are
    served (a few failed), some late; each vehicle's state is a fresh fix between its last
    stop served and its next. `dispatchers` maps username -> depot indexes (created with
    PASSWORD). Returns ids for the caller: depot ids, vehicle ids by depot, route ids.
    """
    from backend.auth.users import create_user
    from backend.db.models import Depot, Order, Route, RouteStop, User, Vehicle, VehicleState

    rng = random.Random(seed)
    depot_rows = []
    for d in range(depots):
        angle = 2 * math.pi * d / max(1, depots)
        depot_rows.append(
            Depot(
                name=f"{prefix} Depot {d + 1}",
                address=f"{100 + d} Depot Rd",
                lat=CENTER[0] + 0.12 * math.sin(angle),
                lon=CENTER[1] + 0.12 * math.cos(angle),
                timezone="America/Chicago",
            )
        )
    session.add_all(depot_rows)
    session.flush()
    per_vehicle = max(1, stops // max(1, vehicles))
    start = now - timedelta(hours=3)
    vehicle_ids: dict[int, list[int]] = {d.id: [] for d in depot_rows}
    route_ids: list[int] = []
    serial = 0
    for v in range(vehicles):
        depot = depot_rows[v % depots]
        vehicle = Vehicle(
            name=f"{prefix}-VAN-{v + 1:03d}",
            vehicle_type="cargo_van",
            plate=f"IL {prefix}{v:04d}",
            depot_id=depot.id,
            start_depot_id=depot.id,
            end_depot_id=depot.id,
            capacity={"kg": 1400.0, "m3": 11.0},
            fuel_l_per_km=0.11,
            cost_per_km=0.6,
            cost_per_hour=28.0,
            shift_start=datetime.min.time(),
            shift_end=datetime.max.time().replace(microsecond=0),
        )
        session.add(vehicle)
        session.flush()
        vehicle_ids[depot.id].append(vehicle.id)
        driver = User(
            username=f"{prefix.lower()}-driver-{v + 1:03d}",
            display_name=f"Driver {prefix}{v + 1}",
            role="driver",
            password_hash="!",
            vehicle_id=vehicle.id,
            phone=f"+1 312 555 {v:04d}",
        )
        session.add(driver)
        session.flush()
        delay = timedelta(minutes=rng.choice([0, 0, 2, 6, 12, 25]))
        route = Route(
            vehicle_id=vehicle.id,
            driver_id=driver.id,
            depot_id=depot.id,
            service_date=today,
            status="active",
            planned_start_at=start,
            planned_end_at=start + timedelta(minutes=20 * (per_vehicle + 1)),
            actual_start_at=start + delay,
            planned_distance_km=3.0 * (per_vehicle + 1),
            planned_duration_min=20.0 * (per_vehicle + 1),
            geometry=[],
        )
        heading = rng.uniform(0, 2 * math.pi)
        points = [(depot.lat, depot.lon)]
        last_done: tuple[float, float] | None = None
        next_stop: tuple[float, float] | None = None
        for i in range(per_vehicle):
            serial += 1
            heading += rng.uniform(-0.7, 0.7)
            lat = points[-1][0] + 0.008 * math.sin(heading)
            lon = points[-1][1] + 0.011 * math.cos(heading)
            points.append((lat, lon))
            arrival = start + timedelta(minutes=20 * (i + 1))
            window = timedelta(minutes=45 if i % 7 else 10)
            actual = arrival + delay
            done = actual + timedelta(minutes=5) < now
            failed = done and serial % 23 == 0
            order = Order(
                reference=f"{prefix}-ORD-{serial:05d}",
                depot_id=depot.id,
                service_date=today,
                customer_name=f"Customer {prefix}{serial}",
                address=f"{serial} W Bench St",
                lat=lat,
                lon=lon,
                demand={"kg": float(10 + serial % 40)},
                service_minutes=5.0,
                time_windows=[],
                window_start=arrival - window,
                window_end=arrival + window,
                priority=5,
                status=("failed" if failed else "delivered") if done else "dispatched",
                vehicle_id=vehicle.id,
            )
            session.add(order)
            session.flush()
            route.stops.append(
                RouteStop(
                    order_id=order.id,
                    sequence=i + 1,
                    kind="delivery",
                    lat=lat,
                    lon=lon,
                    planned_arrival_at=arrival,
                    planned_departure_at=arrival + timedelta(minutes=5),
                    actual_arrival_at=actual if done else None,
                    actual_departure_at=actual + timedelta(minutes=5) if done else None,
                    status=("failed" if failed else "done") if done else "pending",
                )
            )
            if done:
                last_done = (lat, lon)
            elif next_stop is None:
                next_stop = (lat, lon)
        points.append((depot.lat, depot.lon))
        route.geometry = [[lat, lon] for lat, lon in points]
        session.add(route)
        session.flush()
        route_ids.append(route.id)
        here = last_done or (depot.lat, depot.lon)
        there = next_stop or (depot.lat, depot.lon)
        share = rng.uniform(0.2, 0.8)
        session.add(
            VehicleState(
                vehicle_id=vehicle.id,
                seq=1,
                recorded_at=now - timedelta(seconds=rng.uniform(2, 40)),
                lat=here[0] + (there[0] - here[0]) * share,
                lon=here[1] + (there[1] - here[1]) * share,
                speed=8.0,
                heading=math.degrees(math.atan2(there[1] - here[1], there[0] - here[0])) % 360,
                status="driving",
            )
        )
    for username, indexes in (dispatchers or {}).items():
        create_user(
            session,
            username=username,
            password=PASSWORD,
            role="dispatcher",
            display_name=username,
            depot_ids=[depot_rows[i].id for i in indexes],
        )
    session.flush()
    return {
        "depot_ids": [d.id for d in depot_rows],
        "vehicle_ids": vehicle_ids,
        "route_ids": route_ids,
        "depots": {d.id: (d.lat, d.lon) for d in depot_rows},
    }


# ----------------------------------------------------------------------------- servers


class QueryCounter:
    """Counts SQL statements and server time per Dash callback request."""

    def __init__(self, server: Any, engine: Any) -> None:
        from flask import g, request
        from sqlalchemy import event

        self.calls: list[dict[str, Any]] = []
        local = threading.local()

        @event.listens_for(engine, "before_cursor_execute")
        def _count(*_args: Any) -> None:
            if getattr(local, "active", False):
                local.queries += 1

        @server.before_request
        def _start() -> None:
            if request.path.endswith("_dash-update-component"):
                local.active, local.queries = True, 0
                g.bench_started = time.perf_counter()
                body = request.get_json(silent=True) or {}
                g.bench_output = str(body.get("output", ""))[:80]

        @server.after_request
        def _stop(response: Any) -> Any:
            if getattr(local, "active", False):
                local.active = False
                self.calls.append(
                    {
                        "output": g.bench_output,
                        "ms": round((time.perf_counter() - g.bench_started) * 1000, 1),
                        "queries": local.queries,
                    }
                )
            return response


def start_current(data_dir: Path) -> tuple[str, Any, QueryCounter]:
    """The app of this tree on a free loopback port, in a thread of this process."""
    from werkzeug.serving import make_server

    import app as app_module
    from backend.config import load_settings
    from backend.runtime import EXTENSION_KEY

    settings = load_settings(DATA_DIR=data_dir, DEMO=False)
    dash_app = app_module.create_app(settings)
    # As app.py does for the app it serves: what start-up built is frozen out of the collector.
    gc.freeze()
    counter = QueryCounter(dash_app.server, dash_app.server.extensions[EXTENSION_KEY].db.engine)
    server = make_server("127.0.0.1", 0, dash_app.server, threaded=True)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    return f"http://127.0.0.1:{server.server_port}", server, counter


BASELINE_LAUNCHER = """
import os, sys
sys.path.insert(0, os.getcwd())
os.environ.update(DEMO="false")
from werkzeug.serving import make_server
import app as app_module
from backend.config import load_settings
dash_app = app_module.create_app(load_settings(DATA_DIR=sys.argv[1], DEMO=False))
server = make_server("127.0.0.1", 0, dash_app.server, threaded=True)
print(server.server_port, flush=True)
server.serve_forever()
"""


def start_baseline(ref: str, data_dir: Path) -> tuple[str, subprocess.Popen[str], Path] | None:
    """The app at `ref` (a git worktree) serving the same database, in a subprocess."""
    worktree = Path(tempfile.mkdtemp(prefix="fleet-baseline-"))
    made = subprocess.run(
        ["git", "worktree", "add", "--detach", str(worktree), ref],
        cwd=ROOT,
        capture_output=True,
        text=True,
    )
    if made.returncode != 0:
        print(f"baseline: git worktree failed: {made.stderr.strip()}")
        return None
    env = {**os.environ, "DATA_DIR": str(data_dir), "DEMO": "false", "PYTHONPATH": str(worktree)}
    proc = subprocess.Popen(
        [sys.executable, "-c", BASELINE_LAUNCHER, str(data_dir)],
        cwd=worktree,
        env=env,
        stdout=subprocess.PIPE,
        text=True,
    )
    assert proc.stdout is not None
    line = proc.stdout.readline().strip()
    if not line.isdigit():
        proc.kill()
        print("baseline: the old app did not start")
        return None
    # Its request log goes on to stdout: left unread, the pipe fills and the old app blocks.
    threading.Thread(target=proc.stdout.read, daemon=True).start()
    return f"http://127.0.0.1:{line}", proc, worktree


def stop_baseline(proc: subprocess.Popen[str], worktree: Path) -> None:
    """Stop the baseline app and remove its worktree."""
    proc.terminate()
    try:
        proc.wait(timeout=10)
    except subprocess.TimeoutExpired:
        proc.kill()
    subprocess.run(["git", "worktree", "remove", "--force", str(worktree)], cwd=ROOT, check=False)


# ----------------------------------------------------------------------------- live load


async def stream_positions(
    ws_url: str,
    tokens: list[str],
    vehicles: dict[int, tuple[float, float]],
    duration: float,
    stop: threading.Event,
) -> int:
    """Every vehicle one fix a second for `duration` s, spread over admin service sockets."""
    from backend.sim.driver_socket import WebSocketClient

    ids = sorted(vehicles)
    groups = [ids[i :: len(tokens)] for i in range(len(tokens))]
    sent = 0

    async def run(token: str, group: list[int]) -> None:
        nonlocal sent
        client = await WebSocketClient.connect(ws_url, headers={"Authorization": f"Bearer {token}"})

        async def drain() -> None:
            while await client.recv() is not None:
                pass

        reader = asyncio.create_task(drain())
        seq = {vid: 10 for vid in group}
        pos = {vid: list(vehicles[vid]) for vid in group}
        heading = {vid: random.uniform(0, 360) for vid in group}
        started = time.monotonic()
        gap = 1.0 / max(1, len(group))
        while time.monotonic() - started < duration and not stop.is_set():
            tick = time.monotonic()
            for vid in group:
                heading[vid] = (heading[vid] + random.uniform(-15, 15)) % 360
                rad = math.radians(heading[vid])
                pos[vid][0] += 0.00007 * math.cos(rad)
                pos[vid][1] += 0.0001 * math.sin(rad)
                seq[vid] += 1
                fix = {
                    "type": "vehicle_location_update",
                    "vehicleId": vid,
                    "seq": seq[vid],
                    "recordedAt": datetime.now(UTC).isoformat(timespec="milliseconds"),
                    "lat": pos[vid][0],
                    "lon": pos[vid][1],
                    "speed": 9.0,
                    "heading": heading[vid],
                }
                client.send_text_nowait(json.dumps(fix))
                sent += 1
                await asyncio.sleep(gap)
            await asyncio.sleep(max(0.0, 1.0 - (time.monotonic() - tick)))
        await client.close()
        reader.cancel()

    await asyncio.gather(*(run(t, g) for t, g in zip(tokens, groups, strict=True) if g))
    return sent


# ----------------------------------------------------------------------------- browser


def _percentile(values: list[float], q: float) -> float | None:
    if not values:
        return None
    ordered = sorted(values)
    return round(ordered[min(len(ordered) - 1, int(q * len(ordered)))], 1)


def measure_page(
    browser: Any,
    url: str,
    ready_js: str,
    *,
    live: float,
    stream: Any,
    shots: Path | None = None,
    counter: QueryCounter | None = None,
) -> dict[str, Any]:
    """Open Dispatch, time it to interactive, then measure the live phase."""
    context = browser.new_context(viewport={"width": 1440, "height": 900}, bypass_csp=True)
    page = context.new_page()
    page.set_default_timeout(120_000)
    errors: list[str] = []
    page.on("console", lambda m: errors.append(m.text) if m.type == "error" else None)
    page.on("pageerror", lambda exc: errors.append(str(exc)))
    page.goto(f"{url}/login")
    page.fill("#login-username", DISPATCHER)
    page.fill("#login-password", PASSWORD)
    page.click("#login-submit")
    page.wait_for_load_state("networkidle")
    # Timed from here: a fresh load of Dispatch by a logged-in dispatcher.
    page.goto(f"{url}/orders")
    page.wait_for_load_state("networkidle")
    pending = {"n": 0, "last": time.perf_counter()}

    sent: dict[Any, float] = {}
    waterfall: list[tuple[float, float, str]] = []

    def on_request(r: Any) -> None:
        if "_dash-update-component" in r.url:
            pending["n"] += 1
            pending["last"] = sent[r] = time.perf_counter()

    def on_done(r: Any) -> None:
        if "_dash-update-component" in r.url:
            pending["n"] -= 1
            pending["last"] = time.perf_counter()
            try:
                output = str(json.loads(r.post_data or "{}").get("output", ""))[:60]
            except ValueError:
                output = "?"
            waterfall.append((sent.get(r, 0.0), pending["last"], output))

    page.on("request", on_request)
    page.on("requestfinished", on_done)
    page.on("requestfailed", on_done)
    if counter is not None:
        counter.calls.clear()
    started = time.perf_counter()
    page.goto(url + "/")
    page.wait_for_function(ready_js, polling=50)
    interactive = time.perf_counter() - started
    # Settled: no callback in flight for 300 ms (the timeline below the map included).
    while pending["n"] > 0 or time.perf_counter() - pending["last"] < 0.3:
        page.wait_for_timeout(50)
        if time.perf_counter() - started > 120:
            break
    settled = (pending["last"] if pending["n"] == 0 else time.perf_counter()) - started
    calls = list(counter.calls) if counter is not None else []
    print(f"  {url}: interactive {interactive:.2f} s; callbacks (sent → answered, s from start):")
    for began, ended, output in sorted(waterfall):
        if began - started < 30:
            print(f"    {began - started:6.2f} → {ended - started:6.2f}  {output}")
    cdp = context.new_cdp_session(page)
    cdp.send("Performance.enable")
    page.wait_for_timeout(2000)  # sockets connect, the snapshot lands
    i0 = {m["name"]: m["value"] for m in cdp.send("Performance.getMetrics")["metrics"]}
    page.wait_for_timeout(3000)
    i1 = {m["name"]: m["value"] for m in cdp.send("Performance.getMetrics")["metrics"]}
    idle_ms = round((i1["TaskDuration"] - i0["TaskDuration"]) * 1000 / 3.0, 1)
    done = threading.Event()
    thread = threading.Thread(target=stream, args=(done,), daemon=True)
    thread.start()
    page.wait_for_timeout(3000)  # warm up
    m0 = {m["name"]: m["value"] for m in cdp.send("Performance.getMetrics")["metrics"]}
    t0 = time.perf_counter()
    page.evaluate(
        "() => window.fleetMap && window.fleetMap.resetStats && window.fleetMap.resetStats()"
    )
    page.wait_for_timeout(int(live * 1000))
    m1 = {m["name"]: m["value"] for m in cdp.send("Performance.getMetrics")["metrics"]}
    elapsed = time.perf_counter() - t0
    # Frames are counted apart: a requestAnimationFrame loop makes the page draw every frame,
    # which the main-thread figure above must not include.
    page.evaluate(
        "() => { window.__frames = 0; const f = () => { window.__frames++;"
        " requestAnimationFrame(f); }; requestAnimationFrame(f); }"
    )
    tf = time.perf_counter()
    page.wait_for_timeout(3000)
    fps = page.evaluate("() => window.__frames") / (time.perf_counter() - tf)
    stats = page.evaluate(
        "() => (window.fleetMap && window.fleetMap.stats) ? window.fleetMap.stats() : null"
    )
    done.set()
    thread.join(timeout=15)
    if shots:
        page.screenshot(path=str(shots))
    context.close()
    for error in errors[:5]:
        print(f"browser error: {error}")
    latencies = (stats or {}).get("latencies") or []
    return {
        "interactive_s": round(interactive, 3),
        "settled_s": round(max(interactive, settled), 3),
        "idle_main_thread_ms_per_s": idle_ms,
        "main_thread_ms_per_s": round(
            (m1["TaskDuration"] - m0["TaskDuration"]) * 1000 / elapsed, 1
        ),
        "script_ms_per_s": round((m1["ScriptDuration"] - m0["ScriptDuration"]) * 1000 / elapsed, 1),
        "fps": round(fps, 1),
        "marker_p50_ms": _percentile(latencies, 0.5),
        "marker_p99_ms": _percentile(latencies, 0.99),
        "fixes_applied": (stats or {}).get("fixes"),
        "calls": calls,
    }


KEYS = (
    "interactive_s",
    "settled_s",
    "idle_main_thread_ms_per_s",
    "main_thread_ms_per_s",
    "fps",
    "marker_p50_ms",
    "marker_p99_ms",
)
NEW_READY = (
    "() => document.querySelectorAll('#dispatch-vehicle-list .vehicle-row').length > 0"
    " && document.querySelector('.stop-marker, .stop-cluster')"
    " && document.querySelector('.vehicle-marker, .vehicle-cluster')"
)
OLD_READY = (
    "() => document.querySelectorAll('#dispatch-vehicle-list .vehicle-row').length > 0"
    " && document.querySelector('path.order-marker')"
)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--vehicles", type=int, default=500)
    parser.add_argument("--stops", type=int, default=5000)
    parser.add_argument("--depots", type=int, default=5)
    parser.add_argument("--live", type=float, default=15.0, help="seconds of live measurement")
    parser.add_argument("--baseline-ref", default=DEFAULT_BASELINE_REF)
    parser.add_argument("--no-baseline", action="store_true")
    parser.add_argument("--screenshot", type=Path, help="save the page after the live phase")
    args = parser.parse_args()
    if not Path(CHROMIUM).exists():
        print(f"{CHROMIUM} is missing (apt-get install chromium)")
        return 2
    args.live = min(max(args.live, 3.0), 60.0)

    from playwright.sync_api import sync_playwright
    from sqlalchemy import select

    from backend.auth.tokens import issue_token
    from backend.auth.users import create_user
    from backend.config import load_settings
    from backend.db.engine import Database
    from backend.db.migrate import upgrade
    from backend.db.models import User, VehicleState

    data_dir = Path(tempfile.mkdtemp(prefix="fleet-bench-dash-"))
    os.environ.update(DATA_DIR=str(data_dir), DEMO="false")
    database = Database(load_settings(DATA_DIR=data_dir, DEMO=False))
    upgrade(database.engine)
    now = datetime.now(UTC)
    t = time.perf_counter()
    with database.session() as session:
        today = now.astimezone(ZoneInfo("America/Chicago")).date()
        seed_day(
            session,
            depots=args.depots,
            vehicles=args.vehicles,
            stops=args.stops,
            now=now,
            today=today,
            dispatchers={DISPATCHER: list(range(args.depots))},
        )
    with database.session() as session:
        admin = create_user(session, username="bench-feeder", password=PASSWORD, role="admin")
        sockets = max(1, math.ceil(args.vehicles / PER_SOCKET_RATE))
        tokens = [issue_token(session, user=admin, name=f"feeder-{i}") for i in range(sockets)]
        positions = {
            vid: (lat, lon)
            for vid, lat, lon in session.execute(
                select(VehicleState.vehicle_id, VehicleState.lat, VehicleState.lon)
            )
        }
        drivers = session.scalar(select(User.id).where(User.role == "driver").limit(1))
    database.engine.dispose()
    print(
        f"seeded {args.vehicles} vehicles, {args.stops} stops in {args.depots} depots "
        f"({time.perf_counter() - t:.1f} s); {sockets} feeder sockets; driver sample {drivers}"
    )

    def streamer(base_url: str):  # noqa: ANN202 - a thread target factory
        ws_url = base_url.replace("http://", "ws://") + "/ws"

        def run(done: threading.Event) -> None:
            try:
                asyncio.run(stream_positions(ws_url, tokens, positions, args.live + 10, done))
            except Exception as exc:  # the measurement reports what arrived
                print(f"feeder stopped: {exc!r}")

        return run

    result: dict[str, Any] = {"vehicles": args.vehicles, "stops": args.stops}
    # Two shared cores: the load average tells a quiet run from a busy one.
    result["load_average_1m"] = round(os.getloadavg()[0], 2)
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        try:
            url, server, counter = start_current(data_dir)
            current = measure_page(
                browser,
                url,
                NEW_READY,
                live=args.live,
                stream=streamer(url),
                shots=args.screenshot,
                counter=counter,
            )
            first_load = current.pop("calls")
            server.shutdown()
            result.update(current)
            result["callback_queries"] = sum(c["queries"] for c in first_load)
            result["callback_server_ms"] = round(sum(c["ms"] for c in first_load), 1)
            result["callbacks"] = first_load
            print("\ncallbacks of the first load (server ms, queries):")
            for c in first_load:
                print(f"  {c['ms']:>8.1f} ms {c['queries']:>3} q  {c['output']}")
            baseline: dict[str, Any] = {}
            if not args.no_baseline:
                started = start_baseline(args.baseline_ref, data_dir)
                if started is not None:
                    base_url, proc, worktree = started
                    try:
                        baseline = measure_page(
                            browser, base_url, OLD_READY, live=args.live, stream=streamer(base_url)
                        )
                        baseline.pop("calls", None)
                    finally:
                        stop_baseline(proc, worktree)
        finally:
            browser.close()
    for key in KEYS:
        result[f"baseline_{key}"] = baseline.get(key)
    if baseline.get("interactive_s"):
        result["interactive_ratio"] = round(result["interactive_s"] / baseline["interactive_s"], 2)
    if baseline.get("main_thread_ms_per_s"):
        result["main_thread_ratio"] = round(
            result["main_thread_ms_per_s"] / baseline["main_thread_ms_per_s"], 2
        )
    shutil.rmtree(data_dir, ignore_errors=True)
    print()
    print(f"{'':24}{'now':>12}{'baseline':>12}")
    for key in KEYS:
        print(f"{key:24}{result.get(key)!s:>12}{result.get('baseline_' + key)!s:>12}")
    print(f"callback queries (first load): {result['callback_queries']}")
    result.pop("callbacks", None)
    print(json.dumps(result))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
