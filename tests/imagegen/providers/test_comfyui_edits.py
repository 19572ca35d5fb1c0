"""ComfyUI edits and upscales with replayed HTTP: the uploads, the exact graph sent (node by node), what is refused
before anything is sent, and that a queued prompt is never sent twice. Graphs are checked with the stand-in's copy
of ComfyUI's own validation; the mask as ComfyUI's LoadImage reads it with the stand-in's rule."""

from __future__ import annotations

import hashlib
import io
import json
from typing import Any

import pytest
import requests
from PIL import Image
from responses import matchers

from imagegen.providers import GenerationRequest, ProviderError
from imagegen.providers.comfyui import ComfyUIProvider
from imagegen.providers.comfyui_edits import edit_problem, image_entry
from imagegen.providers.comfyui_workflow import BUILT_IN_WORKFLOW, WorkflowProblem
from tests.standin import comfyui_nodes, comfyui_workflows
from tests.standin.comfyui_graph import validate_prompt
from tests.standin.masks import comfyui_record, repaint_bbox
from tests.standin.wire_bodies import comfyui_history_success, comfyui_image_ref, comfyui_upload_body

from .cases import COMFYUI_CHECKPOINTS, COMFYUI_PROMPT_ID, comfyui_node_body
from .conftest import png
from .test_comfyui import BASE, HISTORY, PROMPT, ComfyConn, connection
from .test_edits import BOX, convention_mask, multipart

CHECKPOINT = COMFYUI_CHECKPOINTS[0]
UPLOAD = f"{BASE}/upload/image"
# What the built-in workflow's text-to-image nodes become in an edit: the same, without the Empty Latent Image.
SAMPLING = ("3", "4", "6", "7", "8", "9")


@pytest.fixture
def provider(sleeps) -> ComfyUIProvider:
    return ComfyUIProvider(connection(), sleep=sleeps.append)


def source(size=(512, 384)) -> bytes:
    return png(*size, noisy=False)


def uploaded_as(data: bytes) -> str:
    """The name the provider gives an upload: its contents' hash, so the same image is stored once."""
    return f"inkweld-{hashlib.sha256(data).hexdigest()[:32]}.png"


def accepts_uploads(rsps, *names: str, subfolder: str = "") -> None:
    """ComfyUI's answers to each upload, in order: the name it stored the file under."""
    for name in names:
        rsps.post(UPLOAD, json=comfyui_upload_body(name, subfolder))


def finishes(rsps, *images: bytes, node: str = "9") -> None:
    rsps.post(PROMPT, json={"prompt_id": COMFYUI_PROMPT_ID, "number": 0, "node_errors": {}})
    refs = [comfyui_image_ref(f"Inkweld_{i + 1:05}_.png") for i in range(len(images))]
    rsps.get(HISTORY, json=comfyui_history_success(COMFYUI_PROMPT_ID, {node: refs}))
    for ref, data in zip(refs, images, strict=True):
        rsps.get(
            f"{BASE}/view", body=data, content_type="image/png", match=[matchers.query_param_matcher(ref)]
        )


def sent_graph(rsps) -> dict[str, Any]:
    (call,) = [c for c in rsps.calls if c.request.url == PROMPT]
    return json.loads(call.request.body)["prompt"]


def uploads(rsps) -> list[dict[str, Any]]:
    """Each upload's parts: its file (name, type, bytes) and its form fields."""
    sent = []
    for call in rsps.calls:
        if call.request.url != UPLOAD:
            continue
        parts = multipart(call.request)
        files = [(name, filename, kind, data) for name, filename, kind, data in parts if filename]
        fields = {name: data.decode() for name, filename, _, data in parts if not filename}
        sent.append({"files": files, "fields": fields})
    return sent


def valid_for_comfyui(graph: dict[str, Any], *, files: tuple[str, ...], outputs: list[str]) -> None:
    """The stand-in's copy of ComfyUI's validate_prompt accepts it, with `files` in ComfyUI's input folder."""
    nodes = comfyui_nodes.node_definitions(
        COMFYUI_CHECKPOINTS, list(comfyui_nodes.UPSCALE_MODELS), list(files)
    )
    ok, error, found, node_errors = validate_prompt(json.loads(json.dumps(graph)), nodes, files.__contains__)
    assert ok, (error, node_errors)
    assert found == outputs


def text_to_image_part(graph: dict[str, Any]) -> dict[str, Any]:
    return {n: graph[n] for n in SAMPLING}


def edit(**changes: Any) -> GenerationRequest:
    values = {"model": CHECKPOINT, "prompt": "make the sky red", "size": "512x384", "operation": "edit",
              "source_image": source(), "options": {"seed": 7, "steps": 20}}  # fmt: skip
    return GenerationRequest(**{**values, **changes})


def expected_sampling(denoise: float, latent: list[Any]) -> dict[str, Any]:
    """The built-in workflow's own nodes as an edit sends them: filled as for a generation, the latent the image."""
    return {
        "4": {"class_type": "CheckpointLoaderSimple", "inputs": {"ckpt_name": CHECKPOINT}},
        "6": {"class_type": "CLIPTextEncode", "inputs": {"text": "make the sky red", "clip": ["4", 1]}},
        "7": {"class_type": "CLIPTextEncode", "inputs": {"text": "", "clip": ["4", 1]}},
        "3": {
            "class_type": "KSampler",
            "inputs": {
                "seed": 7,
                "steps": 20,
                "cfg": 7.0,
                "sampler_name": "euler",
                "scheduler": "normal",
                "denoise": denoise,
                "model": ["4", 0],
                "positive": ["6", 0],
                "negative": ["7", 0],
                "latent_image": latent,
            },
        },
        "8": {"class_type": "VAEDecode", "inputs": {"samples": ["3", 0], "vae": ["4", 2]}},
        "9": {"class_type": "SaveImage", "inputs": {"filename_prefix": "Inkweld", "images": ["8", 0]}},
    }


# --- what ComfyUI's checkpoints can do ------------------------------------------------------------------------------


def test_every_checkpoint_edits_within_a_mask_with_a_strength_and_takes_no_portraits(rsps):
    rsps.get(f"{BASE}/object_info/CheckpointLoaderSimple", json=comfyui_node_body("CheckpointLoaderSimple"))
    rsps.get(f"{BASE}/object_info/KSampler", json=comfyui_node_body("KSampler"))
    models = ComfyUIProvider(connection()).models()
    assert [m.id for m in models] == COMFYUI_CHECKPOINTS
    for model in models:
        assert (model.edits, model.masks, model.strength, model.max_input_images) == (True, True, True, 0)
    assert ComfyUIProvider.offers_edits and ComfyUIProvider.offers_masks and ComfyUIProvider.offers_upscale


# --- edits: the uploads and the graph ------------------------------------------------------------------------------


def test_an_edit_without_a_mask_is_image_to_image_at_the_default_strength(rsps, provider):
    image = source()
    accepts_uploads(rsps, "source from inkweld.png", subfolder="inkweld")  # ComfyUI may rename it
    finishes(rsps, png(512, 384))
    result = provider.perform(edit(source_image=image, options={"seed": 7, "steps": 20}))

    (upload,) = uploads(rsps)
    assert upload["files"] == [("image", uploaded_as(image), "image/png", image)]  # the image as it is
    assert upload["fields"] == {"type": "input", "overwrite": "true"}
    graph = sent_graph(rsps)
    loaded = "inkweld/source from inkweld.png"  # the name ComfyUI answered, where it answered it
    assert graph == {
        **expected_sampling(0.75, ["11", 0]),
        "10": {"class_type": "LoadImage", "inputs": {"image": loaded}},
        "11": {"class_type": "VAEEncode", "inputs": {"pixels": ["10", 0], "vae": ["4", 2]}},
    }
    valid_for_comfyui(graph, files=(loaded,), outputs=["9"])
    assert BUILT_IN_WORKFLOW["3"]["inputs"]["latent_image"] == ["5", 0]  # the shared graph is never changed
    (made,) = result.images
    assert (
        made.seed == 7
        and made.extra["checkpoint"] == CHECKPOINT
        and result.request_ids == [COMFYUI_PROMPT_ID]
    )
    # Uploads first, then the prompt, then its outcome: nothing was asked for twice.
    assert [c.request.url.split("?")[0] for c in rsps.calls] == [UPLOAD, PROMPT, HISTORY, f"{BASE}/view"]


def test_a_mask_repaints_from_what_was_there_below_full_strength(rsps, provider):
    """Strength under 1: VAEEncode, then SetLatentNoiseMask with LoadImage's MASK of the uploaded mask."""
    image, mask = source(), convention_mask(size=(512, 384))
    accepts_uploads(rsps, uploaded_as(image), uploaded_as(mask))
    finishes(rsps, png(512, 384))
    provider.edit(edit(source_image=image, mask=mask, options={"seed": 7, "steps": 20, "strength": 0.55}))

    sent_image, sent_mask = uploads(rsps)
    assert sent_image["files"][0][3] == image
    # The mask goes as it is kept: a PNG the image's size, transparent where to repaint. LoadImage's MASK output
    # (1 − alpha) is then 1 exactly there, which is what ComfyUI repaints.
    (_, filename, kind, data) = sent_mask["files"][0]
    assert (filename, kind, data) == (uploaded_as(mask), "image/png", mask)
    assert repaint_bbox(comfyui_record(Image.open(io.BytesIO(data)), "alpha")) == BOX
    graph = sent_graph(rsps)
    assert graph == {
        **expected_sampling(0.55, ["13", 0]),
        "10": {"class_type": "LoadImage", "inputs": {"image": uploaded_as(image)}},
        "11": {"class_type": "LoadImage", "inputs": {"image": uploaded_as(mask)}},
        "12": {"class_type": "VAEEncode", "inputs": {"pixels": ["10", 0], "vae": ["4", 2]}},
        "13": {"class_type": "SetLatentNoiseMask", "inputs": {"samples": ["12", 0], "mask": ["11", 1]}},
    }
    valid_for_comfyui(graph, files=(uploaded_as(image), uploaded_as(mask)), outputs=["9"])


def test_a_mask_at_full_strength_uses_comfyuis_inpainting_encoder(rsps, provider):
    image, mask = source(), convention_mask(size=(512, 384))
    accepts_uploads(rsps, uploaded_as(image), uploaded_as(mask))
    finishes(rsps, png(512, 384))
    provider.edit(edit(source_image=image, mask=mask, options={"seed": 7, "steps": 20, "strength": 1.0}))
    graph = sent_graph(rsps)
    assert graph == {
        **expected_sampling(1.0, ["12", 0]),
        "10": {"class_type": "LoadImage", "inputs": {"image": uploaded_as(image)}},
        "11": {"class_type": "LoadImage", "inputs": {"image": uploaded_as(mask)}},
        "12": {"class_type": "VAEEncodeForInpaint",
               "inputs": {"pixels": ["10", 0], "vae": ["4", 2], "mask": ["11", 1], "grow_mask_by": 6}},
    }  # fmt: skip
    valid_for_comfyui(graph, files=(uploaded_as(image), uploaded_as(mask)), outputs=["9"])


def test_a_source_of_another_size_is_scaled_and_several_images_come_from_one_batch(rsps, provider):
    """A 100 × 60 picture is edited at the checkpoint's nearest size of its shape (424 × 256, chosen by the
    dialog), scaled in the graph; two images are one batch of the same latent."""
    image = source((100, 60))
    accepts_uploads(rsps, uploaded_as(image))
    finishes(rsps, png(424, 256), png(424, 256))
    result = provider.edit(edit(source_image=image, size="424x256", count=2,
                                options={"seed": 7, "steps": 20, "negative_prompt": "fog"}))  # fmt: skip
    graph = sent_graph(rsps)
    sampling = expected_sampling(0.75, ["13", 0])
    sampling["7"]["inputs"]["text"] = "fog"
    assert graph == {
        **sampling,
        "10": {"class_type": "LoadImage", "inputs": {"image": uploaded_as(image)}},
        "11": {"class_type": "ImageScale", "inputs": {"image": ["10", 0], "upscale_method": "lanczos",
                                                      "width": 424, "height": 256, "crop": "disabled"}},
        "12": {"class_type": "VAEEncode", "inputs": {"pixels": ["11", 0], "vae": ["4", 2]}},
        "13": {"class_type": "RepeatLatentBatch", "inputs": {"samples": ["12", 0], "amount": 2}},
    }  # fmt: skip
    valid_for_comfyui(graph, files=(uploaded_as(image),), outputs=["9"])
    assert [(i.width, i.height, i.extra["batch_index"]) for i in result.images] == [
        (424, 256, 0),
        (424, 256, 1),
    ]


def test_a_gif_goes_up_as_a_png_of_its_first_frame(rsps, provider):
    """LoadImage would make a batch of every frame of an animation."""
    out = io.BytesIO()
    frames = [Image.new("RGB", (512, 384), colour) for colour in ((1, 2, 3), (200, 0, 0))]
    frames[0].save(out, format="GIF", save_all=True, append_images=frames[1:])
    accepts_uploads(rsps, "x.png")
    finishes(rsps, png(512, 384))
    provider.edit(edit(source_image=out.getvalue()))
    ((_, filename, kind, data),) = uploads(rsps)[0]["files"]
    sent = Image.open(io.BytesIO(data))
    assert (kind, sent.format, getattr(sent, "n_frames", 1), sent.size) == ("image/png", "PNG", 1, (512, 384))
    assert filename == uploaded_as(data)


@pytest.mark.parametrize(
    ("changes", "problem"),
    [
        ({"input_images": (png(8, 8),)}, "takes at most 0 input images"),  # portraits: nothing to use them
        ({"source_image": b""}, "There is no image to edit."),
        ({"options": {"strength": 1.5}}, "Change strength must be 0.05 to 1"),
        ({"options": {"quality": "high"}}, "takes no quality"),
        ({"size": "500x500"}, "cannot make 500x500"),
    ],
    ids=["portraits", "no-source", "strength", "quality", "size"],
)
def test_what_comfyui_cannot_do_is_refused_before_anything_is_sent(rsps, provider, changes, problem):
    with pytest.raises(ProviderError) as caught:
        provider.perform(edit(**changes))
    assert caught.value.error_class == "bad_request" and problem in caught.value.message
    assert len(rsps.calls) == 0  # not even the upload


def test_an_edit_that_may_have_run_is_never_queued_again(rsps, provider, sleeps):
    """The upload may be repeated (the same file again); the prompt, once it may have reached ComfyUI, is not."""
    image = source()
    rsps.post(UPLOAD, body=requests.exceptions.ConnectionError("connection reset before the answer"))
    accepts_uploads(rsps, uploaded_as(image))
    rsps.post(PROMPT, body=requests.exceptions.ReadTimeout("read timed out"))
    with pytest.raises(ProviderError) as caught:
        provider.edit(edit(source_image=image))
    assert caught.value.upstream_code == "outcome_unknown" and caught.value.may_have_cost
    assert [c.request.url for c in rsps.calls] == [UPLOAD, UPLOAD, PROMPT]
    assert len(sleeps) == 1  # the upload's retry; the prompt was not retried


# --- an admin's own workflow -------------------------------------------------------------------------------------


def admin(graph: Any, inputs: Any = None) -> ComfyConn:
    return ComfyConn("comfyui", "", BASE, extra={"workflow": graph, "workflow_inputs": inputs})


def with_lora() -> dict[str, Any]:
    graph = comfyui_workflows.txt2img(steps=6, sampler="dpmpp_2m", scheduler="karras")
    graph["12"] = {"class_type": "LoraLoader", "inputs": {"model": ["4", 0], "clip": ["4", 1],
                   "lora_name": "ink.safetensors", "strength_model": 0.8, "strength_clip": 0.8}}  # fmt: skip
    graph["3"]["inputs"]["model"] = ["12", 0]
    return graph


def test_an_admin_workflow_edits_with_its_own_loras_and_sampling(rsps, sleeps):
    """The admin's graph, the image in place of its Empty Latent Image: LoRA, sampler and steps stay theirs."""
    image = source()
    accepts_uploads(rsps, uploaded_as(image))
    finishes(rsps, png(512, 384))
    provider = ComfyUIProvider(admin(with_lora()), sleep=sleeps.append)
    provider.edit(edit(source_image=image, options={"seed": 9, "strength": 0.4}))
    graph = sent_graph(rsps)
    expected = with_lora()
    del expected["5"]
    expected["6"]["inputs"]["text"] = "make the sky red"
    expected["3"]["inputs"].update(seed=9, denoise=0.4, latent_image=["14", 0])
    expected["13"] = {"class_type": "LoadImage", "inputs": {"image": uploaded_as(image)}}
    expected["14"] = {"class_type": "VAEEncode", "inputs": {"pixels": ["13", 0], "vae": ["4", 2]}}
    assert graph == expected


@pytest.mark.parametrize(
    ("graph", "problem"),
    [
        (comfyui_workflows.inpaint("example.png"), "its KSampler (node 3) does not start from an Empty Latent Image"),
        ({**comfyui_workflows.txt2img(), "13": comfyui_workflows.txt2img()["3"]}, "it has 2 KSamplers"),
        ({k: v for k, v in comfyui_workflows.txt2img().items() if k != "8"}, "no VAE Decode takes its KSampler's"),
        ({**comfyui_workflows.txt2img(),
          "20": {"class_type": "LatentUpscaleBy", "inputs": {"samples": ["5", 0], "scale_by": 1.5,
                                                              "upscale_method": "nearest-exact"}}},
         "its Empty Latent Image (node 5) also feeds node 20 (LatentUpscaleBy)"),
    ],
    ids=["image-in-the-workflow", "two-samplers", "no-decoder", "latent-shared"],
)  # fmt: skip
def test_workflows_with_no_place_for_the_image_say_why(graph, problem):
    with pytest.raises(WorkflowProblem, match=problem.replace("(", r"\(").replace(")", r"\)")):
        image_entry(graph)
    assert problem in edit_problem(graph)


def test_an_admin_workflow_with_no_place_for_the_image_does_not_edit(rsps, sleeps):
    """Its models are offered to generate only; an edit is refused for an admin to act on, before any upload."""
    rsps.get(f"{BASE}/object_info/CheckpointLoaderSimple", json=comfyui_node_body("CheckpointLoaderSimple"))
    provider = ComfyUIProvider(admin(comfyui_workflows.inpaint("example.png")), sleep=sleeps.append)
    (first, _) = provider.models()
    assert (first.edits, first.masks, first.strength) == (False, False, False)
    with pytest.raises(ProviderError) as caught:
        provider.edit(edit(size="auto"))
    assert caught.value.upstream_code == "workflow_cannot_edit"
    assert caught.value.message.startswith(
        "ComfyUI cannot edit with the workflow in the AI Image Generation settings: its KSampler (node 3) "
        "does not start from an Empty Latent Image"
    )
    assert [c.request.method for c in rsps.calls] == ["GET"]  # the model list above; nothing sent to edit


def test_the_built_in_workflow_always_has_a_place_for_the_image():
    entry = image_entry(BUILT_IN_WORKFLOW)
    assert (entry.sampler, entry.empty_latent, entry.vae) == ("3", "5", ["4", 2])


# --- upscales ------------------------------------------------------------------------------------------------------


def upscale(
    factor: int = 2, model: str = "RealESRGAN_x4plus.pth", image: bytes | None = None
) -> GenerationRequest:
    return GenerationRequest(model=model, prompt="", size="", operation="upscale", options={"factor": factor},
                             source_image=image or source((160, 120)))  # fmt: skip


def lists_upscale_models(rsps) -> None:
    rsps.get(f"{BASE}/object_info/UpscaleModelLoader", json=comfyui_node_body("UpscaleModelLoader"))


def test_upscalers_are_the_models_comfyui_lists(rsps, provider):
    lists_upscale_models(rsps)
    assert provider.upscalers() == list(comfyui_nodes.UPSCALE_MODELS)
    assert provider.upscalers() == list(comfyui_nodes.UPSCALE_MODELS)  # cached: asked once


def test_a_comfyui_without_upscale_nodes_lists_none(rsps, provider):
    rsps.get(f"{BASE}/object_info/UpscaleModelLoader", json={})  # what ComfyUI answers for an unknown node
    assert provider.upscalers() == []


@pytest.mark.parametrize(("factor", "model"), [(2, "RealESRGAN_x4plus.pth"), (4, "RealESRGAN_x2plus.pth")])
def test_an_upscale_is_the_model_then_exactly_the_factor(rsps, provider, factor, model):
    """Whatever factor the model was trained for, ImageScale makes the result exactly factor × the source."""
    image = source((160, 120))
    lists_upscale_models(rsps)
    accepts_uploads(rsps, uploaded_as(image))
    finishes(rsps, png(160 * factor, 120 * factor), node="5")
    result = provider.perform(upscale(factor, model, image))
    (upload,) = uploads(rsps)
    assert upload["files"] == [("image", uploaded_as(image), "image/png", image)]
    graph = sent_graph(rsps)
    assert graph == {
        "1": {"class_type": "LoadImage", "inputs": {"image": uploaded_as(image)}},
        "2": {"class_type": "UpscaleModelLoader", "inputs": {"model_name": model}},
        "3": {"class_type": "ImageUpscaleWithModel", "inputs": {"upscale_model": ["2", 0], "image": ["1", 0]}},
        "4": {"class_type": "ImageScale", "inputs": {"image": ["3", 0], "upscale_method": "lanczos",
                                                     "width": 160 * factor, "height": 120 * factor,
                                                     "crop": "disabled"}},
        "5": {"class_type": "SaveImage", "inputs": {"filename_prefix": "Inkweld", "images": ["4", 0]}},
    }  # fmt: skip
    valid_for_comfyui(graph, files=(uploaded_as(image),), outputs=["5"])
    (made,) = result.images
    assert (made.width, made.height) == (160 * factor, 120 * factor) and made.seed is None
    assert made.extra == {
        "upscaler": model,
        "factor": factor,
        "prompt_id": COMFYUI_PROMPT_ID,
        "batch_index": 0,
    }


def test_an_unknown_upscaler_is_refused_before_anything_is_sent(rsps, provider):
    lists_upscale_models(rsps)
    with pytest.raises(ProviderError) as caught:
        provider.upscale(upscale(model="8x-Imaginary.pth"))
    assert caught.value.message == (
        "ComfyUI has no upscale model named “8x-Imaginary.pth”. Choose one it lists, or ask an admin."
    )
    assert [c.request.url for c in rsps.calls] == [f"{BASE}/object_info/UpscaleModelLoader"]  # no upload


@pytest.mark.parametrize(
    ("factor", "size", "problem"),
    [
        (3, (160, 120), "Upscale makes images 2× or 4× as large; 3 is not one of them."),
        (
            4,
            (4200, 300),
            "4× would make 16800 × 1200 pixels, and ComfyUI makes images at most 16384 pixels a side.",
        ),
    ],
)
def test_factors_and_sizes_comfyui_cannot_make_are_refused_before_anything_is_sent(rsps, provider, factor, size,
                                                                                    problem):  # fmt: skip
    with pytest.raises(ProviderError) as caught:
        provider.upscale(upscale(factor, image=source(size)))
    assert problem in caught.value.message and caught.value.error_class == "bad_request"
    assert len(rsps.calls) == 0


def test_an_upscale_that_may_have_run_is_never_queued_again(rsps, provider, sleeps):
    image = source((160, 120))
    lists_upscale_models(rsps)
    accepts_uploads(rsps, uploaded_as(image))
    rsps.post(PROMPT, body=requests.exceptions.ReadTimeout("read timed out"))
    with pytest.raises(ProviderError) as caught:
        provider.upscale(upscale(image=image))
    assert caught.value.upstream_code == "outcome_unknown" and sleeps == []
    assert len([c for c in rsps.calls if c.request.url == PROMPT]) == 1
