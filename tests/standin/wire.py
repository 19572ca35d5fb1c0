"""The request and response values that pass between the HTTP layer and the endpoint handlers.

Handlers never touch sockets: they get a `Request` and return a `Response`, which keeps them easy to read
and lets the HTTP layer own recording, delays, hangs and the x-request-id header in one place.
"""

from __future__ import annotations

import json
import uuid
from dataclasses import dataclass, field
from email.parser import BytesParser
from email.policy import HTTP
from typing import Any


@dataclass
class Request:
    method: str
    path: str
    query: dict[str, str]
    headers: dict[str, str]  # names lowercased
    body: Any  # parsed JSON, or None
    raw: bytes
    base_url: str  # http://127.0.0.1:PORT, to build absolute URLs back to the stand-in
    hang_epoch: int = 0  # see StandinState.hang_epoch: which release ends this request's hang
    request_id: str = field(default_factory=lambda: f"req_{uuid.uuid4().hex}")

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

    def payload(self) -> bytes:
        if isinstance(self.body, bytes):
            return self.body
        if self.body is None:
            return b"" if self.content_type != "application/json" else b"null"
        return json.dumps(self.body).encode()


def json_response(status: int, body: Any, **headers: str) -> Response:
    return Response(status, body, {k.replace("_", "-"): v for k, v in headers.items()})


def parse_multipart(content_type: str, raw: bytes) -> dict[str, Any]:
    """A multipart/form-data body as {field: text, ..., "_files": [{name, filename, content_type, size}]}.

    Files are summarised, not kept: the recording stays small and a test can still check what was sent.
    """
    message = BytesParser(policy=HTTP).parsebytes(
        b"Content-Type: " + content_type.encode() + b"\r\n\r\n" + raw
    )
    fields: dict[str, Any] = {"_files": []}
    for part in message.iter_parts():
        name = part.get_param("name", header="content-disposition")
        payload = part.get_payload(decode=True) or b""
        filename = part.get_filename()
        if filename is not None:
            fields["_files"].append(
                {
                    "name": name,
                    "filename": filename,
                    "content_type": part.get_content_type(),
                    "size": len(payload),
                }
            )
        elif name:
            fields[str(name)] = payload.decode("utf-8", "replace")
    return fields
