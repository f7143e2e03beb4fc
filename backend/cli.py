"""Command line: migrate, seed the demo city, create users and tokens, serve the app."""

from __future__ import annotations

import argparse
import getpass
import logging
import sys
import threading
from typing import Any

from backend.config import ConfigError, Settings, load_settings
from backend.db.engine import Database
from backend.db.migrate import upgrade

log = logging.getLogger("cli")


def prepare_database(settings: Settings) -> Database:
    """Open the database and bring its schema up to date."""
    database = Database(settings)
    upgrade(database.engine)
    return database


def seed_if_empty(database: Database, settings: Settings) -> list[tuple[str, str, str]]:
    """Seed the demo city when DEMO is on and the database is empty; return credentials."""
    from backend.sim.demo import is_seeded, seed_demo

    with database.session() as session:
        if is_seeded(session):
            return []
        summary = seed_demo(session, seed=settings.demo_seed)
    _refresh_analytics(database)
    return list(summary.credentials)


def _refresh_analytics(database: Database) -> None:
    # The Analytics page reads daily aggregates; seeded history needs them built once.
    from backend.analytics.aggregates import refresh_aggregates

    refresh_aggregates(database)


def print_credentials(credentials: list[tuple[str, str, str]]) -> None:
    """Print demo logins so a new user can sign in straight away."""
    if not credentials:
        return
    print("\nDemo logins (change them before real use):", flush=True)
    for role, username, password in credentials:
        print(f"  {role:<10} {username:<16} {password}", flush=True)
    print(flush=True)


def serve(app: Any, settings: Settings | None = None) -> None:
    """Migrate, seed the demo when asked, and run the development server (threads)."""
    settings = settings or load_settings()
    database = prepare_database(settings)
    demo_day = None
    if settings.demo:
        print_credentials(seed_if_empty(database, settings))
        demo_day = DemoDay(app, settings)
        demo_day.start()
    database.engine.dispose()
    print(f"Fleet Dispatch on http://{settings.host}:{settings.port}/", flush=True)
    try:
        app.run(host=settings.host, port=settings.port, debug=False, threaded=True)
    finally:
        if demo_day is not None:
            demo_day.stop()


class DemoDay:
    """In the background: plan today with the optimizer, then let simulated drivers drive it."""

    def __init__(self, app: Any, settings: Settings) -> None:
        self.app = app
        self.settings = settings
        self.simulator: Any = None
        self.stopped = threading.Event()

    def start(self) -> None:
        """Start without delaying the server: planning takes a few seconds per depot."""
        threading.Thread(target=self._run, name="demo-day", daemon=True).start()

    def _run(self) -> None:
        from backend.db.queries.dispatch import get_local_today
        from backend.planning.publish import announce_accepted
        from backend.runtime import runtime_of
        from backend.services.demo_day import plan_demo_day
        from backend.sim.simulator import start_embedded_simulator

        runtime = runtime_of(self.app.server)
        try:
            with runtime.db.session() as session:
                today = get_local_today(session, depot_ids=None, now=runtime.clock.now())
            plan_demo_day(
                runtime.db,
                runtime.result_cache,
                today=today,
                clock=runtime.clock,
                publish=lambda plan: announce_accepted(runtime.publisher(), plan),
            )
        except Exception:  # noqa: BLE001 - the demo still runs with unplanned orders
            log.exception("planning the demo day failed")
        if self.stopped.is_set():
            return
        # Simulated drivers connect over the real WebSocket, like phones would.
        host = "127.0.0.1" if self.settings.host in ("0.0.0.0", "::") else self.settings.host
        self.simulator = start_embedded_simulator(
            self.settings, f"http://{host}:{self.settings.port}"
        )

    def stop(self) -> None:
        """Stop the simulated drivers (and skip them if planning is still running)."""
        self.stopped.set()
        if self.simulator is not None:
            self.simulator.stop()


def _create_user(args: argparse.Namespace, settings: Settings) -> int:
    from backend.auth.users import create_user

    password = args.password or getpass.getpass("Password: ")
    database = prepare_database(settings)
    try:
        with database.session() as session:
            user = create_user(
                session,
                username=args.username,
                password=password,
                role=args.role,
                display_name=args.name or "",
                depot_ids=args.depot or [],
                vehicle_id=args.vehicle,
            )
            print(f"created {user.role} {user.username} (id {user.id})")
    except ValueError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    return 0


def _issue_token(args: argparse.Namespace, settings: Settings) -> int:
    from sqlalchemy import select

    from backend.auth.tokens import issue_token
    from backend.db.models import User

    database = prepare_database(settings)
    with database.session() as session:
        user = session.scalar(select(User).where(User.username == args.username.lower()))
        if user is None:
            print(f"error: username: no user {args.username!r}", file=sys.stderr)
            return 2
        token = issue_token(session, user=user, name=args.name or "cli")
    print(token)
    return 0


def _register_device(args: argparse.Namespace, settings: Settings) -> int:
    from backend.clock import SYSTEM_CLOCK
    from backend.services import ServiceError
    from backend.services.devices import register_device

    database = prepare_database(settings)
    try:
        with database.session() as session:
            device = register_device(
                session,
                vehicle_name=args.vehicle,
                device_id=args.device_id,
                name=args.name or "",
                now=SYSTEM_CLOCK.now(),
            )
    except ServiceError as exc:
        print(f"error: {exc.field}: {exc.message}", file=sys.stderr)
        return 2
    print(f"registered device {device.id} for vehicle {device.vehicle_name}")
    if args.device_id is None:
        print(f"device id (put it in the app; it is not shown again): {device.device_id}")
    return 0


def _seed(args: argparse.Namespace, settings: Settings) -> int:
    from backend.sim.demo import is_seeded, seed_demo

    database = prepare_database(settings)
    with database.session() as session:
        if is_seeded(session):
            print("error: the database already holds data; use an empty DATA_DIR or database")
            return 2
        summary = seed_demo(session, seed=args.seed, history_days=args.history_days)
    _refresh_analytics(database)
    print(f"seeded in {summary.elapsed_s:.1f} s")
    print_credentials(list(summary.credentials))
    return 0


def _analytics_refresh(args: argparse.Namespace, settings: Settings) -> int:
    from backend.analytics.aggregates import refresh_aggregates

    report = refresh_aggregates(prepare_database(settings))
    print(f"aggregates refreshed in {report.total_seconds:.1f} s: {report.rows}")
    return 0


def _retention(args: argparse.Namespace, settings: Settings) -> int:
    from backend.analytics.retention import RetentionPolicy, run_retention
    from backend.clock import SYSTEM_CLOCK

    report = run_retention(
        prepare_database(settings),
        now=SYSTEM_CLOCK.now(),
        policy=RetentionPolicy.from_settings(settings),
        max_batches=args.max_batches,
    )
    print(
        f"retention: {report.thinned} fixes thinned of {report.examined} examined, "
        f"{report.purged} purged, {report.batches} batches (longest {report.max_batch_ms:.0f} "
        f"ms) in {report.seconds:.1f} s{'' if report.finished else '; stopped early, run again'}"
    )
    return 0


def main(argv: list[str] | None = None) -> int:
    """Entry point of `python -m backend.cli`."""
    parser = argparse.ArgumentParser(prog="python -m backend.cli", description=__doc__)
    commands = parser.add_subparsers(dest="command", required=True)
    commands.add_parser("migrate", help="create or upgrade the database schema")
    seed = commands.add_parser("seed-demo", help="generate the demo city and 90 days of history")
    seed.add_argument("--seed", type=int, default=7)
    seed.add_argument("--history-days", type=int, default=90)
    user = commands.add_parser("create-user", help="create a user")
    user.add_argument("--username", required=True)
    user.add_argument("--role", required=True, choices=["driver", "dispatcher", "manager", "admin"])
    user.add_argument("--password", help="prompted for when omitted")
    user.add_argument("--name", help="display name")
    user.add_argument("--depot", type=int, action="append", help="depot id (repeatable)")
    user.add_argument("--vehicle", type=int, help="a driver's vehicle id")
    token = commands.add_parser("issue-token", help="issue an API token for a driver or device")
    token.add_argument("--username", required=True)
    token.add_argument("--name", help="what the token is for, e.g. the device")
    device = commands.add_parser(
        "register-device", help="bind an OsmAnd / Traccar Client device id to a vehicle"
    )
    device.add_argument("--vehicle", required=True, help="the vehicle's name")
    device.add_argument(
        "--device-id", help="the id set in the app (20+ random characters); generated if omitted"
    )
    device.add_argument("--name", help="what the device is, e.g. the phone")
    commands.add_parser("analytics-refresh", help="rebuild the daily analytics aggregates now")
    retention = commands.add_parser(
        "retention", help="thin and purge old GPS fixes (POSITION_* settings); resumable"
    )
    retention.add_argument("--max-batches", type=int, help="stop after this many batches")
    args = parser.parse_args(argv)
    try:
        settings = load_settings()
    except ConfigError as exc:
        print(exc, file=sys.stderr)
        return 2
    if args.command == "migrate":
        prepare_database(settings)
        print("database is up to date")
        return 0
    handlers = {
        "seed-demo": _seed,
        "create-user": _create_user,
        "issue-token": _issue_token,
        "register-device": _register_device,
        "analytics-refresh": _analytics_refresh,
        "retention": _retention,
    }
    return handlers[args.command](args, settings)


if __name__ == "__main__":
    sys.exit(main())
