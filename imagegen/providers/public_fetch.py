"""Fetching what an upstream's answer links to: from public internet addresses only.

An answer is not trusted input. A hostile or compromised gateway could answer `{"data": [{"url": …}]}` with a link to
the cloud metadata service (169.254.169.254), to this app on 127.0.0.1, or to a database on the LAN, and the worker
would fetch it from inside the network. So an image link that comes back in an answer is fetched through a session
whose every connection — the first one and each redirect's — goes only to an address checked to be public. The
host name is resolved once and the socket is connected to the very address that was checked, so DNS cannot answer
"public" for the check and "private" for the connect (healthchecks' `hc/lib/curl.py` does the same with curl's
OPENSOCKETFUNCTION). The body is streamed with a size cap, and the whole fetch has a deadline.

This applies only to links from answers. The base URLs and endpoints an admin sets are free to be private: a
self-hosted WebUI on the LAN is normal, and those requests go through the provider's own session.

Test-only allowance: the setting `UPSTREAM_IMAGE_LINKS_ALLOW` (a list of networks, e.g. ``["127.0.0.1/32"]``) lets
links into those networks through, so tests can have the stand-in on 127.0.0.1 serve image links. Only
`inkweld/settings_test.py` sets it (from `INKWELD_TEST_IMAGE_LINKS_ALLOW`); the product's settings never do, so it
is empty everywhere else.
"""

from __future__ import annotations

import concurrent.futures
import ipaddress
import socket
import time
from collections.abc import Iterable
from typing import Any

import requests
from django.conf import settings
from requests.adapters import HTTPAdapter
from urllib3.connection import HTTPConnection, HTTPSConnection
from urllib3.connectionpool import HTTPConnectionPool, HTTPSConnectionPool
from urllib3.exceptions import ConnectTimeoutError, HTTPError, NameResolutionError, NewConnectionError
from urllib3.util.connection import create_connection

from .errors import BadResponseError, UnavailableError

IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address

MAX_REDIRECTS = 3
_CHUNK = 64 * 1024  # small, so the deadline is checked often even on a slow link
# NAT64 (RFC 6052): 64:ff9b::a.b.c.d reaches the IPv4 address a.b.c.d through a translator.
_NAT64 = ipaddress.IPv6Network("64:ff9b::/96")


def embedded_ipv4(address: ipaddress.IPv6Address) -> ipaddress.IPv4Address | None:
    """The IPv4 address an IPv6 address carries and would reach (mapped, 6to4, Teredo, NAT64), if any."""
    if address.ipv4_mapped is not None:
        return address.ipv4_mapped
    if address.sixtofour is not None:
        return address.sixtofour
    if address.teredo is not None:
        return address.teredo[1]
    if address in _NAT64:
        return ipaddress.IPv4Address(int(address) & 0xFFFFFFFF)
    return None


def is_public(address: IPAddress) -> bool:
    """A globally routable unicast address: not loopback, private, shared (CGNAT), link-local (169.254.0.0/16,
    the metadata service), unique-local, multicast, reserved or unspecified — nor an IPv6 address wrapping one."""
    if isinstance(address, ipaddress.IPv6Address):
        if address.ipv4_mapped is not None:  # ::ffff:a.b.c.d is a.b.c.d on a dual-stack socket
            return is_public(address.ipv4_mapped)
        inner = embedded_ipv4(address)
        if inner is not None and not is_public(inner):
            return False
    # is_global alone lets IPv4 multicast through on Python 3.11; every other test is spelled out for the reader.
    return address.is_global and not (
        address.is_multicast
        or address.is_private
        or address.is_loopback
        or address.is_link_local
        or address.is_reserved
        or address.is_unspecified
    )


def _allowed_networks() -> list[ipaddress.IPv4Network | ipaddress.IPv6Network]:
    return [
        ipaddress.ip_network(n, strict=False) for n in getattr(settings, "UPSTREAM_IMAGE_LINKS_ALLOW", [])
    ]


def address_allowed(
    address: IPAddress, allow: Iterable[ipaddress.IPv4Network | ipaddress.IPv6Network] = ()
) -> bool:
    return is_public(address) or any(address in network for network in allow)


_RESOLVER = concurrent.futures.ThreadPoolExecutor(max_workers=4, thread_name_prefix="public-fetch-dns")


class RefusedAddress(NewConnectionError):
    """The link leads to an address that is not public: nothing was sent there."""


def _connect_public(conn: HTTPConnection) -> socket.socket:
    """Resolve the host once, then connect only to an address that passed the check (and verify the peer)."""
    allow = _allowed_networks()
    # The lookup runs in a thread so the connect timeout bounds it too: the system resolver has no timeout of ours
    # and may retry for many seconds (a lookup it is still doing is left to finish there, unseen).
    lookup = _RESOLVER.submit(socket.getaddrinfo, conn._dns_host, conn.port, type=socket.SOCK_STREAM)
    try:
        infos = lookup.result(timeout=conn.timeout if isinstance(conn.timeout, int | float) else None)
    except concurrent.futures.TimeoutError as exc:
        raise ConnectTimeoutError(conn, f"Looking up {conn.host} timed out.") from exc
    except socket.gaierror as exc:
        raise NameResolutionError(conn.host, conn, exc) from exc
    # A numeric address comes back as text for IPv4 and IPv6, the families asked for here.
    candidates = [str(info[4][0]) for info in infos]
    usable = [ip for ip in candidates if address_allowed(ipaddress.ip_address(ip.split("%")[0]), allow)]
    if not usable:
        raise RefusedAddress(conn, f"{conn.host} resolves to no public address ({', '.join(candidates)})")
    error: OSError | None = None
    for ip in usable:
        try:
            sock = create_connection(
                (ip, conn.port),
                conn.timeout,
                source_address=conn.source_address,
                socket_options=conn.socket_options,
            )
        except TimeoutError as exc:
            raise ConnectTimeoutError(conn, f"Connection to {conn.host} timed out.") from exc
        except OSError as exc:
            error = exc
            continue
        peer = ipaddress.ip_address(sock.getpeername()[0].split("%")[0])
        if not address_allowed(peer, allow):  # belt and braces: what we reached is what we checked
            sock.close()
            raise RefusedAddress(conn, f"{conn.host} connected to {peer}, which is not public")
        return sock
    raise NewConnectionError(conn, f"Failed to establish a new connection: {error}")


class _PublicHTTPConnection(HTTPConnection):
    def _new_conn(self) -> socket.socket:
        return _connect_public(self)


class _PublicHTTPSConnection(HTTPSConnection):
    def _new_conn(self) -> socket.socket:
        return _connect_public(self)


class _PublicHTTPPool(HTTPConnectionPool):
    ConnectionCls = _PublicHTTPConnection


class _PublicHTTPSPool(HTTPSConnectionPool):
    ConnectionCls = _PublicHTTPSConnection


class PublicOnlyAdapter(HTTPAdapter):
    """A transport adapter whose connections reach public addresses only."""

    def init_poolmanager(self, *args: Any, **kwargs: Any) -> None:
        super().init_poolmanager(*args, **kwargs)
        # A new dict: urllib3's default is shared by every PoolManager in the process.
        self.poolmanager.pool_classes_by_scheme = {"http": _PublicHTTPPool, "https": _PublicHTTPSPool}


def public_session(user_agent: str) -> requests.Session:
    session = requests.Session()
    # No proxy from the environment: the check must be about the address the link names, not a proxy's.
    session.trust_env = False
    session.max_redirects = MAX_REDIRECTS
    session.headers["User-Agent"] = user_agent
    adapter = PublicOnlyAdapter(max_retries=0)
    session.mount("http://", adapter)
    session.mount("https://", adapter)
    return session


def _refused(exc: BaseException) -> RefusedAddress | None:
    """The RefusedAddress somewhere inside a requests exception (requests wraps urllib3's MaxRetryError)."""
    seen: BaseException | None = exc
    while seen is not None:
        reason = getattr(seen, "reason", None)
        if isinstance(reason, RefusedAddress):
            return reason
        for arg in getattr(seen, "args", ()):
            if isinstance(getattr(arg, "reason", None), RefusedAddress):
                return arg.reason
        seen = seen.__cause__ or seen.__context__
    return None


def fetch_public(url: str, *, timeout: float, max_bytes: int, user_agent: str) -> bytes:
    """The body at `url` (200 only), fetched from public addresses only, at most `max_bytes`, within `timeout`
    seconds in all. Raises BadResponseError for a link we will not follow, UnavailableError when it fails."""
    deadline = time.monotonic() + timeout
    with public_session(user_agent) as session:
        try:
            response = session.get(url, timeout=timeout, stream=True)
        except requests.TooManyRedirects as exc:
            raise BadResponseError(reason="its image link redirects too many times") from exc
        except requests.ConnectionError as exc:
            refused = _refused(exc)
            if refused is not None:
                raise BadResponseError(
                    reason="its image link points at a private or local network address, which is never fetched",
                    detail=str(refused),
                ) from exc
            raise UnavailableError(
                "The provider's image link could not be fetched. Try again.", detail=type(exc).__name__
            ) from exc
        except requests.RequestException as exc:  # timeouts, malformed links
            raise UnavailableError(
                "The provider's image link could not be fetched. Try again.", detail=type(exc).__name__
            ) from exc
        with response:
            if response.status_code != 200:
                raise UnavailableError(
                    "The provider's image link could not be fetched (it may have expired). Try again.",
                    detail=f"HTTP {response.status_code}",
                    permanent=True,
                )
            return _read(response, max_bytes=max_bytes, deadline=deadline, timeout=timeout)


def _read(response: requests.Response, *, max_bytes: int, deadline: float, timeout: float) -> bytes:
    too_large = BadResponseError(reason=f"its image is larger than {max_bytes // (1024 * 1024)} MB")
    declared = response.headers.get("content-length", "")
    if declared.isdigit() and int(declared) > max_bytes:
        raise too_large
    body = bytearray()
    try:
        # read1: one receive per call, so a link that trickles a byte at a time still meets the deadline (read()
        # would wait for a whole chunk, each byte arriving well inside the socket timeout).
        while chunk := response.raw.read1(_CHUNK, decode_content=True):
            body += chunk
            if len(body) > max_bytes:
                raise too_large
            if time.monotonic() > deadline:
                raise UnavailableError(
                    f"The provider's image link did not finish within {round(timeout)} seconds. Try again.",
                    detail="deadline",
                )
    except (requests.RequestException, HTTPError, OSError) as exc:
        raise UnavailableError(
            "The connection dropped while fetching the provider's image. Try again.",
            detail=type(exc).__name__,
        ) from exc
    return bytes(body)
