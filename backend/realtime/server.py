"""The `/ws` endpoint on the Flask server (flask-sock) and each socket's loop.

Threads or green threads: under the development server each socket is a thread, under
`gunicorn -k gevent` a greenlet. Either way each connection's loop is the only one that
writes to its socket, so a slow consumer only ever delays itself.
"""

from __future__ import annotations

import logging
import time
from typing import TYPE_CHECKING, Any
from urllib.parse import urlsplit

from flask import Flask, g, request, session
from flask_sock import Sock
from sqlalchemy import select

from backend.auth.permissions import Principal
from backend.auth.tokens import user_for_token
from backend.auth.users import get_principal, principal_for
from backend.db.models import Role, Vehicle
from backend.realtime.bus import make_bus
from backend.realtime.handler import handle_frame
from backend.realtime.hub import Connection
from backend.realtime.optimize import SocketOptimizer
from backend.realtime.protocol import (
    CLOSE_GOING_AWAY,
    CLOSE_POLICY,
    PROTOCOLS,
    SERVER_VERSION,
    RealtimeConfig,
    encode_json,
)
from backend.realtime.service import RealtimeService, initial_rooms, initial_subscriptions
from backend.realtime.wsadapter import SocketAdapter, SocketClosed
from backend.runtime import Runtime

if TYPE_CHECKING:
    from backend.runtime import Runtime

log = logging.getLogger("realtime.server")

WS_PATH = "/ws"
SESSION_USER_KEY = "uid"  # the dashboard's login cookie (backend.auth.web)
# Stands in for "nobody" so the app's guard lets the upgrade through and we can close with 1008.
ANONYMOUS = Principal(user_id=0, username="", role="anonymous")


def init_realtime(server: Flask, runtime: Runtime, config: RealtimeConfig | None = None) -> None:
    """Mount `/ws` on `server` and attach the realtime service to `runtime.realtime`.

    Call it before the auth guard is installed: it resolves the socket's user first.
    """
    config = config or RealtimeConfig.from_settings(runtime.settings)
    service = RealtimeService(
        runtime.db.session,
        make_bus(runtime.settings),
        config,
        clock=runtime.clock,
        settings=runtime.settings,
    )
    runtime.realtime = service
    # Optimization messages start the same planning jobs as POST /api/v1/plans.
    service.optimizer = SocketOptimizer(runtime)
    server.config["SOCK_SERVER_OPTIONS"] = {"max_message_size": config.hard_frame_bytes}
    sock = Sock(server)

    @server.before_request
    def _authenticate_socket() -> None:
        if request.path == WS_PATH:
            g.principal = _socket_principal(runtime, config) or ANONYMOUS

    @sock.route(WS_PATH)
    def realtime_socket(ws: Any) -> None:
        principal: Principal = g.get("principal") or ANONYMOUS
        try:
            if principal is ANONYMOUS:
                ws.close(CLOSE_POLICY, "authentication required")
                return
            service.start()
            serve_socket(
                ws,
                service,
                principal,
                address=request.remote_addr or "",
                user_agent=request.headers.get("User-Agent", "")[:200],
            )
        finally:
            SocketAdapter(ws).finish(CLOSE_GOING_AWAY)


def get_realtime(runtime: Runtime) -> RealtimeService:
    """The realtime service attached by `init_realtime` (to publish from other modules)."""
    return runtime.publisher()


def _socket_principal(runtime: Runtime, config: RealtimeConfig) -> Principal | None:
    # Drivers and devices: bearer header or ?token=. Browsers: the session cookie, same origin.
    header = request.headers.get("Authorization", "")
    token = header[7:].strip() if header.lower().startswith("bearer ") else None
    token = token or request.args.get("token")
    with runtime.db.session() as db:
        if token:
            user = user_for_token(db, token=token, now=runtime.clock.now())
            return principal_for(user) if user is not None else None
        if SESSION_USER_KEY in session and _same_origin(config):
            return get_principal(db, user_id=int(session[SESSION_USER_KEY]))
    return None


def _same_origin(config: RealtimeConfig) -> bool:
    # A cookie rides along with any page's request; only our own pages may use it.
    origin = request.headers.get("Origin")
    if origin is None:
        return True
    return urlsplit(origin).netloc == request.host or origin in config.allowed_origins


def serve_socket(
    ws: Any, service: RealtimeService, principal: Principal, *, address: str, user_agent: str
) -> None:
    """Run one connection until it closes: receive, answer, flush acks, events and positions."""
    config = service.config
    sock = SocketAdapter(ws)
    depot_id = None
    if principal.role == Role.DRIVER and principal.vehicle_id is not None:
        with service.sessions() as db:
            depot_id = db.scalar(select(Vehicle.depot_id).where(Vehicle.id == principal.vehicle_id))
    connection = Connection(
        principal=principal,
        config=config,
        service=service,
        wake=sock.wake,
        abort=sock.abort,
        depot_id=depot_id,
        address=address,
        user_agent=user_agent,
    )
    connection.subscriptions = initial_subscriptions(connection)
    service.hub.register(connection, initial_rooms(principal, depot_id))
    connection.send(
        {
            "type": "welcome",
            "connectionId": connection.id,
            "user": {
                "id": principal.user_id,
                "username": principal.username,
                "displayName": principal.display_name,
                "vehicleId": principal.vehicle_id,
                "depotIds": None if principal.depot_ids is None else sorted(principal.depot_ids),
            },
            "roles": [principal.role],
            "serverVersion": SERVER_VERSION,
            "protocols": list(PROTOCOLS),
            "rooms": sorted(connection.rooms),
            "subscriptions": sorted(connection.subscriptions),
            "limits": {
                "maxFrameBytes": config.max_frame_bytes,
                "maxBatch": config.max_batch,
                "messagesPerSecond": config.rate_per_s,
            },
        }
    )
    if "positions" in connection.subscriptions:
        try:
            connection.send(service.snapshot(principal))
        except Exception:
            # Live updates still flow; the client asks again with vehicle_status_subscription.
            log.exception("snapshot for %s failed", connection.id)
    interval = config.position_frame_interval_s
    next_frame = 0.0
    next_ping = time.monotonic() + config.ping_interval_s
    try:
        while True:
            now = time.monotonic()
            timeout = next_ping - now
            if connection.pending_positions:
                timeout = min(timeout, next_frame - now)
            if timeout > 0 and not sock.has_input() and not connection.outbox:
                sock.wait(timeout)
            sock.clear()
            while (text := sock.next_input()) is not None:
                for reply in handle_frame(connection, text):
                    connection.send(reply)
            if not sock.connected:
                return
            connection.sending_since = time.monotonic()
            while connection.outbox and connection.close_request is None:
                item = connection.outbox.popleft()
                sock.send_text(item if isinstance(item, str) else encode_json(item))
            now = time.monotonic()
            if (
                connection.pending_positions
                and now >= next_frame
                and connection.close_request is None
            ):
                frame = connection.take_positions()
                if frame is not None:
                    sock.send_text(frame)
                    next_frame = now + interval
            connection.sending_since = 0.0
            if connection.close_request is not None:
                sock.close(*connection.close_request)
                return
            if now >= next_ping:
                if not sock.ping():
                    sock.close(CLOSE_GOING_AWAY, "heartbeat timeout")
                    return
                next_ping = now + config.ping_interval_s
    except (OSError, SocketClosed):
        # The peer went away mid-send; what was queued for it is of no use to anyone.
        return
    finally:
        connection.sending_since = 0.0
        service.hub.unregister(connection)
