"""Small ComfyUI workflows in API format, for tests: text-to-image, inpaint from an upload, upscale.

Node ids are strings, links are [node id, output index], as ComfyUI's "Save (API format)" writes them.
"""

from __future__ import annotations

from typing import Any

from .comfyui_nodes import CHECKPOINTS


def txt2img(
    prompt: str = "a lighthouse at dusk",
    *,
    ckpt: str = CHECKPOINTS[0],
    width: int = 512,
    height: int = 512,
    batch: int = 1,
    steps: int = 4,
    seed: int = 1,
    sampler: str = "euler",
    scheduler: str = "normal",
    prefix: str = "ComfyUI",
) -> dict[str, Any]:
    return {
        "4": {"class_type": "CheckpointLoaderSimple", "inputs": {"ckpt_name": ckpt}},
        "5": {
            "class_type": "EmptyLatentImage",
            "inputs": {"width": width, "height": height, "batch_size": batch},
        },
        "6": {"class_type": "CLIPTextEncode", "inputs": {"text": prompt, "clip": ["4", 1]}},
        "7": {"class_type": "CLIPTextEncode", "inputs": {"text": "blurry", "clip": ["4", 1]}},
        "3": {
            "class_type": "KSampler",
            "inputs": {
                "seed": seed,
                "steps": steps,
                "cfg": 7.0,
                "sampler_name": sampler,
                "scheduler": scheduler,
                "denoise": 1.0,
                "model": ["4", 0],
                "positive": ["6", 0],
                "negative": ["7", 0],
                "latent_image": ["5", 0],
            },
        },
        "8": {"class_type": "VAEDecode", "inputs": {"samples": ["3", 0], "vae": ["4", 2]}},
        "9": {"class_type": "SaveImage", "inputs": {"filename_prefix": prefix, "images": ["8", 0]}},
    }


def inpaint(
    image: str, prompt: str = "silver hair", *, steps: int = 4, prefix: str = "inpaint"
) -> dict[str, Any]:
    """LoadImage's own MASK (1 - alpha: its transparent pixels) through VAEEncodeForInpaint."""
    graph = txt2img(prompt, steps=steps, prefix=prefix)
    del graph["5"]
    graph["10"] = {"class_type": "LoadImage", "inputs": {"image": image}}
    graph["11"] = {
        "class_type": "VAEEncodeForInpaint",
        "inputs": {"pixels": ["10", 0], "vae": ["4", 2], "mask": ["10", 1], "grow_mask_by": 6},
    }
    graph["3"]["inputs"]["latent_image"] = ["11", 0]
    return graph


def upscale(image: str, model: str = "RealESRGAN_x4plus.pth", prefix: str = "upscaled") -> dict[str, Any]:
    return {
        "1": {"class_type": "LoadImage", "inputs": {"image": image}},
        "2": {"class_type": "UpscaleModelLoader", "inputs": {"model_name": model}},
        "3": {
            "class_type": "ImageUpscaleWithModel",
            "inputs": {"upscale_model": ["2", 0], "image": ["1", 0]},
        },
        "4": {"class_type": "SaveImage", "inputs": {"filename_prefix": prefix, "images": ["3", 0]}},
    }
