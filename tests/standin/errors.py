"""Scripted failures as HTTP answers: each family's real error body (built in wire_bodies), per failure name.

A failure a provider has no equivalent for (an A1111 "content_policy") becomes that provider's 500, so a
global rule never produces a body the real service could not send. ComfyUI's execution failures ("oom",
"execution_error") are not answers at all: the prompt is accepted and fails while it runs (comfyui_exec).
"""

from __future__ import annotations

from .wire import Request, Response
from .wire_bodies import (
    Reply,
    a1111_failure,
    comfyui_failure,
    openai_failure,
    openrouter_failure,
    openrouter_late_error_body,
)


def to_response(reply: Reply) -> Response:
    headers = dict(reply.headers)
    content_type = headers.pop("content-type", "application/json")
    return Response(reply.status, reply.body, headers, content_type=content_type)


def _prompt_of(req: Request) -> str:
    body = req.json_dict()
    messages = body.get("messages") if isinstance(body.get("messages"), list) else []
    last = messages[-1] if messages and isinstance(messages[-1], dict) else {}
    return str(body.get("prompt") or last.get("content") or "")


def failure_response(
    family: str, name: str, req: Request, model: str, retry_after: float, flavour: str = "a1111"
) -> Response:
    if family == "openai":
        return to_response(
            openai_failure(
                name, model=model, key=req.bearer(), request_id=req.request_id, retry_after=retry_after
            )
        )
    if family == "openrouter":
        if name == "late_error" and req.path.endswith("/chat/completions"):
            return Response(200, openrouter_late_error_body(model))
        return to_response(
            openrouter_failure(name, model=model, prompt=_prompt_of(req), retry_after=retry_after)
        )
    if family == "comfyui":
        return to_response(comfyui_failure(name, retry_after=retry_after))
    return to_response(a1111_failure(name, flavour=flavour, retry_after=retry_after))
