"""Image links in upstream answers reach public addresses only (issue 11 #5).

Real sockets, on this machine's loopback only: small HTTP servers on 127.0.0.1 and 127.0.0.2 play the upstream
and the hosts its links point at. No test here connects anywhere else.
"""

from __future__ import annotations

import ipaddress
import json
import socket
import threading
import time
from collections.abc import Callable, Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest
from hypothesis import given
from hypothesis import strategies as st

from imagegen.providers import GenerationRequest, ProviderError
from imagegen.providers.openai import OpenAIProvider
from imagegen.providers.public_fetch import fetch_public, is_public

from .conftest import Conn, png

Route = Callable[[BaseHTTPRequestHandler], None]


class LocalServer:
    """A threaded HTTP server on a loopback address; `routes` maps a path to a handler; `hits` lists paths asked."""

    def __init__(self, host: str = "127.0.0.1") -> None:
        self.routes: dict[str, Route] = {}
        self.hits: list[str] = []
        server = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args: object) -> None:
                pass

            def _any(self) -> None:
                server.hits.append(self.path)
                route = server.routes.get(self.path)
                if route is None:
                    self.send_error(404)
                else:
                    route(self)

            do_GET = do_POST = _any

        self.httpd = ThreadingHTTPServer((host, 0), Handler)
        self.httpd.daemon_threads = True
        self.httpd.block_on_close = False  # a handler still trickling must not hold up the test's end
        self.host = host
        self.port = self.httpd.server_address[1]
        self.thread = threading.Thread(target=self.httpd.serve_forever, args=(0.05,), daemon=True)

    def url(self, path: str, host: str | None = None) -> str:
        return f"http://{host or self.host}:{self.port}{path}"

    def __enter__(self) -> LocalServer:
        self.thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.httpd.shutdown()
        self.httpd.server_close()


def send(
    status: int, body: bytes, content_type: str = "image/png", headers: dict[str, str] | None = None
) -> Route:
    def route(handler: BaseHTTPRequestHandler) -> None:
        if handler.command == "POST":
            handler.rfile.read(int(handler.headers.get("Content-Length") or 0))
        handler.send_response(status)
        handler.send_header("Content-Type", content_type)
        handler.send_header("Content-Length", str(len(body)))
        for name, value in (headers or {}).items():
            handler.send_header(name, value)
        handler.end_headers()
        handler.wfile.write(body)

    return route


def answer_with_link(link: str) -> Route:
    return send(200, json.dumps({"created": 1, "data": [{"url": link}]}).encode(), "application/json")


@pytest.fixture
def server() -> Iterator[LocalServer]:
    with LocalServer() as running:
        yield running


@pytest.fixture
def allow_loopback_1(settings) -> None:
    """The test-only allowance, for 127.0.0.1 alone."""
    settings.UPSTREAM_IMAGE_LINKS_ALLOW = ["127.0.0.1/32"]


def fetch(url: str, **kwargs) -> bytes:
    options = {"timeout": 5.0, "max_bytes": 1024 * 1024, "user_agent": "Inkweld-test", **kwargs}
    return fetch_public(url, **options)


# --- Which addresses count as public -------------------------------------------------------------------------

REFUSED = [
    "127.0.0.1", "127.8.9.10", "0.0.0.0", "10.1.2.3",  # noqa: S104 — addresses to refuse, nothing binds here "172.16.0.1", "172.31.255.255", "192.168.1.20",
    "169.254.169.254", "169.254.0.1", "100.64.0.1", "192.0.0.1", "198.18.0.1", "224.0.0.1", "239.255.255.250",
    "240.0.0.1", "255.255.255.255", "192.0.2.1",
    "::1", "::", "fe80::1", "fc00::1", "fd12:3456::1", "ff02::1", "ff0e::1", "::ffff:127.0.0.1",
    "::ffff:169.254.169.254", "::ffff:10.0.0.1", "64:ff9b::7f00:1", "64:ff9b::a9fe:a9fe", "2002:7f00:1::1",
    "2002:a9fe:a9fe::1", "::127.0.0.1", "2001:db8::1", "100::1",
]  # fmt: skip
PUBLIC = [
    "8.8.8.8",
    "1.1.1.1",
    "93.184.216.34",
    "2606:4700:4700::1111",
    "2a00:1450:4001::200e",
    "::ffff:8.8.8.8",
]


@pytest.mark.parametrize("address", REFUSED)
def test_not_public(address: str) -> None:
    assert not is_public(ipaddress.ip_address(address))


@pytest.mark.parametrize("address", PUBLIC)
def test_public(address: str) -> None:
    assert is_public(ipaddress.ip_address(address))


@given(st.ip_addresses(v=4))
def test_an_ipv4_address_and_its_ipv6_wrappings_agree(address: ipaddress.IPv4Address) -> None:
    mapped = ipaddress.IPv6Address(f"::ffff:{address}")
    assert is_public(mapped) == is_public(address)
    if not is_public(address):
        nat64 = ipaddress.IPv6Address(int(ipaddress.IPv6Address("64:ff9b::")) | int(address))
        sixtofour = ipaddress.IPv6Address((0x2002 << 112) | (int(address) << 80) | 1)
        assert not is_public(nat64) and not is_public(sixtofour)


@given(st.sampled_from(["10.0.0.0/8", "172.16.0.0/12", "192.168.0.0/16", "127.0.0.0/8", "169.254.0.0/16",
                        "fc00::/7", "fe80::/10", "ff00::/8", "224.0.0.0/4"]), st.integers(min_value=0))  # fmt: skip
def test_every_address_in_a_private_range_is_refused(network: str, offset: int) -> None:
    net = ipaddress.ip_network(network)
    assert not is_public(net[offset % net.num_addresses])


# --- Fetching, with real sockets -----------------------------------------------------------------------------


def test_the_probe_an_upstream_linking_to_loopback_gets_nothing_fetched(server) -> None:
    """The reported defect: a stand-in answering {"data":[{"url":"http://127.0.0.1:…"}]} made the app fetch it."""
    server.routes["/v1/images/generations"] = answer_with_link(server.url("/internal/admin.png"))
    server.routes["/internal/admin.png"] = send(200, png(8, 8))
    # The admin's own base URL may be on loopback: that request goes out as configured.
    provider = OpenAIProvider(Conn("openai", "sk-test-key-0123456789", server.url("/v1")))
    with pytest.raises(ProviderError) as caught:
        provider.generate(GenerationRequest(model="dall-e-2", prompt="p", size="256x256"))
    assert caught.value.error_class == "bad_response"
    assert "private or local network address" in caught.value.message
    assert server.hits == ["/v1/images/generations"]  # the link was never requested


def test_a_name_that_resolves_to_loopback_is_refused(server, monkeypatch) -> None:
    real = socket.getaddrinfo

    def resolve(host, *args, **kwargs):
        return real("127.0.0.1" if host == "images.cdn.test" else host, *args, **kwargs)

    monkeypatch.setattr(socket, "getaddrinfo", resolve)
    server.routes["/a.png"] = send(200, png(8, 8))
    with pytest.raises(ProviderError) as caught:
        fetch(server.url("/a.png", host="images.cdn.test"))
    assert caught.value.error_class == "bad_response" and "images.cdn.test" in caught.value.detail
    assert server.hits == []


def test_a_lookup_that_hangs_is_cut_off_by_the_connect_timeout(monkeypatch) -> None:
    """The system resolver may retry for many seconds; the fetch gives up when its timeout says, not when it does."""
    released = threading.Event()
    still_hanging = []

    def hang(host, *args, **kwargs):
        released.wait(30)  # a resolver that does not answer (released below, so no thread is left behind)
        raise socket.gaierror(socket.EAI_AGAIN, "Temporary failure in name resolution")

    monkeypatch.setattr(socket, "getaddrinfo", hang)
    try:
        with pytest.raises(ProviderError) as caught:
            fetch("http://images.cdn.test/a.png", timeout=0.3)
        still_hanging.append(not released.is_set())
    finally:
        released.set()
    assert still_hanging == [True]  # the fetch answered while the lookup was still stuck
    assert caught.value.error_class == "unavailable"


@pytest.mark.parametrize("host", ["[::1]", "0.0.0.0", "127.1", "2130706433", "[::ffff:127.0.0.1]"])  # noqa: S104
def test_loopback_spelled_other_ways_is_refused(server, host) -> None:
    with pytest.raises(ProviderError) as caught:
        fetch(f"http://{host}:{server.port}/a.png")
    assert caught.value.error_class in {"bad_response", "unavailable"}
    assert server.hits == []


def test_the_test_only_allowance_lets_the_local_stand_in_serve_links(server, allow_loopback_1) -> None:
    picture = png(8, 8)
    server.routes["/a.png"] = send(200, picture)
    assert fetch(server.url("/a.png")) == picture


def test_without_the_allowance_the_same_link_is_refused(server) -> None:
    server.routes["/a.png"] = send(200, png(8, 8))
    with pytest.raises(ProviderError):
        fetch(server.url("/a.png"))
    assert server.hits == []


def test_a_redirect_into_a_private_address_is_refused(server, allow_loopback_1) -> None:
    with LocalServer("127.0.0.2") as inside:
        inside.routes["/secret.png"] = send(200, png(8, 8))
        server.routes["/a.png"] = send(302, b"", headers={"Location": inside.url("/secret.png")})
        with pytest.raises(ProviderError) as caught:
            fetch(server.url("/a.png"))
        assert caught.value.error_class == "bad_response"
        assert server.hits == ["/a.png"] and inside.hits == []


def test_endless_redirects_stop(server, allow_loopback_1) -> None:
    server.routes["/a.png"] = send(302, b"", headers={"Location": "/a.png"})
    with pytest.raises(ProviderError) as caught:
        fetch(server.url("/a.png"))
    assert caught.value.error_class == "bad_response"
    assert len(server.hits) == 4  # the first request and three redirects


def test_a_body_past_the_cap_is_refused_even_without_a_length(server, allow_loopback_1) -> None:
    def stream(handler: BaseHTTPRequestHandler) -> None:
        handler.protocol_version = "HTTP/1.0"  # no Content-Length: the body runs until the server closes
        handler.send_response(200)
        handler.send_header("Content-Type", "image/png")
        handler.end_headers()
        for _ in range(40):
            handler.wfile.write(b"\0" * 64 * 1024)

    server.routes["/big.png"] = stream
    with pytest.raises(ProviderError) as caught:
        fetch(server.url("/big.png"), max_bytes=1024 * 1024)
    assert caught.value.error_class == "bad_response" and "larger than 1 MB" in caught.value.message


def test_a_trickling_body_is_cut_off_at_the_deadline(server, allow_loopback_1) -> None:
    def trickle(handler: BaseHTTPRequestHandler) -> None:
        handler.send_response(200)
        handler.send_header("Content-Type", "image/png")
        handler.send_header("Content-Length", "100000")
        handler.end_headers()
        for _ in range(100):  # each byte well inside the read timeout, the whole far past it
            try:
                handler.wfile.write(b"\0")
                handler.wfile.flush()
            except OSError:
                return
            time.sleep(0.1)

    server.routes["/slow.png"] = trickle
    with pytest.raises(ProviderError) as caught:
        fetch(server.url("/slow.png"), timeout=1.0)
    assert caught.value.error_class == "unavailable"
    assert len(server.hits) == 1


def test_a_non_200_answer_is_not_an_image(server, allow_loopback_1) -> None:
    server.routes["/gone.png"] = send(404, b"nope", "text/plain")
    with pytest.raises(ProviderError) as caught:
        fetch(server.url("/gone.png"))
    assert caught.value.error_class == "unavailable" and caught.value.permanent
