"""OpenAI's images API bodies: answers, usage, streamed events, model lists and every error we script.

Pure functions, no server: the stand-in answers with them, and unit tests can replay them with
`responses`. Shapes follow the official ImagesResponse schema and OpenAI's error envelope
`{"error": {"message", "type", "param", "code"}}`.
"""

from __future__ import annotations

import json
import time
from typing import Any

from .. import openai_models
from .common import Reply, masked_key, reply, retry_headers

# ---------------------------------------------------------------- answers


def openai_usage(*, text_tokens: int, output_tokens: int, image_tokens: int = 0) -> dict[str, Any]:
    """The `usage` object of a gpt-image answer."""
    return {
        "input_tokens": text_tokens + image_tokens,
        "input_tokens_details": {"text_tokens": text_tokens, "image_tokens": image_tokens},
        "output_tokens": output_tokens,
        "total_tokens": text_tokens + image_tokens + output_tokens,
    }


def openai_usage_for(
    model: str,
    prompt: str,
    *,
    size: tuple[int, int] = (1024, 1024),
    quality: str = "auto",
    n: int = 1,
    complexity: str | None = None,
    input_images: list[tuple[int, int]] = (),  # type: ignore[assignment]
    input_fidelity: str | None = None,
) -> dict[str, Any]:
    """The usage the stand-in reports for such a request (its token table: see openai_models)."""
    rules = openai_models.rules_for(model)
    if rules is None or not rules.gpt_image:
        raise ValueError(f"{model} reports no token usage")
    per_image = openai_models.output_tokens(rules, *size, quality, complexity)
    return openai_usage(
        text_tokens=openai_models.text_tokens(prompt),
        image_tokens=sum(openai_models.input_image_tokens(w, h, input_fidelity) for w, h in input_images),
        output_tokens=per_image * n,
    )


def openai_cost(model: str, usage: dict[str, Any]) -> float | None:
    """USD for a usage object at the stand-in's token prices (None: no prices for that model)."""
    rules = openai_models.rules_for(model)
    return None if rules is None else openai_models.token_cost(rules.family, usage)


def openai_image_body(
    images_b64: list[str] = (),  # type: ignore[assignment]
    *,
    urls: list[str] = (),  # type: ignore[assignment]
    usage: dict[str, Any] | None = None,
    revised_prompt: str | None = None,
    size: str | None = None,
    quality: str | None = None,
    output_format: str | None = None,
    background: str | None = None,
    created: int | None = None,
) -> dict[str, Any]:
    """A `POST /images/generations` or `/images/edits` answer (ImagesResponse)."""
    data: list[dict[str, Any]] = [{"b64_json": b} for b in images_b64] + [{"url": u} for u in urls]
    if revised_prompt is not None:
        for item in data:
            item["revised_prompt"] = revised_prompt
    body: dict[str, Any] = {"created": created or int(time.time()), "data": data}
    for name, value in (
        ("background", background),
        ("output_format", output_format),
        ("quality", quality),
        ("size", size),
        ("usage", usage),
    ):
        if value is not None:
            body[name] = value
    return body


def openai_stream_event(
    kind: str,
    b64_json: str,
    *,
    edit: bool = False,
    partial_image_index: int | None = None,
    usage: dict[str, Any] | None = None,
    size: str = "1024x1024",
    quality: str = "medium",
    background: str = "opaque",
    output_format: str = "png",
    created_at: int | None = None,
) -> dict[str, Any]:
    """One streamed event: `kind` is "partial_image" or "completed" (prefix image_generation./image_edit.)."""
    event: dict[str, Any] = {
        "type": f"{'image_edit' if edit else 'image_generation'}.{kind}",
        "b64_json": b64_json,
        "created_at": created_at or int(time.time()),
        "size": size,
        "quality": quality,
        "background": background,
        "output_format": output_format,
    }
    if partial_image_index is not None:
        event["partial_image_index"] = partial_image_index
    if usage is not None:
        event["usage"] = usage
    return event


def sse(event: dict[str, Any]) -> bytes:
    """An event as server-sent-events bytes: `event: <type>` then `data: <json>` and a blank line."""
    return f"event: {event['type']}\ndata: {json.dumps(event)}\n\n".encode()


def openai_models_body(models: Any = None) -> dict[str, Any]:
    """`GET /models`: `models` is None (the default preset), a preset name, or ids / {"id", "shutdown_date"}."""
    items = []
    for model_id, shutdown in openai_models.model_entries(models):
        owner = "openai" if model_id.startswith(("gpt-image", "chatgpt", "dall-e")) else "system"
        item: dict[str, Any] = {
            "id": model_id,
            "object": "model",
            "created": openai_models.CREATED,
            "owned_by": owner,
        }
        if shutdown:
            item["shutdown_date"] = shutdown
        items.append(item)
    return {"object": "list", "data": items}


# ---------------------------------------------------------------- errors


def openai_error_body(message: str, type_: str, code: str | None, param: str | None = None) -> dict[str, Any]:
    return {"error": {"message": message, "type": type_, "param": param, "code": code}}


def openai_invalid(message: str, param: str | None, code: str | None = "invalid_value") -> Reply:
    """A 400 invalid_request_error about one parameter."""
    return reply(400, openai_error_body(message, "invalid_request_error", code, param))


def openai_missing_key() -> Reply:
    return reply(
        401,
        openai_error_body(
            "You didn't provide an API key. You need to provide your API key in an Authorization header using "
            "Bearer auth (i.e. Authorization: Bearer YOUR_KEY), or as the password field (with blank username) "
            "if you're accessing the API from your browser and are prompted for a username and password. You "
            "can obtain an API key from https://platform.openai.com/account/api-keys.",
            "invalid_request_error",
            "invalid_api_key",
        ),
    )


def openai_model_not_found(model: str) -> Reply:
    return reply(
        404,
        openai_error_body(
            f"The model `{model}` does not exist or you do not have access to it.",
            "invalid_request_error",
            "model_not_found",
        ),
    )


def openai_failure(
    name: str,
    *,
    model: str = "gpt-image-2",
    key: str = "",
    request_id: str = "req_standin",
    retry_after: float = 1.0,
) -> Reply:
    """The answer for a scripted failure name (behaviour.FAILURES); one OpenAI has no equivalent for is its 500."""
    gpt_image = model.startswith(("gpt-image", "chatgpt-image"))
    if name == "moderation" or (name == "content_policy" and gpt_image):
        return reply(
            400,
            openai_error_body(
                "Your request was rejected by the safety system. If you believe this is an error, contact us at "
                f"help.openai.com and include the request ID {request_id}.",
                "image_generation_user_error",
                "moderation_blocked",
            ),
        )
    if name == "content_policy":
        return reply(
            400,
            openai_error_body(
                "Your request was rejected as a result of our safety system. Your prompt may contain text that "
                "is not allowed by our safety system.",
                "invalid_request_error",
                "content_policy_violation",
            ),
        )
    if name == "rate_limit":
        body = openai_error_body(
            f"Rate limit reached for {model} in organization org-standin on images per minute (IPM): "
            f"Limit 5, Used 5, Requested 1. Please try again in {retry_after:g}s. Visit "
            "https://platform.openai.com/account/rate-limits to learn more.",
            "requests",
            "rate_limit_exceeded",
        )
        headers = {
            **retry_headers(retry_after),
            "x-ratelimit-limit-requests": "5",
            "x-ratelimit-remaining-requests": "0",
        }
        return Reply(429, body, headers)
    if name == "unauthorized":
        return reply(
            401,
            openai_error_body(
                f"Incorrect API key provided: {masked_key(key)}. You can find your API key at "
                "https://platform.openai.com/account/api-keys.",
                "invalid_request_error",
                "invalid_api_key",
            ),
        )
    if name == "quota":
        return reply(
            429,
            openai_error_body(
                "You exceeded your current quota, please check your plan and billing details. For more "
                "information on this error, read the docs: https://platform.openai.com/docs/guides/error-codes/api-errors.",
                "insufficient_quota",
                "insufficient_quota",
            ),
        )
    if name == "credits":
        return reply(
            400,
            openai_error_body(
                "Billing hard limit has been reached", "invalid_request_error", "billing_hard_limit_reached"
            ),
        )
    if name == "unverified":
        return reply(
            403,
            openai_error_body(
                f"Your organization must be verified to use the model `{model}`. Please go to: "
                "https://platform.openai.com/settings/organization/general and click on Verify Organization. "
                "If you just verified, it can take up to 15 minutes for access to propagate.",
                "invalid_request_error",
                None,
            ),
        )
    if name == "model_not_found":
        return openai_model_not_found(model)
    if name == "validation":
        return openai_invalid("Invalid value for 'size'.", "size")
    if name == "unavailable":
        return reply(
            503, openai_error_body("The server is overloaded or not ready yet.", "server_error", None)
        )
    if name == "bad_gateway":
        return reply(
            502, {"error": {"code": 502, "message": "Bad gateway.", "param": None, "type": "cf_bad_gateway"}}
        )
    return reply(
        500,
        openai_error_body(
            "The server had an error while processing your request. Sorry about that!", "server_error", None
        ),
    )
