"""OpenRouter bodies: the Images API and chat-completions answers, model lists, the key, and its errors.

Errors are `{"error": {"code": <int = HTTP status>, "message", "metadata"?}}`. Pure functions.
"""

from __future__ import annotations

import time
import uuid
from typing import Any

from .. import catalog
from .common import Reply, reply, retry_headers


def openrouter_images_body(
    images_b64: list[str],
    *,
    cost: float,
    media_type: str = "image/png",
    model: str | None = None,
    prompt_tokens: int = 0,
    created: int | None = None,
) -> dict[str, Any]:
    """A `POST /images` answer (ImageGenerationResponse); `usage.cost` is USD."""
    body: dict[str, Any] = {
        "created": created or int(time.time()),
        "data": [{"b64_json": b, "media_type": media_type} for b in images_b64],
        "usage": {
            "prompt_tokens": prompt_tokens,
            "completion_tokens": 0,
            "total_tokens": prompt_tokens,
            "cost": cost,
            "is_byok": False,
        },
    }
    if model is not None:
        body["model"] = model
    return body


def _completion(model: str, provider: str) -> dict[str, Any]:
    """What every chat completion starts with."""
    return {
        "id": f"gen-{int(time.time())}-{uuid.uuid4().hex[:20]}",
        "provider": provider,
        "model": model,
        "object": "chat.completion",
        "created": int(time.time()),
    }


def openrouter_chat_body(
    model: str,
    *,
    image_data_urls: list[str] = (),  # type: ignore[assignment]
    text: str = "",
    cost: float = 0.0,
    prompt_tokens: int = 1,
) -> dict[str, Any]:
    """A `POST /chat/completions` answer with the images in `choices[0].message.images`."""
    message: dict[str, Any] = {"role": "assistant", "content": text, "refusal": None, "reasoning": None}
    if image_data_urls:
        message["images"] = [
            {"type": "image_url", "image_url": {"url": url}, "index": i}
            for i, url in enumerate(image_data_urls)
        ]
    image_tokens = 1290 * len(image_data_urls)
    completion_tokens = image_tokens or 20
    return {
        **_completion(model, "Stand-in"),
        "choices": [
            {
                "logprobs": None,
                "finish_reason": "stop",
                "native_finish_reason": "STOP",
                "index": 0,
                "message": message,
            }
        ],
        "usage": {
            "prompt_tokens": prompt_tokens,
            "completion_tokens": completion_tokens,
            "total_tokens": prompt_tokens + completion_tokens,
            "cost": cost,
            "is_byok": False,
            "completion_tokens_details": {"reasoning_tokens": 0, "image_tokens": image_tokens},
        },
    }


def openrouter_models_body(output_modalities: str | None = None) -> dict[str, Any]:
    """`GET /models?output_modalities=`."""
    return {"data": catalog.openrouter_models_for(output_modalities)}


def openrouter_image_models_body() -> dict[str, Any]:
    """`GET /images/models`."""
    return {"data": catalog.openrouter_image_models()}


def openrouter_image_endpoints_body(model_id: str) -> dict[str, Any] | None:
    """`GET /images/models/{author}/{slug}/endpoints`, or None for a model the Images API lacks."""
    return catalog.openrouter_image_endpoints(model_id)


def openrouter_key_body(**changes: Any) -> dict[str, Any]:
    """`GET /key`: the default key data with `changes` merged in (e.g. limit_remaining=0)."""
    return {"data": {**catalog.OPENROUTER_KEY, **changes}}


# ---------------------------------------------------------------- errors


def openrouter_error(status: int, message: str, metadata: dict[str, Any] | None = None) -> Reply:
    error: dict[str, Any] = {"code": status, "message": message}
    if metadata is not None:
        error["metadata"] = metadata
    return reply(status, {"error": error})


def openrouter_missing_key() -> Reply:
    return openrouter_error(401, "No auth credentials found")


def openrouter_failure(name: str, *, model: str = "", prompt: str = "", retry_after: float = 1.0) -> Reply:
    """The answer for a scripted failure name; one OpenRouter has no equivalent for is its 500."""
    if name in ("moderation", "content_policy"):
        return openrouter_error(
            403,
            f'{model} requires moderation on OpenAI. Your input was flagged for "violence". No credits were charged.',
            {
                "reasons": ["violence"],
                "flagged_input": prompt[:100] or "...",
                "provider_name": "OpenAI",
                "model_slug": model,
            },
        )
    if name == "rate_limit":
        status, body, _ = openrouter_error(
            429,
            f"{model} is temporarily rate-limited upstream. Please retry shortly.",
            {"provider_name": "Google AI Studio", "raw": f"{model} is temporarily rate-limited upstream"},
        )
        return Reply(status, body, retry_headers(retry_after))
    if name == "unauthorized":
        return openrouter_error(401, "User not found.")
    if name in ("quota", "credits"):
        return openrouter_error(
            402, "Insufficient credits. Add more using https://openrouter.ai/settings/credits"
        )
    if name == "unverified":
        return openrouter_error(
            403, "Key limit exceeded. Manage it using https://openrouter.ai/settings/keys"
        )
    if name in ("model_not_found", "validation"):
        return openrouter_error(400, f"{model} is not a valid model ID")
    if name == "unavailable":
        return openrouter_error(503, "No instances available for this model. Please try again later.")
    if name in ("bad_gateway", "late_error"):
        return openrouter_error(
            502,
            "Image generation failed upstream. You were not charged.",
            {"provider_name": "Black Forest Labs"},
        )
    return openrouter_error(500, "Internal Server Error")


def openrouter_late_error_body(model: str) -> dict[str, Any]:
    """A chat completion that failed after it started: sent with HTTP 200, the error inside the choice."""
    return {
        **_completion(model, "Google AI Studio"),
        "choices": [
            {
                "index": 0,
                "finish_reason": "error",
                "native_finish_reason": "error",
                "error": {"code": 502, "message": "Provider returned error", "metadata": {"raw": "upstream"}},
                "message": {"role": "assistant", "content": ""},
            }
        ],
    }
