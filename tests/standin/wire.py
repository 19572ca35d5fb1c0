"""The request and response values that pass between the HTTP layer and the endpoint handlers.

Handlers never touch sockets: they get a `Request` and return a `Response`, which keeps them easy to read
and lets the HTTP layer own recording, delays, hangs and the x-request-id header in one place. Two answers
need more than one write, and say so on the Response: `stream` (server-sent events, written chunk by chunk
at their times) and `websocket` (the handshake is answered, then the socket is handed to a session).
"""

from __future__ import annotations

import json
import uuid
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from email.parser import BytesParser
from email.policy import HTTP
from typing import Any


@dataclass
class FilePart:
    """One file of a multipart form, with its bytes (the recording keeps only a summary)."""

    name: str
    filename: str
    content_type: str
    data: bytes

    def summary(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "filename": self.filename,
            "content_type": self.content_type,
            "size": len(self.data),
        }


@dataclass
class Request:
    method: str
    path: str
    query: dict[str, str]
    headers: dict[str, str]  # names lowercased
    body: Any  # parsed JSON, the multipart summary, or None
    raw: bytes
    base_url: str  # http://127.0.0.1:PORT, to build absolute URLs back to the stand-in
    hang_epoch: int = 0  # see StandinState.hang_epoch: which release ends this request's hang
    request_id: str = field(default_factory=lambda: f"req_{uuid.uuid4().hex}")
    files: list[FilePart] = field(default_factory=list)  # multipart file parts, bytes included
    recording: dict[str, Any] = field(default_factory=dict)  # this request's entry in the recordings

    def json_dict(self) -> dict[str, Any]:
        return self.body if isinstance(self.body, dict) else {}

    def bearer(self) -> str:
        """The bearer token, or "" when the header is missing, empty or not Bearer."""
        value = self.headers.get("authorization", "")
        scheme, _, token = value.partition(" ")
        return token.strip() if scheme.lower() == "bearer" else ""


@dataclass
class Response:
    status: int
    body: Any = None  # dict/list → JSON; bytes → sent as is; None → empty
    headers: dict[str, str] = field(default_factory=dict)
    content_type: str = "application/json"
    # Chunked answers: (seconds after the answer started, bytes) pairs, written in order at those times.
    stream: Iterable[tuple[float, bytes]] | None = None
    # A websocket: the server completes the handshake, then calls this with the open connection.
    websocket: Callable[[Any], None] | None = None

    def payload(self) -> bytes:
        if isinstance(self.body, bytes):
            return self.body
        if self.body is None:
            return b"" if self.content_type != "application/json" else b"null"
        return json.dumps(self.body).encode()


def json_response(status: int, body: Any, **headers: str) -> Response:
    return Response(status, body, {k.replace("_", "-"): v for k, v in headers.items()})


def parse_multipart(content_type: str, raw: bytes) -> tuple[dict[str, Any], list[FilePart]]:
    """A multipart/form-data body as ({field: text, ..., "_files": [summaries]}, [file parts with bytes]).

    The summary goes into the recording (small, and enough to check what was sent); the parts with their
    bytes go to the handler only.
    """
    message = BytesParser(policy=HTTP).parsebytes(
        b"Content-Type: " + content_type.encode() + b"\r\n\r\n" + raw
    )
    fields: dict[str, Any] = {"_files": []}
    files: list[FilePart] = []
    if not message.is_multipart():
        return fields, files
    for part in message.iter_parts():
        name = part.get_param("name", header="content-disposition")
        payload = part.get_payload(decode=True) or b""
        filename = part.get_filename()
        if filename is not None:
            file = FilePart(str(name or ""), filename, part.get_content_type(), payload)
            files.append(file)
            fields["_files"].append(file.summary())
        elif name:
            fields[str(name)] = payload.decode("utf-8", "replace")
    return fields, files
