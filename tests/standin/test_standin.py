"""The stand-in speaks each upstream's wire format: shapes, status codes and real PNGs of the asked size."""

from __future__ import annotations

import base64
import json

import pytest

from tests.standin import images
from tests.standin.conftest import OPENAI_AUTH, OPENROUTER_AUTH, decode_image

# ---------------------------------------------------------------- OpenAI


def test_openai_gpt_image_returns_base64_pngs_of_the_requested_size(standin, http):
    response = http.post(
        f"{standin.url}/v1/images/generations",
        json={"model": "gpt-image-1", "prompt": "a lighthouse", "n": 2, "size": "1536x1024"},
        headers=OPENAI_AUTH,
    )
    assert response.status_code == 200
    assert response.headers["x-request-id"].startswith("req_")
    body = response.json()
    assert isinstance(body["created"], int)
    assert body["usage"]["output_tokens"] > 0
    pngs = [decode_image(item["b64_json"]) for item in body["data"]]
    assert [(p.format, p.size) for p in pngs] == [("PNG", (1536, 1024))] * 2
    assert pngs[0].tobytes() != pngs[1].tobytes(), "each image must look different"
    assert "revised_prompt" not in body["data"][0]


def test_openai_dall_e_3_refuses_more_than_one_image(standin, http):
    response = http.post(
        f"{standin.url}/v1/images/generations",
        json={"model": "dall-e-3", "prompt": "a lighthouse", "n": 2},
        headers=OPENAI_AUTH,
    )
    assert response.status_code == 400
    error = response.json()["error"]
    assert error["type"] == "invalid_request_error"
    assert set(error) == {"message", "type", "param", "code"}


def test_openai_gpt_image_refuses_response_format(standin, http):
    response = http.post(
        f"{standin.url}/v1/images/generations",
        json={"model": "gpt-image-2", "prompt": "x", "response_format": "b64_json"},
        headers=OPENAI_AUTH,
    )
    assert response.status_code == 400
    assert response.json()["error"]["param"] == "response_format"


def test_openai_dall_e_url_points_back_at_the_stand_in(standin, http):
    response = http.post(
        f"{standin.url}/v1/images/generations",
        json={"model": "dall-e-3", "prompt": "a lighthouse", "size": "1792x1024"},
        headers=OPENAI_AUTH,
    )
    item = response.json()["data"][0]
    assert item["revised_prompt"]
    assert item["url"].startswith(f"{standin.url}/files/") and item["url"].endswith(".png")
    download = http.get(item["url"])
    assert download.headers["content-type"] == "image/png"
    assert decode_image(base64.b64encode(download.content).decode()).size == (1792, 1024)


@pytest.mark.parametrize(
    ("payload", "param"),
    [
        ({"model": "dall-e-2", "prompt": "x", "size": "1792x1024"}, "size"),
        ({"model": "gpt-image-2", "prompt": "x", "size": "1000x1000"}, "size"),  # not multiples of 16
        ({"model": "gpt-image-2", "prompt": "x", "size": "3840x960"}, "size"),  # wider than 3:1
        ({"model": "dall-e-2", "prompt": "x" * 1001}, "prompt"),
        ({"model": "dall-e-2", "prompt": "x", "style": "vivid"}, "style"),
        ({"model": "gpt-image-1", "prompt": "x", "n": 11}, "n"),
        ({"model": "gpt-image-1", "prompt": "x", "quality": "hd"}, "quality"),
    ],
)
def test_openai_validates_like_the_real_api(standin, http, payload, param):
    response = http.post(f"{standin.url}/v1/images/generations", json=payload, headers=OPENAI_AUTH)
    assert response.status_code == 400
    assert response.json()["error"]["param"] == param


def test_openai_gpt_image_2_takes_any_valid_size_and_draws_it(standin, http):
    response = http.post(
        f"{standin.url}/v1/images/generations",
        json={"model": "gpt-image-2", "prompt": "x", "size": "1280x720", "output_format": "webp"},
        headers=OPENAI_AUTH,
    )
    image = decode_image(response.json()["data"][0]["b64_json"])
    assert (image.format, image.size) == ("WEBP", (1280, 720))


def test_openai_needs_a_bearer_key(standin, http):
    for headers in ({}, {"Authorization": "Bearer "}, {"Authorization": "Basic dTpw"}):
        response = http.get(f"{standin.url}/v1/models", headers=headers)
        assert response.status_code == 401
        assert response.json()["error"]["code"] == "invalid_api_key"
        assert response.headers["x-request-id"]


def test_openai_models_lists_image_and_other_models_with_shutdown_dates(standin, http):
    body = http.get(f"{standin.url}/v1/models", headers=OPENAI_AUTH).json()
    assert body["object"] == "list"
    by_id = {m["id"]: m for m in body["data"]}
    assert {"gpt-image-1", "gpt-image-2", "dall-e-3", "dall-e-2", "gpt-image-1-mini", "gpt-4o"} <= set(by_id)
    assert by_id["gpt-image-1-mini"]["shutdown_date"] == "2026-12-01"
    assert set(by_id["gpt-4o"]) == {"id", "object", "created", "owned_by"}


def test_openai_a_model_the_list_lacks_is_not_found(standin, http):
    standin.configure(openai_models=["gpt-image-2", {"id": "gpt-image-1", "shutdown_date": "2026-10-23"}])
    listed = http.get(f"{standin.url}/v1/models", headers=OPENAI_AUTH).json()["data"]
    assert [m["id"] for m in listed] == ["gpt-image-2", "gpt-image-1"]
    response = http.post(
        f"{standin.url}/v1/images/generations", json={"model": "dall-e-3", "prompt": "x"}, headers=OPENAI_AUTH
    )
    assert response.status_code == 404
    assert response.json()["error"]["code"] == "model_not_found"


def test_openai_edits_take_multipart_with_reference_images(standin, http):
    png = images.render(32, 32, 1, "ref")
    response = http.post(
        f"{standin.url}/v1/images/edits",
        data={"model": "gpt-image-1", "prompt": "the same, at night", "n": "2", "size": "1024x1024"},
        files=[("image[]", ("input-1.png", png, "image/png"))],
        headers=OPENAI_AUTH,
    )
    assert response.status_code == 200
    assert [decode_image(d["b64_json"]).size for d in response.json()["data"]] == [(1024, 1024)] * 2
    (entry,) = standin.requests("/v1/images/edits")
    assert entry["body"]["prompt"] == "the same, at night"
    assert entry["body"]["_files"] == [
        {"name": "image[]", "filename": "input-1.png", "content_type": "image/png", "size": len(png)}
    ]
    no_image = http.post(
        f"{standin.url}/v1/images/edits", data={"model": "gpt-image-1", "prompt": "x"}, headers=OPENAI_AUTH
    )
    assert (no_image.status_code, no_image.json()["error"]["param"]) == (400, "image")


# ---------------------------------------------------------------- OpenRouter


def test_openrouter_images_api_returns_pngs_and_cost(standin, http):
    payload = {"model": "black-forest-labs/flux-schnell", "prompt": "a fox", "n": 3, "seed": 7}
    body = http.post(f"{standin.url}/api/v1/images", json=payload, headers=OPENROUTER_AUTH).json()
    assert [item["media_type"] for item in body["data"]] == ["image/png"] * 3
    assert {decode_image(item["b64_json"]).size for item in body["data"]} == {(1024, 1024)}
    assert body["usage"]["cost"] == pytest.approx(0.009)
    again = http.post(f"{standin.url}/api/v1/images", json=payload, headers=OPENROUTER_AUTH).json()
    assert again["data"][0]["b64_json"] == body["data"][0]["b64_json"], "same seed, same image"


def test_openrouter_chat_completions_returns_a_data_url_image(standin, http):
    response = http.post(
        f"{standin.url}/api/v1/chat/completions",
        json={
            "model": "google/gemini-2.5-flash-image",
            "messages": [{"role": "user", "content": [{"type": "text", "text": "a fox in snow"}]}],
            "modalities": ["image", "text"],
            "image_config": {"aspect_ratio": "16:9", "image_size": "1K"},
        },
        headers=OPENROUTER_AUTH,
    )
    body = response.json()
    url = body["choices"][0]["message"]["images"][0]["image_url"]["url"]
    prefix, _, data = url.partition(",")
    assert prefix == "data:image/png;base64"
    assert decode_image(data).size == (1024, 576)
    assert body["usage"]["cost"] == pytest.approx(0.039)


def test_openrouter_chat_refuses_modalities_the_model_lacks(standin, http):
    def ask(model: str, modalities: list[str]):
        return http.post(
            f"{standin.url}/api/v1/chat/completions",
            json={"model": model, "messages": [{"role": "user", "content": "x"}], "modalities": modalities},
            headers=OPENROUTER_AUTH,
        )

    refused = ask("black-forest-labs/flux-schnell", ["image", "text"])
    assert refused.status_code == 404
    assert refused.json()["error"]["code"] == 404
    assert ask("black-forest-labs/flux-schnell", ["image"]).json()["choices"][0]["message"]["images"]
    unknown = ask("nobody/nothing", ["image"])
    assert unknown.status_code == 400
    assert unknown.json() == {"error": {"code": 400, "message": "nobody/nothing is not a valid model ID"}}


def test_openrouter_model_lists(standin, http):
    image_models = http.get(f"{standin.url}/api/v1/models", params={"output_modalities": "image"}).json()[
        "data"
    ]
    assert image_models and all("image" in m["architecture"]["output_modalities"] for m in image_models)
    assert all(isinstance(m["pricing"]["image_output"], str) for m in image_models)
    text_models = http.get(f"{standin.url}/api/v1/models").json()["data"]
    assert "openai/gpt-4o" in {m["id"] for m in text_models}
    listed = http.get(f"{standin.url}/api/v1/images/models").json()["data"]
    flux = next(m for m in listed if m["id"] == "black-forest-labs/flux-schnell")
    endpoints = http.get(f"{standin.url}{flux['endpoints']}").json()
    assert endpoints["id"] == "black-forest-labs/flux-schnell"
    assert endpoints["endpoints"][0]["pricing"] == [
        {"billable": "output_image", "unit": "image", "cost_usd": 0.003}
    ]


def test_openrouter_key_check_needs_a_key(standin, http):
    assert http.get(f"{standin.url}/api/v1/key").status_code == 401
    standin.configure(openrouter_key={"limit": 10, "limit_remaining": 0.5})
    data = http.get(f"{standin.url}/api/v1/key", headers=OPENROUTER_AUTH).json()["data"]
    assert (data["limit"], data["limit_remaining"], data["is_free_tier"]) == (10, 0.5, False)


# ---------------------------------------------------------------- AUTOMATIC1111


def test_a1111_txt2img_shapes(standin, http):
    payload = {"prompt": "a tower", "seed": 1234, "batch_size": 2, "width": 640, "height": 384, "steps": 20}
    body = http.post(f"{standin.url}/sdapi/v1/txt2img", json=payload).json()
    assert set(body) == {"images", "parameters", "info"}
    assert not body["images"][0].startswith("data:")
    assert [decode_image(b).size for b in body["images"]] == [(640, 384)] * 2
    assert body["parameters"]["prompt"] == "a tower" and body["parameters"]["cfg_scale"] == 7.0
    assert isinstance(body["info"], str), "info is a JSON string inside the JSON"
    info = json.loads(body["info"])
    assert (info["seed"], info["all_seeds"]) == (1234, [1234, 1235])
    assert info["sd_model_name"] == "v1-5-pruned-emaonly"
    assert "Seed: 1235" in info["infotexts"][1]
    again = http.post(f"{standin.url}/sdapi/v1/txt2img", json=payload).json()
    assert again["images"] == body["images"], "a seed draws the same image every time"


def test_a1111_random_seed_and_checkpoint_override(standin, http):
    payload = {"prompt": "x", "override_settings": {"sd_model_checkpoint": "sd_xl_base_1.0"}, "n_iter": 2}
    info = json.loads(http.post(f"{standin.url}/sdapi/v1/txt2img", json=payload).json()["info"])
    assert info["seed"] >= 0 and info["all_seeds"] == [info["seed"], info["seed"] + 1]
    assert info["sd_model_name"] == "sd_xl_base_1.0"
    payload["override_settings"] = {"sd_model_checkpoint": "no-such-model"}  # silently ignored, as upstream
    info = json.loads(http.post(f"{standin.url}/sdapi/v1/txt2img", json=payload).json()["info"])
    assert info["sd_model_name"] == "v1-5-pruned-emaonly"


def test_a1111_lists_and_validation(standin, http):
    models = http.get(f"{standin.url}/sdapi/v1/sd-models").json()
    assert set(models[0]) == {"title", "model_name", "hash", "sha256", "filename", "config"}
    samplers = http.get(f"{standin.url}/sdapi/v1/samplers").json()
    assert {"Euler a", "DPM++ 2M"} <= {s["name"] for s in samplers}
    assert http.get(f"{standin.url}/sdapi/v1/options").json()["sd_model_checkpoint"] == models[0]["title"]
    bad = http.post(f"{standin.url}/sdapi/v1/txt2img", json={"prompt": "x", "steps": "many"})
    assert bad.status_code == 422
    assert bad.json()["detail"][0]["loc"] == ["body", "steps"]
    assert http.get(f"{standin.url}/sdapi/v1/nothing").json() == {"detail": "Not Found"}


def test_a1111_basic_auth_when_configured(standin, http):
    standin.configure(sd_auth=("writer", "s3cret"))
    url = f"{standin.url}/sdapi/v1/sd-models"
    missing = http.get(url)
    assert (missing.status_code, missing.json()["detail"]) == (401, "Not authenticated")
    assert missing.json() == {
        "error": "HTTPException",
        "detail": "Not authenticated",
        "body": "",
        "errors": "",
    }
    wrong = http.get(url, auth=("writer", "nope"))
    assert (wrong.status_code, wrong.json()["detail"]) == (401, "Incorrect username or password")
    assert http.get(url, auth=("writer", "s3cret")).status_code == 200
    assert http.get(url, headers={"Authorization": "Bearer s3cret"}).status_code == 401


# ---------------------------------------------------------------- images


def test_images_are_deterministic_and_distinct():
    first = images.render(256, 256, 5, "#1")
    assert images.render(256, 256, 5, "#1") == first
    assert images.render(256, 256, 6, "#1") != first
    assert images.render(256, 256, 5, "#2") != first
    assert decode_image(base64.b64encode(images.render(3840, 1280, 1, "x")).decode()).size == (3840, 1280)
    assert images.drawn_size(8192, 2048) == (4096, 1024), "only past 4096 is a request drawn smaller"


def test_heavy_images_hit_their_byte_target(standin, http):
    standin.script(image_bytes_target=3_000_000)
    body = http.post(
        f"{standin.url}/v1/images/generations",
        json={"model": "gpt-image-1", "prompt": "heavy", "size": "1024x1024"},
        headers=OPENAI_AUTH,
    ).json()
    b64 = body["data"][0]["b64_json"]
    assert 3_000_000 <= len(base64.b64decode(b64)) <= 3_300_000
    assert len(b64) > 4_000_000
    assert decode_image(b64).size == (1024, 1024)
    # Smaller than the target can hold in pixels: padded in an ancillary chunk, still a valid PNG.
    small = images.render(64, 64, 1, "x", bytes_target=500_000)
    assert len(small) >= 500_000
    assert decode_image(base64.b64encode(small).decode()).size == (64, 64)
