"""Each provider's edit and upscale requests, exactly as sent: multipart parts (OpenAI), JSON fields (OpenRouter,
the WebUI), and what is refused before any call. Canned answers come from the stand-in's wire_bodies."""

from __future__ import annotations

import base64
import email
import email.policy
import io
import json

import pytest
import requests
import responses
from PIL import Image, ImageDraw

from imagegen import masks
from imagegen.providers import GenerationRequest, ProviderError
from imagegen.providers.openai import OpenAIProvider
from imagegen.providers.openrouter import OpenRouterProvider
from imagegen.providers.stable_diffusion import StableDiffusionProvider
from tests.standin import catalog as standin_catalog
from tests.standin.masks import repaint_bbox, transparent_record, white_record
from tests.standin.wire_bodies import (
    a1111_extras_body,
    a1111_images_body,
    openai_image_body,
    openai_usage_for,
    openrouter_image_models_body,
    openrouter_images_body,
    openrouter_models_body,
)

from .cases import SD_MODELS, OpenAICase, OpenRouterCase, StableDiffusionCase
from .conftest import b64, png

OPENAI, OPENROUTER, SD = OpenAICase(), OpenRouterCase(), StableDiffusionCase()
BOX = (16, 8, 40, 30)  # (left, top, right, bottom), right/bottom exclusive


def source_png(size=(64, 48)) -> bytes:
    return png(*size, noisy=False)


def source_jpeg(size=(64, 48)) -> bytes:
    return png(*size, noisy=False, fmt="JPEG")


def convention_mask(size=(64, 48), box=BOX) -> bytes:
    """A mask checked into the one convention, as a job holds it."""
    image = Image.new("RGBA", size, (0, 0, 0, 255))
    ImageDraw.Draw(image).rectangle([box[0], box[1], box[2] - 1, box[3] - 1], fill=(0, 0, 0, 0))
    out = io.BytesIO()
    image.save(out, format="PNG")
    checked = masks.mask_from_png(out.getvalue(), size=size)
    assert checked is not None
    return checked.png


def multipart(request: requests.PreparedRequest) -> list[tuple[str, str | None, str, bytes]]:
    """(name, filename, content type, bytes) of each part, in order."""
    head = f"Content-Type: {request.headers['Content-Type']}\r\n\r\n".encode()
    message = email.message_from_bytes(head + request.body, policy=email.policy.HTTP)
    parts = []
    for part in message.iter_parts():
        name = part.get_param("name", header="content-disposition")
        filename = part.get_filename()
        parts.append(
            (name, filename, part.get_content_type() if filename else "", part.get_payload(decode=True))
        )
    return parts


def decoded(data: bytes) -> Image.Image:
    image = Image.open(io.BytesIO(data))
    image.load()
    return image


# --- OpenAI: /images/edits, multipart ---------------------------------------------------------------------------


@pytest.fixture
def openai(sleeps) -> OpenAIProvider:
    return OpenAIProvider(OPENAI.connection(), sleep=sleeps.append)


def test_openai_edit_sends_the_source_first_then_portraits_and_the_mask(rsps, openai):
    source, portrait, mask = source_jpeg(), png(32, 32), convention_mask()
    usage = openai_usage_for("gpt-image-2", "make her hair silver", size=(1024, 1024), quality="low", n=1,
                             input_images=[(64, 48), (32, 32)])  # fmt: skip
    rsps.post(f"{OPENAI.base_url}/images/edits", json=openai_image_body([b64(png(64, 48))], usage=usage))
    result = openai.perform(
        GenerationRequest(
            model="gpt-image-2", prompt="make her hair silver", size="1024x1024", count=1,
            options={"quality": "low"}, operation="edit", source_image=source, mask=mask,
            input_images=(portrait,), user_ref="writer-hash",
        )
    )  # fmt: skip
    parts = multipart(rsps.calls[0].request)
    fields = {name: data.decode() for name, filename, _, data in parts if filename is None}
    assert fields == {
        "model": "gpt-image-2",
        "prompt": "make her hair silver",
        "n": "1",
        "size": "1024x1024",
        "quality": "low",
        "safety_identifier": "writer-hash",
    }
    files = [(name, filename, kind) for name, filename, kind, _ in parts if filename is not None]
    assert files == [
        ("image[]", "input-1.jpg", "image/jpeg"),  # the source, as what it is
        ("image[]", "input-2.png", "image/png"),  # a portrait
        ("mask", "mask.png", "image/png"),
    ]
    sent = [data for _, filename, _, data in parts if filename is not None]
    assert sent[0] == source and sent[1] == portrait
    # The mask as OpenAI reads it: the source's size, an alpha channel, transparent exactly where to repaint.
    mask_image = decoded(sent[2])
    assert mask_image.size == (64, 48) and "A" in mask_image.getbands()
    assert repaint_bbox(transparent_record(mask_image)) == BOX
    assert result.usage == usage


def test_openai_edit_without_a_mask_sends_no_mask_part(rsps, openai):
    rsps.post(f"{OPENAI.base_url}/images/edits", json=openai_image_body([b64(png(64, 48))]))
    openai.edit(GenerationRequest(model="gpt-image-2", prompt="warmer light", size="auto",
                                  operation="edit", source_image=source_png()))  # fmt: skip
    names = [name for name, *_ in multipart(rsps.calls[0].request)]
    assert "mask" not in names and names.count("image[]") == 1
    assert rsps.calls[0].request.url == f"{OPENAI.base_url}/images/edits"


def test_openai_a_gif_source_goes_as_a_png(rsps, openai):
    out = io.BytesIO()
    Image.new("RGB", (64, 48), (1, 2, 3)).save(out, format="GIF")
    rsps.post(f"{OPENAI.base_url}/images/edits", json=openai_image_body([b64(png(64, 48))]))
    openai.edit(GenerationRequest(model="gpt-image-2", prompt="p", size="auto", operation="edit",
                                  source_image=out.getvalue()))  # fmt: skip
    (_name, filename, kind, data) = next(p for p in multipart(rsps.calls[0].request) if p[0] == "image[]")
    assert (filename, kind, decoded(data).format, decoded(data).size) == (
        "input-1.png",
        "image/png",
        "PNG",
        (64, 48),
    )


@pytest.mark.parametrize(
    ("model", "changes", "reason"),
    [
        ("dall-e-3", {}, "DALL·E 3 cannot edit images."),
        ("gpt-image-2", {"source_image": b""}, "There is no image to edit."),
        ("gpt-image-2", {"input_images": (b"x",) * 16}, "takes at most 16 input images"),
        ("gpt-image-2", {"options": {"style": "vivid"}}, "takes no style"),
        ("gpt-image-2", {"options": {"strength": 0.5}}, "takes no change strength"),
    ],
)
def test_openai_refuses_an_impossible_edit_before_any_call(openai, model, changes, reason):
    request = GenerationRequest(
        **{"model": model, "prompt": "p", "size": "1024x1024", "operation": "edit", "source_image": source_png(),
           **changes}
    )  # fmt: skip
    with pytest.raises(ProviderError) as caught:
        openai.perform(request)
    assert reason in caught.value.message and caught.value.error_class == "bad_request"


def test_openai_an_edit_that_may_have_been_billed_is_never_repeated(rsps, openai, sleeps):
    rsps.post(f"{OPENAI.base_url}/images/edits", body=requests.exceptions.ReadTimeout("read timed out"))
    with pytest.raises(ProviderError) as caught:
        openai.edit(GenerationRequest(model="gpt-image-2", prompt="p", size="auto", operation="edit",
                                      source_image=source_png()))  # fmt: skip
    assert caught.value.upstream_code == "outcome_unknown" and len(rsps.calls) == 1 and sleeps == []


# --- OpenRouter: /images with input_references, no mask -----------------------------------------------------------


@pytest.fixture
def openrouter(sleeps) -> OpenRouterProvider:
    return OpenRouterProvider(OPENROUTER.connection(), sleep=sleeps.append)


def openrouter_lists(rsps: responses.RequestsMock) -> None:
    rsps.get(f"{OPENROUTER.base_url}/models", json=openrouter_models_body("image"))
    rsps.get(f"{OPENROUTER.base_url}/images/models", json=openrouter_image_models_body())


def test_openrouter_edit_sends_the_source_first_in_input_references(rsps, openrouter):
    openrouter_lists(rsps)
    rsps.post(f"{OPENROUTER.base_url}/images", json=openrouter_images_body([b64(png(64, 48))], cost=0.039))
    source, portrait = source_jpeg(), png(32, 32)
    result = openrouter.perform(
        GenerationRequest(
            model="google/gemini-2.5-flash-image",
            prompt="make it night",
            size="1184x864",
            operation="edit",
            source_image=source,
            input_images=(portrait,),
        )
    )
    body = json.loads(rsps.calls[-1].request.body)
    assert body == {
        "model": "google/gemini-2.5-flash-image",
        "prompt": "make it night",
        "n": 1,
        "aspect_ratio": "4:3",
        "resolution": "1K",
        "input_references": [
            {"type": "image_url", "image_url": {"url": f"data:image/jpeg;base64,{b64(source)}"}},
            {"type": "image_url", "image_url": {"url": f"data:image/png;base64,{b64(portrait)}"}},
        ],
    }
    assert str(result.cost) == "0.039"


def test_openrouter_takes_no_mask_and_says_the_whole_image_may_change(rsps, openrouter):
    openrouter_lists(rsps)
    with pytest.raises(ProviderError) as caught:
        openrouter.edit(GenerationRequest(model="google/gemini-2.5-flash-image", prompt="p", size="1024x1024",
                                          operation="edit", source_image=source_png(), mask=convention_mask()))  # fmt: skip
    assert "takes no mask (the whole image may change)" in caught.value.message
    assert [c.request.method for c in rsps.calls] == ["GET", "GET"]  # the lists; nothing was sent to edit


def test_openrouter_input_limit_is_the_listed_maximum(rsps, openrouter):
    """Gemini's Images API endpoint takes 3 references: the source and two portraits fit, a third does not."""
    openrouter_lists(rsps)
    (gemini,) = [m for m in openrouter.models() if m.id == "google/gemini-2.5-flash-image"]
    assert gemini.max_input_images == 3 and gemini.edits and not gemini.masks
    (flux2,) = [m for m in openrouter.models() if m.id == "black-forest-labs/flux.2-pro"]
    assert flux2.max_input_images == 8
    with pytest.raises(ProviderError) as caught:
        openrouter.edit(GenerationRequest(model="google/gemini-2.5-flash-image", prompt="p", size="1024x1024",
                                          operation="edit", source_image=source_png(),
                                          input_images=(png(8, 8),) * 3))  # fmt: skip
    assert "takes at most 3 input images" in caught.value.message


# --- Stable Diffusion WebUI: img2img and extra-single-image ----------------------------------------------


@pytest.fixture
def sd(sleeps) -> StableDiffusionProvider:
    return StableDiffusionProvider(SD.connection(), sleep=sleeps.append)


def img2img_answer(size=(64, 48)) -> dict:
    info = {"seed": 7, "all_seeds": [7], "sampler_name": "DPM++ 2M", "infotexts": ["p\nSeed: 7"]}
    return a1111_images_body([b64(png(*size))], {}, info)


def test_sd_edit_sends_img2img_with_the_mask_white_where_to_repaint(rsps, sd):
    rsps.get(SD.check_url, json=SD_MODELS)
    rsps.post(f"{SD.base_url}/sdapi/v1/img2img", json=img2img_answer())
    source = source_png()
    result = sd.perform(
        GenerationRequest(
            model=SD.model,
            prompt="make the sky red",
            size="512x384",
            count=1,
            options={"strength": 0.55, "steps": 20, "seed": 7},
            operation="edit",
            source_image=source,
            mask=convention_mask(),
        )
    )
    body = json.loads(rsps.calls[-1].request.body)
    sent_mask = body.pop("mask")
    assert body == {
        "prompt": "make the sky red",
        "negative_prompt": "",
        "width": 512,
        "height": 384,
        "steps": 20,
        "cfg_scale": 7.0,
        "seed": 7,
        "batch_size": 1,
        "n_iter": 1,
        "override_settings": {"sd_model_checkpoint": SD.model},
        "override_settings_restore_afterwards": True,
        "init_images": [b64(source)],
        "denoising_strength": 0.55,
        "resize_mode": 0,
        "include_init_images": False,
        "mask_blur": 4,
        "inpainting_fill": 1,
        "inpaint_full_res": False,
        "inpainting_mask_invert": 0,
    }
    # The WebUI's convention: greyscale, the source's size, white exactly where to repaint.
    mask_image = decoded(base64.b64decode(sent_mask))
    assert mask_image.mode == "L" and mask_image.size == (64, 48)
    assert repaint_bbox(white_record(mask_image)) == BOX
    assert [i.seed for i in result.images] == [7]


def test_sd_edit_without_a_mask_is_plain_img2img_at_the_default_strength(rsps, sd):
    rsps.get(SD.check_url, json=SD_MODELS)
    rsps.post(f"{SD.base_url}/sdapi/v1/img2img", json=img2img_answer())
    sd.edit(GenerationRequest(model=SD.model, prompt="p", size="512x384", operation="edit",
                              source_image=source_png()))  # fmt: skip
    body = json.loads(rsps.calls[-1].request.body)
    assert not {"mask", "mask_blur", "inpainting_fill", "inpaint_full_res"} & set(body)
    assert body["denoising_strength"] == 0.75


def test_sd_strength_out_of_range_is_refused_before_any_call(rsps, sd):
    rsps.get(SD.check_url, json=SD_MODELS)
    with pytest.raises(ProviderError) as caught:
        sd.edit(GenerationRequest(model=SD.model, prompt="p", size="512x384", operation="edit",
                                  source_image=source_png(), options={"strength": 1.5}))  # fmt: skip
    assert "Change strength must be 0.05 to 1" in caught.value.message
    assert all(c.request.method == "GET" for c in rsps.calls)


def test_sd_portraits_never_go_to_img2img(rsps, sd):
    """A checkpoint takes no input images but the init image: a request carrying portraits is refused."""
    rsps.get(SD.check_url, json=SD_MODELS)
    with pytest.raises(ProviderError) as caught:
        sd.edit(GenerationRequest(model=SD.model, prompt="p", size="512x384", operation="edit",
                                  source_image=source_png(), input_images=(png(8, 8),)))  # fmt: skip
    assert "takes at most 0 input images" in caught.value.message


def test_sd_upscalers_come_from_the_webui_best_first(rsps, sd):
    rsps.get(f"{SD.base_url}/sdapi/v1/upscalers", json=standin_catalog.UPSCALERS)
    assert sd.upscalers() == ["R-ESRGAN 4x+", "ESRGAN_4x", "SwinIR 4x", "Lanczos", "Nearest"]


def test_sd_upscale_sends_extra_single_image_by_factor(rsps, sd):
    rsps.get(f"{SD.base_url}/sdapi/v1/upscalers", json=standin_catalog.UPSCALERS)
    rsps.post(f"{SD.base_url}/sdapi/v1/extra-single-image", json=a1111_extras_body(b64(png(128, 96))))
    source = source_png()
    result = sd.perform(GenerationRequest(model="R-ESRGAN 4x+", prompt="", size="128x96", operation="upscale",
                                          options={"factor": 2}, source_image=source))  # fmt: skip
    assert json.loads(rsps.calls[-1].request.body) == {
        "image": b64(source),
        "resize_mode": 0,
        "upscaling_resize": 2,
        "upscaler_1": "R-ESRGAN 4x+",
        "show_extras_results": True,
    }
    (image,) = result.images
    assert (image.width, image.height) == (128, 96)
    assert image.extra == {"upscaler": "R-ESRGAN 4x+", "factor": 2}


@pytest.mark.parametrize(
    ("model", "factor", "reason"),
    [("Waifu2x", 2, "The WebUI has no upscaler named “Waifu2x”"), ("Lanczos", 3, "3 is not one of them")],
)
def test_sd_upscale_refuses_what_the_webui_would_fail_on(rsps, sd, model, factor, reason):
    if factor in (2, 4):  # a factor it does not offer is refused before the list is even asked for
        rsps.get(f"{SD.base_url}/sdapi/v1/upscalers", json=standin_catalog.UPSCALERS)
    with pytest.raises(ProviderError) as caught:
        sd.upscale(GenerationRequest(model=model, prompt="", operation="upscale", options={"factor": factor},
                                     source_image=source_png()))  # fmt: skip
    assert reason in caught.value.message
    assert all(c.request.method == "GET" for c in rsps.calls)


def test_sd_an_upscale_that_may_have_run_is_never_repeated(rsps, sd, sleeps):
    rsps.get(f"{SD.base_url}/sdapi/v1/upscalers", json=standin_catalog.UPSCALERS)
    rsps.post(f"{SD.base_url}/sdapi/v1/extra-single-image", body=requests.exceptions.ReadTimeout("timed out"))
    with pytest.raises(ProviderError) as caught:
        sd.upscale(GenerationRequest(model="Lanczos", prompt="", operation="upscale", options={"factor": 2},
                                     source_image=source_png()))  # fmt: skip
    assert caught.value.upstream_code == "outcome_unknown" and sleeps == []
    assert len([c for c in rsps.calls if c.request.method == "POST"]) == 1


def test_providers_that_cannot_upscale_say_so(openai):
    with pytest.raises(ProviderError) as caught:
        openai.perform(GenerationRequest(model="x", prompt="", operation="upscale", options={"factor": 2},
                                         source_image=source_png()))  # fmt: skip
    assert "OpenAI cannot upscale images" in caught.value.message
    assert openai.upscalers() == [] and not OpenAIProvider.offers_upscale


# --- The size an edit asks for ------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("provider", "model", "source", "expected"),
    [
        (OpenAIProvider, "gpt-image-2", (1024, 1536), "1024x1536"),  # its own size, where the model makes it
        (
            OpenAIProvider,
            "gpt-image-2",
            (640, 480),
            "auto",
        ),  # too few pixels: the model's auto follows its shape
        (OpenAIProvider, "gpt-image-1", (1000, 700), "auto"),
        (StableDiffusionProvider, SD.model, (640, 480), "640x480"),
        (StableDiffusionProvider, SD.model, (3000, 2000), "2040x1360"),  # the same 3:2, multiples of 8
        (StableDiffusionProvider, SD.model, (100, 60), "424x256"),  # scaled up to the smallest side
        (OpenRouterProvider, "google/gemini-2.5-flash-image", (640, 480), "1184x864"),  # nearest shape: 4:3
    ],
)
def test_an_edit_keeps_the_picture_s_shape(provider, model, source, expected):
    spec = provider.spec_for(model)
    assert provider.edit_size(spec, *source) == expected
    assert spec.allows_size(expected)
