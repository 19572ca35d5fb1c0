"""ComfyUI graphs that start from an image: an edit (image-to-image, within a painted mask or over the whole
picture) and an upscale. Core nodes only, so any ComfyUI runs them; pure functions, the provider (comfyui.py)
uploads the images and queues the graph.

**An edit** is the text-to-image workflow with its Empty Latent Image replaced by the picture: LoadImage →
(ImageScale to the size asked for, when it differs) → VAEEncode → the workflow's own KSampler, with `denoise` = the
change strength. So the edit samples with the same checkpoint, prompts, LoRAs and settings as a generation, and an
admin's own workflow edits too when it has that shape (`image_entry` says why not otherwise). With a mask (uploaded
as it is stored: transparent = repaint, so a second LoadImage's MASK output, 1 − alpha, is 1 exactly where to
repaint):
* strength below 1 → VAEEncode → SetLatentNoiseMask: only the masked part is re-noised, from what was there (the
  WebUI's "original" fill), so "make her hair silver" changes the hair rather than inventing a new head;
* strength 1 ("ignore what was there") → VAEEncodeForInpaint, ComfyUI's own inpainting encoder: it blanks the
  masked pixels before encoding, which is right only when the sampler denoises fully (its documented use).
More than one image: RepeatLatentBatch, so one prompt makes the batch (each item gets its own noise).

**An upscale**: LoadImage → UpscaleModelLoader + ImageUpscaleWithModel (the model's own factor: 2×, 4×, 8× …) →
ImageScale to exactly factor × the source, whatever factor the model was trained for → SaveImage.
"""

from __future__ import annotations

import copy
import io
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from typing import Any

from PIL import Image

from .comfyui_workflow import WorkflowProblem, _linked, node_name

# ComfyUI's MAX_RESOLUTION: no image node takes a larger side.
MAX_SIDE = 16384
# VAEEncodeForInpaint's default: grows the mask a little so the repainted part blends in.
GROW_MASK_BY = 6
# Lanczos both ways: sharp when enlarging, no aliasing when a 4× model's result is brought down to 2×.
SCALE_METHOD = "lanczos"
FILENAME_PREFIX = "Inkweld"

Graph = dict[str, Any]
Link = list[Any]  # [node id, output index]


@dataclass(frozen=True)
class ImageEntry:
    """Where a picture enters a workflow: the KSampler it feeds, the Empty Latent Image it replaces, and the VAE
    that decodes the sampler's result (the same one encodes the picture)."""

    sampler: str
    empty_latent: str
    vae: Link


def image_entry(graph: Mapping[str, Any]) -> ImageEntry:
    """Where an image to edit goes into `graph`; WorkflowProblem (a clause for an admin) when it has no such place."""
    samplers = [n for n, node in graph.items() if node["class_type"] == "KSampler"]
    if len(samplers) != 1:
        raise WorkflowProblem(
            f"it has {len(samplers)} KSamplers, and an edit needs exactly one"
            if samplers
            else "it has no KSampler to start from the image"
        )
    (sampler,) = samplers
    latent = _linked(graph, sampler, "latent_image")
    if latent is None or graph[latent]["class_type"] != "EmptyLatentImage":
        raise WorkflowProblem(
            f"its KSampler (node {sampler}) does not start from an Empty Latent Image, which the image would replace"
        )
    for node_id, node in graph.items():
        if node_id != sampler and any(_links_to(value, latent) for value in node["inputs"].values()):
            raise WorkflowProblem(
                f"its Empty Latent Image (node {latent}) also feeds {node_name(graph, node_id)}, so it cannot be "
                "replaced by the image"
            )
    decoders = [
        n
        for n, node in graph.items()
        if node["class_type"] == "VAEDecode" and _linked(graph, n, "samples") == sampler
    ]
    vae = graph[decoders[0]]["inputs"].get("vae") if decoders else None
    if not (isinstance(vae, list) and len(vae) == 2 and str(vae[0]) in graph):
        raise WorkflowProblem(
            f"no VAE Decode takes its KSampler's result (node {sampler}), so there is no VAE to encode the image with"
        )
    return ImageEntry(sampler=sampler, empty_latent=latent, vae=[str(vae[0]), vae[1]])


def edit_problem(graph: Mapping[str, Any]) -> str:
    """Why a workflow cannot edit, or "" when it can."""
    try:
        image_entry(graph)
    except WorkflowProblem as problem:
        return str(problem)
    return ""


def image_to_image(
    graph: Mapping[str, Any],
    entry: ImageEntry,
    *,
    image: str,
    mask: str | None,
    size: tuple[int, int] | None,
    source_size: tuple[int, int],
    count: int,
    strength: float,
) -> Graph:
    """A filled text-to-image `graph` turned into an edit of the uploaded `image` (within the uploaded `mask`):
    a new graph; `size` None keeps the image's own size (rounded down to multiples of 8 by the VAE)."""
    edited: Graph = copy.deepcopy(dict(graph))
    del edited[entry.empty_latent]
    ids = _new_ids(edited)

    def add(class_type: str, **inputs: Any) -> str:
        node_id = next(ids)
        edited[node_id] = {"class_type": class_type, "inputs": inputs}
        return node_id

    pixels: Link = [add("LoadImage", image=image), 0]
    if size is not None and size != source_size:
        width, height = size
        pixels = [add("ImageScale", image=pixels, upscale_method=SCALE_METHOD, width=width, height=height,
                      crop="disabled"), 0]  # fmt: skip
    if mask is None:
        latent: Link = [add("VAEEncode", pixels=pixels, vae=entry.vae), 0]
    else:
        # LoadImage's second output is its MASK, 1 − alpha: 1 exactly where the stored mask is transparent.
        painted: Link = [add("LoadImage", image=mask), 1]
        if strength >= 1:
            latent = [add("VAEEncodeForInpaint", pixels=pixels, vae=entry.vae, mask=painted,
                          grow_mask_by=GROW_MASK_BY), 0]  # fmt: skip
        else:
            encoded: Link = [add("VAEEncode", pixels=pixels, vae=entry.vae), 0]
            latent = [add("SetLatentNoiseMask", samples=encoded, mask=painted), 0]
    if count > 1:
        latent = [add("RepeatLatentBatch", samples=latent, amount=count), 0]
    edited[entry.sampler]["inputs"].update(latent_image=latent, denoise=strength)
    return edited


def upscale_graph(*, image: str, model: str, width: int, height: int) -> Graph:
    """The uploaded `image` enlarged with the upscale model `model`, then scaled to exactly width × height."""
    return {
        "1": {"class_type": "LoadImage", "inputs": {"image": image}},
        "2": {"class_type": "UpscaleModelLoader", "inputs": {"model_name": model}},
        "3": {
            "class_type": "ImageUpscaleWithModel",
            "inputs": {"upscale_model": ["2", 0], "image": ["1", 0]},
        },
        "4": {
            "class_type": "ImageScale",
            "inputs": {
                "image": ["3", 0],
                "upscale_method": SCALE_METHOD,
                "width": width,
                "height": height,
                "crop": "disabled",
            },
        },
        "5": {"class_type": "SaveImage", "inputs": {"filename_prefix": FILENAME_PREFIX, "images": ["4", 0]}},
    }


def image_size(data: bytes) -> tuple[int, int]:
    """An image's width and height from its header (it was checked when it was stored)."""
    with Image.open(io.BytesIO(data)) as image:
        return image.size


def _links_to(value: Any, node_id: str) -> bool:
    return isinstance(value, list) and len(value) == 2 and str(value[0]) == node_id


def _new_ids(graph: Mapping[str, Any]) -> Iterator[str]:
    """Node ids after the graph's highest number, as ComfyUI numbers nodes added to a workflow."""
    number = max((int(n) for n in graph if n.isdigit()), default=0)
    while True:
        number += 1
        if str(number) not in graph:
            yield str(number)
