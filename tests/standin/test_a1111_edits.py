"""Stable Diffusion WebUI: img2img and its mask, extra-single-image, the lists, live previews,
and what each flavour does differently."""

from __future__ import annotations

import io
import json
import threading
import time

import pytest
from PIL import Image, ImageDraw

from tests.standin.conftest import b64, decode_image, get, png_bytes, post
from tests.standin.masks import repaint_bbox

IMG2IMG = "/sdapi/v1/img2img"
EXTRAS = "/sdapi/v1/extra-single-image"


def white_mask(size, box) -> str:
    """Black with a white rectangle: the part to repaint, in the WebUI's convention."""
    mask = Image.new("L", size, 0)
    ImageDraw.Draw(mask).rectangle((box[0], box[1], box[2] - 1, box[3] - 1), fill=255)
    out = io.BytesIO()
    mask.save(out, "PNG")
    return b64(out.getvalue())


def img2img(standin, http, **payload):
    body = {
        "prompt": "silver hair",
        "init_images": [b64(png_bytes((512, 768)))],
        "width": 512,
        "height": 768,
        **payload,
    }
    return http.post(f"{standin.url}{IMG2IMG}", json=body)


def test_img2img_records_the_white_region_as_the_repaint_area(standin, http):
    response = img2img(standin, http, mask=white_mask((512, 768), (64, 128, 256, 384)), denoising_strength=0.6,
                       mask_blur=4, inpainting_fill=1, inpaint_full_res=False, steps=20)  # fmt: skip
    assert response.status_code == 200, response.text
    body = response.json()
    assert decode_image(body["images"][0]).size == (512, 768)
    info = json.loads(body["info"])
    assert info["denoising_strength"] == 0.6 and info["is_using_inpainting_conditioning"] is True
    assert body["parameters"]["init_images"] is None, "the WebUI does not echo the inputs back"
    (entry,) = standin.requests(IMG2IMG)
    mask = entry["mask"]
    assert (mask["convention"], repaint_bbox(mask), mask["repaint_pixels"]) == (
        "white",
        (64, 128, 256, 384),
        192 * 256,
    )
    assert (mask["inpainting_fill"], mask["mask_blur"], mask["denoising_strength"]) == (1, 4, 0.6)
    assert entry["init_images"] == [[512, 768]]


def test_inverted_masks_repaint_the_black_part(standin, http):
    img2img(standin, http, mask=white_mask((512, 768), (0, 0, 512, 384)), inpainting_mask_invert=1)
    mask = standin.masks(IMG2IMG)[0]["mask"]
    assert (mask["convention"], mask["inverted"], repaint_bbox(mask)) == ("black", True, (0, 384, 512, 768))


@pytest.mark.parametrize(
    ("payload", "field", "type_"),
    [
        ({"mask": None, "denoising_strength": 1.5}, "denoising_strength", "value_error.number.not_le"),
        ({"inpainting_fill": 4}, "inpainting_fill", "value_error.number.not_le"),
        ({"resize_mode": -1}, "resize_mode", "value_error.number.not_ge"),
        ({"mask_blur": "soft"}, "mask_blur", "type_error.integer"),
        ({"denoising_strength": "strong"}, "denoising_strength", "type_error.float"),
        ({"steps": 20.5}, "steps", "type_error.integer"),
        ({"init_images": "not a list"}, "init_images", "type_error.list"),
    ],
)
def test_bad_fields_get_fastapi_422s(standin, http, payload, field, type_):
    response = img2img(standin, http, **payload)
    assert response.status_code == 422
    (detail,) = response.json()["detail"]
    assert (detail["loc"], detail["type"]) == (["body", field], type_)


def test_a_mask_of_another_size_is_refused(standin, http):
    response = img2img(standin, http, mask=white_mask((256, 256), (0, 0, 10, 10)))
    assert response.status_code == 422
    assert "same size as the init image (512x768), got 256x256" in response.json()["detail"][0]["msg"]


def test_undecodable_images_are_the_webuis_500(standin, http):
    response = img2img(standin, http, init_images=["bm90IGFuIGltYWdl"])
    assert response.status_code == 500 and response.json()["detail"] == "Invalid encoded image"


def test_forge_answers_422s_in_pydantic_v2_shape(standin, http):
    standin.configure(sd_flavour="forge")
    (detail,) = http.post(f"{standin.url}/sdapi/v1/txt2img", json={"prompt": "x", "steps": "many"}).json()[
        "detail"
    ]
    assert detail == {"type": "int_parsing", "loc": ["body", "steps"],
                      "msg": "Input should be a valid integer, unable to parse string as an integer", "input": "many"}  # fmt: skip
    models = get(f"{standin.url}/sdapi/v1/sd-models").json()
    assert models[-1]["hash"] is None and "[" not in models[-1]["title"]


# ---------------------------------------------------------------- upscaling


def extras(standin, http, **payload):
    return http.post(
        f"{standin.url}{EXTRAS}",
        json={"image": b64(png_bytes((300, 200))), "upscaler_1": "R-ESRGAN 4x+", **payload},
    )


@pytest.mark.parametrize(
    ("payload", "size"),
    [
        ({"upscaling_resize": 2}, (600, 400)),
        ({"upscaling_resize": 4}, (1200, 800)),
        ({}, (600, 400)),  # the default factor is 2
        ({"resize_mode": 1, "upscaling_resize_w": 900, "upscaling_resize_h": 500}, (900, 500)),
        (
            {"upscaling_resize_w": 900, "upscaling_resize_h": 500},
            (600, 400),
        ),  # the WebUI's trap: w/h need resize_mode 1
    ],
)
def test_extra_single_image_answers_exactly_the_requested_scale(standin, http, payload, size):
    response = extras(standin, http, **payload)
    assert response.status_code == 200, response.text
    assert decode_image(response.json()["image"]).size == size
    assert set(response.json()) == {"html_info", "image"}


def test_upscalers_come_from_the_list_and_unknown_ones_fail_by_flavour(standin, http):
    names = [u["name"] for u in get(f"{standin.url}/sdapi/v1/upscalers").json()]
    assert {"None", "Lanczos", "R-ESRGAN 4x+"} <= set(names)
    unknown = extras(standin, http, upscaler_1="Magic 8x")
    assert unknown.status_code == 500
    assert unknown.json() == {
        "error": "AssertionError",
        "detail": "",
        "body": "",
        "errors": "could not find upscaler named Magic 8x",
    }
    standin.configure(sd_flavour="sdnext")
    refused = extras(standin, http, upscaler_1="Magic 8x")
    assert refused.status_code == 400 and refused.json()["code"] == 400
    assert refused.json()["detail"].startswith("Invalid upscaler, needs to be one of these: None , Lanczos")
    assert extras(standin, http, upscaling_resize=9).status_code == 422


# ---------------------------------------------------------------- flavours


@pytest.mark.parametrize(
    ("flavour", "status"), [("a1111", 200), ("forge", 200), ("a1111-old", 404), ("sdnext", 404)]
)
def test_schedulers_exist_from_1_9_on(standin, flavour, status):
    standin.configure(sd_flavour=flavour)
    response = get(f"{standin.url}/sdapi/v1/schedulers")
    assert response.status_code == status
    if status == 200:
        assert {
            "name": "karras",
            "label": "Karras",
            "aliases": None,
            "default_rho": 7,
            "need_inner_model": False,
        } in response.json()


def test_unknown_samplers_are_ignored_by_new_webuis_and_refused_by_old_ones(standin, http):
    payload = {"prompt": "x", "sampler_name": "No Such Sampler", "width": 64, "height": 64}
    info = json.loads(http.post(f"{standin.url}/sdapi/v1/txt2img", json=payload).json()["info"])
    assert info["sampler_name"] == "Euler a"
    standin.configure(sd_flavour="a1111-old")
    assert "DPM++ 2M Karras" in [s["name"] for s in get(f"{standin.url}/sdapi/v1/samplers").json()]
    refused = http.post(f"{standin.url}/sdapi/v1/txt2img", json=payload)
    assert (refused.status_code, refused.json()) == (
        404,
        {"error": "HTTPException", "detail": "Sampler not found", "body": "", "errors": ""},
    )
    standin.configure(sd_flavour="sdnext")
    refused = http.post(f"{standin.url}/sdapi/v1/txt2img", json=payload).json()
    assert refused == {
        "error": "HTTPException",
        "code": 404,
        "detail": "Sampler not found",
        "body": "",
        "errors": "404: Sampler not found",
    }


def test_sdnext_auth_says_unauthorized(standin, http):
    standin.configure(sd_flavour="sdnext", sd_auth=("writer", "s3cret"))
    wrong = http.get(f"{standin.url}/sdapi/v1/sd-models", auth=("writer", "nope"))
    assert (
        wrong.status_code == 401 and wrong.json()["detail"] == "Unauthorized" and wrong.json()["code"] == 401
    )


# ---------------------------------------------------------------- live previews


def test_progress_carries_a_preview_while_a_job_runs_unless_skipped(standin):
    standin.script(family="a1111", delay=30)
    worker = threading.Thread(
        target=lambda: post(f"{standin.url}/sdapi/v1/img2img", timeout=40,
                            json={"prompt": "x", "init_images": [b64(png_bytes((64, 64)))], "width": 320, "height": 192})
    )  # fmt: skip
    worker.start()
    try:
        standin.wait_for(IMG2IMG)
        progress: dict = {}
        for _ in range(600):  # the first preview comes after the first steps
            progress = get(f"{standin.url}/sdapi/v1/progress").json()
            if progress["current_image"]:
                break
            time.sleep(0.05)
        preview = decode_image(progress["current_image"])
        assert preview.format == "PNG" and preview.size[0] / preview.size[1] == pytest.approx(
            320 / 192, rel=0.02
        )
        assert progress["state"]["job"] == "scripts_img2img"
        skipped = get(f"{standin.url}/sdapi/v1/progress", params={"skip_current_image": "true"}).json()
        assert skipped["current_image"] is None and skipped["progress"] > 0
        standin.configure(sd_live_previews=False)
        assert get(f"{standin.url}/sdapi/v1/progress").json()["current_image"] is None
    finally:
        post(f"{standin.url}/sdapi/v1/interrupt")
        worker.join(timeout=10)
    assert get(f"{standin.url}/sdapi/v1/progress").json()["current_image"] is None  # idle again
