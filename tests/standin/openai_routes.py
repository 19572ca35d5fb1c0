"""OpenAI's images API: `POST /v1/images/generations`, `POST /v1/images/edits` (multipart), `GET /v1/models`.

Requests are checked by openai_rules as the real API checks them; answers are built by wire_bodies.openai.
gpt-image answers carry `usage` from the stand-in's token table, recorded on the request (`usage`,
`cost_usd`) so a test can compare the app's computed cost with it. `stream: true` answers server-sent
events, spaced over the scripted delay. An edit's mask is recorded decoded (see masks.py).
"""

from __future__ import annotations

import base64
import datetime as dt
import re
import zlib
from collections.abc import Iterator
from typing import Any

from . import errors, images
from .behaviour import Effect
from .openai_rules import Plan, Refused, plan_edit, plan_generation
from .state import StandinState
from .wire import Request, Response
from .wire_bodies import (
    openai_cost,
    openai_error_body,
    openai_image_body,
    openai_invalid,
    openai_missing_key,
    openai_model_not_found,
    openai_models_body,
    openai_stream_event,
    openai_usage_for,
    sse,
)

FAMILY = "openai"


def check_auth(state: StandinState, req: Request) -> Response | None:
    return None if req.bearer() else errors.to_response(openai_missing_key())


def not_found(req: Request) -> Response:
    return Response(
        404, openai_error_body(f"Invalid URL ({req.method} {req.path})", "invalid_request_error", None)
    )


def model_of(req: Request) -> str:
    return str(req.json_dict().get("model") or "gpt-image-2")


def _today(state: StandinState) -> dt.date:
    return dt.date.fromisoformat(state.config.today) if state.config.today else dt.datetime.now(dt.UTC).date()


def _draw(state: StandinState, req: Request, plan: Plan, effect: Effect, count: int) -> list[bytes]:
    serial = state.next_serial()
    bytes_target = state.bytes_target(effect)
    drawn = []
    for index in range(count):
        # Seeded by prompt, request and index: each image differs, and a rerun of the suite redraws the same.
        seed = zlib.crc32(plan.prompt.encode()) ^ (serial * 7919 + index)
        label = images.label_for(index, plan.prompt, plan.model + (" edit" if plan.input_sizes else ""))
        drawn.append(
            images.render(
                plan.width, plan.height, seed, label, bytes_target=bytes_target, fmt=plan.output_format
            )
        )
    return drawn


def _usage(plan: Plan, count: int) -> dict[str, Any] | None:
    if not plan.rules.gpt_image:
        return None
    return openai_usage_for(
        plan.model,
        plan.prompt,
        size=(plan.width, plan.height),
        quality=plan.quality,
        n=count,
        complexity=plan.complexity,
        input_images=plan.input_sizes,
        input_fidelity=plan.input_fidelity,
    )


def _answer(state: StandinState, req: Request, plan: Plan, effect: Effect) -> Response:
    count = max(0, plan.n - effect.fewer_images)
    drawn = _draw(state, req, plan, effect, count)
    usage = _usage(plan, count)
    annotations: dict[str, Any] = {"model": plan.model, "size": [plan.width, plan.height], "images": count}
    if usage is not None:
        annotations.update(usage=usage, cost_usd=openai_cost(plan.model, usage))
    if plan.mask is not None:
        annotations["mask"] = plan.mask
    if plan.input_sizes:
        annotations["input_images"] = [list(size) for size in plan.input_sizes]
    state.annotate(req.recording, **annotations)
    if plan.stream:
        return Response(
            200,
            None,
            {"cache-control": "no-cache"},
            content_type="text/event-stream; charset=utf-8",
            stream=_events(plan, drawn, usage, effect.delay),
        )
    reported = "auto" if plan.quality == "auto" else plan.quality
    if plan.as_url:
        urls = [f"{req.base_url}/files/{state.put_file(png)}.png" for png in drawn]
        body = openai_image_body(
            urls=urls,
            revised_prompt=f"A detailed illustration: {plan.prompt}"
            if plan.rules.family == "dall-e-3"
            else None,
        )
    else:
        b64 = [base64.b64encode(png).decode("ascii") for png in drawn]
        body = openai_image_body(
            b64,
            usage=usage,
            revised_prompt=f"A detailed illustration: {plan.prompt}"
            if plan.rules.family == "dall-e-3"
            else None,
            **(
                {
                    "size": f"{plan.width}x{plan.height}",
                    "quality": "medium" if reported == "auto" else reported,
                    "output_format": plan.output_format,
                    "background": "opaque" if plan.background == "auto" else plan.background,
                }
                if plan.rules.gpt_image
                else {}
            ),
        )
    return Response(200, body)


def _events(
    plan: Plan, drawn: list[bytes], usage: dict[str, Any] | None, delay: float
) -> Iterator[tuple[float, bytes]]:
    """Each image's partial images, then its completed event; the last completed event lands at `delay`.

    Usage rides on each image's completed event, split so that the events add up to the request's usage
    (input tokens on the first image).
    """
    edit = bool(plan.input_sizes)
    steps = len(drawn) * (plan.partial_images + 1)
    common = {
        "edit": edit,
        "size": f"{plan.width}x{plan.height}",
        "quality": "medium" if plan.quality == "auto" else plan.quality,
        "background": "opaque" if plan.background == "auto" else plan.background,
        "output_format": plan.output_format,
    }
    step = 0
    for index, data in enumerate(drawn):
        for partial in range(plan.partial_images):
            step += 1
            preview = images.blur_preview(data, (partial + 1) / (plan.partial_images + 1))
            event = openai_stream_event(
                "partial_image",
                base64.b64encode(preview).decode("ascii"),
                partial_image_index=partial,
                **common,
            )
            yield delay * step / steps, sse(event)
        step += 1
        share = None
        if usage is not None:
            per_image = usage["output_tokens"] // len(drawn)
            details = usage["input_tokens_details"] if index == 0 else {"text_tokens": 0, "image_tokens": 0}
            share = {
                "input_tokens": details["text_tokens"] + details["image_tokens"],
                "input_tokens_details": dict(details),
                "output_tokens": per_image,
                "total_tokens": details["text_tokens"] + details["image_tokens"] + per_image,
            }
        event = openai_stream_event(
            "completed", base64.b64encode(data).decode("ascii"), usage=share, **common
        )
        yield delay * step / steps, sse(event)


def generate(state: StandinState, req: Request, effect: Effect) -> Response:
    try:
        plan = plan_generation(req.json_dict(), state.config.openai_models, _today(state))
    except Refused as refused:
        return errors.to_response(refused.reply)
    return _answer(state, req, plan, effect)


def edit(state: StandinState, req: Request, effect: Effect) -> Response:
    """Multipart only, as the product sends it: the files are read and checked as OpenAI checks them."""
    if not req.headers.get("content-type", "").startswith(
        ("multipart/form-data", "application/x-www-form-urlencoded")
    ):
        # The real API also takes JSON pointing at image URLs or file ids; the product sends bytes, so the
        # stand-in speaks multipart only and says so rather than guessing.
        return errors.to_response(
            openai_invalid(
                "The stand-in takes image edits as multipart/form-data only.", None, "invalid_content_type"
            )
        )
    try:
        plan = plan_edit(req.json_dict(), req.files, state.config.openai_models, _today(state))
    except Refused as refused:
        return errors.to_response(refused.reply)
    return _answer(state, req, plan, effect)


def list_models(state: StandinState, req: Request, effect: Effect) -> Response:
    return Response(200, openai_models_body(state.config.openai_models))


def model_info(state: StandinState, req: Request, effect: Effect) -> Response:
    model_id = req.path.removeprefix("/v1/models/")
    for item in openai_models_body(state.config.openai_models)["data"]:
        if item["id"] == model_id:
            return Response(200, item)
    return errors.to_response(openai_model_not_found(model_id))


# (method, path, handler, handles its own delay)
ROUTES = [
    ("POST", "/v1/images/generations", generate, False),
    ("POST", "/v1/images/edits", edit, False),
    ("GET", "/v1/models", list_models, False),
    ("GET", re.compile(r"/v1/models/[^/]+"), model_info, False),
]
