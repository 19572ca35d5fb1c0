"""The ComfyUI core nodes the stand-in knows, as `/object_info` describes them, and the lists they offer.

Input declarations follow ComfyUI's `nodes.py` (INPUT_TYPES, RETURN_TYPES, OUTPUT_NODE, CATEGORY):
`{"required": {name: [type or [choices], {options}]}}`. Combo lists (checkpoints, samplers, uploaded
images) are filled in per request from the server's state, as the real server scans its folders.
"""

from __future__ import annotations

from typing import Any

MAX_RESOLUTION = 16384
SAMPLERS = [
    "euler", "euler_cfg_pp", "euler_ancestral", "euler_ancestral_cfg_pp", "heun", "heunpp2", "dpm_2",
    "dpm_2_ancestral", "lms", "dpm_fast", "dpm_adaptive", "dpmpp_2s_ancestral", "dpmpp_2s_ancestral_cfg_pp",
    "dpmpp_sde", "dpmpp_sde_gpu", "dpmpp_2m", "dpmpp_2m_cfg_pp", "dpmpp_2m_sde", "dpmpp_2m_sde_gpu",
    "dpmpp_3m_sde", "dpmpp_3m_sde_gpu", "ddpm", "lcm", "ipndm", "ipndm_v", "deis", "res_multistep", "ddim",
    "uni_pc", "uni_pc_bh2",
]  # fmt: skip
SCHEDULERS = [
    "simple", "sgm_uniform", "karras", "exponential", "ddim_uniform", "beta", "normal", "linear_quadratic",
    "kl_optimal",
]  # fmt: skip
CHECKPOINTS = ["v1-5-pruned-emaonly.safetensors", "sd_xl_base_1.0.safetensors"]
# Upscale model file → the factor it was trained for (what ImageUpscaleWithModel multiplies by).
UPSCALE_MODELS = {"RealESRGAN_x4plus.pth": 4, "4x-UltraSharp.pth": 4, "RealESRGAN_x2plus.pth": 2}
EXAMPLE_INPUT = "example.png"  # ComfyUI ships input/example.png
UPSCALE_METHODS = ["nearest-exact", "bilinear", "area", "bicubic", "lanczos"]
HIDDEN_SAVE = {"prompt": "PROMPT", "extra_pnginfo": "EXTRA_PNGINFO"}


def _node(
    name: str,
    display: str,
    category: str,
    required: dict[str, list[Any]],
    outputs: list[str],
    *,
    output_node: bool = False,
    hidden: dict[str, str] | None = None,
    output_names: list[str] | None = None,
    validates: tuple[str, ...] = (),
) -> dict[str, Any]:
    inputs: dict[str, Any] = {"required": required}
    if hidden:
        inputs["hidden"] = hidden
    return {
        "input": inputs,
        "input_order": {key: list(value) for key, value in inputs.items()},
        "output": outputs,
        "output_is_list": [False] * len(outputs),
        "output_name": output_names or outputs,
        "name": name,
        "display_name": display,
        "description": "",
        "python_module": "comfy_extras.nodes_upscale_model"
        if "Upscale" in name and "Model" in name
        else "nodes",
        "category": category,
        "output_node": output_node,
        # Not part of /object_info: the inputs this node checks itself (VALIDATE_INPUTS), as LoadImage does.
        "_validates": list(validates),
    }


def node_definitions(
    checkpoints: list[str], upscale_models: list[str], input_files: list[str]
) -> dict[str, dict[str, Any]]:
    """Every node class the stand-in serves, with the server's current lists filled in."""
    files = sorted(input_files)
    seed = ["INT", {"default": 0, "min": 0, "max": 0xFFFFFFFFFFFFFFFF, "control_after_generate": True}]
    size = {"default": 512, "min": 16, "max": MAX_RESOLUTION, "step": 8}
    nodes = [
        _node("CheckpointLoaderSimple", "Load Checkpoint", "loaders",
              {"ckpt_name": [list(checkpoints), {"tooltip": "The name of the checkpoint (model) to load."}]},
              ["MODEL", "CLIP", "VAE"]),
        _node("CLIPTextEncode", "CLIP Text Encode (Prompt)", "conditioning",
              {"text": ["STRING", {"multiline": True, "dynamicPrompts": True}], "clip": ["CLIP", {}]},
              ["CONDITIONING"]),
        _node("EmptyLatentImage", "Empty Latent Image", "latent",
              {"width": ["INT", dict(size)], "height": ["INT", dict(size)],
               "batch_size": ["INT", {"default": 1, "min": 1, "max": 4096}]},
              ["LATENT"]),
        _node("KSampler", "KSampler", "sampling",
              {"model": ["MODEL", {}], "seed": seed,
               "steps": ["INT", {"default": 20, "min": 1, "max": 10000}],
               "cfg": ["FLOAT", {"default": 8.0, "min": 0.0, "max": 100.0, "step": 0.1, "round": 0.01}],
               "sampler_name": [list(SAMPLERS), {}], "scheduler": [list(SCHEDULERS), {}],
               "positive": ["CONDITIONING", {}], "negative": ["CONDITIONING", {}],
               "latent_image": ["LATENT", {}],
               "denoise": ["FLOAT", {"default": 1.0, "min": 0.0, "max": 1.0, "step": 0.01}]},
              ["LATENT"]),
        _node("VAEDecode", "VAE Decode", "latent", {"samples": ["LATENT", {}], "vae": ["VAE", {}]}, ["IMAGE"]),
        _node("VAEEncode", "VAE Encode", "latent", {"pixels": ["IMAGE", {}], "vae": ["VAE", {}]}, ["LATENT"]),
        _node("VAEEncodeForInpaint", "VAE Encode (for Inpainting)", "latent/inpaint",
              {"pixels": ["IMAGE", {}], "vae": ["VAE", {}], "mask": ["MASK", {}],
               "grow_mask_by": ["INT", {"default": 6, "min": 0, "max": 64, "step": 1}]},
              ["LATENT"]),
        _node("SetLatentNoiseMask", "Set Latent Noise Mask", "latent/inpaint",
              {"samples": ["LATENT", {}], "mask": ["MASK", {}]}, ["LATENT"]),
        _node("SaveImage", "Save Image", "image",
              {"images": ["IMAGE", {}], "filename_prefix": ["STRING", {"default": "ComfyUI"}]},
              [], output_node=True, hidden=HIDDEN_SAVE),
        _node("PreviewImage", "Preview Image", "image", {"images": ["IMAGE", {}]}, [], output_node=True,
              hidden=HIDDEN_SAVE),
        _node("LoadImage", "Load Image", "image", {"image": [files, {"image_upload": True}]}, ["IMAGE", "MASK"],
              validates=("image",)),
        _node("LoadImageMask", "Load Image (as Mask)", "mask",
              {"image": [files, {"image_upload": True}], "channel": [["alpha", "red", "green", "blue"], {}]},
              ["MASK"], validates=("image",)),
        _node("ImageScale", "Upscale Image", "image/upscaling",
              {"image": ["IMAGE", {}], "upscale_method": [list(UPSCALE_METHODS), {}],
               "width": ["INT", {"default": 512, "min": 0, "max": MAX_RESOLUTION, "step": 1}],
               "height": ["INT", {"default": 512, "min": 0, "max": MAX_RESOLUTION, "step": 1}],
               "crop": [["disabled", "center"], {}]},
              ["IMAGE"]),
        _node("ImageScaleBy", "Upscale Image By", "image/upscaling",
              {"image": ["IMAGE", {}], "upscale_method": [list(UPSCALE_METHODS), {}],
               "scale_by": ["FLOAT", {"default": 1.0, "min": 0.01, "max": 8.0, "step": 0.01}]},
              ["IMAGE"]),
        _node("UpscaleModelLoader", "Load Upscale Model", "loaders",
              {"model_name": [list(upscale_models), {}]}, ["UPSCALE_MODEL"]),
        _node("ImageUpscaleWithModel", "Upscale Image (using Model)", "image/upscaling",
              {"upscale_model": ["UPSCALE_MODEL", {}], "image": ["IMAGE", {}]}, ["IMAGE"]),
    ]  # fmt: skip
    return {n["name"]: n for n in nodes}


def object_info(definition: dict[str, Any]) -> dict[str, Any]:
    """A definition as `/object_info` shows it (without the stand-in's private keys)."""
    return {k: v for k, v in definition.items() if not k.startswith("_")}
