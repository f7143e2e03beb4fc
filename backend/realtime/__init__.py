"""Realtime: the `/ws` protocol, connection hub, rooms, bus and position ingestion."""

from backend.realtime.handler import handle_frame
from backend.realtime.server import get_realtime, init_realtime

__all__ = ["get_realtime", "handle_frame", "init_realtime"]
