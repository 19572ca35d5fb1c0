"""OpenAI `POST /v1/images/edits`, multipart as the product sends it: reference images, the mask (decoded
and recorded: which pixels were marked for repaint), the size of the answer, and the real refusals."""

from __future__ import annotations

import io

import pytest
from PIL import Image, ImageDraw

from tests.standin.conftest import (
    OPENAI_AUTH,
    OPENAI_SPEC,
    decode_image,
    form_as_schema_instance,
    png_bytes,
    schema_errors,
)
from tests.standin.masks import repaint_bbox, repaint_image, repaint_overlap
from tests.standin.wire_bodies import openai_usage_for

EDITS = "/v1/images/edits"


def alpha_mask(size: tuple[int, int], hole: tuple[int, int, int, int]) -> bytes:
    """An opaque PNG with a fully transparent rectangle: the part to repaint, in OpenAI's convention."""
    mask = Image.new("RGBA", size, (0, 0, 0, 255))
    ImageDraw.Draw(mask).rectangle((hole[0], hole[1], hole[2] - 1, hole[3] - 1), fill=(0, 0, 0, 0))
    out = io.BytesIO()
    mask.save(out, "PNG")
    return out.getvalue()


def edit(standin, http, files, **fields):
    data = {"model": "gpt-image-2", "prompt": "make her hair silver", **fields}
    return http.post(f"{standin.url}{EDITS}", data=data, files=files, headers=OPENAI_AUTH)


def test_an_edit_with_a_mask_records_exactly_the_transparent_region(standin, http):
    source = png_bytes((1024, 1536))
    files = [
        ("image[]", ("source.png", source, "image/png")),
        ("image[]", ("portrait.jpg", png_bytes((512, 512), fmt="JPEG"), "image/jpeg")),
        ("mask", ("mask.png", alpha_mask((1024, 1536), (100, 200, 400, 600)), "image/png")),
    ]
    response = edit(standin, http, files, size="1024x1536", input_fidelity="high", quality="high")
    assert response.status_code == 200, response.text
    assert decode_image(response.json()["data"][0]["b64_json"]).size == (1024, 1536)
    (entry,) = standin.requests(EDITS)
    mask = entry["mask"]
    assert (mask["convention"], mask["width"], mask["height"]) == ("transparent", 1024, 1536)
    assert repaint_bbox(mask) == (100, 200, 400, 600)
    assert mask["repaint_pixels"] == 300 * 400
    assert repaint_image(mask).getpixel((250, 400)) == 255 and repaint_image(mask).getpixel((50, 50)) == 0
    assert repaint_overlap(mask, (100, 200, 400, 600)) == 1.0
    assert standin.masks(EDITS)[0]["mask"] == mask
    assert entry["input_images"] == [[1024, 1536], [512, 512]]
    # Input images are billed: 65 + 129 per 512-pixel tile, plus 4160 each at high fidelity.
    expected = openai_usage_for(
        "gpt-image-2", "make her hair silver", size=(1024, 1536), quality="high",
        input_images=[(1024, 1536), (512, 512)], input_fidelity="high",
    )  # fmt: skip
    assert response.json()["usage"] == expected
    assert expected["input_tokens_details"]["image_tokens"] == (65 + 129 * 6 + 4160) + (65 + 129 + 4160)


def test_a_single_image_part_and_an_auto_size_that_follows_the_source(standin, http):
    files = [("image", ("wide.png", png_bytes((1600, 900)), "image/png"))]
    response = edit(standin, http, files, size="auto")
    assert response.status_code == 200
    width, height = decode_image(response.json()["data"][0]["b64_json"]).size
    assert width % 16 == 0 and height % 16 == 0 and abs(width / height - 1600 / 900) < 0.02
    assert "mask" not in standin.requests(EDITS)[0]


def test_the_answer_follows_the_requested_size(standin, http):
    files = [("image[]", ("s.png", png_bytes((1024, 1024)), "image/png"))]
    body = edit(standin, http, files, size="1600x2560", n="2").json()
    assert [decode_image(d["b64_json"]).size for d in body["data"]] == [(1600, 2560)] * 2


def rgb_mask() -> bytes:
    return png_bytes((256, 256), mode="RGB", colour=(0, 0, 0))


@pytest.mark.parametrize(
    ("files", "fields", "param", "words"),
    [
        ([("image[]", ("s.png", png_bytes((256, 256)), "image/png")), ("mask", ("m.png", alpha_mask((128, 128), (0, 0, 8, 8)), "image/png"))],
         {}, "mask", "same size as the first image (256x256), but is 128x128"),
        ([("image[]", ("s.png", png_bytes((256, 256)), "image/png")), ("mask", ("m.png", rgb_mask(), "image/png"))],
         {}, "mask", "missing alpha channel"),
        ([("image[]", ("s.png", png_bytes((256, 256)), "image/png")), ("mask", ("m.jpg", png_bytes((256, 256), fmt="JPEG"), "image/jpeg"))],
         {}, "mask", "must be a PNG"),
        ([("image[]", ("notes.txt", b"not an image", "text/plain"))], {}, "image[0]", "unsupported mimetype ('text/plain')"),
        ([("image[]", (f"{i}.png", png_bytes((64, 64)), "image/png")) for i in range(17)], {}, "image", "maximum length 16"),
        ([("image[]", ("s.png", png_bytes((256, 256)), "image/png"))], {"model": "dall-e-3"}, "model", "Invalid value: 'dall-e-3'"),
        ([("image[]", ("s.png", png_bytes((256, 256)), "image/png"))], {"quality": "xhigh"}, "quality", "Supported values"),
        ([("image[]", ("s.png", png_bytes((256, 256)), "image/png"))], {"moderation": "low"}, "moderation", "Unknown parameter"),
        ([("image[]", ("s.png", png_bytes((256, 256)), "image/png")), ("reference", ("r.png", png_bytes((8, 8)), "image/png"))],
         {}, "reference", "Unknown parameter"),
        ([], {}, "image", "Missing required parameter: 'image'"),
    ],
)  # fmt: skip
def test_edits_are_refused_as_openai_refuses_them(standin, http, files, fields, param, words):
    response = edit(standin, http, files, **fields)
    assert response.status_code == 400, response.text
    error = response.json()["error"]
    assert error["param"] == param and words in error["message"], error
    assert set(error) == {"message", "type", "param", "code"}


def test_accepted_edits_conform_to_the_official_schema(standin, http):
    files = [
        ("image[]", ("a.png", png_bytes((512, 512)), "image/png")),
        ("image[]", ("b.webp", png_bytes((512, 512), fmt="WEBP"), "image/webp")),
        ("mask", ("m.png", alpha_mask((512, 512), (0, 0, 100, 100)), "image/png")),
    ]
    fields = {"model": "gpt-image-2.5-sunburst", "prompt": "night", "n": "2", "size": "1024x1024", "quality": "xhigh",
              "background": "opaque", "output_format": "webp", "input_fidelity": "low", "stream": "false",
              "partial_images": "0", "safety_identifier": "writer-1"}  # fmt: skip
    response = http.post(f"{standin.url}{EDITS}", data=fields, files=files, headers=OPENAI_AUTH)
    assert response.status_code == 200, response.text
    assert schema_errors(OPENAI_SPEC["edits"], form_as_schema_instance(fields, files)) == []
    assert decode_image(response.json()["data"][0]["b64_json"]).format == "WEBP"


def test_dall_e_2_edits_need_one_square_png(standin, http):
    standin.configure(openai_models=["dall-e-2"])
    files = [("image", ("s.png", png_bytes((512, 256)), "image/png"))]
    response = edit(standin, http, files, model="dall-e-2", size="512x512")
    assert response.status_code == 400 and "square PNG" in response.json()["error"]["message"]
    square = [("image", ("s.png", png_bytes((512, 512), mode="RGBA", colour=(0, 0, 0, 0)), "image/png"))]
    answer = edit(standin, http, square, model="dall-e-2", size="512x512", response_format="b64_json")
    assert answer.status_code == 200 and "usage" not in answer.json()


def test_streamed_edits_send_image_edit_events(standin, http):
    files = [("image[]", ("s.png", png_bytes((1024, 1024)), "image/png"))]
    response = http.post(
        f"{standin.url}{EDITS}",
        data={"model": "gpt-image-2", "prompt": "x", "stream": "true", "partial_images": "1"},
        files=files,
        headers=OPENAI_AUTH,
        stream=True,
    )
    kinds = [
        line.removeprefix("event: ")
        for line in response.iter_lines(decode_unicode=True)
        if line.startswith("event: ")
    ]
    assert kinds == ["image_edit.partial_image", "image_edit.completed"]
