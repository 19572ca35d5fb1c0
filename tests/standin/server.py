"""The stand-in upstream's HTTP server: one port serving OpenAI, OpenRouter, AUTOMATIC1111 and ComfyUI.

Point the app at it with ordinary settings (see `StandinServer.env()`):
  AI_IMAGE_OPENAI_BASE_URL=<url>/v1   AI_IMAGE_OPENROUTER_BASE_URL=<url>/api/v1   AI_IMAGE_SD_ENDPOINT=<url>
  AI_IMAGE_COMFYUI_ENDPOINT=<url>   (ComfyUI's routes live at the root: /prompt, /history, /ws, ...)

Every upstream request is recorded, then the script (behaviour.py) decides whether it waits, hangs or fails
before the family's handler answers. Threads per request, so parallel slow requests overlap as they would
against a real upstream.
"""

from __future__ import annotations

import contextlib
import json
import select
import socket
import threading
import time
import traceback
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from types import ModuleType
from typing import Any
from urllib.parse import parse_qsl, urlsplit

from . import a1111_routes, comfyui_routes, control, errors, openai_routes, openrouter_routes, websocket
from .state import StandinState
from .wire import FilePart, Request, Response, parse_multipart

# Longest prefix first: "/api/v1/" must not be taken for OpenAI's "/v1/". ComfyUI's paths are at the root.
FAMILIES: list[tuple[str, ModuleType]] = [
    ("/api/v1/", openrouter_routes),
    ("/v1/", openai_routes),
    ("/sdapi/", a1111_routes),
]


def family_for(path: str) -> ModuleType | None:
    found = next((m for prefix, m in FAMILIES if path.startswith(prefix)), None)
    if found is None and comfyui_routes.owns(path):
        return comfyui_routes
    return found


def _find_route(module: ModuleType, method: str, path: str) -> tuple[Any, bool] | None:
    """(handler, own_delay) for the route; (None, False) when only the method is wrong; None if no path."""
    path_known = False
    for route_method, pattern, handler, own_delay in module.ROUTES:
        hit = pattern == path if isinstance(pattern, str) else pattern.fullmatch(path) is not None
        if hit:
            path_known = True
            if route_method == method:
                return handler, own_delay
    return (None, False) if path_known else None


class StandinHandler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"  # keep-alive, like the real upstreams; every answer has a Content-Length
    server_version = "standin/1.0"
    server: StandinHTTPServer

    def do_GET(self) -> None:
        self._handle()

    def do_POST(self) -> None:
        self._handle()

    def do_DELETE(self) -> None:
        self._handle()

    def do_PUT(self) -> None:
        self._handle()

    def log_message(self, format: str, *args: Any) -> None:
        if self.server.verbose:
            super().log_message(format, *args)

    # ------------------------------------------------------------ plumbing

    def _read_body(self) -> tuple[bytes, Any, list[FilePart]]:
        # Always read the whole body, even for requests refused early: otherwise the leftover bytes would
        # be parsed as the next request on this keep-alive connection.
        length = int(self.headers.get("content-length") or 0)
        raw = self.rfile.read(length) if length > 0 else b""
        content_type = self.headers.get("content-type") or ""
        if content_type.startswith("multipart/form-data"):
            fields, files = parse_multipart(content_type, raw)
            return raw, fields, files
        if content_type.startswith("application/x-www-form-urlencoded"):
            # A form with no files (requests sends those urlencoded): the same fields, no files.
            return raw, {**dict(parse_qsl(raw.decode("utf-8", "replace"))), "_files": []}, []
        try:
            return raw, json.loads(raw) if raw else None, []
        except (ValueError, UnicodeDecodeError):
            return raw, None, []

    def _send(
        self, response: Response, request_id: str | None = None, entry: dict[str, Any] | None = None
    ) -> None:
        if response.websocket is not None:
            self._upgrade(response)
            return
        if response.stream is not None:
            self._send_stream(response, request_id, entry if entry is not None else {})
            return
        payload = response.payload()
        try:
            self.send_response(response.status)
            self.send_header("Content-Type", response.content_type)
            self.send_header("Content-Length", str(len(payload)))
            if request_id:
                self.send_header("x-request-id", request_id)
            for name, value in response.headers.items():
                self.send_header(name, value)
            self.end_headers()
            if self.command != "HEAD":
                self.wfile.write(payload)
        except (BrokenPipeError, ConnectionResetError):
            # The client gave up (a timeout in the app under test): nothing left to tell it.
            self.close_connection = True

    def _send_stream(self, response: Response, request_id: str | None, entry: dict[str, Any]) -> None:
        """Chunked transfer: each chunk at its time after the start (server-sent events).

        The recording counts the chunks sent so far (`chunks_sent`), so a test can see an event arrive
        before the next one exists."""
        started = time.monotonic()
        sent = 0
        try:
            self.send_response(response.status)
            self.send_header("Content-Type", response.content_type)
            self.send_header("Transfer-Encoding", "chunked")
            if request_id:
                self.send_header("x-request-id", request_id)
            for name, value in response.headers.items():
                self.send_header(name, value)
            self.end_headers()
            for at, chunk in response.stream or ():
                if self.server.stopping.wait(max(0.0, at - (time.monotonic() - started))):
                    break
                sent += 1
                self.server.state.annotate(entry, chunks_sent=sent)
                self.wfile.write(f"{len(chunk):x}\r\n".encode() + chunk + b"\r\n")
                self.wfile.flush()
            self.wfile.write(b"0\r\n\r\n")
        except (BrokenPipeError, ConnectionResetError):
            self.close_connection = True

    def _upgrade(self, response: Response) -> None:
        """Answer the websocket handshake, then hand the connection to the route's session until it ends."""
        key = self.headers.get("sec-websocket-key", "")
        try:
            self.send_response(101, "Switching Protocols")
            self.send_header("Upgrade", "websocket")
            self.send_header("Connection", "Upgrade")
            self.send_header("Sec-WebSocket-Accept", websocket.accept_key(key))
            self.end_headers()
            self.wfile.flush()
            assert response.websocket is not None
            response.websocket(websocket.WebSocket(self.connection, self.rfile, self.wfile))
        except (BrokenPipeError, ConnectionResetError, OSError):
            pass
        self.close_connection = True

    def _hold(self, epoch: int) -> bool:
        """Wait for a release; True to go on answering, False when the client left or the server stops."""
        state = self.server.state
        while not state.released(epoch):
            if self.server.stopping.is_set():
                return False
            readable, _, _ = select.select([self.connection], [], [], 0.05)
            if readable:
                try:
                    if not self.connection.recv(1, socket.MSG_PEEK):
                        self.close_connection = True
                        return False
                except OSError:
                    return False
                time.sleep(0.05)
        return True

    def _hang(self, epoch: int, limit: float) -> None:
        """Hold the request unanswered until the client leaves, `limit` passes (if > 0), or a release."""
        state = self.server.state
        deadline = time.monotonic() + limit if limit > 0 else None
        while not state.released(epoch) and not self.server.stopping.is_set():
            if deadline is not None and time.monotonic() >= deadline:
                break
            readable, _, _ = select.select([self.connection], [], [], 0.05)
            if readable:
                try:
                    if not self.connection.recv(1, socket.MSG_PEEK):
                        break  # the client closed its end
                except OSError:
                    break
                time.sleep(0.05)  # it sent something more; keep holding
        self.close_connection = True

    # ------------------------------------------------------------ dispatch

    def _handle(self) -> None:
        split = urlsplit(self.path)
        path, query = split.path, dict(parse_qsl(split.query, keep_blank_values=True))
        raw, body, files = self._read_body()
        state = self.server.state
        if path.startswith("/_standin/") or path == "/_standin":
            self._send(control.handle(state, self.command, path, query, body))
            return

        headers = {name.lower(): value for name, value in self.headers.items()}
        # The epoch before the record: a test that saw this request recorded and then releases hangs
        # must release this one too, even if it has not reached its hang yet.
        epoch = state.hang_epoch()
        entry = state.record(self.command, path, query, headers, body)
        host = headers.get("host") or f"127.0.0.1:{self.server.server_address[1]}"
        req = Request(
            self.command,
            path,
            query,
            headers,
            body,
            raw,
            base_url=f"http://{host}",
            hang_epoch=epoch,
            files=files,
            recording=entry,
        )
        try:
            response = self._answer(state, req)
        except Exception:
            response = Response(500, {"error": "standin crashed", "traceback": traceback.format_exc()})
        # Recorded as answered before the bytes go out, so a client that has its response can already
        # read the status from the recording.
        state.finish(entry, None if response is None else response.status)
        if response is not None:
            self._send(response, req.request_id, entry)

    def _answer(self, state: StandinState, req: Request) -> Response | None:
        """The response for an upstream route, or None when the connection is to be dropped unanswered."""
        if req.path.startswith("/files/"):
            data = state.get_file(req.path.removeprefix("/files/").removesuffix(".png"))
            if data is None:
                return Response(404, b"expired or unknown file", content_type="text/plain")
            return Response(200, data, content_type="image/png")

        module = family_for(req.path)
        if module is None:
            return Response(404, {"detail": "Not Found"})
        route = _find_route(module, req.method, req.path)
        if route is None:
            return module.not_found(req)
        handler, own_delay = route
        if handler is None:
            return Response(405, {"detail": "Method Not Allowed"})
        refusal = module.check_auth(state, req)
        if refusal is not None:
            return refusal

        effect = state.script.effect_for(module.FAMILY, req.path)
        if effect.hold and not self._hold(req.hang_epoch):
            return None  # the client left (or the server stopped) before the release
        if effect.hang or effect.fail_with == "disconnect":
            self._hang(req.hang_epoch, effect.delay if effect.hang else 0.001)
            return None
        # Some failures happen after the request was accepted (a ComfyUI prompt that fails while running):
        # the family's handler plays those itself.
        if effect.fail_with is not None and effect.fail_with not in getattr(module, "DEFERRED_FAILURES", ()):
            self._sleep(effect.delay)
            return errors.failure_response(
                module.FAMILY,
                effect.fail_with,
                req,
                module.model_of(req),
                effect.retry_after,
                flavour=state.config.sd_flavour,
            )
        started = time.monotonic()
        response = handler(state, req, effect)
        if not own_delay and response.stream is None and response.websocket is None:
            # Drawing counts towards the delay, so a scripted 2 s answers in 2 s even when 20 parallel
            # requests compete to draw large images.
            self._sleep(effect.delay - (time.monotonic() - started))
        return response

    def _sleep(self, seconds: float) -> None:
        # Event.wait rather than time.sleep: same accuracy, but stopping the server ends the wait.
        if seconds > 0:
            self.server.stopping.wait(seconds)


class StandinHTTPServer(ThreadingHTTPServer):
    daemon_threads = True  # a hung request must never keep the test process alive
    request_queue_size = 128  # benchmarks open 20+ connections at once; the default backlog is 5
    allow_reuse_address = True

    def __init__(self, address: tuple[str, int], state: StandinState, verbose: bool = False) -> None:
        super().__init__(address, StandinHandler)
        self.state = state
        self.verbose = verbose
        self.stopping = threading.Event()
        self._open: set[socket.socket] = set()
        self._open_lock = threading.Lock()

    # Open connections are tracked so that stopping also cuts the keep-alive ones: otherwise a client's
    # pooled connection would go on being served by its handler thread after "the upstream went down".
    def get_request(self) -> tuple[socket.socket, Any]:
        conn, address = super().get_request()
        with self._open_lock:
            self._open.add(conn)
        return conn, address

    def shutdown_request(self, request: Any) -> None:
        with self._open_lock:
            self._open.discard(request)
        super().shutdown_request(request)

    def cut_connections(self) -> None:
        with self._open_lock:
            conns, self._open = list(self._open), set()
        for conn in conns:
            with contextlib.suppress(OSError):
                conn.shutdown(socket.SHUT_RDWR)


class StandinServer:
    """The stand-in, in a thread of this process: `with StandinServer() as standin: standin.url`.

    Its control methods match StandinClient's, so fixtures can hand either to a test.
    """

    def __init__(self, host: str = "127.0.0.1", port: int = 0, verbose: bool = False, **config: Any) -> None:
        self.state = StandinState(**config)
        self._httpd = StandinHTTPServer((host, port), self.state, verbose=verbose)
        self._thread: threading.Thread | None = None

    # ------------------------------------------------------------ lifecycle

    def start(self) -> StandinServer:
        if self._thread is None:
            # A short poll interval so stop() returns in milliseconds: suites start one per test.
            self._thread = threading.Thread(
                target=self._httpd.serve_forever, kwargs={"poll_interval": 0.05}, name="standin", daemon=True
            )
            self._thread.start()
        return self

    def stop(self) -> None:
        self._httpd.stopping.set()
        self.state.release_hangs()
        self.state.comfy.shutdown()
        if self._thread is not None:
            self._httpd.shutdown()
            self._thread.join(timeout=5)
            self._thread = None
        self._httpd.server_close()
        self._httpd.cut_connections()

    def __enter__(self) -> StandinServer:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    # ------------------------------------------------------------ addresses

    @property
    def port(self) -> int:
        return self._httpd.server_address[1]

    @property
    def url(self) -> str:
        return f"http://{self._httpd.server_address[0]}:{self.port}"

    def env(self) -> dict[str, str]:
        """The app settings that point every provider at this stand-in."""
        return stand_in_env(self.url)

    # ------------------------------------------------------------ control (same names as StandinClient)

    def script(self, *rules: dict[str, Any], **rule: Any) -> list[dict[str, Any]]:
        """Replace the script: one rule from keywords, or several dicts; no arguments clears it."""
        return self.state.set_script(list(rules) if rules else ([rule] if rule else []))

    def add_rule(self, **rule: Any) -> list[dict[str, Any]]:
        return self.state.add_rules(rule)

    def configure(self, **config: Any) -> dict[str, Any]:
        return self.state.configure(**config)

    def reset(self) -> None:
        self.state.reset()

    def release(self) -> None:
        self.state.release_hangs()

    def requests(self, path: str | None = None, method: str | None = None) -> list[dict[str, Any]]:
        return self.state.requests(path, method)

    def clear_requests(self) -> None:
        self.state.clear_requests()

    def wait_for(
        self, path: str | None = None, count: int = 1, timeout: float = 10.0, answered: bool = False
    ) -> list[dict[str, Any]]:
        return self.state.wait_for(path, count=count, timeout=timeout, answered=answered)

    def describe(self) -> dict[str, Any]:
        return self.state.describe()

    def usages(self, path: str | None = None) -> list[dict[str, Any]]:
        """`{"path", "id", "status", "usage", "cost_usd"?}` for each answer that reported usage, oldest first."""
        return self.state.recorded("usage", path)

    def masks(self, path: str | None = None) -> list[dict[str, Any]]:
        """`{"path", "id", "status", "mask"}` for each request that carried a mask (see masks.py)."""
        return self.state.recorded("mask", path)


def stand_in_env(url: str) -> dict[str, str]:
    return {
        "AI_IMAGE_OPENAI_BASE_URL": f"{url}/v1",
        "AI_IMAGE_OPENROUTER_BASE_URL": f"{url}/api/v1",
        "AI_IMAGE_SD_ENDPOINT": url,
        "AI_IMAGE_COMFYUI_ENDPOINT": url,
    }
