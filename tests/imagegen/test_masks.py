"""Masks in one convention (transparent = repaint) and their conversion per upstream; bad masks refused with a
sentence the writer can act on; an empty mask means the whole image."""

from __future__ import annotations

import base64
import io

import pytest
from PIL import Image, ImageDraw

from imagegen.masks import (
    MAX_MASK_BYTES,
    MaskRejected,
    data_url,
    mask_from_png,
    png_from_data_url,
    white_on_black,
)
from tests.standin.masks import (
    comfyui_record,
    repaint_bbox,
    repaint_image,
    transparent_record,
    white_record,
)

SIZE = (80, 60)
BOX = (10, 5, 50, 45)


def painted(size=SIZE, box=BOX, *, alpha=0, mode="RGBA", fmt="PNG") -> bytes:
    """Opaque, with `box` at `alpha` (0: fully transparent, i.e. repaint)."""
    image = Image.new("RGBA", size, (255, 255, 255, 255))
    if box:
        ImageDraw.Draw(image).rectangle([box[0], box[1], box[2] - 1, box[3] - 1], fill=(255, 255, 255, alpha))
    out = io.BytesIO()
    image.convert(mode).save(out, format=fmt)
    return out.getvalue()


def opened(data: bytes) -> Image.Image:
    image = Image.open(io.BytesIO(data))
    image.load()
    return image


def test_a_painted_mask_is_stored_binary_in_the_convention():
    mask = mask_from_png(painted(), size=SIZE)
    assert mask is not None
    assert (mask.width, mask.height) == SIZE
    assert mask.repaint_pixels == 40 * 40 and mask.repaint_fraction == pytest.approx(1600 / 4800)
    alpha = opened(mask.png).getchannel("A")
    assert set(alpha.tobytes()) == {0, 255}
    assert repaint_bbox(transparent_record(opened(mask.png))) == BOX


@pytest.mark.parametrize(
    ("alpha", "repaints"), [(0, True), (100, True), (127, True), (128, False), (254, False)]
)
def test_transparent_means_alpha_under_half(alpha, repaints):
    """A soft brush edge or an anti-aliased file means what it looks like: under half opaque is repainted."""
    mask = mask_from_png(painted(alpha=alpha), size=SIZE)
    assert (mask is not None) is repaints


def test_a_palette_png_with_transparency_is_a_mask_too():
    image = Image.new("P", SIZE, 1)
    image.putpalette([0, 0, 0, 255, 255, 255])
    ImageDraw.Draw(image).rectangle([BOX[0], BOX[1], BOX[2] - 1, BOX[3] - 1], fill=0)
    out = io.BytesIO()
    image.save(out, format="PNG", transparency=0)
    mask = mask_from_png(out.getvalue(), size=SIZE)
    assert mask is not None and repaint_bbox(transparent_record(opened(mask.png))) == BOX


def test_an_empty_mask_means_the_whole_image():
    assert mask_from_png(painted(box=None), size=SIZE) is None


def test_a_mask_of_another_size_is_refused_saying_both_sizes():
    with pytest.raises(MaskRejected) as caught:
        mask_from_png(painted(size=(40, 30), box=(1, 1, 5, 5)), size=SIZE)
    assert str(caught.value) == (
        "The mask is 40 × 30 pixels but the image is 80 × 60; a mask must be exactly the image's size. "
        "Paint it again on this image."
    )


@pytest.mark.parametrize("mode", ["RGB", "L"])
def test_a_mask_without_alpha_is_refused(mode):
    with pytest.raises(MaskRejected) as caught:
        mask_from_png(painted(mode=mode), size=SIZE)
    assert "no transparency" in str(caught.value) and "leave the mask out to edit the whole image" in str(
        caught.value
    )


@pytest.mark.parametrize(
    ("data", "says"),
    [
        (painted(mode="RGB", fmt="JPEG"), "must be a PNG image"),
        (b"not an image at all", "must be a PNG image"),
        (painted()[:200], "incomplete or damaged"),
        (b"\x89PNG" + b"0" * (MAX_MASK_BYTES + 1), "larger than 8 MB"),
    ],
    ids=["jpeg", "garbage", "truncated", "too-large"],
)
def test_what_is_not_a_usable_png_is_refused(data, says):
    with pytest.raises(MaskRejected) as caught:
        mask_from_png(data, size=SIZE)
    assert says in str(caught.value)


def test_converted_for_each_upstream_the_repaint_region_is_the_same():
    """The stand-in decodes each upstream's convention: all three see the same pixels to repaint."""
    mask = mask_from_png(painted(), size=SIZE)
    assert mask is not None
    openai = transparent_record(opened(mask.png))  # OpenAI takes the stored PNG as it is
    webui = white_record(opened(white_on_black(mask.png)))
    comfyui = comfyui_record(opened(mask.png))  # LoadImage's MASK: 1 - alpha
    assert repaint_bbox(openai) == repaint_bbox(webui) == repaint_bbox(comfyui) == BOX
    assert repaint_image(openai).tobytes() == repaint_image(webui).tobytes()
    assert opened(white_on_black(mask.png)).mode == "L"


def test_data_urls_round_trip_and_bad_ones_are_refused():
    data = painted()
    assert png_from_data_url(data_url(data)) == data
    with pytest.raises(MaskRejected):
        png_from_data_url("data:image/jpeg;base64," + base64.b64encode(data).decode())
    with pytest.raises(MaskRejected):
        png_from_data_url("data:image/png;base64,@@@@")
