"""What every family's builders share: the (status, body, headers) triple and retry headers."""

from __future__ import annotations

from typing import Any, NamedTuple


class Reply(NamedTuple):
    """An upstream answer as (status, body, headers): unpacks like the shared provider suite's ErrorReply.

    `body` is JSON-able (dict/list), or bytes/str for the few non-JSON answers (a proxy's HTML page).
    With `responses`: `rsps.post(url, json=reply.body, status=reply.status, headers=reply.headers)`.
    """

    status: int
    body: Any
    headers: dict[str, str]


def reply(status: int, body: Any, **headers: str) -> Reply:
    return Reply(status, body, {k.replace("_", "-"): v for k, v in headers.items()})


def retry_headers(retry_after: float) -> dict[str, str]:
    # Both forms: the OpenAI SDK prefers retry-after-ms, most clients read retry-after (whole seconds).
    return {"retry-after": str(max(0, round(retry_after))), "retry-after-ms": str(int(retry_after * 1000))}


def masked_key(key: str) -> str:
    return f"{key[:3]}***{key[-4:]}" if len(key) > 8 else "***"
