"""ComfyUI edits and upscales against the in-process stand-in, which validates graphs as ComfyUI does, keeps the
uploads in its input folder for LoadImage, and records the mask a graph paints with as the pixels it repaints."""

from __future__ import annotations

import io

import pytest
from PIL import Image, ImageChops, ImageDraw

from imagegen import masks
from imagegen.providers import GenerationRequest
from imagegen.providers.comfyui import ComfyUIProvider, check_workflow
from tests.imagegen.providers.progress import record
from tests.standin import comfyui_workflows
from tests.standin.fixtures import standin  # noqa: F401
from tests.standin.masks import repaint_bbox, repaint_image

from .test_comfyui_standin import CHECKPOINT, admin, provider_for

SIZE = (512, 384)
# A painted stroke as a writer leaves it: a ring, so a wrong or inverted mask cannot match by accident.
RING = ((150, 80), (330, 260))


def picture(size=SIZE) -> bytes:
    image = Image.new("RGB", size, (40, 60, 110))
    ImageDraw.Draw(image).ellipse([200, 100, 300, 220], fill=(240, 200, 90))
    out = io.BytesIO()
    image.save(out, format="PNG")
    return out.getvalue()


def painted(size=SIZE) -> Image.Image:
    """255 where the writer painted."""
    image = Image.new("L", size, 0)
    ImageDraw.Draw(image).ellipse([*RING[0], *RING[1]], outline=255, width=24)
    return image


def stored_mask(size=SIZE) -> bytes:
    """The painting as a job keeps it (imagegen.masks): transparent where painted."""
    rgba = Image.new("RGBA", size, (0, 0, 0, 255))
    rgba.putalpha(ImageChops.invert(painted(size)))
    out = io.BytesIO()
    rgba.save(out, format="PNG")
    checked = masks.mask_from_png(out.getvalue(), size=size)
    assert checked is not None
    return checked.png


def edit(**changes) -> GenerationRequest:
    values = {"model": CHECKPOINT, "prompt": "a green lamp", "size": "512x384", "operation": "edit",
              "source_image": picture(), "options": {"steps": 4, "seed": 3}}  # fmt: skip
    return GenerationRequest(**{**values, **changes})


@pytest.mark.parametrize("strength", [0.6, 1.0], ids=["set-latent-noise-mask", "vae-encode-for-inpaint"])
def test_the_painted_mask_is_what_comfyui_repaints(standin, strength):  # noqa: F811
    result = provider_for(standin).perform(
        edit(mask=stored_mask(), options={"steps": 4, "seed": 3, "strength": strength})
    )
    (made,) = result.images
    assert (made.width, made.height) == SIZE
    (record,) = standin.masks("/prompt")
    mask = record["mask"]
    assert mask["convention"] == "comfyui-alpha"  # LoadImage's MASK: 1 − alpha
    # Exactly the painted pixels: the stored mask is binary, and LoadImage reads it without resampling.
    assert ImageChops.difference(repaint_image(mask), painted()).getbbox() is None
    assert repaint_bbox(mask) == painted().getbbox()
    uploads = [r["uploaded"] for r in standin.requests("/upload/image")]
    assert [u["name"].startswith("inkweld-") for u in uploads] == [True, True]  # the image, then the mask
    assert mask["source"] == uploads[1]["name"]


def test_without_a_mask_the_whole_image_is_redrawn(standin):  # noqa: F811
    result = provider_for(standin).perform(edit(count=2, options={"steps": 4, "seed": 3, "strength": 0.4}))
    assert [(i.width, i.height) for i in result.images] == [SIZE, SIZE]  # one batch, two images
    assert standin.masks("/prompt") == []
    assert len(standin.requests("/upload/image")) == 1  # the image alone
    (prompt,) = standin.requests("/prompt", method="POST")
    assert prompt["body"]["prompt"]["3"]["inputs"]["denoise"] == 0.4


def test_an_image_of_another_size_is_edited_at_the_size_asked_for(standin):  # noqa: F811
    result = provider_for(standin).edit(edit(source_image=picture((100, 60)), size="424x256"))
    assert [(i.width, i.height) for i in result.images] == [(424, 256)]


def test_the_same_image_edited_twice_is_uploaded_under_one_name(standin):  # noqa: F811
    provider = provider_for(standin)
    provider.edit(edit())
    provider.edit(edit(prompt="a red lamp"))
    names = [r["uploaded"]["name"] for r in standin.requests("/upload/image")]
    assert len(names) == 2 and names[0] == names[1]
    assert len(standin.state.comfy.input_names()) == 1


def test_an_edit_reports_its_sampler_steps_as_progress(standin):  # noqa: F811
    standin.script(family="comfyui", delay=0.4)
    progress: list[float] = []
    provider_for(standin).edit(edit(mask=stored_mask()), on_progress=record(progress))
    assert progress == [0.25, 0.5, 0.75, 0.99]


@pytest.mark.parametrize("factor", [2, 4])
@pytest.mark.parametrize("model", ["RealESRGAN_x4plus.pth", "RealESRGAN_x2plus.pth"])
def test_an_upscale_is_exactly_the_factor_whatever_the_model(standin, factor, model):  # noqa: F811
    provider = provider_for(standin)
    assert model in provider.upscalers()
    result = provider.perform(
        GenerationRequest(model=model, prompt="", size="", operation="upscale", options={"factor": factor},
                          source_image=picture((160, 120)))
    )  # fmt: skip
    (made,) = result.images
    assert (made.width, made.height) == (160 * factor, 120 * factor)
    assert (made.extra["upscaler"], made.extra["factor"]) == (model, factor)


def test_a_comfyui_without_upscale_models_lists_none(standin):  # noqa: F811
    standin.configure(comfyui_upscale_models=[])
    assert provider_for(standin).upscalers() == []


def test_a_workflow_with_no_place_for_the_image_is_saved_but_its_check_says_edits_are_off(standin):  # noqa: F811
    graph = comfyui_workflows.inpaint("example.png")
    assert check_workflow(graph, admin(standin)) == ""  # it still generates
    result = ComfyUIProvider(admin(standin, graph)).check()
    assert result.ok
    assert result.reason == (
        "ComfyUI 0.3.75 answers with the admin's workflow; 2 checkpoint(s) installed. Its models cannot edit "
        "images: its KSampler (node 3) does not start from an Empty Latent Image, which the image would replace."
    )
