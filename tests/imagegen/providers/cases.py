"""Each provider's canned upstream answers, for the shared suite (allauth's per-provider test base).

A case knows its provider's URLs, a realistic success body, a realistic body for each error class, and how the
provider authenticates; test_shared.py runs the same tests against every case in the registry.
"""

from __future__ import annotations

import json
from typing import Any, ClassVar

import responses
from responses import matchers

from imagegen.providers import GenerationRequest

from .conftest import TINY_PNG_B64, Conn

ErrorReply = tuple[int, Any, dict[str, str]]


class ProviderCase:
    provider_id: ClassVar[str]
    base_url: ClassVar[str]
    api_key: ClassVar[str]
    generate_url: ClassVar[str]
    check_url: ClassVar[str]
    check_body: ClassVar[Any]
    model: ClassVar[str]
    # The auth header value the upstream must see.
    authorization: ClassVar[str]
    # Error kind → (status, body, headers). Kinds a provider cannot produce are left out.
    errors: ClassVar[dict[str, ErrorReply]]

    def connection(self, **changes: Any) -> Conn:
        values = {"provider_id": self.provider_id, "api_key": self.api_key, "base_url": self.base_url}
        return Conn(**{**values, **changes})

    def request(self, **changes: Any) -> GenerationRequest:
        return GenerationRequest(**{"model": self.model, "prompt": "A lighthouse at dusk", **changes})

    def prepare(self, rsps: responses.RequestsMock) -> None:
        """Register what the provider asks before generating (model lists)."""

    def success(self, images_b64: list[str]) -> Any:
        raise NotImplementedError

    def add_success(
        self, rsps: responses.RequestsMock, images_b64: list[str] | None = None, **kw: Any
    ) -> None:
        rsps.post(self.generate_url, json=self.success(images_b64 or [TINY_PNG_B64]),
                  headers={"x-request-id": "req_ok"}, **kw)  # fmt: skip

    def add_error(self, rsps: responses.RequestsMock, kind: str, **headers: str) -> None:
        status, body, extra = self.errors[kind]
        payload = json.dumps(body) if not isinstance(body, str) else body
        rsps.post(self.generate_url, body=payload, status=status, headers={"x-request-id": "req_err", **extra, **headers},
                  content_type="application/json" if not isinstance(body, str) else "text/plain")  # fmt: skip


class OpenAICase(ProviderCase):
    provider_id = "openai"
    base_url = "https://api.openai.com/v1"
    api_key = "sk-test-openai-0123456789abcdef"
    generate_url = "https://api.openai.com/v1/images/generations"
    check_url = "https://api.openai.com/v1/models"
    check_body: ClassVar[Any] = {
        "object": "list",
        "data": [
            {"id": m, "object": "model", "created": 1, "owned_by": "openai"}
            for m in ("gpt-image-2", "gpt-4o")
        ],
    }
    model = "gpt-image-2"
    authorization = "Bearer sk-test-openai-0123456789abcdef"
    errors: ClassVar[dict[str, ErrorReply]] = {
        "content_policy": (400, {"error": {"message": "Your request was rejected as a result of our safety system. Your prompt may contain text that is not allowed by our safety system.", "type": "image_generation_user_error", "param": None, "code": "moderation_blocked"}}, {}),
        "rate_limited": (429, {"error": {"message": "Rate limit reached for gpt-image-2 on images per minute (IPM): Limit 5, Used 5.", "type": "requests", "param": None, "code": "rate_limit_exceeded"}}, {}),
        "quota_exhausted": (429, {"error": {"message": "You exceeded your current quota, please check your plan and billing details.", "type": "insufficient_quota", "param": None, "code": "insufficient_quota"}}, {}),
        "authentication": (401, {"error": {"message": "Incorrect API key provided: sk-test-***********cdef. You can find your API key at https://platform.openai.com/account/api-keys.", "type": "invalid_request_error", "param": None, "code": "invalid_api_key"}}, {}),
        "unavailable": (503, {"error": {"message": "The server is overloaded or not ready yet.", "type": "server_error", "param": None, "code": None}}, {}),
        "bad_request": (400, {"error": {"message": "Invalid value: '999x999'. Supported values are: '1024x1024'...", "type": "invalid_request_error", "param": "size", "code": "invalid_value"}}, {}),
    }  # fmt: skip

    def success(self, images_b64: list[str]) -> Any:
        return {"created": 1713833628, "data": [{"b64_json": b} for b in images_b64],
                "usage": {"input_tokens": 12, "output_tokens": 4160, "total_tokens": 4172}}  # fmt: skip


OPENROUTER_MODELS = {
    "data": [
        {"id": "black-forest-labs/flux-schnell", "name": "FLUX.1 Schnell",
         "architecture": {"input_modalities": ["text"], "output_modalities": ["image"]},
         "pricing": {"prompt": "0", "completion": "0", "image_output": "0.003"}},
        {"id": "google/gemini-2.5-flash-image", "name": "Gemini 2.5 Flash Image",
         "architecture": {"input_modalities": ["text", "image"], "output_modalities": ["image", "text"]},
         "pricing": {"prompt": "0.0000003", "completion": "0.0000025", "image_output": "0.039"}},
    ]
}  # fmt: skip
OPENROUTER_IMAGE_MODELS = {
    "data": [
        {"id": "black-forest-labs/flux-schnell", "name": "FLUX.1 Schnell",
         "architecture": {"input_modalities": ["text"], "output_modalities": ["image"]},
         "endpoints": "/api/v1/images/models/black-forest-labs/flux-schnell/endpoints"},
    ]
}  # fmt: skip


class OpenRouterCase(ProviderCase):
    provider_id = "openrouter"
    base_url = "https://openrouter.ai/api/v1"
    api_key = "sk-or-v1-test0123456789abcdef"
    generate_url = "https://openrouter.ai/api/v1/images"
    check_url = "https://openrouter.ai/api/v1/key"
    check_body: ClassVar[Any] = {"data": {"label": "sk-or-v1-tes...def", "limit": 20, "limit_remaining": 12.5,
                                          "usage": 7.5, "is_free_tier": False}}  # fmt: skip
    model = "black-forest-labs/flux-schnell"
    authorization = "Bearer sk-or-v1-test0123456789abcdef"
    errors: ClassVar[dict[str, ErrorReply]] = {
        "content_policy": (403, {"error": {"code": 403, "message": "Input was flagged by moderation.", "metadata": {"reasons": ["violence/graphic"], "flagged_input": "A lighthouse...", "provider_name": "Black Forest Labs"}}}, {}),
        "rate_limited": (429, {"error": {"code": 429, "message": "Rate limit exceeded: free-models-per-min."}}, {}),
        "quota_exhausted": (402, {"error": {"code": 402, "message": "Insufficient credits. Add more using https://openrouter.ai/credits"}}, {}),
        "authentication": (401, {"error": {"code": 401, "message": "User not found."}}, {}),
        "unavailable": (502, {"error": {"code": 502, "message": "Provider returned error"}}, {}),
        "bad_request": (400, {"error": {"code": 400, "message": "black-forest-labs/flux-schnel is not a valid model ID"}}, {}),
    }  # fmt: skip

    def prepare(self, rsps: responses.RequestsMock) -> None:
        rsps.get(f"{self.base_url}/models", json=OPENROUTER_MODELS,
                 match=[matchers.query_param_matcher({"output_modalities": "image"})])  # fmt: skip
        rsps.get(f"{self.base_url}/images/models", json=OPENROUTER_IMAGE_MODELS)

    def success(self, images_b64: list[str]) -> Any:
        return {"created": 1713833628, "data": [{"b64_json": b, "media_type": "image/png"} for b in images_b64],
                "usage": {"cost": 0.003 * len(images_b64)}}  # fmt: skip


SD_MODELS = [
    {"title": "v1-5-pruned-emaonly.safetensors [6ce0161689]", "model_name": "v1-5-pruned-emaonly", "hash": "6ce0161689",
     "sha256": "6ce0161689b3853acaa03779ec93eafe75a02f4ced659bee03f50797806fa2fa",
     "filename": "/models/Stable-diffusion/v1-5-pruned-emaonly.safetensors", "config": None},
    {"title": "sd_xl_base_1.0.safetensors [31e35c80fc]", "model_name": "sd_xl_base_1.0", "hash": "31e35c80fc",
     "sha256": "31e35c80fc4829d14f90153f4c74cd59c90b779f6afe05a74cd6120b893f7e5b",
     "filename": "/models/Stable-diffusion/sd_xl_base_1.0.safetensors", "config": None},
]  # fmt: skip
SD_SAMPLERS = [
    {"name": "DPM++ 2M", "aliases": ["k_dpmpp_2m"], "options": {}},
    {"name": "Euler a", "aliases": ["k_euler_a", "k_euler_ancestral"], "options": {"uses_ensd": "True"}},
]


class StableDiffusionCase(ProviderCase):
    provider_id = "stable-diffusion"
    base_url = "http://sd.local:7860"
    api_key = "writer:s3cret-passw0rd"
    generate_url = "http://sd.local:7860/sdapi/v1/txt2img"
    check_url = "http://sd.local:7860/sdapi/v1/sd-models"
    check_body = SD_MODELS
    model = "v1-5-pruned-emaonly.safetensors [6ce0161689]"
    authorization = "Basic d3JpdGVyOnMzY3JldC1wYXNzdzByZA=="  # base64("writer:s3cret-passw0rd")
    errors: ClassVar[dict[str, ErrorReply]] = {
        "authentication": (401, {"error": "HTTPException", "detail": "Incorrect username or password", "body": "", "errors": ""}, {}),
        "unavailable": (500, {"error": "RuntimeError", "detail": "", "body": "", "errors": "CUDA out of memory. Tried to allocate 2.00 GiB"}, {}),
        "bad_request": (422, {"detail": [{"loc": ["body", "steps"], "msg": "value is not a valid integer", "type": "type_error.integer"}]}, {}),
        "rate_limited": (429, "Too Many Requests", {}),  # a reverse proxy in front of the WebUI
    }  # fmt: skip

    def request(self, **changes: Any) -> GenerationRequest:
        return super().request(**{"size": "512x512", **changes})

    def prepare(self, rsps: responses.RequestsMock) -> None:
        rsps.get(self.check_url, json=SD_MODELS)

    def success(self, images_b64: list[str]) -> Any:
        seeds = [1234 + i for i in range(len(images_b64))]
        info = {"prompt": "A lighthouse at dusk", "all_prompts": ["A lighthouse at dusk"] * len(images_b64),
                "seed": seeds[0], "all_seeds": seeds, "sampler_name": "DPM++ 2M", "cfg_scale": 7.0, "steps": 30,
                "sd_model_name": "v1-5-pruned-emaonly", "infotexts": [f"A lighthouse at dusk\nSeed: {s}" for s in seeds]}  # fmt: skip
        return {
            "images": images_b64,
            "parameters": {"prompt": "A lighthouse at dusk"},
            "info": json.dumps(info),
        }


CASES = [OpenAICase(), OpenRouterCase(), StableDiffusionCase()]
