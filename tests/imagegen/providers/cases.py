"""Each provider's canned upstream answers, for the shared suite (allauth's per-provider test base).

A case knows its provider's URLs, a realistic success body, a realistic body for each error class, and how the
provider authenticates; test_shared.py runs the same tests against every case in the registry. The bodies are the
stand-in's own (tests.standin.wire_bodies): the replayed answers and the stand-in server cannot drift apart.
"""

from __future__ import annotations

import base64
import json
from typing import Any, ClassVar

import responses
from responses import matchers

from imagegen.providers import GenerationRequest
from tests.standin import comfyui_nodes
from tests.standin.wire_bodies import (
    FAILURE_FOR_ERROR_CLASS,
    a1111_failure,
    a1111_images_body,
    comfyui_failure,
    comfyui_history_success,
    comfyui_image_ref,
    comfyui_prompt_accepted,
    comfyui_system_stats,
    comfyui_value_not_in_list,
    openai_failure,
    openai_image_body,
    openai_models_body,
    openai_usage,
    openrouter_failure,
    openrouter_images_body,
)

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

    def prepare_check(self, rsps: responses.RequestsMock) -> None:
        """Register what check() asks after `check_url` (nothing, for most)."""

    def prepare_models(self, rsps: responses.RequestsMock) -> None:
        """Register what models() asks: by default what generating asks first."""
        self.prepare(rsps)

    def success(self, images_b64: list[str]) -> Any:
        raise NotImplementedError

    def add_success(
        self, rsps: responses.RequestsMock, images_b64: list[str] | None = None, **kw: Any
    ) -> None:
        rsps.post(self.generate_url, json=self.success(images_b64 or [TINY_PNG_B64]),
                  headers={"x-request-id": "req_ok"}, **kw)  # fmt: skip

    def failure(self, kind: str, retry_after: float) -> ErrorReply:
        """The upstream's answer for an error kind, built by the stand-in's own builders."""
        raise NotImplementedError

    def add_error(self, rsps: responses.RequestsMock, kind: str, *, retry_after: float = 1.0) -> None:
        status, body, extra = self.failure(kind, retry_after) if kind in self.errors else self.errors[kind]
        if isinstance(body, bytes | str):
            payload, content_type = body, extra.get("content-type", "text/plain")
        else:
            payload, content_type = json.dumps(body), "application/json"
        headers = {k: v for k, v in extra.items() if k.lower() != "content-type"}
        rsps.post(self.generate_url, body=payload, status=status, headers={"x-request-id": "req_err", **headers},
                  content_type=content_type)  # fmt: skip


class OpenAICase(ProviderCase):
    provider_id = "openai"
    base_url = "https://api.openai.com/v1"
    api_key = "sk-test-openai-0123456789abcdef"
    generate_url = "https://api.openai.com/v1/images/generations"
    check_url = "https://api.openai.com/v1/models"
    check_body: ClassVar[Any] = openai_models_body(["gpt-image-2", "gpt-4o"])
    model = "gpt-image-2"
    authorization = "Bearer sk-test-openai-0123456789abcdef"

    def prepare_models(self, rsps: responses.RequestsMock) -> None:
        rsps.get(self.check_url, json=self.check_body)

    errors: ClassVar[dict[str, ErrorReply]] = {
        kind: tuple(openai_failure(name, model="gpt-image-2", key="sk-test-openai-0123456789abcdef"))  # type: ignore[misc]
        for kind, name in FAILURE_FOR_ERROR_CLASS.items()
    }

    def failure(self, kind: str, retry_after: float) -> ErrorReply:
        name = FAILURE_FOR_ERROR_CLASS[kind]
        return tuple(openai_failure(name, model="gpt-image-2", key=self.api_key, retry_after=retry_after))  # type: ignore[return-value]

    def success(self, images_b64: list[str]) -> Any:
        usage = openai_usage(text_tokens=12, output_tokens=2304 * len(images_b64))
        return openai_image_body(images_b64, usage=usage)


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
        kind: tuple(openrouter_failure(name, model="black-forest-labs/flux-schnell", prompt="A lighthouse"))  # type: ignore[misc]
        for kind, name in FAILURE_FOR_ERROR_CLASS.items()
    }

    def failure(self, kind: str, retry_after: float) -> ErrorReply:
        name = FAILURE_FOR_ERROR_CLASS[kind]
        return tuple(
            openrouter_failure(name, model=self.model, prompt="A lighthouse", retry_after=retry_after)
        )  # type: ignore[return-value]

    def prepare(self, rsps: responses.RequestsMock) -> None:
        rsps.get(f"{self.base_url}/models", json=OPENROUTER_MODELS,
                 match=[matchers.query_param_matcher({"output_modalities": "image"})])  # fmt: skip
        rsps.get(f"{self.base_url}/images/models", json=OPENROUTER_IMAGE_MODELS)

    def success(self, images_b64: list[str]) -> Any:
        return openrouter_images_body(images_b64, cost=0.003 * len(images_b64))


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
    # The WebUI has no quota or content policy of its own; a 429 comes from a proxy in front of it, and the WebUI's
    # own failure is a 500 such as running out of GPU memory.
    FAILURES: ClassVar[dict[str, str]] = {
        "authentication": "unauthorized", "unavailable": "oom", "bad_request": "validation", "rate_limited": "rate_limit",
    }  # fmt: skip
    errors: ClassVar[dict[str, ErrorReply]] = {
        kind: tuple(a1111_failure(name)) for kind, name in FAILURES.items()
    }  # type: ignore[misc]

    def failure(self, kind: str, retry_after: float) -> ErrorReply:
        return tuple(a1111_failure(self.FAILURES[kind], retry_after=retry_after))  # type: ignore[return-value]

    def request(self, **changes: Any) -> GenerationRequest:
        return super().request(**{"size": "512x512", **changes})

    def prepare(self, rsps: responses.RequestsMock) -> None:
        rsps.get(self.check_url, json=SD_MODELS)

    def success(self, images_b64: list[str]) -> Any:
        seeds = [1234 + i for i in range(len(images_b64))]
        info = {"prompt": "A lighthouse at dusk", "all_prompts": ["A lighthouse at dusk"] * len(images_b64),
                "seed": seeds[0], "all_seeds": seeds, "sampler_name": "DPM++ 2M", "cfg_scale": 7.0, "steps": 30,
                "sd_model_name": "v1-5-pruned-emaonly", "infotexts": [f"A lighthouse at dusk\nSeed: {s}" for s in seeds]}  # fmt: skip
        return a1111_images_body(images_b64, {"prompt": "A lighthouse at dusk"}, info)


COMFYUI_CHECKPOINTS = ["v1-5-pruned-emaonly.safetensors", "sd_xl_base_1.0.safetensors"]
COMFYUI_PROMPT_ID = "6e4d8b0c-2f51-4d7a-9a3e-1c0b7f5e2a10"


def comfyui_node_body(class_type: str, **lists: list[str]) -> dict[str, Any]:
    """`GET /object_info/{class}` for the built-in workflow's nodes, as the stand-in describes them, with `lists`
    (ckpt_name=…, sampler_name=…) replacing the server's combo lists."""
    nodes = comfyui_nodes.node_definitions(COMFYUI_CHECKPOINTS, list(comfyui_nodes.UPSCALE_MODELS), [])
    definition = comfyui_nodes.object_info(nodes[class_type])
    required = definition["input"]["required"]
    for name, values in lists.items():
        required[name] = [values, *required[name][1:]]
    return {class_type: definition}


class ComfyUICase(ProviderCase):
    provider_id = "comfyui"
    base_url = "http://comfyui.local:8188"
    api_key = "writer:s3cret-passw0rd"  # a proxy in front asking for HTTP Basic
    generate_url = "http://comfyui.local:8188/prompt"
    check_url = "http://comfyui.local:8188/system_stats"
    model = COMFYUI_CHECKPOINTS[0]
    authorization = "Basic d3JpdGVyOnMzY3JldC1wYXNzdzByZA=="  # base64("writer:s3cret-passw0rd")

    check_body: ClassVar[Any] = comfyui_system_stats()
    # What a proxy in front answers (ComfyUI has no auth or limits of its own), and ComfyUI's own refusal of a graph.
    FAILURES: ClassVar[dict[str, str]] = {
        "authentication": "unauthorized", "rate_limited": "rate_limit", "unavailable": "unavailable",
    }  # fmt: skip
    REFUSAL: ClassVar[ErrorReply] = tuple(  # type: ignore[assignment]
        comfyui_value_not_in_list("3", "KSampler", "sampler_name", "euler_x", ["euler"], "9")
    )
    errors: ClassVar[dict[str, ErrorReply]] = {
        # A proxy's page as text: the suite also replays these bodies as JSON (a string), as a check answer.
        **{
            kind: comfyui_failure(name)._replace(body=comfyui_failure(name).body.decode())
            for kind, name in FAILURES.items()
        },  # type: ignore[misc]
        "bad_request": REFUSAL,
    }

    def failure(self, kind: str, retry_after: float) -> ErrorReply:
        if kind == "bad_request":
            return self.REFUSAL
        return tuple(comfyui_failure(self.FAILURES[kind], retry_after=retry_after))  # type: ignore[return-value]

    def request(self, **changes: Any) -> GenerationRequest:
        return super().request(**{"size": "512x512", **changes})

    def prepare_check(self, rsps: responses.RequestsMock) -> None:
        rsps.get(
            f"{self.base_url}/object_info/CheckpointLoaderSimple",
            json=comfyui_node_body("CheckpointLoaderSimple"),
        )

    def prepare_models(self, rsps: responses.RequestsMock) -> None:
        rsps.get(
            f"{self.base_url}/object_info/CheckpointLoaderSimple",
            json=comfyui_node_body("CheckpointLoaderSimple"),
        )
        rsps.get(f"{self.base_url}/object_info/KSampler", json=comfyui_node_body("KSampler"))

    def success(self, images_b64: list[str]) -> Any:
        return comfyui_prompt_accepted(COMFYUI_PROMPT_ID, 0)

    def add_success(
        self, rsps: responses.RequestsMock, images_b64: list[str] | None = None, **kw: Any
    ) -> None:
        """Queued, finished (the history lists the images), and each image served by /view."""
        images_b64 = images_b64 or [TINY_PNG_B64]
        super().add_success(rsps, images_b64, **kw)
        refs = [comfyui_image_ref(f"Inkweld_{i + 1:05}_.png") for i in range(len(images_b64))]
        rsps.get(
            f"{self.base_url}/history/{COMFYUI_PROMPT_ID}",
            json=comfyui_history_success(COMFYUI_PROMPT_ID, {"9": refs}),
        )
        for ref, data in zip(refs, images_b64, strict=True):
            rsps.get(f"{self.base_url}/view", body=base64.b64decode(data), content_type="image/png",
                     match=[matchers.query_param_matcher(ref)])  # fmt: skip


CASES = [OpenAICase(), OpenRouterCase(), StableDiffusionCase(), ComfyUICase()]
