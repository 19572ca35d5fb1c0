"""Each provider's real error bodies, by scripted failure name (see behaviour.FAILURES).

Shapes follow /work/shared/reference/provider-apis.md: OpenAI `{"error": {message, type, param, code}}`,
OpenRouter `{"error": {"code": <int>, "message", "metadata"?}}`, AUTOMATIC1111 FastAPI-style bodies.
A failure a provider has no equivalent for (an A1111 "content_policy") becomes that provider's 500, so a
global rule never produces a body the real service could not send.
"""

from __future__ import annotations

import time
from typing import Any

from .wire import Request, Response


def _retry_headers(retry_after: float) -> dict[str, str]:
    # Both forms: the OpenAI SDK prefers retry-after-ms, most clients read retry-after (whole seconds).
    return {
        "retry-after": str(max(0, round(retry_after))),
        "retry-after-ms": str(int(retry_after * 1000)),
    }


def masked_key(key: str) -> str:
    return f"{key[:3]}***{key[-4:]}" if len(key) > 8 else "***"


# ---------------------------------------------------------------- OpenAI


def openai_error(
    status: int, message: str, type_: str, code: str | None, param: str | None = None, **headers: str
) -> Response:
    body = {"error": {"message": message, "type": type_, "param": param, "code": code}}
    return Response(status, body, dict(headers))


def openai_missing_key() -> Response:
    return openai_error(
        401,
        "You didn't provide an API key. You need to provide your API key in an Authorization header using "
        "Bearer auth (i.e. Authorization: Bearer YOUR_KEY), or as the password field (with blank username) "
        "if you're accessing the API from your browser and are prompted for a username and password. You "
        "can obtain an API key from https://platform.openai.com/account/api-keys.",
        "invalid_request_error",
        "invalid_api_key",
    )


def openai_failure(name: str, req: Request, model: str, retry_after: float) -> Response:
    gpt_image = model.startswith("gpt-image") or model.startswith("chatgpt-image")
    if name == "moderation" or (name == "content_policy" and gpt_image):
        return openai_error(
            400,
            "Your request was rejected by the safety system. If you believe this is an error, contact us at "
            f"help.openai.com and include the request ID {req.request_id}.",
            "image_generation_user_error",
            "moderation_blocked",
        )
    if name == "content_policy":
        return openai_error(
            400,
            "Your request was rejected as a result of our safety system. Your prompt may contain text that "
            "is not allowed by our safety system.",
            "invalid_request_error",
            "content_policy_violation",
        )
    if name == "rate_limit":
        resp = openai_error(
            429,
            f"Rate limit reached for {model} in organization org-standin on images per minute (IPM): "
            f"Limit 5, Used 5, Requested 1. Please try again in {retry_after:g}s. Visit "
            "https://platform.openai.com/account/rate-limits to learn more.",
            "requests",
            "rate_limit_exceeded",
        )
        resp.headers.update(_retry_headers(retry_after))
        resp.headers.update({"x-ratelimit-limit-requests": "5", "x-ratelimit-remaining-requests": "0"})
        return resp
    if name == "unauthorized":
        return openai_error(
            401,
            f"Incorrect API key provided: {masked_key(req.bearer())}. You can find your API key at "
            "https://platform.openai.com/account/api-keys.",
            "invalid_request_error",
            "invalid_api_key",
        )
    if name == "quota":
        return openai_error(
            429,
            "You exceeded your current quota, please check your plan and billing details. For more "
            "information on this error, read the docs: https://platform.openai.com/docs/guides/error-codes/api-errors.",
            "insufficient_quota",
            "insufficient_quota",
        )
    if name == "credits":
        return openai_error(
            400, "Billing hard limit has been reached", "invalid_request_error", "billing_hard_limit_reached"
        )
    if name == "unverified":
        return openai_error(
            403,
            f"Your organization must be verified to use the model `{model}`. Please go to: "
            "https://platform.openai.com/settings/organization/general and click on Verify Organization. "
            "If you just verified, it can take up to 15 minutes for access to propagate.",
            "invalid_request_error",
            None,
        )
    if name == "model_not_found":
        return openai_error(
            404,
            f"The model `{model}` does not exist or you do not have access to it.",
            "invalid_request_error",
            "model_not_found",
        )
    if name == "validation":
        return openai_error(
            400, "Invalid value for 'size'.", "invalid_request_error", "invalid_value", param="size"
        )
    if name == "unavailable":
        return openai_error(503, "The server is overloaded or not ready yet.", "server_error", None)
    if name == "bad_gateway":
        return Response(
            502, {"error": {"code": 502, "message": "Bad gateway.", "param": None, "type": "cf_bad_gateway"}}
        )
    return openai_error(
        500,
        "The server had an error while processing your request. Sorry about that!",
        "server_error",
        None,
    )


# ---------------------------------------------------------------- OpenRouter


def openrouter_error(status: int, message: str, metadata: dict[str, Any] | None = None) -> Response:
    error: dict[str, Any] = {"code": status, "message": message}
    if metadata is not None:
        error["metadata"] = metadata
    return Response(status, {"error": error})


def openrouter_missing_key() -> Response:
    return openrouter_error(401, "No auth credentials found")


def openrouter_failure(name: str, req: Request, model: str, retry_after: float) -> Response:
    if name in ("moderation", "content_policy"):
        body = req.json_dict()
        messages = body.get("messages") if isinstance(body.get("messages"), list) else []
        last = messages[-1] if messages and isinstance(messages[-1], dict) else {}
        prompt = str(body.get("prompt") or last.get("content") or "")[:100]
        return openrouter_error(
            403,
            f'{model} requires moderation on OpenAI. Your input was flagged for "violence". '
            "No credits were charged.",
            {
                "reasons": ["violence"],
                "flagged_input": prompt or "...",
                "provider_name": "OpenAI",
                "model_slug": model,
            },
        )
    if name == "rate_limit":
        resp = openrouter_error(
            429,
            f"{model} is temporarily rate-limited upstream. Please retry shortly.",
            {"provider_name": "Google AI Studio", "raw": f"{model} is temporarily rate-limited upstream"},
        )
        resp.headers.update(_retry_headers(retry_after))
        return resp
    if name == "unauthorized":
        return openrouter_error(401, "User not found.")
    if name in ("quota", "credits"):
        return openrouter_error(
            402,
            "Insufficient credits. Add more using https://openrouter.ai/settings/credits",
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


def openrouter_late_error(model: str) -> Response:
    """A chat completion that failed after it started: HTTP 200, the error inside the choice."""
    return Response(
        200,
        {
            "id": f"gen-{int(time.time())}-standin",
            "provider": "Google AI Studio",
            "model": model,
            "object": "chat.completion",
            "created": int(time.time()),
            "choices": [
                {
                    "index": 0,
                    "finish_reason": "error",
                    "native_finish_reason": "error",
                    "error": {
                        "code": 502,
                        "message": "Provider returned error",
                        "metadata": {"raw": "upstream"},
                    },
                    "message": {"role": "assistant", "content": ""},
                }
            ],
        },
    )


# ---------------------------------------------------------------- AUTOMATIC1111


def a1111_http_exception(
    status: int, detail: str, error: str = "HTTPException", errors: str = ""
) -> Response:
    return Response(status, {"error": error, "detail": detail, "body": "", "errors": errors})


def a1111_unauthorized(detail: str) -> Response:
    resp = a1111_http_exception(401, detail)
    resp.headers["www-authenticate"] = "Basic"
    return resp


def a1111_validation(field_name: str, msg: str, type_: str) -> Response:
    return Response(422, {"detail": [{"loc": ["body", field_name], "msg": msg, "type": type_}]})


def a1111_failure(name: str, req: Request, retry_after: float) -> Response:
    if name == "unauthorized":
        return a1111_unauthorized("Incorrect username or password")
    if name == "validation":
        return a1111_validation("steps", "value is not a valid integer", "type_error.integer")
    # A1111 itself never rate-limits or goes unavailable; these come from a reverse proxy or FastAPI.
    if name == "rate_limit":
        resp = Response(429, {"detail": "Too Many Requests"})
        resp.headers.update(_retry_headers(retry_after))
        return resp
    if name == "unavailable":
        return Response(503, {"detail": "Service Unavailable"})
    if name == "bad_gateway":
        return Response(502, b"<html><body><h1>502 Bad Gateway</h1></body></html>", content_type="text/html")
    return a1111_http_exception(
        500,
        "",
        error="RuntimeError",
        errors="CUDA out of memory. Tried to allocate 2.00 GiB (GPU 0; 8.00 GiB total capacity)",
    )


def failure_response(family: str, name: str, req: Request, model: str, retry_after: float) -> Response:
    if family == "openai":
        return openai_failure(name, req, model, retry_after)
    if family == "openrouter":
        if name == "late_error" and req.path.endswith("/chat/completions"):
            return openrouter_late_error(model)
        return openrouter_failure(name, req, model, retry_after)
    return a1111_failure(name, req, retry_after)
