"""Stable Diffusion WebUI bodies (`/sdapi/v1`): answers and errors, by flavour.

The flavours differ in small, documented ways (see catalog.SD_FLAVOURS): SD.Next's error bodies carry a
`code` and an `errors` text, Forge's 422s are pydantic v2's, A1111's are pydantic v1's. Pure functions.
"""

from __future__ import annotations

import json
from typing import Any

from .. import catalog
from .common import Reply, reply, retry_headers


def a1111_images_body(
    images_b64: list[str], parameters: dict[str, Any], info: dict[str, Any]
) -> dict[str, Any]:
    """A txt2img / img2img answer; `info` goes out as a JSON *string*, as the WebUI sends it."""
    return {"images": images_b64, "parameters": parameters, "info": json.dumps(info)}


def a1111_extras_body(image_b64: str, html_info: str = "") -> dict[str, Any]:
    """`POST /extra-single-image`."""
    return {"html_info": html_info, "image": image_b64}


def a1111_progress_body(
    *,
    progress: float = 0.0,
    eta: float = 0.0,
    job: str = "",
    job_count: int = 0,
    job_no: int = 0,
    sampling_step: int = 0,
    sampling_steps: int = 0,
    interrupted: bool = False,
    current_image: str | None = None,
    job_timestamp: str = "0",
) -> dict[str, Any]:
    """`GET /progress`: the defaults are an idle WebUI."""
    return {
        "progress": progress,
        "eta_relative": eta,
        "state": {
            "skipped": False,
            "interrupted": interrupted,
            "stopping_generation": False,
            "job": job,
            "job_count": job_count,
            "job_timestamp": job_timestamp,
            "job_no": job_no,
            "sampling_step": sampling_step,
            "sampling_steps": sampling_steps,
        },
        "current_image": current_image,
        "textinfo": None,
        "current_task": "task(standin)" if job else None,
    }


# ---------------------------------------------------------------- errors


def a1111_exception(
    status: int, detail: str, *, error: str = "HTTPException", errors: str = "", flavour: str = "a1111"
) -> Reply:
    """The WebUI's exception body; SD.Next adds `code` and always fills `errors`."""
    body: dict[str, Any] = {"error": error, "detail": detail, "body": "", "errors": errors}
    if catalog.SD_FLAVOURS[flavour]["error_code_field"]:
        body = {
            "error": error,
            "code": status,
            "detail": detail,
            "body": "",
            "errors": errors or f"{status}: {detail}",
        }
    return reply(status, body)


def a1111_unauthorized(detail: str, flavour: str = "a1111") -> Reply:
    status, body, headers = a1111_exception(401, detail, flavour=flavour)
    return Reply(status, body, {**headers, "www-authenticate": "Basic"})


def a1111_validation(field: str, msg: str, type_: str, flavour: str = "a1111", value: Any = None) -> Reply:
    """FastAPI's 422 for one bad body field: pydantic v1's shape, or v2's on Forge (with `input`)."""
    if catalog.SD_FLAVOURS[flavour]["pydantic"] == 2:
        detail = {
            "type": _V2_TYPES.get(type_, type_),
            "loc": ["body", field],
            "msg": _V2_MESSAGES.get(type_, msg),
            "input": value,
        }
    else:
        detail = {"loc": ["body", field], "msg": msg, "type": type_}
    return reply(422, {"detail": [detail]})


_V2_TYPES = {
    "type_error.integer": "int_parsing",
    "type_error.float": "float_parsing",
    "type_error.bool": "bool_parsing",
}
_V2_MESSAGES = {
    "type_error.integer": "Input should be a valid integer, unable to parse string as an integer",
    "type_error.float": "Input should be a valid number, unable to parse string as a number",
    "type_error.bool": "Input should be a valid boolean, unable to interpret input",
}


def a1111_oom(flavour: str = "a1111") -> Reply:
    return a1111_exception(
        500,
        "",
        error="OutOfMemoryError",
        errors="CUDA out of memory. Tried to allocate 2.00 GiB (GPU 0; 8.00 GiB total capacity)",
        flavour=flavour,
    )


def a1111_failure(name: str, *, flavour: str = "a1111", retry_after: float = 1.0) -> Reply:
    """The answer for a scripted failure name; one the WebUI has no equivalent for is its 500."""
    if name == "unauthorized":
        return a1111_unauthorized("Incorrect username or password", flavour)
    if name == "validation":
        return a1111_validation(
            "steps", "value is not a valid integer", "type_error.integer", flavour, "many"
        )
    # The WebUI itself never rate-limits or goes unavailable; these come from a reverse proxy or FastAPI.
    if name == "rate_limit":
        return Reply(429, {"detail": "Too Many Requests"}, retry_headers(retry_after))
    if name == "unavailable":
        return reply(503, {"detail": "Service Unavailable"})
    if name == "bad_gateway":
        return Reply(
            502, b"<html><body><h1>502 Bad Gateway</h1></body></html>", {"content-type": "text/html"}
        )
    if name == "oom":
        return a1111_oom(flavour)
    return a1111_exception(
        500,
        "",
        error="RuntimeError",
        errors="CUDA out of memory. Tried to allocate 2.00 GiB (GPU 0; 8.00 GiB total capacity)",
        flavour=flavour,
    )
