"""Realtime: the `/ws` protocol, `/osmand` for tracker apps, hub, rooms, bus and ingestion."""

from __future__ import annotations

from typing import TYPE_CHECKING

from flask import Flask

from backend.realtime.handler import handle_frame
from backend.realtime.osmand import init_osmand
from backend.realtime.protocol import RealtimeConfig
from backend.realtime.server import get_realtime
from backend.realtime.server import init_realtime as init_socket

if TYPE_CHECKING:
    from backend.runtime import Runtime

__all__ = ["get_realtime", "handle_frame", "init_realtime"]


def init_realtime(server: Flask, runtime: Runtime, config: RealtimeConfig | None = None) -> None:
    """Mount `/ws` and `/osmand` on `server`; both feed the one service at `runtime.realtime`.

    Call it before the auth guard is installed: the socket resolves its user first.
    """
    init_socket(server, runtime, config)
    init_osmand(server, runtime)
