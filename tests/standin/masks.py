"""Masks as the upstreams read them, reduced to one recorded form: which pixels are marked for repaint.

Each upstream has its own convention: OpenAI repaints where the mask PNG is fully transparent, the WebUI
where it is white (black with `inpainting_mask_invert`), ComfyUI where its MASK is 1 (LoadImage's mask is
1 - alpha: transparent pixels). The stand-in decodes what it received by that upstream's rule and records
the result, so a test can assert *where* the app asked for repainting, whatever the provider:

    (entry,) = standin.requests("/v1/images/edits")
    assert repaint_bbox(entry["mask"]) == (100, 50, 300, 250)
    assert repaint_image(entry["mask"]).getpixel((150, 100)) == 255
"""

from __future__ import annotations

import base64
import io
from typing import Any

from PIL import Image, ImageChops


def open_image(data: bytes) -> Image.Image | None:
    """The decoded image, or None when the bytes are not an image Pillow reads."""
    try:
        image = Image.open(io.BytesIO(data))
        image.load()
        return image
    except Exception:  # Pillow raises many kinds for bad input; any of them means "not an image"
        return None


def decode_b64_image(value: Any) -> Image.Image | None:
    """A base64 image (with or without a data: prefix), as the WebUI and OpenRouter take them."""
    if not isinstance(value, str) or not value:
        return None
    if value.startswith("data:"):
        value = value.partition(",")[2]
    try:
        return open_image(base64.b64decode(value, validate=False))
    except ValueError:
        return None


def has_alpha(image: Image.Image) -> bool:
    return image.mode in ("RGBA", "LA", "PA") or (image.mode == "P" and "transparency" in image.info)


def record(repaint: Image.Image, convention: str, **extra: Any) -> dict[str, Any]:
    """The recorded form of a mask: `repaint` is an L image, 255 where the upstream will repaint."""
    repaint = repaint.convert("L").point(lambda v: 255 if v >= 128 else 0)
    histogram = repaint.histogram()
    pixels = histogram[255]
    out = io.BytesIO()
    repaint.convert("1").save(out, "PNG", optimize=True)
    width, height = repaint.size
    return {
        "convention": convention,
        "width": width,
        "height": height,
        "repaint_pixels": pixels,
        "repaint_fraction": round(pixels / (width * height), 6) if width and height else 0.0,
        "repaint_bbox": list(repaint.getbbox()) if pixels else None,  # [left, top, right, bottom), or None
        "png_b64": base64.b64encode(out.getvalue()).decode("ascii"),
        **extra,
    }


def transparent_record(mask: Image.Image, **extra: Any) -> dict[str, Any]:
    """OpenAI's rule: fully transparent pixels (alpha 0) are repainted."""
    alpha = mask.convert("RGBA").getchannel("A")
    return record(alpha.point(lambda a: 255 if a == 0 else 0), "transparent", **extra)


def white_record(mask: Image.Image, *, invert: bool = False, **extra: Any) -> dict[str, Any]:
    """The WebUI's rule: white (≥ 50 %) is repainted; with inpainting_mask_invert, black is."""
    grey = mask.convert("L")
    if invert:
        grey = ImageChops.invert(grey)
    return record(grey, "white" if not invert else "black", inverted=invert, **extra)


def comfyui_record(image: Image.Image, channel: str = "alpha", **extra: Any) -> dict[str, Any]:
    """ComfyUI's MASK from LoadImage (1 - alpha) or LoadImageMask(channel): 1 (≥ 50 %) is repainted."""
    rgba = image.convert("RGBA")
    if channel == "alpha":
        values = ImageChops.invert(rgba.getchannel("A"))
    else:
        values = rgba.getchannel({"red": "R", "green": "G", "blue": "B"}[channel])
    return record(values, f"comfyui-{channel}", **extra)


# ---------------------------------------------------------------- for tests reading recordings


def repaint_image(mask_record: dict[str, Any]) -> Image.Image:
    """The recorded mask as an L image: 255 where the upstream repaints, 0 elsewhere."""
    return Image.open(io.BytesIO(base64.b64decode(mask_record["png_b64"]))).convert("L")


def repaint_bbox(mask_record: dict[str, Any]) -> tuple[int, int, int, int] | None:
    """(left, top, right, bottom) of the repaint region, right/bottom exclusive; None when nothing is."""
    box = mask_record["repaint_bbox"]
    return None if box is None else (box[0], box[1], box[2], box[3])


def repaint_overlap(mask_record: dict[str, Any], box: tuple[int, int, int, int]) -> float:
    """The share of the repaint region inside `box`, 0..1: how well a painted area matches the record."""
    image = repaint_image(mask_record)
    inside = image.crop(box).histogram()[255]
    total = mask_record["repaint_pixels"]
    return inside / total if total else 0.0
