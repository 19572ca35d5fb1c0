"""OpenRouter specifics: the two generation routes, attribution, cost from usage, errors inside a 200."""

from __future__ import annotations

import json
import threading
from decimal import Decimal

import pytest
import responses
from responses import matchers

from imagegen.providers import GenerationRequest, ProviderError
from imagegen.providers.openrouter import OpenRouterProvider

from .cases import OPENROUTER_IMAGE_MODELS, OPENROUTER_MODELS, OpenRouterCase
from .conftest import TINY_PNG, TINY_PNG_B64

CASE = OpenRouterCase()
BASE = CASE.base_url
CHAT = f"{BASE}/chat/completions"
GEMINI = "google/gemini-2.5-flash-image"


@pytest.fixture
def provider(sleeps) -> OpenRouterProvider:
    return OpenRouterProvider(CASE.connection(), sleep=sleeps.append)


def chat_answer(generation_id: str = "gen-1", cost: float | None = 0.039) -> dict:
    return {
        "id": generation_id,
        "model": GEMINI,
        "choices": [{"finish_reason": "stop", "message": {"role": "assistant", "content": "Here is your lighthouse.",
                     "images": [{"type": "image_url", "image_url": {"url": f"data:image/png;base64,{TINY_PNG_B64}"}}]}}],
        "usage": {"prompt_tokens": 12, "completion_tokens": 1290, "total_tokens": 1302, **({"cost": cost} if cost is not None else {})},
    }  # fmt: skip


def test_images_api_body_headers_and_cost(rsps, provider):
    CASE.prepare(rsps)
    rsps.post(f"{BASE}/images", json=CASE.success([TINY_PNG_B64, TINY_PNG_B64]))
    result = provider.generate(
        GenerationRequest(
            model=CASE.model, prompt="A lighthouse", size="1344x768", count=2, options={"seed": 42}
        )
    )
    call = rsps.calls[-1].request
    assert json.loads(call.body) == {
        "model": "black-forest-labs/flux-schnell",
        "prompt": "A lighthouse",
        "n": 2,
        "aspect_ratio": "16:9",
        "seed": 42,
    }
    assert call.headers["HTTP-Referer"] == "https://inkweld.example"
    assert call.headers["X-OpenRouter-Title"] == "Inkweld"
    assert call.headers["Authorization"] == f"Bearer {CASE.api_key}"
    assert len(result.images) == 2 and result.cost == Decimal("0.006")


def test_images_api_takes_input_references_and_listed_aspect_ratios(rsps, provider):
    """A model whose listed parameters include aspect_ratio and resolution gets both; one that takes images gets
    the input images as input_references (data URLs)."""
    parameters = {"n": {"type": "integer", "min": 1, "max": 4},
                  "aspect_ratio": {"type": "enum", "values": ["1:1", "2:3", "3:2", "16:9"]},
                  "resolution": {"type": "enum", "values": ["1K", "2K"]}}  # fmt: skip
    image_models = {"data": [{"id": GEMINI, "name": "Google: Gemini 2.5 Flash Image",
                              "architecture": {"input_modalities": ["image", "text"], "output_modalities": ["image"]},
                              "supported_parameters": parameters}]}  # fmt: skip
    rsps.get(f"{BASE}/models", json=OPENROUTER_MODELS)
    rsps.get(f"{BASE}/images/models", json=image_models)
    rsps.post(f"{BASE}/images", json=CASE.success([TINY_PNG_B64]))
    spec = {o.id: o for o in provider.models()}[GEMINI]
    assert (spec.images_per_request, spec.edits, spec.max_input_images) == (4, True, 3)
    provider.generate(GenerationRequest(model=GEMINI, prompt="p", size="832x1248", input_images=(TINY_PNG,)))
    body = json.loads(rsps.calls[-1].request.body)
    assert body["aspect_ratio"] == "2:3" and body["resolution"] == "1K"
    assert body["input_references"] == [
        {"type": "image_url", "image_url": {"url": f"data:image/png;base64,{TINY_PNG_B64}"}}
    ]


def test_chat_route_fans_out_one_image_per_call_in_parallel(rsps, provider):
    CASE.prepare(rsps)
    barrier = threading.Barrier(2, timeout=5)
    ids = iter(["gen-a", "gen-b"])
    lock = threading.Lock()

    def answer(request):
        with lock:
            generation_id = next(ids)
        barrier.wait()
        return 200, {}, json.dumps(chat_answer(generation_id))

    rsps.add_callback(responses.POST, CHAT, callback=answer, content_type="application/json")
    result = provider.generate(
        GenerationRequest(model=GEMINI, prompt="A lighthouse", size="768x1344", count=2)
    )
    assert json.loads(rsps.calls[-1].request.body) == {
        "model": GEMINI,
        "messages": [{"role": "user", "content": "A lighthouse"}],
        "modalities": ["image", "text"],
        "image_config": {"aspect_ratio": "9:16"},
    }
    assert len(result.images) == 2 and sorted(result.request_ids) == ["gen-a", "gen-b"]
    assert result.cost == Decimal("0.078")
    assert result.usage["completion_tokens"] == 2580


def test_chat_route_image_only_models_and_input_images(rsps, provider):
    models = {"data": [{"id": "black-forest-labs/flux.2-pro", "name": "FLUX.2 Pro",
                        "architecture": {"input_modalities": ["text", "image"], "output_modalities": ["image"]},
                        "pricing": {"image_output": "0.03"}}]}  # fmt: skip
    rsps.get(f"{BASE}/models", json=models)
    rsps.get(f"{BASE}/images/models", status=404, json={"error": {"code": 404, "message": "Not Found"}})
    rsps.post(CHAT, json=chat_answer(cost=None))
    result = provider.generate(
        GenerationRequest(model="black-forest-labs/flux.2-pro", prompt="p", input_images=(TINY_PNG,))
    )
    body = json.loads(rsps.calls[-1].request.body)
    assert body["modalities"] == ["image"]
    assert body["messages"][0]["content"] == [
        {"type": "text", "text": "p"},
        {"type": "image_url", "image_url": {"url": f"data:image/png;base64,{TINY_PNG_B64}"}},
    ]
    assert result.cost is None  # not reported: unknown, not zero


def test_an_error_inside_a_200_is_an_error(rsps, provider, sleeps):
    CASE.prepare(rsps)
    failed = {"id": "gen-x", "choices": [{"finish_reason": "error", "error": {"code": 502, "message": "Provider returned error"},
                                         "message": {"role": "assistant", "content": ""}}]}  # fmt: skip
    for _ in range(3):
        rsps.post(CHAT, json=failed)
    with pytest.raises(ProviderError) as caught:
        provider.generate(GenerationRequest(model=GEMINI, prompt="p"))
    assert caught.value.error_class == "unavailable" and caught.value.request_id == "gen-x"
    assert len(sleeps) == 2  # a failed generation is not charged: retried like a 502


def test_a_moderation_error_inside_a_200_is_not_retried(rsps, provider, sleeps):
    CASE.prepare(rsps)
    rsps.post(
        CHAT,
        json={
            "error": {
                "code": 403,
                "message": "flagged",
                "metadata": {"reasons": ["sexual"], "flagged_input": "..."},
            }
        },
    )
    with pytest.raises(ProviderError) as caught:
        provider.generate(GenerationRequest(model=GEMINI, prompt="p"))
    assert caught.value.error_class == "content_policy" and sleeps == []


def test_a_403_without_moderation_metadata_is_about_the_key(rsps, provider):
    CASE.prepare(rsps)
    rsps.post(f"{BASE}/images", status=403, json={"error": {"code": 403, "message": "Key is disabled"}})
    with pytest.raises(ProviderError) as caught:
        provider.generate(GenerationRequest(model=CASE.model, prompt="p"))
    assert caught.value.error_class == "authentication" and "Key is disabled" in caught.value.message


def test_402_says_credits_and_an_admin(rsps, provider):
    CASE.prepare(rsps)
    CASE.add_error(rsps, "quota_exhausted")
    with pytest.raises(ProviderError) as caught:
        provider.generate(GenerationRequest(model=CASE.model, prompt="p"))
    assert "credits" in caught.value.message and "admin" in caught.value.message


def test_models_come_from_the_live_lists_with_prices(rsps, provider):
    CASE.prepare(rsps)
    options = {o.id: o for o in provider.models()}
    flux, gemini = options["black-forest-labs/flux-schnell"], options[GEMINI]
    assert flux.extra["route"] == "images" and flux.images_per_request == 10
    assert gemini.extra["route"] == "chat" and gemini.images_per_request == 1 and gemini.input_images
    assert gemini.price.per_image("1024x1024", "") == Decimal("0.039")
    assert gemini.label == "Gemini 2.5 Flash Image"  # the author prefix ("Google: ") is in the id already
    provider.models()
    assert len(rsps.calls) == 2  # cached for an hour


def test_an_unknown_model_is_refused(rsps, provider):
    CASE.prepare(rsps)
    with pytest.raises(ProviderError) as caught:
        provider.generate(GenerationRequest(model="nobody/nothing", prompt="p"))
    assert caught.value.error_class == "bad_request"


def test_models_fall_back_to_the_catalog(rsps, provider):
    rsps.get(f"{BASE}/models", body=requests_timeout())
    options = provider.models()
    assert {o.source for o in options} == {"catalog"} and all(
        "could not be fetched" in o.note for o in options
    )
    assert {o.id: o.price.flat for o in options if o.price}["black-forest-labs/flux-schnell"] == Decimal(
        "0.003"
    )


def requests_timeout():
    import requests

    return requests.exceptions.ConnectTimeout("timed out")


def test_check_uses_the_key_endpoint(rsps, provider):
    rsps.get(
        f"{BASE}/key",
        json=CASE.check_body,
        match=[matchers.header_matcher({"Authorization": f"Bearer {CASE.api_key}"})],
    )
    result = provider.check()
    assert result.ok and "12.50 USD" in result.reason


def test_check_reports_a_used_up_limit(rsps, provider):
    rsps.get(
        f"{BASE}/key",
        json={"data": {"label": "x", "limit": 5, "limit_remaining": 0, "usage": 5, "is_free_tier": False}},
    )
    assert provider.check().status == "no_credit"


def test_model_lists_are_shared_between_fixtures():
    assert {m["id"] for m in OPENROUTER_IMAGE_MODELS["data"]} <= {m["id"] for m in OPENROUTER_MODELS["data"]}


def test_a_failure_inside_a_200_that_was_charged_is_kept_and_never_repeated(rsps, provider, sleeps):
    """OpenRouter charged for a generation that then failed: no retry (it would bill twice), the cost stays."""
    CASE.prepare(rsps)
    failed = {"id": "gen-9", "error": {"code": 502, "message": "Provider returned error"},
              "usage": {"prompt_tokens": 10, "completion_tokens": 0, "cost": 0.0123}}  # fmt: skip
    rsps.post(f"{BASE}/images", json=failed)
    with pytest.raises(ProviderError) as caught:
        provider.generate(GenerationRequest(model=CASE.model, prompt="p"))
    assert len(rsps.calls) == 3 and sleeps == []  # the two lists, then one generation
    assert caught.value.may_have_cost and caught.value.cost == Decimal("0.0123")
