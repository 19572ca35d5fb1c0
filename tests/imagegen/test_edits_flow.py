"""Edit, variations, portraits and upscale through the views and the real worker, against the stand-in upstream.

What the stand-in received is asserted where the page cannot show it: the mask's repaint region, the images sent.
These run in real transactions: the worker and the job's progress monitor use their own connections.
"""

from __future__ import annotations

import base64
import html
import io
from decimal import Decimal
from html import unescape

import pytest
from django.core.files.base import ContentFile
from django.core.management import call_command
from django.urls import reverse
from PIL import Image, ImageDraw

from imagegen.models import Candidate, GenerationJob
from media_library.models import MediaItem
from media_library.services import media_item_create_from_bytes, media_item_delete
from projects.models import Element
from tests.standin.masks import repaint_bbox, repaint_overlap

from .conftest import SD_MODEL

# Storage-relevant: every test runs on the local disk and on a real S3-compatible server (tests/fixtures_storage.py).
pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.usefixtures("media_storage")]
HTMX = {"HTTP_HX_REQUEST": "true", "HTTP_HX_TARGET": "generate-dialog-body"}
BOX = (100, 50, 300, 250)
GEMINI = "google/gemini-2.5-flash-image"


def run_worker() -> None:
    call_command("db_worker", "--batch", "--no-startup-delay", "--interval", "0.05", verbosity=0)


def png(size=(640, 480), color=(200, 90, 40)) -> bytes:
    out = io.BytesIO()
    Image.new("RGB", size, color).save(out, format="PNG")
    return out.getvalue()


def mask_png(size=(640, 480), box=BOX, *, mode="RGBA") -> bytes:
    """Inkweld's convention: opaque everywhere, transparent inside `box` (what to repaint)."""
    image = Image.new("RGBA", size, (0, 0, 0, 255))
    if box:
        ImageDraw.Draw(image).rectangle([box[0], box[1], box[2] - 1, box[3] - 1], fill=(0, 0, 0, 0))
    out = io.BytesIO()
    image.convert(mode).save(out, format="PNG")
    return out.getvalue()


def data_url(data: bytes) -> str:
    return "data:image/png;base64," + base64.b64encode(data).decode("ascii")


@pytest.fixture
def picture(project, owner) -> MediaItem:
    item, _ = media_item_create_from_bytes(project=project, data=png(), created_by=owner, title="Harbour")
    return item


@pytest.fixture
def openrouter_too(upstream, monkeypatch):
    """The stand-in as OpenRouter as well (the default fixture leaves it unconfigured)."""
    from django.core.cache import cache

    monkeypatch.setenv("AI_IMAGE_OPENROUTER_BASE_URL", upstream.env()["AI_IMAGE_OPENROUTER_BASE_URL"])
    monkeypatch.setenv("AI_IMAGE_OPENROUTER_API_KEY", "sk-or-v1-test-upstream-key")
    cache.clear()
    return upstream


def url(name, project, pk):
    return reverse(f"imagegen:{name}", kwargs={"slug": project.slug, "pk": pk})


def sd_edit(**changes):
    data = {"provider": "stable-diffusion", "model": SD_MODEL, "prompt": "make the sky red", "count": "1",
            "steps": "20", "action": "edit"}  # fmt: skip
    return {**data, **changes}


def openai_edit(**changes):
    data = {"provider": "openai", "model": "gpt-image-2", "prompt": "make her hair silver", "count": "1",
            "quality": "low", "action": "edit"}  # fmt: skip
    return {**data, **changes}


def submit(client, address, data) -> GenerationJob:
    response = client.post(address, data)
    assert response.status_code == 302, response.content.decode()[:3000]
    return GenerationJob.objects.latest("pk")


def finished(job: GenerationJob) -> GenerationJob:
    run_worker()
    job.refresh_from_db()
    assert job.status == "succeeded", job.error_message
    return job


def save_all(client, project, job) -> list[MediaItem]:
    ids = [c.pk for c in job.candidates.all()]
    response = client.post(url("save", project, job.pk), {"candidate": ids}, **HTMX)
    assert response.status_code == 200
    return list(MediaItem.objects.filter(pk__in=job.candidates.values("saved_item")).order_by("pk"))


# --- The edit dialog --------------------------------------------------------------------------------------------


def test_the_edit_dialog_offers_only_models_that_edit_and_names_those_taking_a_mask(
    upstream, client_for, project, picture
):
    client = client_for("editor")
    html = unescape(
        client.get(url("edit", project, picture.pk) + "?provider=openai", **HTMX).content.decode()
    )
    assert '<h2 id="generate-title">Edit image</h2>' in html
    assert "Editing <strong>Harbour</strong>" in html and picture.file_url() in html
    assert 'name="prompt"' in html and "Instruction" in html
    assert 'name="size"' not in html  # the result keeps the image's shape
    assert "DALL·E 3</strong>: DALL·E 3 makes new images but cannot edit one." in html
    assert "Every model offered here takes a mask." in html and "GPT Image 2 takes a mask." in html
    assert "Take a mask: OpenAI, Stable Diffusion WebUI." in html  # the provider's help
    assert "The model chooses the result's size, close to the image's shape." in html  # 640 × 480: "auto"
    sd = client.get(url("edit", project, picture.pk) + "?provider=stable-diffusion", **HTMX).content.decode()
    assert "The result will be 640 × 480 pixels (the same size)." in sd
    assert 'name="strength"' in sd and "Change strength" in sd


def test_the_edit_dialog_says_when_the_whole_image_may_change(openrouter_too, client_for, project, picture):
    html = (
        client_for("editor")
        .get(url("edit", project, picture.pk) + f"?provider=openrouter&model={GEMINI}", **HTMX)
        .content.decode()
    )
    assert "Gemini 2.5 Flash Image takes no mask: the whole image may change." in html
    assert "FLUX.1 Schnell makes new images but cannot edit one." in html  # text-only input


# --- Edits: the mask each upstream receives, and the version the result becomes -------------------------------------


def test_a_webui_edit_repaints_where_the_mask_says_and_saves_a_version(
    upstream, client_for, project, picture
):
    client = client_for("editor")
    job = submit(client, url("edit", project, picture.pk), sd_edit(strength="0.6", mask=data_url(mask_png())))
    assert (job.operation, job.source_item, job.options["size"]) == ("edit", picture, "640x480")
    assert job.edit_details["mask"] == "painted"
    assert job.edit_details["repaint_fraction"] == pytest.approx(200 * 200 / (640 * 480), abs=1e-4)
    job = finished(job)
    (sent,) = upstream.requests("/sdapi/v1/img2img")
    assert sent["mask"]["convention"] == "white"
    assert repaint_bbox(sent["mask"]) == BOX and repaint_overlap(sent["mask"], BOX) == 1.0
    assert sent["body"]["denoising_strength"] == 0.6 and (sent["body"]["width"], sent["body"]["height"]) == (
        640,
        480,
    )

    panel = client.get(url("job", project, job.pk), **HTMX).content.decode()
    assert "Edit of “Harbour”: within the mask (13% of the image)." in panel
    [version] = save_all(client, project, job)
    assert (version.source, version.original, version.operation) == (picture, picture, "edit")
    assert version.generation["operation"] == "edit" and version.generation["source_id"] == picture.pk
    assert (
        version.generation["prompt"] == "make the sky red"
        and version.generation["options"]["strength"] == 0.6
    )
    saved = client.post(url("save", project, job.pk), {"candidate": []}, **HTMX)  # already saved: nothing new
    assert MediaItem.objects.filter(source=picture).count() == 1 and saved.status_code == 200
    detail = client.get(version.get_absolute_url()).content.decode()
    assert 'class="version-strip"' in detail and "make the sky red" in detail


def test_an_openai_edit_sends_the_image_first_and_the_mask_transparent(
    upstream, client_for, project, picture
):
    client = client_for("editor")
    job = finished(submit(client, url("edit", project, picture.pk), openai_edit(mask=data_url(mask_png()))))
    (sent,) = upstream.requests("/v1/images/edits")
    assert sent["mask"]["convention"] == "transparent" and repaint_bbox(sent["mask"]) == BOX
    assert sent["input_images"] == [[640, 480]]
    assert [(f["name"], f["content_type"]) for f in sent["body"]["_files"]] == [
        ("image[]", "image/png"), ("mask", "image/png"),
    ]  # fmt: skip
    assert sent["body"]["size"] == "auto" and sent["body"]["prompt"] == "make her hair silver"
    # Cost: the estimate counted the image sent; the actual figure is the stand-in's tokens × the prices.
    assert job.estimated_cost is not None and job.cost_source == "tokens"
    assert job.actual_cost == Decimal(str(sent["cost_usd"])).quantize(Decimal("0.0001"))


def test_an_empty_mask_edits_the_whole_image_and_says_so(upstream, client_for, project, picture):
    client = client_for("editor")
    job = submit(client, url("edit", project, picture.pk), sd_edit(mask=data_url(mask_png(box=None))))
    assert job.edit_details["mask"] == "empty" and not job.mask
    finished(job)
    (sent,) = upstream.requests("/sdapi/v1/img2img")
    assert "mask" not in sent["body"]
    panel = client.get(url("job", project, job.pk), **HTMX).content.decode()
    assert "Edit of “Harbour”: the whole image (the mask marked nothing to repaint)." in panel


@pytest.mark.parametrize(
    ("mask", "says"),
    [
        (
            mask_png(size=(320, 240), box=(1, 1, 9, 9)),
            "The mask is 320 × 240 pixels but the image is 640 × 480",
        ),
        (mask_png(mode="RGB"), "The mask has no transparency, so it cannot mark anything"),
        (png(), "The mask has no transparency"),
    ],
    ids=["wrong-size", "no-alpha", "a-photo"],
)
def test_a_bad_mask_is_a_form_error_and_starts_nothing(upstream, client_for, project, picture, mask, says):
    response = client_for("editor").post(
        url("edit", project, picture.pk), sd_edit(mask=data_url(mask)), **HTMX
    )
    assert response.status_code == 200
    assert says in response.content.decode()
    assert GenerationJob.objects.count() == 0 and upstream.requests("/sdapi/v1/img2img") == []


def test_a_mask_for_a_model_that_takes_none_is_refused(openrouter_too, client_for, project, picture):
    response = client_for("editor").post(
        url("edit", project, picture.pk),
        {"provider": "openrouter", "model": GEMINI, "prompt": "night", "count": "1", "action": "edit",
         "mask": data_url(mask_png())},
        **HTMX,
    )  # fmt: skip
    html = response.content.decode()
    assert "Gemini 2.5 Flash Image takes no mask: the whole image may change. Clear the mask" in html
    assert GenerationJob.objects.count() == 0


def test_an_openrouter_edit_sends_the_image_as_the_first_reference(
    openrouter_too, client_for, project, picture
):
    job = submit(
        client_for("editor"), url("edit", project, picture.pk),
        {"provider": "openrouter", "model": GEMINI, "prompt": "night", "count": "1", "action": "edit"},
    )  # fmt: skip
    finished(job)
    (sent,) = openrouter_too.requests("/api/v1/images")
    (reference,) = sent["body"]["input_references"]
    assert reference["image_url"]["url"] == "data:image/png;base64," + base64.b64encode(png()).decode()
    assert sent["body"]["aspect_ratio"] == "4:3"


# --- Portraits: Subject and Reference images, the switch, the limit ----------------------------------------------------


@pytest.fixture
def mira(project, owner) -> Element:
    portrait, _ = media_item_create_from_bytes(
        project=project, data=png((96, 128), (9, 80, 200)), created_by=owner
    )
    return Element.objects.create(project=project, kind="character", name="Mira Vale", image=portrait)


def generate(client, project, **data) -> GenerationJob:
    base = {"prompt": "Mira at the harbour", "count": "1", "action": "generate"}
    return submit(client, reverse("imagegen:dialog", kwargs={"slug": project.slug}), {**base, **data})


def test_a_subject_s_portrait_goes_to_models_that_take_images(openrouter_too, client_for, project, mira):
    client = client_for("editor")
    subject = {f"element_{mira.pk}": "subject"}
    finished(generate(client, project, provider="openai", model="gpt-image-2", size="1024x1024", quality="low",
                      **subject))  # fmt: skip
    (openai,) = openrouter_too.requests("/v1/images/edits")
    assert openai["input_images"] == [[96, 128]]  # the portrait, as an input image of /images/edits
    finished(generate(client, project, provider="openrouter", model=GEMINI, size="1024x1024", **subject))
    (openrouter,) = openrouter_too.requests("/api/v1/images")
    (reference,) = openrouter["body"]["input_references"]
    assert (
        reference["image_url"]["url"]
        == "data:image/png;base64," + base64.b64encode(mira.image.file.read()).decode()
    )


def test_a_portrait_never_goes_to_a_model_that_takes_no_images(
    openrouter_too, client_for, project, mira, picture
):
    client = client_for("editor")
    subject = {f"element_{mira.pk}": "subject"}
    finished(generate(client, project, provider="openrouter", model="black-forest-labs/flux-schnell",
                      size="1024x1024", **subject))  # fmt: skip
    (flux,) = openrouter_too.requests("/api/v1/images")
    assert "input_references" not in flux["body"]
    finished(generate(client, project, provider="stable-diffusion", model=SD_MODEL, size="512x512", steps="20",
                      **subject))  # fmt: skip
    assert openrouter_too.requests("/v1/images/edits") == []
    finished(submit(client, url("edit", project, picture.pk), sd_edit(**subject)))
    (img2img,) = openrouter_too.requests("/sdapi/v1/img2img")
    assert len(img2img["body"]["init_images"]) == 1  # the image being edited, nothing else


def test_the_switch_keeps_a_portrait_at_home(upstream, client_for, project, mira):
    client = client_for("editor")
    # The dialog showed the switches (portraits_shown) and the writer unticked Mira's.
    job = finished(generate(client, project, provider="openai", model="gpt-image-2", size="1024x1024",
                            quality="low", portraits_shown="1", **{f"element_{mira.pk}": "subject"}))  # fmt: skip
    assert (
        upstream.requests("/v1/images/edits") == [] and len(upstream.requests("/v1/images/generations")) == 1
    )
    assert job.elements[0]["send_image"] is False
    # Ticked, it goes.
    finished(generate(client, project, provider="openai", model="gpt-image-2", size="1024x1024", quality="low",
                      portraits_shown="1", **{f"element_{mira.pk}": "subject", f"element_{mira.pk}_image": "on"}))  # fmt: skip
    assert len(upstream.requests("/v1/images/edits")) == 1


def test_the_dialog_shows_the_switch_and_the_rule(upstream, client_for, project, mira):
    client = client_for("editor")
    dialog = reverse("imagegen:dialog", kwargs={"slug": project.slug})
    html = client.post(dialog, {"provider": "openai", "model": "gpt-image-2", "action": "refresh",
                                f"element_{mira.pk}": "subject"}, **HTMX).content.decode()  # fmt: skip
    assert f'name="element_{mira.pk}_image"' in html and "Send its image" in html
    assert (
        "Portraits go along with their elements: Subjects first, then References, in the order listed, up to 16"
        in html
    )
    sd = client.post(dialog, {"provider": "stable-diffusion", "model": SD_MODEL, "action": "refresh",
                              f"element_{mira.pk}": "subject"}, **HTMX).content.decode()  # fmt: skip
    assert f'name="element_{mira.pk}_image"' not in sd
    assert "takes no images, so no portrait goes along" in sd


def test_past_the_model_s_limit_portraits_are_left_out_by_the_stated_rule(
    openrouter_too, client_for, project, picture, owner
):
    """Gemini takes 3 images: the one being edited, then two portraits — Subjects first — and the rest stay out."""
    elements = []
    for index, name in enumerate(["Ada", "Bram", "Cole"]):
        image, _ = media_item_create_from_bytes(
            project=project, data=png((32, 32), (index, 1, 1)), created_by=owner
        )
        elements.append(Element.objects.create(project=project, name=name, image=image))
    ada, bram, cole = elements
    roles = {
        f"element_{ada.pk}": "reference",
        f"element_{bram.pk}": "subject",
        f"element_{cole.pk}": "subject",
    }
    client = client_for("editor")
    html = unescape(client.post(url("edit", project, picture.pk), {"provider": "openrouter", "model": GEMINI,
                                "action": "refresh", **roles}, **HTMX).content.decode())  # fmt: skip
    assert "up to 2 portraits (the image being edited takes one of the model's places)" in html
    assert "Left out, over Gemini 2.5 Flash Image's limit: “Ada”." in html
    job = finished(submit(client, url("edit", project, picture.pk), {"provider": "openrouter", "model": GEMINI,
                          "prompt": "at dawn", "count": "1", "action": "edit", **roles}))  # fmt: skip
    assert job.edit_details["portraits"] == ["Bram", "Cole"] and job.edit_details["portraits_left_out"] == [
        "Ada"
    ]
    (sent,) = openrouter_too.requests("/api/v1/images")
    urls = [r["image_url"]["url"] for r in sent["body"]["input_references"]]
    expected = [picture, bram.image, cole.image]
    assert urls == ["data:image/png;base64," + base64.b64encode(i.file.read()).decode() for i in expected]


# --- Edit a candidate; variations; portraits; upscale --------------------------------------------------------------


@pytest.fixture
def candidate(project, owner) -> Candidate:
    job = GenerationJob.objects.create(
        user=owner, project=project, provider="stable-diffusion", model=SD_MODEL, prompt="A harbour",
        composed_prompt="A harbour", options={"size": "512x512", "count": 1}, status="succeeded", images_made=1,
    )  # fmt: skip
    c = Candidate(job=job, index=0, content_type="image/png", width=512, height=512, bytes=1)
    c.file.save("1.png", ContentFile(png((512, 512), (40, 40, 90))), save=False)
    c.save()
    return c


def test_editing_a_candidate_saves_it_as_the_original_of_the_result(upstream, client_for, project, candidate):
    client = client_for("editor")
    page = client.get(url("edit_candidate", project, candidate.pk), **HTMX).content.decode()
    assert "Editing <strong>Image 1 of the last generation</strong>" in page
    job = finished(submit(client, url("edit_candidate", project, candidate.pk), sd_edit()))
    assert job.source_candidate == candidate and job.source_item is None
    [version] = save_all(client, project, job)
    candidate.refresh_from_db()
    original = candidate.saved_item
    assert original is not None and (version.source, version.original, version.operation) == (
        original,
        original,
        "edit",
    )
    assert original.source is None  # the candidate became the first version
    # Once saved, Edit on that candidate edits the saved image.
    again = client.get(url("edit_candidate", project, candidate.pk), **HTMX).content.decode()
    assert f"Editing <strong>{original.display_title}</strong>" in again


def test_variations_are_saved_as_versions_of_the_image(upstream, client_for, project, candidate, owner):
    from imagegen.saving import candidates_save

    [original] = candidates_save(job=candidate.job, candidates=[candidate], user=owner)
    client = client_for("editor")
    page = client.get(url("variations", project, original.pk), **HTMX).content.decode()
    assert "Variations of “A harbour”" in page
    form = {"provider": "stable-diffusion", "model": SD_MODEL, "prompt": "A harbour", "size": "512x512",
            "count": "2", "steps": "20", "action": "generate"}  # fmt: skip
    job = finished(submit(client, url("variations", project, original.pk), form))
    assert (job.operation, job.source_item) == ("variation", original)
    versions = save_all(client, project, job)
    assert [(v.source, v.operation) for v in versions] == [(original, "variation")] * 2


def test_generate_portrait_starts_as_the_subject_at_a_portrait_size_and_offers_set_as_image(
    upstream, client_for, project
):
    mira = Element.objects.create(project=project, kind="character", name="Mira Vale")
    client = client_for("editor")
    address = url("portrait", project, mira.pk)
    page = client.get(address + "?provider=stable-diffusion", **HTMX).content.decode()
    assert '<h2 id="generate-title">Portrait of Mira Vale</h2>' in page
    assert "A portrait of Mira Vale" in page
    assert (
        '<option value="subject" selected>Subject</option>'
        in page.split(f'name="element_{mira.pk}"')[1][:400]
    )
    assert '<option value="512x768" selected>' in page  # the checkpoint's 2:3 size
    openai = client.get(address + "?provider=openai", **HTMX).content.decode()
    assert '<option value="1024x1536" selected>' in openai
    job = finished(submit(client, address, {"provider": "stable-diffusion", "model": SD_MODEL, "prompt": "A portrait of Mira Vale",
                                            "size": "512x768", "count": "1", "steps": "20", "action": "generate",
                                            f"element_{mira.pk}": "subject"}))  # fmt: skip
    assert job.target_element == mira
    saved = client.post(url("save", project, job.pk), {"candidate": [job.candidates.get().pk]}, **HTMX)
    assert "Set as Mira Vale’s image" in saved.content.decode()
    item = job.candidates.get().saved_item
    set_image = reverse("media:set_element_image", kwargs={"slug": project.slug, "pk": item.pk})
    client.post(set_image, {"element": mira.pk})
    mira.refresh_from_db()
    assert mira.image == item


def test_upscale_2x_makes_a_version_exactly_twice_the_size(upstream, client_for, project, picture):
    client = client_for("editor")
    page = client.get(url("upscale", project, picture.pk), **HTMX).content.decode()
    assert "2× — 1280 × 960 px" in page and "4× — 2560 × 1920 px" in page
    assert '<option value="R-ESRGAN 4x+" selected>' in page and "Free" in page
    job = submit(client, url("upscale", project, picture.pk),
                 {"provider": "stable-diffusion", "factor": "2", "upscaler": "ESRGAN_4x", "action": "upscale"})  # fmt: skip
    assert (job.operation, job.model, job.options) == (
        "upscale",
        "ESRGAN_4x",
        {"size": "1280x960", "count": 1, "factor": 2},
    )
    job = finished(job)
    (sent,) = upstream.requests("/sdapi/v1/extra-single-image")
    assert sent["body"]["upscaling_resize"] == 2 and sent["body"]["upscaler_1"] == "ESRGAN_4x"
    assert job.cost_source == "free" and job.actual_cost == 0
    [version] = save_all(client, project, job)
    assert (version.width, version.height) == (1280, 960)
    assert (version.source, version.operation, version.title) == (picture, "upscale", "Harbour (upscale)")
    assert "Upscale 2×" in client.get(version.get_absolute_url()).content.decode()


def test_an_upscale_past_the_library_s_size_is_refused(upstream, client_for, project, picture, settings):
    settings.MEDIA_MAX_PIXELS = 2_000_000
    response = client_for("editor").post(
        url("upscale", project, picture.pk), {"provider": "stable-diffusion", "factor": "4", "action": "upscale"},
        **HTMX,
    )  # fmt: skip
    assert (
        "4× would make 2560 × 1920 pixels, more than the library keeps (2,000,000)"
        in response.content.decode()
    )
    assert GenerationJob.objects.count() == 0


def test_an_upscale_whose_engine_is_down_says_which_and_starts_nothing(
    upstream, client_for, project, picture, monkeypatch
):
    from django.core.cache import cache

    monkeypatch.setenv("AI_IMAGE_SD_ENDPOINT", "http://127.0.0.1:9")  # nothing listens there
    cache.clear()  # the upscaler list the stand-in gave is not kept for this address
    response = client_for("editor").post(
        url("upscale", project, picture.pk), {"provider": "stable-diffusion", "factor": "2", "action": "upscale"},
        **HTMX,
    )  # fmt: skip
    page = html.unescape(response.content.decode())
    assert "The list of upscalers could not be fetched: Stable Diffusion WebUI could not be reached" in page
    assert (
        "If it keeps happening, ask an admin." in page
        and "provider" not in page.split("could not be fetched")[1][:200]
    )
    assert GenerationJob.objects.count() == 0


# --- Limits, budget, failures, Try again ---------------------------------------------------------------------------


def test_edits_and_upscales_count_against_the_daily_limit(
    upstream, client_for, project, picture, monkeypatch
):
    monkeypatch.setenv("AI_IMAGE_DAILY_LIMIT", "1")
    client = client_for("editor")
    submit(
        client,
        url("upscale", project, picture.pk),
        {"provider": "stable-diffusion", "factor": "2", "action": "upscale"},
    )
    response = client.post(url("edit", project, picture.pk), sd_edit(), **HTMX)
    assert "Daily image limit: you have used 1 of 1 images today" in response.content.decode()
    assert GenerationJob.objects.count() == 1


def test_an_edit_is_checked_against_the_budget(upstream, client_for, project, picture, monkeypatch):
    monkeypatch.setenv("AI_IMAGE_MONTHLY_BUDGET", "0.001")
    response = client_for("editor").post(url("edit", project, picture.pk), openai_edit(), **HTMX)
    assert "Monthly budget: $0.00 of $0.00 is spent this month" in response.content.decode()
    assert GenerationJob.objects.count() == 0


def test_a_source_deleted_before_the_job_runs_fails_saying_so(upstream, client_for, project, picture):
    job = submit(client_for("editor"), url("edit", project, picture.pk), sd_edit(mask=data_url(mask_png())))
    media_item_delete(item=picture)
    run_worker()
    job.refresh_from_db()
    assert job.status == "failed" and job.error_class == "bad_request"
    assert "The image to edit is no longer there" in job.error_message
    assert upstream.requests("/sdapi/v1/img2img") == []


def test_edit_again_fills_in_the_instruction_and_the_mask(upstream, client_for, project, picture):
    client = client_for("editor")
    job = finished(submit(client, url("edit", project, picture.pk), sd_edit(mask=data_url(mask_png()))))
    panel = client.get(url("job", project, job.pk), **HTMX).content.decode()
    again = f"{url('edit', project, picture.pk)}?again={job.pk}"
    assert f'href="{again}"' in panel and "Edit again" in panel
    html = client.get(again, **HTMX).content.decode()
    assert "make the sky red" in html
    with job.mask.open("rb") as handle:
        assert f'value="{data_url(handle.read())}"' in html


@pytest.mark.parametrize(
    ("name", "data"),
    [
        ("edit", {"action": "generate"}),
        ("upscale", {"action": "edit"}),
        ("variations", {"action": "upscale"}),
    ],
)
def test_each_dialog_takes_only_its_own_buttons(upstream, client_for, project, picture, name, data):
    picture.origin, picture.generation = MediaItem.Origin.GENERATED, {"job_id": 0}
    picture.save()
    GenerationJob.objects.create(id=1, project=project, provider="stable-diffusion", model=SD_MODEL, prompt="p",
                                 composed_prompt="p", status="succeeded")  # fmt: skip
    picture.generation = {"job_id": 1}
    picture.save()
    response = client_for("editor").post(url(name, project, picture.pk), data)
    assert response.status_code == 400 and GenerationJob.objects.count() == 1
