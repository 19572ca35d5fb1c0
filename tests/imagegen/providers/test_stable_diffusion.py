"""Stable Diffusion (AUTOMATIC1111 --api) specifics: the exact txt2img body, validation, seeds, progress, cancel."""

from __future__ import annotations

import json
import threading

import pytest
import responses

from imagegen.providers import GenerationRequest, ProviderError
from imagegen.providers.stable_diffusion import StableDiffusionProvider
from tests.imagegen.providers.progress import record

from .cases import SD_MODELS, SD_SAMPLERS, StableDiffusionCase
from .conftest import TINY_PNG_B64, b64, png

CASE = StableDiffusionCase()
BASE = CASE.base_url
TXT2IMG = CASE.generate_url
CHECKPOINT = SD_MODELS[1]["title"]


@pytest.fixture
def provider(sleeps) -> StableDiffusionProvider:
    return StableDiffusionProvider(CASE.connection(), sleep=sleeps.append)


def lists(rsps, samplers: bool = True, schedulers: object = None) -> None:
    rsps.get(f"{BASE}/sdapi/v1/sd-models", json=SD_MODELS)
    if samplers:
        rsps.get(f"{BASE}/sdapi/v1/samplers", json=SD_SAMPLERS)
        if schedulers is None:  # an older WebUI (before 1.9) has no scheduler list
            rsps.get(f"{BASE}/sdapi/v1/schedulers", status=404, json={"detail": "Not Found"})
        else:
            rsps.get(f"{BASE}/sdapi/v1/schedulers", json=schedulers)


def test_txt2img_body_puts_the_checkpoint_in_override_settings(rsps, provider):
    lists(rsps, schedulers=[{"name": "karras", "label": "Karras", "aliases": None, "default_rho": 7.0,
                             "need_inner_model": False}])  # fmt: skip
    rsps.post(TXT2IMG, json=CASE.success([TINY_PNG_B64, TINY_PNG_B64]))
    request = GenerationRequest(
        model=CHECKPOINT, prompt="A lighthouse", size="832x1216", count=2,
        options={"negative_prompt": "blurry", "seed": 1234, "steps": 25, "sampler": "DPM++ 2M", "scheduler": "karras",
                 "cfg_scale": 6.5},
    )  # fmt: skip
    result = provider.generate(request)
    assert json.loads(rsps.calls[-1].request.body) == {
        "prompt": "A lighthouse",
        "negative_prompt": "blurry",
        "width": 832,
        "height": 1216,
        "steps": 25,
        "cfg_scale": 6.5,
        "seed": 1234,
        "batch_size": 2,
        "n_iter": 1,
        "sampler_name": "DPM++ 2M",
        "scheduler": "karras",
        "override_settings": {"sd_model_checkpoint": CHECKPOINT},
        "override_settings_restore_afterwards": True,
    }
    assert not any(
        c.request.url.endswith("/options") for c in rsps.calls
    )  # never switch the model for everyone
    assert [i.seed for i in result.images] == [1234, 1235]
    assert result.images[1].extra["infotext"].endswith("Seed: 1235")
    assert result.cost is None  # nothing reported: the job records a self-hosted engine as free


def test_defaults_random_seed_and_model_name_is_accepted(rsps, provider):
    lists(rsps, samplers=False)
    rsps.post(TXT2IMG, json=CASE.success([TINY_PNG_B64]))
    provider.generate(GenerationRequest(model="sd_xl_base_1.0", prompt="p", size="1024x1024"))
    body = json.loads(rsps.calls[-1].request.body)
    assert (body["seed"], body["steps"], body["cfg_scale"]) == (-1, 30, 7.0)
    assert "sampler_name" not in body
    assert body["override_settings"] == {"sd_model_checkpoint": CHECKPOINT}


def test_the_grid_image_is_dropped(rsps, provider):
    lists(rsps, samplers=False)
    grid, first, second = png(16, 8), png(8, 8), png(8, 8)
    body = CASE.success([b64(grid), b64(first), b64(second)])
    info = json.loads(body["info"])
    info["all_seeds"] = [7, 8]
    body["info"] = json.dumps(info)
    rsps.post(TXT2IMG, json=body)
    result = provider.generate(CASE.request(count=2))
    assert [i.data for i in result.images] == [first, second] and [i.seed for i in result.images] == [7, 8]


@pytest.mark.parametrize(
    ("changes", "problem"),
    [
        ({"model": "dreamshaper_8.safetensors"}, "no checkpoint"),
        ({"options": {"sampler": "Euler Magic"}}, "“Euler Magic” is not one of them"),
        ({"options": {"scheduler": "karras"}}, "takes no scheduler"),  # an old WebUI: no scheduler list
        ({"size": "500x500"}, "500x500"),
        ({"size": "4096x4096"}, "4096x4096"),
        ({"options": {"steps": 500}}, "Steps must be 1 to 150"),
        ({"count": 9}, "1 to 8"),
    ],
)
def test_invalid_requests_never_reach_txt2img(rsps, provider, changes, problem):
    lists(
        rsps,
        samplers="options" in changes
        and ("sampler" in changes["options"] or "scheduler" in changes["options"]),
    )
    with pytest.raises(ProviderError) as caught:
        provider.generate(CASE.request(**changes))
    assert caught.value.error_class == "bad_request" and problem in caught.value.message
    assert not any(c.request.url == TXT2IMG for c in rsps.calls)


@pytest.mark.parametrize(
    ("key", "expected"),
    [
        ("writer:s3cret-passw0rd", "Basic d3JpdGVyOnMzY3JldC1wYXNzdzByZA=="),
        ("proxy-token-123", "Bearer proxy-token-123"),
        ("", None),
    ],
)
def test_auth_scheme_follows_the_key(rsps, sleeps, key, expected):
    rsps.get(f"{BASE}/sdapi/v1/sd-models", json=SD_MODELS)
    StableDiffusionProvider(CASE.connection(api_key=key), sleep=sleeps.append).check()
    assert rsps.calls[0].request.headers.get("Authorization") == expected


@pytest.mark.parametrize(
    ("status", "body", "expected"),
    [
        (
            401,
            {"error": "HTTPException", "detail": "Not authenticated", "body": "", "errors": ""},
            "auth_required",
        ),
        (
            401,
            {"error": "HTTPException", "detail": "Incorrect username or password", "body": "", "errors": ""},
            "auth_rejected",
        ),
        (404, {"detail": "Not Found"}, "not_api"),
        (200, [], "no_checkpoints"),
    ],
)
def test_check_statuses(rsps, provider, status, body, expected):
    rsps.get(f"{BASE}/sdapi/v1/sd-models", json=body, status=status)
    result = provider.check()
    assert (result.ok, result.status) == (False, expected)
    assert "passw0rd" not in result.reason


def test_a_422_names_the_field(rsps, provider):
    lists(rsps, samplers=False)
    CASE.add_error(rsps, "bad_request")
    with pytest.raises(ProviderError) as caught:
        provider.generate(CASE.request())
    assert "steps: value is not a valid integer" in caught.value.message


def test_a_500_keeps_the_webui_reason(rsps, provider):
    lists(rsps, samplers=False)
    for _ in range(3):
        CASE.add_error(rsps, "unavailable")
    with pytest.raises(ProviderError) as caught:
        provider.generate(CASE.request())
    assert "CUDA out of memory" in caught.value.message


def test_progress_is_reported_from_a_polling_thread(rsps, provider):
    provider.poll_interval = 0.01
    lists(rsps, samplers=False)
    seen: list[float] = []
    polled = threading.Event()

    def progress(request):
        polled.set()
        return 200, {}, json.dumps({"progress": 0.5, "eta_relative": 3.2, "state": {"job_count": 1}, "current_image": None, "textinfo": None})  # fmt: skip

    def txt2img(request):
        assert polled.wait(30), "progress was never polled while txt2img ran"
        return 200, {}, json.dumps(CASE.success([TINY_PNG_B64]))

    rsps.add_callback(
        responses.GET, f"{BASE}/sdapi/v1/progress", callback=progress, content_type="application/json"
    )
    rsps.add_callback(responses.POST, TXT2IMG, callback=txt2img, content_type="application/json")
    result = provider.generate(CASE.request(), on_progress=record(seen))
    assert len(result.images) == 1
    progress_call = next(c for c in rsps.calls if "/progress" in c.request.url)
    assert progress_call.request.url.endswith(
        "?skip_current_image=false"
    )  # its live preview, when it has one
    assert seen and set(seen) == {0.5}


def test_cancelling_interrupts_the_webui(rsps, provider):
    provider.poll_interval = 0.01
    lists(rsps, samplers=False)
    interrupted = threading.Event()

    def interrupt(request):
        interrupted.set()
        return 200, {}, "{}"

    def txt2img(request):
        assert interrupted.wait(30), "the WebUI was never interrupted"
        return 200, {}, json.dumps(CASE.success([TINY_PNG_B64]))  # the WebUI answers with what it had

    rsps.add_callback(
        responses.POST, f"{BASE}/sdapi/v1/interrupt", callback=interrupt, content_type="application/json"
    )
    rsps.add_callback(responses.POST, TXT2IMG, callback=txt2img, content_type="application/json")
    provider.generate(CASE.request(), should_cancel=lambda: True)
    assert sum(c.request.url.endswith("/interrupt") for c in rsps.calls) == 1


def test_progress_is_none_when_the_webui_cannot_say(rsps, provider):
    rsps.get(
        f"{BASE}/sdapi/v1/progress",
        status=500,
        json={"error": "RuntimeError", "detail": "", "body": "", "errors": ""},
    )
    assert provider.progress() is None


def test_models_are_the_checkpoints(rsps, provider):
    lists(rsps)
    options = provider.models()
    assert [(o.id, o.label, o.source) for o in options] == [
        (SD_MODELS[0]["title"], "v1-5-pruned-emaonly", "live"),
        (CHECKPOINT, "sd_xl_base_1.0", "live"),
    ]
    assert all(o.negative_prompt and o.seed and o.steps and o.cfg_scale for o in options)
    assert all(
        o.price.kind == "free" and o.samplers == tuple(s["name"] for s in SD_SAMPLERS) for o in options
    )
    assert all(o.schedulers == () for o in options)  # this WebUI predates the scheduler list
