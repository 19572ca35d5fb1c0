"""Outgoing HTTP for providers: a Session that cannot forget its timeout, the retry policy, and capped reads.

Modelled on zulip's OutgoingSession (default timeout and User-Agent on every call) and healthchecks'
HttpTransport (one request path, a retry loop that never repeats a permanent error).
"""

from __future__ import annotations

import email.utils
import json
import random
import time
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from typing import Any

import requests
import urllib3.exceptions

from .errors import BadResponseError, UnavailableError

USER_AGENT = "Inkweld/0.1 (+{site_url})"

# A JSON answer holding several multi-MB base64 images is normal; more than this is not an image answer.
MAX_JSON_BYTES = 200 * 1024 * 1024
# Error bodies are short; reading a proxy's 50 MB HTML error page would be pointless.
MAX_ERROR_BYTES = 64 * 1024
# An image fetched from a returned URL.
MAX_IMAGE_BYTES = 50 * 1024 * 1024
_CHUNK = 1024 * 1024


class ProviderSession(requests.Session):
    """A Session whose every request has a timeout and our User-Agent, whoever calls it."""

    def __init__(self, *, timeout: float, user_agent: str) -> None:
        super().__init__()
        self.timeout = timeout
        self.headers["User-Agent"] = user_agent

    def request(self, method: str | bytes, url: str | bytes, *args: Any, **kwargs: Any) -> requests.Response:
        kwargs.setdefault("timeout", self.timeout)
        return super().request(method, url, *args, **kwargs)


@dataclass(frozen=True)
class RetryPolicy:
    """When and how long to wait before repeating a request that failed transiently.

    The numbers follow the official OpenAI SDK (2 retries, 0.5 s doubling to 8 s, up to 25 % jitter) except the
    Retry-After cap: a job runs in a background worker, so waiting up to a minute is fine, but an upstream asking
    for longer is told to the writer ("try again in N seconds") instead of holding a worker.
    """

    max_attempts: int = 3
    initial_delay: float = 0.5
    max_delay: float = 8.0
    jitter: float = 0.25
    max_retry_after: float = 60.0
    retry_statuses: frozenset[int] = field(default=frozenset({408, 429, 500, 502, 503, 504}))

    def is_retryable_status(self, status: int) -> bool:
        return status in self.retry_statuses or status >= 500

    def delay(self, attempt: int, retry_after: float | None, rand: float | None = None) -> float | None:
        """Seconds to wait after failed attempt number `attempt` (1-based), or None to stop retrying."""
        if attempt >= self.max_attempts:
            return None
        if retry_after is not None and retry_after >= 0:
            return None if retry_after > self.max_retry_after else retry_after
        rand = random.random() if rand is None else rand  # jitter, not security
        backoff = min(self.max_delay, self.initial_delay * 2 ** (attempt - 1))
        return backoff * (1 - self.jitter * rand)


def parse_retry_after(headers: Mapping[str, str]) -> float | None:
    """Seconds from `retry-after-ms` (OpenAI) or `retry-after` (seconds or an HTTP date), else None."""
    ms = headers.get("retry-after-ms")
    if ms:
        try:
            return max(0.0, float(ms) / 1000)
        except ValueError:
            pass
    value = headers.get("retry-after")
    if not value:
        return None
    try:
        return max(0.0, float(value))
    except ValueError:
        pass
    try:
        when = email.utils.parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    return max(0.0, when.timestamp() - time.time())


def read_capped(response: requests.Response, cap: int, *, truncate: bool = False) -> bytearray:
    """The body of a streamed response, refusing more than `cap` bytes (a runaway or hostile upstream).

    With `truncate`, keep the first `cap` bytes instead: an error page is still an error, however long.
    """
    declared = response.headers.get("content-length")
    if not truncate and declared and declared.isdigit() and int(declared) > cap:
        response.close()
        raise BadResponseError(reason=f"answer larger than {cap // (1024 * 1024)} MB")
    body = bytearray()
    try:
        for chunk in response.iter_content(_CHUNK):
            body += chunk
            if len(body) > cap and truncate:
                del body[cap:]
                break
            if len(body) > cap:
                raise BadResponseError(reason=f"answer larger than {cap // (1024 * 1024)} MB")
    except requests.RequestException as exc:
        raise _dropped(exc) from exc
    finally:
        response.close()
    return body


def read_events(response: requests.Response, cap: int) -> Iterator[tuple[str, Any]]:
    """A text/event-stream answer as (event name, parsed JSON data) pairs, as they arrive; at most `cap` bytes in all.

    Server-sent events: `event:` names the next event, `data:` lines make its data, a blank line ends it. The
    connection dropping mid-stream is a truncated answer, as in read_capped.
    """
    name, data, total = "message", bytearray(), 0
    try:
        for line in response.iter_lines(_CHUNK):
            total += len(line) + 1
            if total > cap:
                raise BadResponseError(reason=f"answer larger than {cap // (1024 * 1024)} MB")
            if not line:
                if data:
                    yield name, parse_json(data)
                name, data = "message", bytearray()
            elif line.startswith(b"event:"):
                name = line[6:].strip().decode("utf-8", "replace")
            elif line.startswith(b"data:"):
                data += (b"\n" if data else b"") + line[5:].lstrip(b" ")
    except requests.RequestException as exc:
        raise _dropped(exc) from exc
    finally:
        response.close()


def _dropped(exc: requests.RequestException) -> UnavailableError:
    """The connection dropped mid-body: a truncated answer. Retried like any dropped connection, unless the request
    is billed (providers/base.py): then the upstream may have made the images, and it is not."""
    return UnavailableError(
        "The connection to the provider dropped while it was answering. Try again.",
        detail=str(exc),
        outcome_unknown=True,
    )


def never_sent(exc: requests.RequestException) -> bool:
    """True when the request certainly never reached the upstream (no connection was made), so repeating it
    cannot make — or bill for — anything twice. A read timeout or a connection dropped after connecting is not
    such a case: the upstream may be working on it."""
    # Not SSLError: urllib3 also raises it for a TLS failure while reading the answer, after the request went out.
    if isinstance(exc, requests.ConnectTimeout | requests.exceptions.ProxyError):
        return True
    reason = exc.args[0] if exc.args else None
    reason = getattr(reason, "reason", reason)  # urllib3's MaxRetryError wraps the cause
    # NewConnectionError and NameResolutionError are ConnectTimeoutError subclasses: refused, unresolvable, timed out.
    return isinstance(reason, urllib3.exceptions.ConnectTimeoutError)


def parse_json(body: bytearray | bytes) -> Any:
    """Parse JSON without keeping two copies of a large body alive at once.

    The caller hands over its only reference: decoding to str and parsing each hold one copy while the
    previous one is released, so the peak is about two body sizes, not three.
    """
    try:
        text = body.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise BadResponseError(reason="the answer is not UTF-8 text") from exc
    if isinstance(body, bytearray):
        body.clear()  # release the bytes before json builds its own strings
    try:
        return json.loads(text)
    except ValueError as exc:
        raise BadResponseError(reason="the answer is not valid JSON") from exc


def error_text(body: bytes | bytearray) -> tuple[Any, str]:
    """An error body as (parsed JSON or None, text), tolerating proxies that answer in plain text or HTML."""
    text = bytes(body[:MAX_ERROR_BYTES]).decode("utf-8", "replace")
    try:
        return json.loads(text), text
    except ValueError:
        return None, text.strip()[:500]
