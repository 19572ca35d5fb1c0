"""`python -m tests.standin --port 0 --port-file /tmp/standin.port [--sd-auth user:pass] [...]`

Runs the stand-in upstream as its own process, for when the app and the worker are separate processes too.
Prints its URL, writes the chosen port to --port-file (atomically: a reader never sees half a number), and
stops cleanly on SIGTERM or Ctrl-C. Control it over HTTP with StandinClient (see control.py for the routes).
"""

from __future__ import annotations

import argparse
import os
import signal
import threading
from pathlib import Path

from .server import StandinServer


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="python -m tests.standin", description=__doc__.splitlines()[0])
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=0, help="0 picks a free port")
    parser.add_argument("--port-file", type=Path, help="write the chosen port here")
    parser.add_argument("--sd-auth", help="user:password; puts Basic auth on /sdapi like --api-auth")
    parser.add_argument("--image-bytes-target", type=int, help="make every image about this many bytes")
    parser.add_argument("--sd-flavour", choices=["a1111", "a1111-old", "forge", "sdnext"])
    parser.add_argument("--openai-models", help="a preset: openai (a direct key today) or gateway (default)")
    parser.add_argument("--comfyui-auth", help="user:password (Basic) or a token (Bearer) asked by a proxy")
    parser.add_argument("--no-comfyui-websocket", action="store_true", help="refuse /ws, as a blocking proxy")
    parser.add_argument("--verbose", action="store_true", help="log each request to stderr")
    args = parser.parse_args(argv)

    config = {}
    if args.sd_auth:
        user, sep, password = args.sd_auth.partition(":")
        if not sep:
            parser.error("--sd-auth takes user:password")
        config["sd_auth"] = (user, password)
    if args.image_bytes_target:
        config["image_bytes_target"] = args.image_bytes_target
    if args.sd_flavour:
        config["sd_flavour"] = args.sd_flavour
    if args.openai_models:
        config["openai_models"] = args.openai_models
    if args.comfyui_auth:
        user, sep, password = args.comfyui_auth.partition(":")
        config["comfyui_auth"] = (user, password) if sep else args.comfyui_auth
    if args.no_comfyui_websocket:
        config["comfyui_websocket"] = False

    stop = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: stop.set())
    signal.signal(signal.SIGINT, lambda *_: stop.set())

    server = StandinServer(host=args.host, port=args.port, verbose=args.verbose, **config).start()
    if args.port_file:
        partial = args.port_file.with_name(f".{args.port_file.name}.{os.getpid()}")
        partial.write_text(str(server.port))
        partial.replace(args.port_file)
    print(f"stand-in upstream listening on {server.url}", flush=True)
    try:
        stop.wait()
    finally:
        server.stop()


if __name__ == "__main__":
    main()
