"""The WebUI's image-to-image side: img2img's source and mask, extra-single-image upscaling, and the 422s
FastAPI sends for body fields of the wrong type.

Two checks are stricter than the WebUI, on purpose, and say so: a mask of another size than the source
(the WebUI would stretch it silently) and img2img numbers out of their documented range (the WebUI would
misbehave silently) are refused with a 422 in the same shape, so such a product bug cannot pass unseen.
"""

from __future__ import annotations

import base64
from typing import Any

from PIL import Image

from . import catalog, errors, images, masks
from .behaviour import Effect
from .state import StandinState
from .wire import Request, Response
from .wire_bodies import a1111_exception, a1111_extras_body, a1111_validation

IMG2IMG_DEFAULTS: dict[str, Any] = {
    "init_images": None,
    "resize_mode": 0,
    "denoising_strength": 0.75,
    "image_cfg_scale": None,
    "mask": None,
    "mask_blur_x": 4,
    "mask_blur_y": 4,
    "mask_blur": None,
    "inpainting_fill": 0,
    "inpaint_full_res": True,
    "inpaint_full_res_padding": 0,
    "inpainting_mask_invert": 0,
    "include_init_images": False,
}
INT_FIELDS = ("seed", "batch_size", "n_iter", "steps", "width", "height")
IMG2IMG_INTS = ("resize_mode", "mask_blur", "mask_blur_x", "mask_blur_y", "inpainting_fill",
                "inpaint_full_res_padding", "inpainting_mask_invert")  # fmt: skip
FLOAT_FIELDS = ("cfg_scale",)
IMG2IMG_FLOATS = ("denoising_strength",)
# (low, high) of the img2img numbers, as the WebUI documents them.
RANGES = {"denoising_strength": (0.0, 1.0), "resize_mode": (0, 3), "inpainting_fill": (0, 3),
          "inpainting_mask_invert": (0, 1), "mask_blur": (0, 64), "inpaint_full_res_padding": (0, 256)}  # fmt: skip


def _is_int(value: Any) -> bool:
    # pydantic v1 coerces "20" and true; a float with a fraction or a word is refused
    if isinstance(value, bool | int):
        return True
    if isinstance(value, float):
        return value.is_integer()
    return isinstance(value, str) and value.strip().lstrip("-").isdigit()


def _is_float(value: Any) -> bool:
    if isinstance(value, int | float) and not isinstance(value, bool):
        return True
    try:
        float(value)
    except (TypeError, ValueError):
        return False
    return isinstance(value, str)


def type_error(body: dict[str, Any], flavour: str, img2img: bool) -> Response | None:
    """FastAPI's 422 for the first body field of the wrong type (or, for img2img, out of range)."""
    for name in INT_FIELDS + (IMG2IMG_INTS if img2img else ()):
        value = body.get(name)
        if value is not None and not _is_int(value):
            return errors.to_response(
                a1111_validation(name, "value is not a valid integer", "type_error.integer", flavour, value)
            )
    for name in FLOAT_FIELDS + (IMG2IMG_FLOATS if img2img else ()):
        value = body.get(name)
        if value is not None and not _is_float(value):
            return errors.to_response(
                a1111_validation(name, "value is not a valid float", "type_error.float", flavour, value)
            )
    if not img2img:
        return None
    for name, (low, high) in RANGES.items():
        value = body.get(name)
        if value is not None and not low <= float(value) <= high:
            kind, limit = ("ge", low) if float(value) < low else ("le", high)
            word = "greater than or equal to" if kind == "ge" else "less than or equal to"
            return errors.to_response(
                a1111_validation(
                    name,
                    f"ensure this value is {word} {limit}",
                    f"value_error.number.not_{kind}",
                    flavour,
                    value,
                )
            )
    init = body.get("init_images")
    if init is not None and not isinstance(init, list):
        return errors.to_response(
            a1111_validation("init_images", "value is not a valid list", "type_error.list", flavour, init)
        )
    return None


def _invalid_image(flavour: str) -> Response:
    return errors.to_response(a1111_exception(500, "Invalid encoded image", flavour=flavour))


def check_img2img(
    params: dict[str, Any], flavour: str
) -> tuple[Image.Image, dict[str, Any] | None] | Response:
    """(the first init image, the recorded mask or None), or the WebUI's refusal."""
    init = params.get("init_images") or []
    if not init:
        # The WebUI fails deep in processing without a source image: a 500 with the exception's text.
        return errors.to_response(
            a1111_exception(500, "", error="IndexError", errors="list index out of range", flavour=flavour)
        )
    decoded = [masks.decode_b64_image(item) for item in init]
    if any(image is None for image in decoded):
        return _invalid_image(flavour)
    source = decoded[0]
    assert source is not None
    if params.get("mask") is None:
        return source, None
    mask = masks.decode_b64_image(params["mask"])
    if mask is None:
        return _invalid_image(flavour)
    if mask.size != source.size:
        message = f"mask must be the same size as the init image ({source.width}x{source.height}), got {mask.width}x{mask.height}"
        return errors.to_response(a1111_validation("mask", message, "value_error", flavour, None))
    invert = bool(int(params.get("inpainting_mask_invert") or 0))
    record = masks.white_record(
        mask,
        invert=invert,
        mask_blur=params.get("mask_blur")
        if params.get("mask_blur") is not None
        else params.get("mask_blur_x"),
        inpainting_fill=int(params.get("inpainting_fill") or 0),
        inpaint_full_res=bool(params.get("inpaint_full_res")),
        denoising_strength=float(params.get("denoising_strength") or 0),
    )
    return source, record


EXTRAS_DEFAULTS: dict[str, Any] = {
    "resize_mode": 0,
    "show_extras_results": True,
    "gfpgan_visibility": 0,
    "codeformer_visibility": 0,
    "codeformer_weight": 0,
    "upscaling_resize": 2,
    "upscaling_resize_w": 512,
    "upscaling_resize_h": 512,
    "upscaling_crop": True,
    "upscaler_1": "None",
    "upscaler_2": "None",
    "extras_upscaler_2_visibility": 0,
    "upscale_first": False,
    "image": "",
}


def extra_single_image(state: StandinState, req: Request, effect: Effect) -> Response:
    """Upscale one image: by `upscaling_resize` (resize_mode 0, the default) or to `upscaling_resize_w/h`
    (resize_mode 1). Note the WebUI's trap, kept here: w/h are ignored unless resize_mode is 1."""
    flavour = state.config.sd_flavour
    body = req.json_dict()
    params = {**EXTRAS_DEFAULTS, **body}
    for name in ("resize_mode", "upscaling_resize_w", "upscaling_resize_h"):
        if not _is_int(params[name]):
            return errors.to_response(
                a1111_validation(
                    name, "value is not a valid integer", "type_error.integer", flavour, params[name]
                )
            )
    if not _is_float(params["upscaling_resize"]):
        return errors.to_response(
            a1111_validation(
                "upscaling_resize",
                "value is not a valid float",
                "type_error.float",
                flavour,
                params["upscaling_resize"],
            )
        )
    factor = float(params["upscaling_resize"])
    if not 1 <= factor <= 8:
        word, limit, kind = (
            ("greater than or equal to", 1, "ge") if factor < 1 else ("less than or equal to", 8, "le")
        )
        return errors.to_response(
            a1111_validation(
                "upscaling_resize",
                f"ensure this value is {word} {limit}",
                f"value_error.number.not_{kind}",
                flavour,
                factor,
            )
        )
    names = [u["name"] for u in catalog.UPSCALERS]
    for slot in ("upscaler_1", "upscaler_2"):
        name = params[slot]
        if name in names or name is None:
            continue
        if catalog.SD_FLAVOURS[flavour]["unknown_upscaler"] == "400":
            detail = f"Invalid upscaler, needs to be one of these: {' , '.join(names)}"
            return errors.to_response(a1111_exception(400, detail, flavour=flavour))
        return errors.to_response(
            a1111_exception(
                500,
                "",
                error="AssertionError",
                errors=f"could not find upscaler named {name}",
                flavour=flavour,
            )
        )
    source = masks.decode_b64_image(params["image"])
    if source is None:
        return _invalid_image(flavour)
    if int(params["resize_mode"]) == 1:
        width, height = int(params["upscaling_resize_w"]), int(params["upscaling_resize_h"])
    else:
        width, height = round(source.width * factor), round(source.height * factor)
    state.annotate(req.recording, source_size=[source.width, source.height], result_size=[width, height])
    label = (
        f"{params['upscaler_1']} x{factor:g}"
        if int(params["resize_mode"]) == 0
        else f"{params['upscaler_1']} {width}x{height}"
    )
    png = images.render(width, height, state.next_serial(), label, bytes_target=state.bytes_target(effect))
    html = (
        f"<p>Postprocess upscale by: {factor:g}, Postprocess upscaler: {params['upscaler_1']}</p>"
        if int(params["resize_mode"]) == 0
        else (
            f"<p>Postprocess upscale to: {width}x{height}, Postprocess upscaler: {params['upscaler_1']}</p>"
        )
    )
    return Response(200, a1111_extras_body(base64.b64encode(png).decode("ascii"), html))
