"""A small RFC 6455 websocket server side, for ComfyUI's `/ws`: the handshake, and framing both ways.

Server frames are never masked; client frames always are (the stand-in refuses unmasked ones, as the RFC
says). Text and binary messages, ping → pong, close → close. No extensions (no permessage-deflate): the
handshake simply does not accept them, which every client handles.
"""

from __future__ import annotations

import base64
import contextlib
import hashlib
import socket
import struct
import threading
from typing import Any, BinaryIO

GUID = "258EAFA5-E914-47DA-95CA-C5AB0DC85B11"
OP_CONTINUATION, OP_TEXT, OP_BINARY, OP_CLOSE, OP_PING, OP_PONG = 0x0, 0x1, 0x2, 0x8, 0x9, 0xA


def handshake_problem(headers: dict[str, str]) -> str | None:
    """Why a request is not a websocket upgrade we accept, or None."""
    if headers.get("upgrade", "").lower() != "websocket":
        return "missing 'Upgrade: websocket'"
    if "upgrade" not in [t.strip().lower() for t in headers.get("connection", "").split(",")]:
        return "missing 'Connection: Upgrade'"
    if headers.get("sec-websocket-version") != "13":
        return "only websocket version 13 is spoken"
    key = headers.get("sec-websocket-key", "")
    try:
        if len(base64.b64decode(key, validate=True)) != 16:
            return "Sec-WebSocket-Key must be 16 bytes in base64"
    except ValueError:
        return "Sec-WebSocket-Key must be 16 bytes in base64"
    return None


def accept_key(key: str) -> str:
    return base64.b64encode(hashlib.sha1((key + GUID).encode(), usedforsecurity=False).digest()).decode()


def encode_frame(opcode: int, payload: bytes, *, mask: bytes | None = None) -> bytes:
    """One final frame (clients pass a 4-byte mask; the server sends unmasked)."""
    head = bytes([0x80 | opcode])
    length = len(payload)
    mask_bit = 0x80 if mask else 0
    if length < 126:
        head += bytes([mask_bit | length])
    elif length < 1 << 16:
        head += bytes([mask_bit | 126]) + struct.pack(">H", length)
    else:
        head += bytes([mask_bit | 127]) + struct.pack(">Q", length)
    if mask:
        payload = bytes(b ^ mask[i % 4] for i, b in enumerate(payload))
        head += mask
    return head + payload


class ConnectionClosed(Exception):
    pass


class WebSocket:
    """An open server-side websocket over a handled HTTP connection."""

    def __init__(self, sock: socket.socket, rfile: BinaryIO, wfile: BinaryIO) -> None:
        self.sock = sock
        self.rfile = rfile
        self.wfile = wfile
        self._send_lock = threading.Lock()
        self.closed = threading.Event()

    # ------------------------------------------------------------ sending (any thread)

    def _send(self, opcode: int, payload: bytes) -> None:
        if self.closed.is_set():
            raise ConnectionClosed
        with self._send_lock:
            try:
                self.wfile.write(encode_frame(opcode, payload))
                self.wfile.flush()
            except (OSError, ValueError) as exc:
                # ValueError: the request's handler already closed its file (the client left as the server was
                # going away); for the sender that is the same as a connection gone.
                self.closed.set()
                raise ConnectionClosed from exc

    def send_text(self, text: str) -> None:
        self._send(OP_TEXT, text.encode())

    def send_binary(self, data: bytes) -> None:
        self._send(OP_BINARY, data)

    def close(self, code: int = 1000, reason: str = "") -> None:
        if not self.closed.is_set():
            with contextlib.suppress(ConnectionClosed):
                self._send(OP_CLOSE, struct.pack(">H", code) + reason.encode())
        self.closed.set()

    # ------------------------------------------------------------ receiving (the connection's own thread)

    def _read_exact(self, count: int) -> bytes:
        data = self.rfile.read(count)
        if data is None or len(data) < count:
            raise ConnectionClosed
        return data

    def receive(self) -> tuple[int, bytes]:
        """The next data message (opcode, payload); answers pings, ends on close or a broken frame."""
        while True:
            first, second = self._read_exact(2)
            opcode, masked, length = first & 0x0F, second & 0x80, second & 0x7F
            if length == 126:
                (length,) = struct.unpack(">H", self._read_exact(2))
            elif length == 127:
                (length,) = struct.unpack(">Q", self._read_exact(8))
            if not masked:
                self.close(1002, "client frames must be masked")
                raise ConnectionClosed
            mask = self._read_exact(4)
            payload = bytes(b ^ mask[i % 4] for i, b in enumerate(self._read_exact(length)))
            if opcode == OP_PING:
                self._send(OP_PONG, payload)
            elif opcode == OP_CLOSE:
                self.close()
                raise ConnectionClosed
            elif opcode in (OP_TEXT, OP_BINARY, OP_CONTINUATION):
                return opcode, payload

    def serve_until_closed(self, on_message: Any = None) -> None:
        """Read until the client leaves (or the server cuts the socket), handing messages to `on_message`."""
        try:
            while not self.closed.is_set():
                opcode, payload = self.receive()
                if on_message is not None:
                    on_message(opcode, payload)
        except (ConnectionClosed, OSError):
            pass
        finally:
            self.closed.set()
