"""A minimal asyncio WebSocket client (RFC 6455, text frames) for simulated drivers.

Lean on purpose: the simulator and the load generator run thousands of these in one process,
so there is no extension negotiation and each frame is one write.
"""

from __future__ import annotations

import asyncio
import base64
import os
import struct
from urllib.parse import urlsplit

OP_CONT, OP_TEXT, OP_BINARY, OP_CLOSE, OP_PING, OP_PONG = 0x0, 0x1, 0x2, 0x8, 0x9, 0xA


class HandshakeError(ConnectionError):
    """The server answered the upgrade with something other than 101."""

    def __init__(self, status: int, body: str) -> None:
        super().__init__(f"upgrade refused with HTTP {status}: {body[:200]}")
        self.status = status


class ConnectionClosedError(ConnectionError):
    """The WebSocket is closed; `code` and `reason` come from the close frame (1006: none)."""

    def __init__(self, code: int, reason: str) -> None:
        super().__init__(f"closed {code} {reason}")
        self.code = code
        self.reason = reason


def _mask(payload: bytes, key: bytes) -> bytes:
    # XOR with the repeated key through big integers: one C-level pass, no Python loop.
    n = len(payload)
    if n == 0:
        return payload
    repeated = (key * (n // 4 + 1))[:n]
    return (int.from_bytes(payload, "little") ^ int.from_bytes(repeated, "little")).to_bytes(
        n, "little"
    )


def encode_frame(opcode: int, payload: bytes) -> bytes:
    """One final, masked client frame."""
    key = os.urandom(4)
    n = len(payload)
    if n < 126:
        header = struct.pack("!BB", 0x80 | opcode, 0x80 | n)
    elif n < 65536:
        header = struct.pack("!BBH", 0x80 | opcode, 0x80 | 126, n)
    else:
        header = struct.pack("!BBQ", 0x80 | opcode, 0x80 | 127, n)
    return header + key + _mask(payload, key)


class WebSocketClient:
    """One client connection: `send_text`, `recv` (None once closed), `close`."""

    def __init__(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self._reader = reader
        self._writer = writer
        self.close_code: int | None = None
        self.close_reason = ""

    @classmethod
    async def connect(
        cls, url: str, *, headers: dict[str, str] | None = None, timeout: float = 10.0
    ) -> WebSocketClient:
        """Open a ws:// connection and complete the upgrade."""
        parts = urlsplit(url)
        host = parts.hostname or "127.0.0.1"
        port = parts.port or 80
        path = (parts.path or "/") + (f"?{parts.query}" if parts.query else "")
        reader, writer = await asyncio.wait_for(
            asyncio.open_connection(host, port, limit=2**22), timeout
        )
        key = base64.b64encode(os.urandom(16)).decode()
        lines = [
            f"GET {path} HTTP/1.1",
            f"Host: {host}:{port}",
            "Upgrade: websocket",
            "Connection: Upgrade",
            f"Sec-WebSocket-Key: {key}",
            "Sec-WebSocket-Version: 13",
            *(f"{name}: {value}" for name, value in (headers or {}).items()),
        ]
        writer.write(("\r\n".join(lines) + "\r\n\r\n").encode())
        try:
            head = await asyncio.wait_for(reader.readuntil(b"\r\n\r\n"), timeout)
        except (asyncio.IncompleteReadError, asyncio.LimitOverrunError) as exc:
            writer.close()
            raise ConnectionError("connection closed during the upgrade") from exc
        status_line = head.split(b"\r\n", 1)[0].decode("latin-1")
        status = int(status_line.split()[1])
        if status != 101:
            body = b""
            try:
                body = await asyncio.wait_for(reader.read(2000), 1.0)
            except (TimeoutError, ConnectionError):
                pass
            writer.close()
            raise HandshakeError(status, body.decode("utf-8", "replace"))
        return cls(reader, writer)

    async def send_text(self, text: str) -> None:
        """Send one text frame; waits only when the socket's buffer is full."""
        if self.close_code is not None:
            raise ConnectionClosedError(self.close_code, self.close_reason)
        self._writer.write(encode_frame(OP_TEXT, text.encode()))
        transport = self._writer.transport
        if transport.get_write_buffer_size() > 256 * 1024:
            await self._writer.drain()

    def send_text_nowait(self, text: str) -> None:
        """Queue one text frame without waiting (for senders of many small frames)."""
        if self.close_code is not None:
            raise ConnectionClosedError(self.close_code, self.close_reason)
        self._writer.write(encode_frame(OP_TEXT, text.encode()))

    async def recv(self) -> str | bytes | None:
        """The next message (pings are answered here), or None once the connection closed."""
        fragments: list[bytes] = []
        opcode_of_message = OP_TEXT
        while True:
            try:
                head = await self._reader.readexactly(2)
                first, second = head[0], head[1]
                length = second & 0x7F
                if length == 126:
                    length = struct.unpack("!H", await self._reader.readexactly(2))[0]
                elif length == 127:
                    length = struct.unpack("!Q", await self._reader.readexactly(8))[0]
                key = await self._reader.readexactly(4) if second & 0x80 else b""
                payload = await self._reader.readexactly(length) if length else b""
            except (asyncio.IncompleteReadError, ConnectionError, OSError):
                if self.close_code is None:
                    self.close_code, self.close_reason = 1006, "connection lost"
                return None
            if key:
                payload = _mask(payload, key)
            opcode = first & 0x0F
            if opcode == OP_PING:
                self._writer.write(encode_frame(OP_PONG, payload))
                continue
            if opcode == OP_PONG:
                continue
            if opcode == OP_CLOSE:
                code = struct.unpack("!H", payload[:2])[0] if len(payload) >= 2 else 1005
                self.close_code, self.close_reason = code, payload[2:].decode("utf-8", "replace")
                try:
                    self._writer.write(encode_frame(OP_CLOSE, payload[:2]))
                    self._writer.close()
                except (ConnectionError, RuntimeError):
                    pass
                return None
            if opcode in (OP_TEXT, OP_BINARY):
                opcode_of_message = opcode
            fragments.append(payload)
            if first & 0x80:
                data = b"".join(fragments)
                return data.decode() if opcode_of_message == OP_TEXT else data

    async def close(self, code: int = 1000, reason: str = "") -> None:
        """Send a close frame and drop the connection."""
        if self.close_code is None:
            self.close_code, self.close_reason = code, reason
            try:
                self._writer.write(
                    encode_frame(OP_CLOSE, struct.pack("!H", code) + reason.encode())
                )
                await asyncio.wait_for(self._writer.drain(), 2.0)
            except (ConnectionError, TimeoutError, RuntimeError):
                pass
        self._writer.close()

    def abort(self) -> None:
        """Drop the TCP connection without a close frame (a phone losing signal)."""
        self.close_code, self.close_reason = 1006, "aborted"
        self._writer.transport.abort()
