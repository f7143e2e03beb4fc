"""Analytics benchmark: a year of fleet history, the aggregates, every analytics callback timed.

    python bench/analytics.py --postgres [--vehicles 50] [--days 365] [--stops 27]
        [--fix-interval-s 60] [--runs 20] [--retention-vehicles 3] [--no-browser]

Creates a PostgreSQL database of its own (dropped at the end), generates the history
server-side in a few INSERT ... SELECT generate_series statements (orders, routes, stops,
events, optimization records and GPS fixes; far faster than COPY from Python, nothing crosses
the wire), refreshes the aggregates and times:
- every analytics callback (warm, `--runs` runs each) over the last week, quarter and the year;
- the same overview KPIs straight from the raw tables (the baseline the aggregates replace);
- the overview's time to interactive in headless Chromium (KPI cards and 8 charts drawn);
- the aggregate refresh, and the retention job's throughput and longest lock (on a few
  vehicles, so the run stays short on a shared machine);
and prints the EXPLAIN (ANALYZE, BUFFERS) of the slowest query. The last line is one JSON
object. Not a timed test.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import tempfile
import threading
import time
import uuid
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
os.environ.setdefault("DATA_DIR", tempfile.mkdtemp(prefix="fleet-bench-"))
os.environ.setdefault("DEMO", "false")

from sqlalchemy import create_engine, event, select, text  # noqa: E402

PG_ADMIN_URL = os.environ.get(
    "TEST_POSTGRES_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/test"
)
PASSWORD = "bench-pass-1"
REASONS = "ARRAY['customer_not_home','access_problem','wrong_address','refused_damaged']"


def _generate(engine: Any, *, vehicles: int, days: int, stops: int, interval_s: int,
              first_day: date) -> dict[str, int]:  # fmt: skip
    """Fill the fleet's history with set-based SQL; returns row counts."""
    depots = 5
    statements = [
        f"""INSERT INTO depot (id, name, address, lat, lon, timezone, active, created_at)
        SELECT d, 'Depot ' || d, '', 41.8 + d * 0.02, -87.7 + d * 0.02, 'UTC', true, now()
        FROM generate_series(1, {depots}) d""",
        f"""INSERT INTO vehicle (id, name, vehicle_type, plate, depot_id, start_depot_id,
            end_depot_id, capacity, fuel_l_per_km, co2_kg_per_l, cost_per_km, cost_per_hour,
            fixed_cost, shift_start, shift_end, skills, active, created_at, updated_at)
        SELECT v, 'VAN-' || lpad(v::text, 3, '0'), 'van', '', (v - 1) % {depots} + 1,
            (v - 1) % {depots} + 1, (v - 1) % {depots} + 1, '{{"kg": 1200}}'::jsonb,
            0.11 + (v % 5) * 0.01, 2.68, 0.45, 28, 40, '08:00', '18:00', '[]'::jsonb, true,
            now(), now()
        FROM generate_series(1, {vehicles}) v""",
        f"""INSERT INTO app_user (id, username, display_name, role, password_hash, vehicle_id,
            phone, active, created_at)
        SELECT v, 'driver-' || v, 'Driver ' || v, 'driver', 'x', v, '', true, now()
        FROM generate_series(1, {vehicles}) v""",
        f"""INSERT INTO route (id, vehicle_id, driver_id, depot_id, service_date, status,
            planned_start_at, planned_end_at, actual_start_at, actual_end_at,
            planned_distance_km, actual_distance_km, planned_duration_min, geometry, created_at)
        SELECT d * {vehicles} + v, v, v, (v - 1) % {depots} + 1, DATE '{first_day}' + d,
            'completed', t, t + interval '8 hours', t + random() * interval '10 minutes',
            t + interval '8 hours' + random() * interval '60 minutes', km,
            km * (0.95 + random() * 0.1), 480, '[]'::jsonb, t
        FROM generate_series(0, {days - 1}) d, generate_series(1, {vehicles}) v,
            LATERAL (SELECT (DATE '{first_day}' + d)::timestamp AT TIME ZONE 'UTC'
                            + interval '8 hours' AS t, 60 + random() * 60 AS km) x""",
        f"""INSERT INTO delivery_order (id, reference, depot_id, service_date, customer_name,
            address, lat, lon, demand, service_minutes, time_windows, window_start, window_end,
            priority, required_skills, status, vehicle_id, notes, failure_reason, created_at,
            updated_at)
        SELECT (r.id - 1) * {stops} + k, 'B-' || r.id || '-' || k, r.depot_id, r.service_date,
            'Customer ' || k, '', 41.85, -87.65, jsonb_build_object('kg', 10 + k % 30), 5,
            '[]'::jsonb, r.planned_start_at,
            r.planned_start_at + (k * 17 + 45) * interval '1 minute',
            5, '[]'::jsonb, CASE WHEN f THEN 'failed' ELSE 'delivered' END, r.vehicle_id, '',
            CASE WHEN f THEN ({REASONS})[1 + (k % 4)] END, r.planned_start_at, r.planned_start_at
        FROM route r, generate_series(1, {stops}) k, LATERAL (SELECT random() < 0.02 AS f) x""",
        f"""INSERT INTO route_stop (route_id, order_id, sequence, kind, lat, lon,
            planned_arrival_at, planned_departure_at, actual_arrival_at, actual_departure_at,
            status, load_after)
        SELECT r.id, (r.id - 1) * {stops} + k, k, 'delivery', 41.85, -87.65, p,
            p + interval '5 minutes', a, a + interval '6 minutes', 'done', '{{}}'::jsonb
        FROM route r, generate_series(1, {stops}) k,
            LATERAL (SELECT r.planned_start_at + k * 17 * interval '1 minute' AS p) y,
            LATERAL (SELECT p + (random() * 50 - 12) * interval '1 minute' AS a) z""",
        # A third of the deliveries rated, mostly 5 stars (the demo history's shape).
        """INSERT INTO delivery_rating (order_id, rating, comment, created_at)
        SELECT id, CASE WHEN u < 0.8 THEN 5 WHEN u < 0.93 THEN 4 ELSE 1 + (id % 3) END, '',
            window_end + interval '2 hours'
        FROM delivery_order, LATERAL (SELECT random() AS u) x
        WHERE status = 'delivered' AND random() < 0.33""",
        f"""INSERT INTO delivery_order (id, reference, depot_id, service_date, customer_name,
            address, lat, lon, demand, service_minutes, time_windows, window_start, window_end,
            priority, required_skills, status, vehicle_id, notes, failure_reason, created_at,
            updated_at, cancelled_at)
        SELECT {days * vehicles * stops} + d * {depots} + dep, 'C-' || d || '-' || dep, dep,
            DATE '{first_day}' + d, 'Rebooked', '', 41.85, -87.65, '{{"kg": 5}}'::jsonb, 5,
            '[]'::jsonb, t, t + interval '1 hour', 5, '[]'::jsonb, 'cancelled', NULL, '',
            'not planned: no vehicle capacity', t, t, t
        FROM generate_series(0, {days - 1}) d, generate_series(1, {depots}) dep,
            LATERAL (SELECT (DATE '{first_day}' + d)::timestamp AT TIME ZONE 'UTC'
                            + interval '9 hours' AS t) x""",
        """INSERT INTO route_event (route_id, vehicle_id, depot_id, event_type, severity,
            occurred_at, received_at, data)
        SELECT id, vehicle_id, depot_id, (ARRAY['traffic_jam','breakdown','delivery_issue'])
            [1 + (id % 3)], 'warning', planned_start_at + interval '3 hours',
            planned_start_at + interval '3 hours', '{}'::jsonb
        FROM route WHERE random() < 0.05""",
        f"""INSERT INTO route_optimization_requests (request_id, vehicle_id, depot_id,
            priority, constraints, delivery_locations, time_windows, vehicle_capacity,
            special_requirements, status, created_at, updated_at, metadata)
        SELECT 'req-' || d || '-' || dep, NULL, dep, 5, '{{}}', '[]', '[]', '{{}}', '[]',
            'completed', t, t, '{{}}'
        FROM generate_series(0, {days - 1}) d, generate_series(1, {depots}) dep,
            LATERAL (SELECT (DATE '{first_day}' + d)::timestamp AT TIME ZONE 'UTC'
                            + interval '6 hours' AS t) x""",
        """INSERT INTO route_optimization_responses (response_id, request_id,
            optimization_score, distance, duration, route_sequence, vehicle_load,
            fuel_consumption, carbon_emissions, created_at, metadata)
        SELECT request_id || '-r', request_id, 0.8 + random() * 0.15, 900, 4800, '[]', '{}',
            100, 268, created_at + interval '20 seconds', '{}'
        FROM route_optimization_requests""",
        """INSERT INTO route_optimization_events (event_id, request_id, event_type,
            event_data, timestamp, metadata)
        SELECT request_id || '-' || kind, request_id, kind, '{}', created_at + lag, '{}'
        FROM route_optimization_requests,
            LATERAL (VALUES ('requested', interval '0 s'), ('completed', interval '20 s'),
                            ('accepted', (20 + random() * 60) * interval '1 s')) e(kind, lag)""",
    ]
    with engine.begin() as conn:
        for sql in statements:
            conn.execute(text(sql))
    fixes = 8 * 3600 // interval_s
    # Positions a month at a time, so progress shows and no statement runs for minutes.
    for start in range(0, days, 30):
        started = time.perf_counter()
        with engine.begin() as conn:
            conn.execute(
                text(f"""
                INSERT INTO position (vehicle_id, seq, recorded_at, received_at, lat, lon,
                    speed, heading, accuracy)
                SELECT r.vehicle_id, r.id::bigint * 10000 + i,
                    r.actual_start_at + i * {interval_s} * interval '1 second',
                    r.actual_start_at + i * {interval_s} * interval '1 second',
                    41.85 + sin(i / 40.0) * 0.05, -87.65 + cos(i / 40.0) * 0.05, 9.5,
                    (i * 7) % 360, 5
                FROM route r, generate_series(0, {fixes - 1}) i
                WHERE r.service_date >= DATE '{first_day}' + {start}
                  AND r.service_date < DATE '{first_day}' + {start + 30}""")
            )
        print(f"  positions: days {start}-{min(start + 30, days)} in "
              f"{time.perf_counter() - started:.1f} s", flush=True)  # fmt: skip
    with engine.begin() as conn:
        for table in ("depot", "vehicle", "app_user", "route", "delivery_order"):
            conn.execute(
                text(f"SELECT setval(pg_get_serial_sequence('{table}', 'id'), "
                     f"(SELECT max(id) FROM {table}))")
            )  # fmt: skip
    with engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
        conn.execute(text("VACUUM ANALYZE"))
        counts = {
            name: int(conn.execute(text(f"SELECT count(*) FROM {name}")).scalar_one())
            for name in (
                "route",
                "route_stop",
                "delivery_order",
                "position",
                "route_event",
                "delivery_rating",
            )
        }
    return counts


def _percentile(values: list[float], p: float) -> float:
    ordered = sorted(values)
    k = max(0, min(len(ordered) - 1, round(p / 100 * (len(ordered) - 1))))
    return ordered[k]


class QueryLog:
    """Every statement the engine runs, with its duration (for the slowest query's plan)."""

    def __init__(self, engine: Any) -> None:
        self.entries: list[tuple[float, str, Any]] = []
        self.on = False
        event.listen(engine, "before_cursor_execute", self._before)
        event.listen(engine, "after_cursor_execute", self._after)

    def _before(self, conn, cursor, statement, parameters, context, executemany) -> None:  # noqa: ANN001
        conn.info["bench_started"] = time.perf_counter()

    def _after(self, conn, cursor, statement, parameters, context, executemany) -> None:  # noqa: ANN001
        if self.on:
            took = time.perf_counter() - conn.info.pop("bench_started", time.perf_counter())
            self.entries.append((took, statement, parameters))


def _time_callbacks(app: Any, runtime: Any, end: date, runs: int, log: QueryLog) -> dict[str, Any]:
    from flask import g

    from backend.auth.permissions import make_principal
    from callbacks import analytics as cb
    from components.analytics import default_view

    ranges = {"week": 7, "quarter": 91, "year": 365}
    results: dict[str, dict[str, float]] = {}
    with app.server.test_request_context("/_dash-update-component", method="POST"):
        g.principal = make_principal(user_id=1, username="boss", role="manager")
        for label, days in ranges.items():
            start = end - timedelta(days=days - 1)
            grain = "day" if days <= 31 else "week"
            base = {**default_view(), "from": start.isoformat(), "to": end.isoformat(),
                    "grain": grain}  # fmt: skip
            cases = {
                "draw_overview": lambda b=base: cb.draw_overview(b),
                "draw_breakdown_depots": lambda b=base: cb.draw_breakdown(b),
                "draw_breakdown_drivers": lambda b=base: cb.draw_breakdown({**b, "tab": "drivers"}),
                "draw_breakdown_vehicles": lambda b=base: cb.draw_breakdown(
                    {**b, "tab": "vehicles"}
                ),
                "draw_drill": lambda b=base: cb.draw_drill(b),
                "draw_drill_vehicle": lambda b=base: cb.draw_drill({**b, "drill": "vehicle:7"}),
                "sync_view": lambda b=base: cb.sync_view(
                    f"?from={b['from']}&to={b['to']}&grain={b['grain']}&tab=drivers", b
                ),
                "set_depot_options": lambda: cb.set_depot_options(None),
            }
            for name, call in cases.items():
                call()  # warm
                times = []
                for _ in range(runs):
                    log.on = True
                    started = time.perf_counter()
                    call()
                    times.append((time.perf_counter() - started) * 1000)
                    log.on = False
                key = f"{name}@{label}"
                results[key] = {"p50": _percentile(times, 50), "p95": _percentile(times, 95)}
                print(f"  {key:<36} p50 {results[key]['p50']:7.1f} ms   "
                      f"p95 {results[key]['p95']:7.1f} ms", flush=True)  # fmt: skip
    return results


def _baseline(engine: Any, end: date, runs: int) -> dict[str, dict[str, float]]:
    """The overview's sums straight from the raw tables (what the aggregates save)."""
    from backend.analytics.aggregates import (
        order_daily_select,
        performance_select,
        route_daily_select,
    )

    out: dict[str, dict[str, float]] = {}
    for label, days in {"week": 7, "quarter": 91, "year": 365}.items():
        start = end - timedelta(days=days - 1)
        prev = start - timedelta(days=days)
        stmts = []
        for build in (route_daily_select, order_daily_select, performance_select):
            sub = build().subquery("raw")
            stmts.append(
                select(sub.c.day, *(c for c in sub.c if c.name not in {
                    "day", "depot_id", "vehicle_id", "driver_id", "status", "reason"}))
                .where(sub.c.day >= prev, sub.c.day <= end)
            )  # fmt: skip
        times = []
        with engine.connect() as conn:
            for _ in range(max(3, runs // 4) + 1):
                started = time.perf_counter()
                for stmt in stmts:
                    conn.execute(stmt).all()
                times.append((time.perf_counter() - started) * 1000)
        times = times[1:]
        out[f"overview_raw@{label}"] = {
            "p50": _percentile(times, 50),
            "p95": _percentile(times, 95),
        }
        print(f"  baseline overview_raw@{label:<8} p50 {out[f'overview_raw@{label}']['p50']:8.1f}"
              f" ms   p95 {out[f'overview_raw@{label}']['p95']:8.1f} ms", flush=True)  # fmt: skip
    return out


def _interactive(app: Any, start: date, end: date) -> float | None:
    from werkzeug.serving import make_server

    chromium = "/usr/bin/chromium"
    if not Path(chromium).exists():
        return None
    from playwright.sync_api import sync_playwright

    server = make_server("127.0.0.1", 0, app.server, threaded=True)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    url = f"http://127.0.0.1:{server.server_port}"
    try:
        with sync_playwright() as pw:
            browser = pw.chromium.launch(
                executable_path=chromium, args=["--headless", "--no-sandbox", "--disable-gpu"]
            )
            page = browser.new_context(
                viewport={"width": 1440, "height": 900}, bypass_csp=True
            ).new_page()
            page.set_default_timeout(60_000)
            page.goto(f"{url}/login")
            page.fill("#login-username", "boss")
            page.fill("#login-password", PASSWORD)
            page.click("#login-submit")
            page.wait_for_load_state("networkidle")
            target = f"{url}/analytics?from={start}&to={end}&grain=week"
            best = None
            for _ in range(3):
                started = time.perf_counter()
                page.goto(target)
                page.wait_for_selector("#analytics-kpis .kpi")
                page.wait_for_function(
                    "Array.from(document.querySelectorAll('.analytics-charts .js-plotly-plot'))"
                    ".filter((p) => p.querySelector('.trace')).length === 8"
                )
                page.wait_for_selector("#analytics-table td[data-dash-column='name']")
                took = time.perf_counter() - started
                best = took if best is None else min(best, took)
            browser.close()
            return best
    finally:
        server.shutdown()


def _explain(engine: Any, log: QueryLog) -> str:
    if not log.entries:
        return ""
    took, statement, parameters = max(log.entries, key=lambda e: e[0])
    with engine.connect() as conn:
        rows = conn.exec_driver_sql("EXPLAIN (ANALYZE, BUFFERS) " + statement, parameters).all()
    return f"slowest query ({took * 1000:.1f} ms):\n{statement}\n" + "\n".join(r[0] for r in rows)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--postgres", action="store_true", help="run on PostgreSQL (required)")
    parser.add_argument("--vehicles", type=int, default=50)
    parser.add_argument("--days", type=int, default=365)
    parser.add_argument("--stops", type=int, default=27, help="deliveries per route")
    parser.add_argument("--fix-interval-s", type=int, default=60, help="seconds between fixes")
    parser.add_argument("--runs", type=int, default=20)
    parser.add_argument("--retention-vehicles", type=int, default=3)
    parser.add_argument("--no-browser", action="store_true")
    args = parser.parse_args()
    if not args.postgres:
        parser.error("--postgres is required (the benchmark is for PostgreSQL at scale)")

    from backend.analytics.aggregates import refresh_aggregates
    from backend.analytics.retention import RetentionPolicy, run_retention
    from backend.auth.users import create_user
    from backend.clock import FixedClock
    from backend.config import load_settings
    from backend.db.migrate import upgrade

    name = f"fleet_bench_{uuid.uuid4().hex[:8]}"
    admin = create_engine(PG_ADMIN_URL, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f'CREATE DATABASE "{name}"'))
    url = PG_ADMIN_URL.rsplit("/", 1)[0] + f"/{name}"
    figures: dict[str, Any] = {"vehicles": args.vehicles, "days": args.days}
    try:
        engine = create_engine(url)
        upgrade(engine)
        end = date(2026, 11, 30)
        first = end - timedelta(days=args.days - 1)
        started = time.perf_counter()
        counts = _generate(engine, vehicles=args.vehicles, days=args.days, stops=args.stops,
                           interval_s=args.fix_interval_s, first_day=first)  # fmt: skip
        figures["generate_s"] = round(time.perf_counter() - started, 1)
        print(f"generated {counts} in {figures['generate_s']} s", flush=True)

        report = refresh_aggregates(engine, concurrently=False)  # first fill
        report = refresh_aggregates(engine)  # the one that runs after each day: CONCURRENTLY
        figures["refresh_s"] = round(report.total_seconds, 2)
        print(f"refresh (concurrently): {report.seconds} rows {report.rows}", flush=True)

        import app as app_module

        settings = load_settings(DATABASE_URL=url, DEMO=False, DATA_DIR=tempfile.mkdtemp())
        clock = FixedClock(datetime.combine(end + timedelta(days=1), datetime.min.time(), UTC)
                           + timedelta(hours=12))  # fmt: skip
        dash_app = app_module.create_app(settings, clock=clock)
        from backend.runtime import current_runtime

        with dash_app.server.app_context():
            runtime = current_runtime()
            with runtime.db.session() as session:
                create_user(session, username="boss", password=PASSWORD, role="manager")
            log = QueryLog(runtime.db.engine)
            print("callbacks (warm):", flush=True)
            timings = _time_callbacks(dash_app, runtime, end, args.runs, log)
        baseline = _baseline(engine, end, args.runs)
        explain = _explain(engine, log)
        interactive = None if args.no_browser else _interactive(dash_app, first, end)
        print(f"overview time to interactive (full range, weekly): {interactive}", flush=True)

        policy = RetentionPolicy(raw_days=30, track_days=args.days - 60, interval_s=120,
                                 heading_change_deg=15, batch_size=1000)  # fmt: skip
        with engine.connect() as conn:
            before = int(conn.execute(text("SELECT count(*) FROM position")).scalar_one())
        retention = run_retention(
            engine,
            now=clock.now(),
            policy=policy,
            vehicle_ids=list(range(1, args.retention_vehicles + 1)),
        )
        with engine.connect() as conn:
            after = int(conn.execute(text("SELECT count(*) FROM position")).scalar_one())
        print(f"retention on {args.retention_vehicles} vehicles: examined {retention.examined}, "
              f"thinned {retention.thinned}, purged {retention.purged} ({before} -> {after} "
              f"fixes) in {retention.seconds:.1f} s, {retention.batches} batches, longest "
              f"{retention.max_batch_ms:.1f} ms", flush=True)  # fmt: skip
        print(explain, flush=True)

        p95 = {k: round(v["p95"], 1) for k, v in timings.items()}
        figures.update(
            stops=counts["route_stop"],
            positions=counts["position"],
            routes=counts["route"],
            orders=counts["delivery_order"],
            ratings=counts["delivery_rating"],
            p95_ms=p95,
            p50_ms={k: round(v["p50"], 1) for k, v in timings.items()},
            p95_ms_max=max(p95.values()),
            p95_ms_max_year=max(v for k, v in p95.items() if k.endswith("@year")),
            baseline_p95_ms={k: round(v["p95"], 1) for k, v in baseline.items()},
            baseline_p95_ms_max=round(max(v["p95"] for v in baseline.values()), 1),
            interactive_s=None if interactive is None else round(interactive, 2),
            retention_rows_per_s=round(retention.rows_per_s),
            retention_max_lock_ms=round(retention.max_batch_ms, 1),
        )
        dash_app.server.extensions["fleet"].db.engine.dispose()
        engine.dispose()
    finally:
        with admin.connect() as conn:
            conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()
    print(json.dumps(figures))


if __name__ == "__main__":
    main()
