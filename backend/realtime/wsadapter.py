"""The one place that reaches into simple-websocket and wsproto (both pinned in pyproject.toml).

flask-sock hands us simple-websocket's server socket. We need more than its public API — send
a whole frame with `sendall` (its `send` may write part of a large one), wait on its event,
read its input buffer, send our own pings and see pongs — so those internals live here, behind
one class, and a version bump is checked in one file.
"""

from __future__ import annotations

import socket
from typing import Any

from simple_websocket import ConnectionClosed
from wsproto.events import Ping, TextMessage
from wsproto.utilities import LocalProtocolError


class SocketClosed(Exception):
    """The peer closed the socket while we still had something to send."""


class SocketAdapter:
    """A flask-sock (simple-websocket) server socket, as the connection loop uses it."""

    def __init__(self, ws: Any) -> None:
        self.ws = ws
        # simple-websocket answers pings itself and sets this flag when a pong arrives.
        ws.pong_received = True

    @property
    def connected(self) -> bool:
        """Whether the socket is still open."""
        return bool(self.ws.connected)

    def wait(self, timeout: float) -> None:
        """Sleep until a frame arrives, `wake()` is called, or `timeout` seconds pass."""
        self.ws.event.wait(timeout)

    def clear(self) -> None:
        """Forget past wake-ups before draining what arrived."""
        self.ws.event.clear()

    def wake(self) -> None:
        """Wake the connection loop (another thread queued something to send)."""
        self.ws.event.set()

    def has_input(self) -> bool:
        """Whether received text frames wait to be handled."""
        return bool(self.ws.input_buffer)

    def next_input(self) -> Any | None:
        """The oldest received frame, or None."""
        return self.ws.input_buffer.pop(0) if self.ws.input_buffer else None

    def _encode(self, event: Any) -> bytes:
        try:
            data: bytes = self.ws.ws.send(event)
        except LocalProtocolError:
            # The peer's close arrived first: wsproto refuses to send, and its message would
            # hold the whole frame (a fleet's snapshot). Closing first is normal, not an error.
            raise SocketClosed from None
        return data

    def send_text(self, text: str) -> None:
        """Send one text frame, all of it."""
        self.ws.sock.sendall(self._encode(TextMessage(data=text)))

    def ping(self) -> bool:
        """Send a heartbeat ping; False when the previous one got no pong (the peer is gone)."""
        if not self.ws.pong_received:
            return False
        self.ws.pong_received = False
        self.ws.sock.sendall(self._encode(Ping(payload=b"hb")))
        return True

    def close(self, code: int, reason: str) -> None:
        """Close with `code`; the peer may have closed or vanished at the same moment."""
        try:
            self.ws.close(code, reason)
        except (OSError, LocalProtocolError, ConnectionClosed):
            pass

    def abort(self) -> None:
        """Cut the TCP connection now (a slow or stuck consumer) and wake the loop."""
        try:
            self.ws.sock.shutdown(socket.SHUT_RDWR)
        except OSError:
            pass
        self.ws.connected = False
        self.ws.event.set()

    def finish(self, code: int) -> None:
        """Close, let the peer's close reply arrive, then shut the TCP connection.

        The development server would otherwise write an HTTP response onto it after the last
        frame, which a browser still reading reports as "Invalid frame header".
        """
        if self.ws.connected:
            try:
                self.ws.close(code, "server closing")
            except Exception:  # noqa: BLE001 - the socket is already gone
                pass
        self.ws.thread.join(timeout=2.0)
        try:
            self.ws.sock.shutdown(socket.SHUT_RDWR)
        except OSError:
            pass
