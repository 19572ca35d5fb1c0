"""The `/_standin/` control API: the same operations as StandinServer's methods, as JSON over HTTP.

For when the stand-in runs as its own process (`python -m tests.standin`) and the test, the app and the
worker are other processes. `StandinClient` wraps these routes.

  GET    /_standin/health                       {"ok": true}
  GET    /_standin/state                        {"rules", "config", "jobs", "requests": <count>}
  POST   /_standin/script      rule | [rules] | {"rules": [...]}   replace the script → {"rules"}
  POST   /_standin/script/add  rule | [rules]   append               → {"rules"}
  POST   /_standin/config      any Config field (state.Config): {"sd_auth": ["u","p"] | null, "sd_flavour",
                                 "sd_live_previews", "openai_models", "today", "openrouter_key",
                                 "image_bytes_target", "comfyui_auth", "comfyui_websocket", "comfyui_previews",
                                 "comfyui_checkpoints", "comfyui_upscale_models"}
  POST   /_standin/reset                         rules, config, recordings and hangs back to start-up
  POST   /_standin/release                       end every request hanging now (connection closed)
  GET    /_standin/requests?path=&method=        {"requests": [...]} (path ending in * is a prefix)
  DELETE /_standin/requests                      forget the recorded requests
  GET    /_standin/wait?path=&count=&timeout=&answered=   block until they arrived; 408 on timeout
  GET    /_standin/usage?path=                   {"usage": [{"path", "id", "status", "usage", "cost_usd"?}]}
  GET    /_standin/masks?path=                   {"masks": [{"path", "id", "status", "mask"}]}
"""

from __future__ import annotations

from typing import Any

from .behaviour import ScriptError
from .state import StandinState
from .wire import Response


def _error(status: int, message: str) -> Response:
    return Response(status, {"error": message})


def handle(state: StandinState, method: str, path: str, query: dict[str, str], body: Any) -> Response:
    route = path.removeprefix("/_standin").rstrip("/") or "/"
    try:
        if (method, route) == ("GET", "/health"):
            return Response(200, {"ok": True})
        if (method, route) == ("GET", "/state"):
            return Response(200, state.describe())
        if (method, route) == ("POST", "/script"):
            return Response(200, {"rules": state.set_script(body if body is not None else [])})
        if (method, route) == ("POST", "/script/add"):
            return Response(200, {"rules": state.add_rules(body)})
        if (method, route) == ("POST", "/config"):
            if not isinstance(body, dict):
                return _error(400, "config takes a JSON object")
            return Response(200, {"config": state.configure(**body)})
        if (method, route) == ("POST", "/reset"):
            state.reset()
            return Response(200, {"ok": True})
        if (method, route) == ("POST", "/release"):
            state.release_hangs()
            return Response(200, {"ok": True})
        if (method, route) == ("GET", "/requests"):
            return Response(200, {"requests": state.requests(query.get("path"), query.get("method"))})
        if (method, route) == ("DELETE", "/requests"):
            state.clear_requests()
            return Response(200, {"ok": True})
        if (method, route) == ("GET", "/usage"):
            return Response(200, {"usage": state.recorded("usage", query.get("path"))})
        if (method, route) == ("GET", "/masks"):
            return Response(200, {"masks": state.recorded("mask", query.get("path"))})
        if (method, route) == ("GET", "/wait"):
            found = state.wait_for(
                query.get("path"),
                count=int(query.get("count", "1")),
                timeout=float(query.get("timeout", "10")),
                answered=query.get("answered", "") in ("1", "true"),
            )
            return Response(200, {"requests": found})
    except ScriptError as exc:
        return _error(400, str(exc))
    except TimeoutError as exc:
        return _error(408, str(exc))
    except (TypeError, ValueError) as exc:
        return _error(400, f"bad control request: {exc}")
    return _error(404, f"no control route {method} {path}")
