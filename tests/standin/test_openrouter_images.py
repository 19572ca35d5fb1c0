"""OpenRouter's Images API: reference images only where the model takes images, the model's own parameter
ranges, per-image pricing by resolution tier, usage.cost, and the official schemas."""

from __future__ import annotations

import pytest

from tests.standin import catalog
from tests.standin.conftest import (
    OPENROUTER_AUTH,
    OPENROUTER_SPEC,
    b64,
    decode_image,
    png_bytes,
    schema_errors,
)
from tests.standin.wire_bodies import openrouter_images_body

IMAGES = "/api/v1/images"


def reference(size=(640, 480)) -> dict:
    return {"type": "image_url", "image_url": {"url": f"data:image/png;base64,{b64(png_bytes(size))}"}}


def ask(standin, http, **payload):
    return http.post(f"{standin.url}{IMAGES}", json={"prompt": "a fox", **payload}, headers=OPENROUTER_AUTH)


def test_reference_images_go_to_models_that_take_images(standin, http):
    response = ask(standin, http, model="black-forest-labs/flux.2-pro", input_references=[reference(), reference((300, 300))],
                   aspect_ratio="3:2", resolution="2K")  # fmt: skip
    assert response.status_code == 200, response.text
    body = response.json()
    assert decode_image(body["data"][0]["b64_json"]).size == (2048, 1360)
    assert body["usage"]["cost"] == pytest.approx(0.045)  # the 2k price line
    (entry,) = standin.requests(IMAGES)
    assert entry["input_references"] == [
        {"media_type": "image/png", "size": [640, 480]},
        {"media_type": "image/png", "size": [300, 300]},
    ]
    assert standin.usages(IMAGES)[0]["cost_usd"] == pytest.approx(0.045)


def test_reference_images_are_refused_by_text_only_models(standin, http):
    response = ask(standin, http, model="black-forest-labs/flux-schnell", input_references=[reference()])
    assert response.status_code == 400
    error = response.json()["error"]
    assert error["code"] == 400 and "does not accept image inputs" in error["message"]
    assert set(response.json()) == {"error"}


@pytest.mark.parametrize(
    ("payload", "words"),
    [
        ({"model": "google/gemini-2.5-flash-image", "input_references": [reference()] * 4}, "at most 3 input_references"),
        ({"model": "google/gemini-2.5-flash-image", "n": 2}, "between 1 and 1"),
        ({"model": "black-forest-labs/flux-schnell", "resolution": "4K"}, "not supported by"),
        ({"model": "black-forest-labs/flux-schnell", "resolution": "8K"}, "Invalid resolution"),
        ({"model": "black-forest-labs/flux-schnell", "aspect_ratio": "7:3"}, "Invalid aspect_ratio"),
        ({"model": "black-forest-labs/flux-schnell", "aspect_ratio": "1:8"}, "not supported by"),
        ({"model": "black-forest-labs/flux-schnell", "input_references": [{"url": "x"}]}, "must be a list of"),
        ({"model": "black-forest-labs/flux.2-pro", "input_references": [{"type": "image_url", "image_url": {"url": "data:image/png;base64,AAAA"}}]},
         "not a valid image"),
        ({"model": "black-forest-labs/flux-schnell", "quality": "ultra"}, "Invalid quality"),
        ({"model": "black-forest-labs/flux-schnell", "prompt": ""}, "Input required"),
        ({"model": "black-forest-labs/flux-schnell", "colour": "red"}, "Unrecognized parameter"),
        ({"model": "nobody/nothing"}, "not a valid model ID"),
    ],
)  # fmt: skip
def test_requests_outside_the_model_endpoint_are_refused(standin, http, payload, words):
    response = ask(standin, http, **payload)
    assert response.status_code == 400, response.text
    assert words in response.json()["error"]["message"]


def test_accepted_requests_and_answers_conform_to_the_official_schemas(standin, http):
    payloads = [
        {"model": "black-forest-labs/flux-schnell", "prompt": "a fox", "n": 4, "aspect_ratio": "16:9", "resolution": "512", "seed": 3},
        {"model": "black-forest-labs/flux.2-pro", "prompt": "a fox", "input_references": [reference()], "resolution": "4K",
         "output_format": "webp", "quality": "high", "background": "opaque"},
        {"model": "black-forest-labs/flux-schnell", "prompt": "a fox", "n": "2"},
        {"model": "black-forest-labs/flux-schnell", "prompt": "a fox", "aspect_ratio": "2:7"},
    ]  # fmt: skip
    for payload in payloads:
        response = http.post(f"{standin.url}{IMAGES}", json=payload, headers=OPENROUTER_AUTH)
        problems = schema_errors(OPENROUTER_SPEC["images"], payload)
        if response.status_code == 200:
            assert problems == [], payload
            assert schema_errors(OPENROUTER_SPEC["images_response"], response.json()) == []
        else:
            assert problems, f"refused a request the schema allows: {payload} {response.text}"


def test_model_list_and_endpoints_carry_parameters_and_per_image_prices(standin, http):
    listed = {m["id"]: m for m in http.get(f"{standin.url}/api/v1/images/models").json()["data"]}
    assert set(listed) == set(catalog.IMAGE_ENDPOINTS)
    flux2 = listed["black-forest-labs/flux.2-pro"]
    assert flux2["architecture"]["input_modalities"] == ["text", "image"]
    assert flux2["supported_parameters"]["input_references"] == {"type": "range", "min": 0, "max": 8}
    endpoints = http.get(f"{standin.url}/api/v1/images/models/black-forest-labs/flux.2-pro/endpoints").json()
    (endpoint,) = endpoints["endpoints"]
    assert {line["variant"]: line["cost_usd"] for line in endpoint["pricing"]} == {
        "1k": 0.03,
        "2k": 0.045,
        "4k": 0.06,
    }
    assert endpoint["supported_parameters"]["resolution"]["values"] == ["1K", "2K", "4K"]
    missing = http.get(f"{standin.url}/api/v1/images/models/openai/gpt-4o/endpoints")
    assert missing.status_code == 404 and missing.json()["error"]["code"] == 404


def test_the_chat_route_still_answers_with_a_data_url(standin, http):
    body = http.post(
        f"{standin.url}/api/v1/chat/completions",
        json={"model": "google/gemini-2.5-flash-image", "messages": [{"role": "user", "content": "a fox"}],
              "modalities": ["image", "text"], "image_config": {"aspect_ratio": "2:3"}},
        headers=OPENROUTER_AUTH,
    ).json()  # fmt: skip
    assert body["choices"][0]["message"]["images"][0]["image_url"]["url"].startswith("data:image/png;base64,")
    assert body["usage"]["cost"] == pytest.approx(0.039)


def test_the_builder_is_what_the_stand_in_sends(standin, http):
    body = ask(standin, http, model="black-forest-labs/flux-schnell", n=2, seed=5).json()
    built = openrouter_images_body([d["b64_json"] for d in body["data"]], cost=0.006, model=body["model"],
                                   prompt_tokens=body["usage"]["prompt_tokens"], created=body["created"])  # fmt: skip
    assert built == body
