"""What a validated ComfyUI graph will do: the nodes in the order ComfyUI runs them, the sampler steps to
report, the mask it paints with, and the images each output node saves, at their real sizes.

Sizes follow the nodes: EmptyLatentImage width/height (rounded down to multiples of 8) × batch_size;
VAEEncode crops a loaded image to multiples of 8; ImageScale / ImageScaleBy / ImageUpscaleWithModel
resize; LoadImage gives the uploaded file's size and, as MASK, 1 - alpha (a 64x64 empty mask when the
image has no alpha, as ComfyUI does).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from PIL import Image

from . import masks
from .comfyui_nodes import UPSCALE_MODELS


@dataclass
class Pictures:
    """An IMAGE value: one (width, height) per batch item, and what to draw."""

    sizes: list[tuple[int, int]]
    label: str = ""
    seed: int = 0


@dataclass
class Latent:
    width: int
    height: int
    batch: int
    label: str = ""
    seed: int = 0
    mask: dict[str, Any] | None = None


@dataclass
class RunPlan:
    order: list[str]  # node ids, in execution order
    steps: dict[str, int] = field(default_factory=dict)  # KSampler node → steps
    saves: dict[str, tuple[str, str, Pictures]] = field(
        default_factory=dict
    )  # node → (type, prefix, pictures)
    mask: dict[str, Any] | None = None  # the recorded mask the graph paints with, if any


def execution_order(prompt: dict[str, Any], outputs: list[str]) -> list[str]:
    order: list[str] = []

    def visit(node_id: str) -> None:
        if node_id in order:
            return
        for value in prompt[node_id]["inputs"].values():
            if isinstance(value, list) and len(value) == 2:
                visit(value[0])
        order.append(node_id)

    for output in outputs:
        visit(output)
    return order


def plan_run(
    prompt: dict[str, Any], outputs: list[str], load_input: Callable[[str], bytes | None]
) -> RunPlan:
    plan = RunPlan(order=execution_order(prompt, outputs))
    values: dict[str, tuple[Any, ...]] = {}

    def arg(inputs: dict[str, Any], name: str) -> Any:
        value = inputs.get(name)
        if isinstance(value, list) and len(value) == 2:
            return values[value[0]][value[1]]
        return value

    def loaded(name: str) -> Image.Image:
        image = masks.open_image(load_input(name) or b"")
        return image if image is not None else Image.new("RGB", (512, 512))

    for node_id in plan.order:
        node = prompt[node_id]
        kind, inputs = node["class_type"], node["inputs"]
        a = lambda name, inputs=inputs: arg(inputs, name)  # noqa: E731
        if kind == "CheckpointLoaderSimple":
            values[node_id] = (a("ckpt_name"),) * 3
        elif kind == "CLIPTextEncode":
            values[node_id] = (str(a("text")),)
        elif kind == "EmptyLatentImage":
            values[node_id] = (Latent(a("width") // 8 * 8, a("height") // 8 * 8, a("batch_size")),)
        elif kind == "KSampler":
            latent: Latent = a("latent_image")
            plan.steps[node_id] = a("steps")
            values[node_id] = (
                Latent(latent.width, latent.height, latent.batch, a("positive"), a("seed"), latent.mask),
            )
        elif kind == "VAEDecode":
            latent = a("samples")
            values[node_id] = (
                Pictures([(latent.width, latent.height)] * latent.batch, latent.label, latent.seed),
            )
        elif kind in ("VAEEncode", "VAEEncodeForInpaint"):
            pictures: Pictures = a("pixels")
            w, h = pictures.sizes[0]
            mask = a("mask") if kind == "VAEEncodeForInpaint" else None
            values[node_id] = (Latent(w // 8 * 8, h // 8 * 8, len(pictures.sizes), pictures.label, 0, mask),)
        elif kind == "SetLatentNoiseMask":
            latent = a("samples")
            values[node_id] = (
                Latent(latent.width, latent.height, latent.batch, latent.label, latent.seed, a("mask")),
            )
        elif kind == "LoadImage":
            image = loaded(a("image"))
            if masks.has_alpha(image):
                mask = masks.comfyui_record(image, "alpha", source=a("image"))
            else:
                mask = masks.comfyui_record(
                    Image.new("RGBA", (64, 64), (0, 0, 0, 255)), "alpha", source=a("image")
                )
            values[node_id] = (Pictures([image.size], f"from {a('image')}"), mask)
        elif kind == "LoadImageMask":
            image = loaded(a("image"))
            channel = a("channel")
            if channel == "alpha" and not masks.has_alpha(image):
                image = Image.new("RGBA", (64, 64), (0, 0, 0, 255))
            values[node_id] = (masks.comfyui_record(image, channel, source=a("image")),)
        elif kind == "ImageScale":
            pictures = a("image")
            w0, h0 = pictures.sizes[0]
            w, h = a("width"), a("height")
            if w == 0 and h == 0:
                w, h = w0, h0
            elif w == 0:
                w = max(1, round(w0 * h / h0))
            elif h == 0:
                h = max(1, round(h0 * w / w0))
            values[node_id] = (Pictures([(w, h)] * len(pictures.sizes), pictures.label, pictures.seed),)
        elif kind == "ImageScaleBy":
            pictures, scale = a("image"), a("scale_by")
            sizes = [(round(w * scale), round(h * scale)) for w, h in pictures.sizes]
            values[node_id] = (Pictures(sizes, pictures.label, pictures.seed),)
        elif kind == "UpscaleModelLoader":
            values[node_id] = (UPSCALE_MODELS.get(a("model_name"), 4),)
        elif kind == "ImageUpscaleWithModel":
            pictures, scale = a("image"), a("upscale_model")
            sizes = [(w * scale, h * scale) for w, h in pictures.sizes]
            values[node_id] = (Pictures(sizes, pictures.label, pictures.seed),)
        elif kind in ("SaveImage", "PreviewImage"):
            folder = "output" if kind == "SaveImage" else "temp"
            prefix = str(a("filename_prefix") or "ComfyUI") if kind == "SaveImage" else "ComfyUI_temp"
            plan.saves[node_id] = (folder, prefix, a("images"))
            values[node_id] = ()
        if kind in ("VAEEncodeForInpaint", "SetLatentNoiseMask") and plan.mask is None:
            plan.mask = a("mask")
    return plan
