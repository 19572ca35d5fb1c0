"""Iterating on an image in a real browser: paint a mask, edit with OpenAI and with the WebUI, save the result as a
version, use it as the cover; upscale 2×; paint with touch on a phone-sized screen; generate an element's portrait.

The app runs for real (live server, `db_worker`, the stand-in upstream as its own process). What the stand-in
received proves what the page cannot show: the region its decoded mask marks for repainting.

**Tolerance.** The painted area is re-drawn in Python from the same strokes (round-capped lines of the brush's
width, in the image's pixels). The recorded repaint region must overlap it with an intersection-over-union of at
least 0.95, and its bounding box must be within 3 pixels of the strokes' on every side: anti-aliased stroke edges
and the browser's sub-pixel pointer positions account for the difference.
"""

from __future__ import annotations

import io
import re

import pytest
from PIL import Image, ImageChops, ImageDraw
from playwright.sync_api import Locator, Page, expect

from imagegen.models import GenerationJob
from media_library.models import MediaItem
from media_library.services import media_item_create_from_bytes
from projects.models import Element, Project
from tests.conftest import PASSWORD
from tests.e2e.conftest import shot
from tests.standin.client import StandinClient
from tests.standin.masks import repaint_bbox, repaint_image

SIZE = (1024, 768)
BRUSH_PERCENT = 8  # the slider's default: a brush 8 % of the image's longer side wide
IOU_AT_LEAST = 0.95
BBOX_WITHIN = 3
Strokes = list[tuple[tuple[float, float], tuple[float, float]]]
# A block over the lighthouse's lamp, painted as a writer would: a few strokes side by side.
STROKES: Strokes = [((560, y), (760, y)) for y in (190, 240, 290, 340)]


def scene(size=SIZE) -> bytes:
    """A harbour at dusk: something recognisable to paint over in the screenshots."""
    width, height = size
    image = Image.new("RGB", size)
    draw = ImageDraw.Draw(image)
    for y in range(height):
        t = y / height
        draw.line([(0, y), (width, y)], fill=(int(40 + 150 * t), int(50 + 70 * t), int(110 + 40 * (1 - t))))
    draw.rectangle([0, int(height * 0.72), width, height], fill=(30, 50, 80))
    draw.polygon([(600, 560), (720, 560), (690, 260), (630, 260)], fill=(235, 228, 210))
    draw.rectangle([615, 210, 705, 262], fill=(250, 210, 90))
    draw.polygon([(605, 212), (715, 212), (660, 160)], fill=(150, 40, 40))
    out = io.BytesIO()
    image.save(out, format="PNG")
    return out.getvalue()


@pytest.fixture
def harbour(story: Project, owner) -> MediaItem:
    item, _ = media_item_create_from_bytes(
        project=story,
        data=scene(),
        created_by=owner,
        title="Harbour at dusk",
        alt_text="A lighthouse at dusk",
    )
    return item


def brush_width(size=SIZE) -> float:
    return BRUSH_PERCENT / 100 * max(size)


def painted_by(strokes: Strokes, size=SIZE) -> Image.Image:
    """The strokes re-drawn in Python: 255 where the brush passed."""
    image = Image.new("L", size, 0)
    draw = ImageDraw.Draw(image)
    width = brush_width(size)
    radius = width / 2
    for start, end in strokes:
        draw.line([start, end], fill=255, width=round(width))
        for x, y in (start, end):
            draw.ellipse([x - radius, y - radius, x + radius, y + radius], fill=255)
    return image


def iou(a: Image.Image, b: Image.Image) -> float:
    a1, b1 = a.convert("1"), b.convert("1")
    inter = ImageChops.logical_and(a1, b1).convert("L").histogram()[255]
    union = ImageChops.logical_or(a1, b1).convert("L").histogram()[255]
    return inter / union


def assert_matches_painting(record: dict, strokes: Strokes = STROKES) -> None:
    expected = painted_by(strokes)
    got = repaint_image(record)
    assert got.size == SIZE
    assert iou(got, expected) >= IOU_AT_LEAST, iou(got, expected)
    for side, (recorded, drawn) in enumerate(zip(repaint_bbox(record), expected.getbbox(), strict=True)):
        assert abs(recorded - drawn) <= BBOX_WITHIN, (side, repaint_bbox(record), expected.getbbox())


def paint(page: Page, canvas: Locator, strokes: Strokes = STROKES) -> None:
    """Drag the mouse along each stroke, given in the image's pixels, over the canvas as it is shown."""
    canvas.scroll_into_view_if_needed()
    box = canvas.bounding_box()
    assert box is not None
    sx, sy = box["width"] / SIZE[0], box["height"] / SIZE[1]
    for (x0, y0), (x1, y1) in strokes:
        page.mouse.move(box["x"] + x0 * sx, box["y"] + y0 * sy)
        page.mouse.down()
        page.mouse.move(box["x"] + x1 * sx, box["y"] + y1 * sy, steps=12)
        page.mouse.up()


def open_edit(page: Page, base_url: str, item: MediaItem) -> Locator:
    page.goto(f"{base_url}{item.get_absolute_url()}")
    page.get_by_role("link", name="Edit image…").click()
    dialog = page.locator("#generate-dialog")
    expect(dialog.get_by_role("heading", name="Edit image")).to_be_visible()
    return dialog


def choose(dialog: Locator, provider: str, model: str) -> None:
    page = dialog.page
    for label, value in (("Image service", provider), ("Model", model)):
        select = dialog.get_by_label(label, exact=True)
        if select.locator("option:checked").inner_text() != value:
            page.locator("#generate-panel").evaluate("panel => { panel.dataset.stale = 'yes'; }")
            select.select_option(label=value)
            page.wait_for_selector("#generate-panel:not([data-stale]):not(.htmx-settling)")
    expect(dialog.get_by_label("Model", exact=True).locator("option:checked")).to_have_text(model)


def wait_for_candidate(dialog: Locator) -> Locator:
    panel = dialog.locator(".job-panel")
    expect(panel.locator(".candidate")).to_have_count(1, timeout=30_000)
    expect(panel.locator(".status")).to_have_text("Succeeded")
    image = panel.locator(".candidate img")
    dialog.page.wait_for_function("img => img.complete && img.naturalWidth > 0", arg=image.element_handle())
    return panel


def test_paint_a_mask_edit_with_openai_save_a_version_and_use_it_as_the_cover(
    page: Page, live_server, sign_in, story: Project, harbour: MediaItem, upstream: StandinClient, worker
) -> None:
    sign_in(page, "editor", PASSWORD)
    dialog = open_edit(page, live_server.url, harbour)
    choose(dialog, "OpenAI", "GPT Image 2")
    expect(dialog.get_by_text("GPT Image 2 takes a mask.")).to_be_visible()
    dialog.get_by_label("Instruction").fill("Make the lighthouse lamp glow green")
    canvas = dialog.locator("canvas.mask-canvas")
    expect(canvas).to_be_visible()
    paint(page, canvas)
    expect(dialog.locator("[data-mask-status]")).to_contain_text("Mask painted: about")
    # Undo, then paint the last stroke again: the mask is what is on screen.
    dialog.get_by_role("button", name="Undo").click()
    paint(page, canvas, STROKES[-1:])
    # The screenshot: the instruction at the top of the dialog, the painted mask below it.
    dialog.locator("label[for=id_prompt]").evaluate("el => el.scrollIntoView({block: 'start'})")
    shot(page, "edit-mask-painter")

    dialog.get_by_role("button", name="Edit image", exact=True).click()
    panel = wait_for_candidate(dialog)
    expect(panel.locator(".job-source")).to_contain_text("Edit of “Harbour at dusk”: within the mask")
    (sent,) = upstream.requests("/v1/images/edits")
    assert sent["mask"]["convention"] == "transparent"
    assert_matches_painting(sent["mask"])
    assert sent["input_images"][0] == list(SIZE)  # the image being edited goes first
    shot(page, "edit-result")

    panel.locator(".candidate input[name=candidate]").check()
    panel.get_by_role("button", name="Save to library").click()
    expect(
        panel.get_by_text("Saved 1 image to the library, as a version of “Harbour at dusk”.")
    ).to_be_visible()
    version = MediaItem.objects.get(source=harbour)
    assert version.operation == "edit"
    panel.get_by_role("button", name="Use as cover").click()
    # Said beside the image, in the dialog, which stays open.
    expect(panel.get_by_text("is now the project cover")).to_be_visible()
    story.refresh_from_db()
    assert story.cover == version

    # The version's page: the strip, the original first, this one marked, with its instruction.
    page.goto(f"{live_server.url}{version.get_absolute_url()}")
    strip = page.locator(".version-strip")
    expect(strip.locator(".version")).to_have_count(2)
    expect(strip.locator(".version").nth(0)).to_contain_text("Original")
    current = strip.locator(".version-current")
    expect(current).to_contain_text("Edit")
    expect(current).to_contain_text("Make the lighthouse lamp glow green")
    for image in strip.locator("img").all():
        page.wait_for_function("img => img.complete && img.naturalWidth > 0", arg=image.element_handle())
    shot(page, "version-strip")


def test_paint_a_mask_and_edit_with_the_webui(
    page: Page, live_server, sign_in, story: Project, harbour: MediaItem, upstream: StandinClient, worker
) -> None:
    sign_in(page, "editor", PASSWORD)
    dialog = open_edit(page, live_server.url, harbour)
    choose(dialog, "Stable Diffusion WebUI", "v1-5-pruned-emaonly")
    dialog.get_by_label("Instruction").fill("A green lamp")
    dialog.get_by_label("Change strength").fill("0.6")
    paint(page, dialog.locator("canvas.mask-canvas"))
    dialog.get_by_role("button", name="Edit image", exact=True).click()
    panel = wait_for_candidate(dialog)
    (sent,) = upstream.requests("/sdapi/v1/img2img")
    assert sent["mask"]["convention"] == "white"  # white on black, the WebUI's way
    assert_matches_painting(sent["mask"])
    assert (sent["body"]["width"], sent["body"]["height"], sent["body"]["denoising_strength"]) == (
        1024,
        768,
        0.6,
    )
    panel.locator(".candidate input[name=candidate]").check()
    panel.get_by_role("button", name="Save to library").click()
    expect(panel.get_by_text("as a version of “Harbour at dusk”")).to_be_visible()
    assert MediaItem.objects.get(source=harbour).operation == "edit"


def test_invert_and_clear_change_what_is_sent(
    page: Page, live_server, sign_in, story: Project, harbour: MediaItem, upstream: StandinClient, worker
) -> None:
    sign_in(page, "editor", PASSWORD)
    dialog = open_edit(page, live_server.url, harbour)
    choose(dialog, "Stable Diffusion WebUI", "v1-5-pruned-emaonly")
    canvas = dialog.locator("canvas.mask-canvas")
    paint(page, canvas)
    dialog.get_by_role("button", name="Clear").click()
    expect(dialog.locator("[data-mask-status]")).to_have_text("No mask: the whole image will be edited.")
    assert dialog.locator("input[name=mask]").input_value() == ""
    paint(page, canvas)
    dialog.get_by_role("button", name="Invert").click()  # everything but the strokes
    dialog.get_by_label("Instruction").fill("Night everywhere but the lamp")
    dialog.get_by_role("button", name="Edit image", exact=True).click()
    wait_for_candidate(dialog)
    (sent,) = upstream.requests("/sdapi/v1/img2img")
    inverted = ImageChops.invert(painted_by(STROKES))
    assert iou(repaint_image(sent["mask"]), inverted) >= IOU_AT_LEAST


def test_upscale_2x_through_the_webui_makes_a_version_exactly_twice_the_size(
    page: Page, live_server, sign_in, story: Project, harbour: MediaItem, upstream: StandinClient, worker
) -> None:
    sign_in(page, "editor", PASSWORD)
    page.goto(f"{live_server.url}{harbour.get_absolute_url()}")
    page.get_by_role("link", name="Upscale…").click()
    dialog = page.locator("#generate-dialog")
    expect(dialog.get_by_role("heading", name="Upscale image")).to_be_visible()
    dialog.get_by_label("2× — 2048 × 1536 px").check()
    expect(dialog.get_by_label("Upscaler")).to_have_value("R-ESRGAN 4x+")
    dialog.get_by_role("button", name="Upscale", exact=True).click()
    panel = wait_for_candidate(dialog)
    expect(panel.locator(".job-source")).to_contain_text("Upscale 2× of “Harbour at dusk” with R-ESRGAN 4x+")
    panel.locator(".candidate input[name=candidate]").check()
    panel.get_by_role("button", name="Save to library").click()
    expect(panel.get_by_text("as a version of “Harbour at dusk”")).to_be_visible()
    version = MediaItem.objects.get(source=harbour)
    assert (version.width, version.height) == (2 * SIZE[0], 2 * SIZE[1])
    assert version.operation == "upscale"
    (sent,) = upstream.requests("/sdapi/v1/extra-single-image")
    assert sent["body"]["upscaling_resize"] == 2


@pytest.fixture
def phone(browser):
    context = browser.new_context(viewport={"width": 360, "height": 760}, has_touch=True, is_mobile=True)
    context.set_default_timeout(15_000)
    yield context.new_page()
    context.close()


def touch_paint(page: Page, canvas: Locator, strokes: Strokes) -> None:
    """Real touch input (Chromium's DevTools protocol), so the painter gets touch pointer events."""
    canvas.scroll_into_view_if_needed()
    box = canvas.bounding_box()
    assert box is not None
    sx, sy = box["width"] / SIZE[0], box["height"] / SIZE[1]
    cdp = page.context.new_cdp_session(page)
    for (x0, y0), (x1, y1) in strokes:
        steps = 10
        points = [(x0 + (x1 - x0) * i / steps, y0 + (y1 - y0) * i / steps) for i in range(steps + 1)]
        for index, (x, y) in enumerate(points):
            kind = "touchStart" if index == 0 else "touchMove"
            touch = {"x": box["x"] + x * sx, "y": box["y"] + y * sy}
            cdp.send("Input.dispatchTouchEvent", {"type": kind, "touchPoints": [touch]})
        cdp.send("Input.dispatchTouchEvent", {"type": "touchEnd", "touchPoints": []})


def test_painting_with_touch_on_a_phone(
    phone: Page, live_server, sign_in, story: Project, harbour: MediaItem, upstream: StandinClient, worker
) -> None:
    page = phone
    sign_in(page, "editor", PASSWORD)
    dialog = open_edit(page, live_server.url, harbour)
    choose(dialog, "Stable Diffusion WebUI", "v1-5-pruned-emaonly")
    canvas = dialog.locator("canvas.mask-canvas")
    # On a 360 px screen the picture is shown about a third of its size: the mask is still the image's own.
    width = canvas.evaluate("c => c.getBoundingClientRect().width")
    assert width < 360 and canvas.evaluate("c => [c.width, c.height]") == list(SIZE)
    touch_paint(page, canvas, STROKES)
    expect(dialog.locator("[data-mask-status]")).to_contain_text("Mask painted: about")
    shot(page, "edit-mask-painter-phone", full_page=False)
    dialog.get_by_label("Instruction").fill("A green lamp")
    dialog.get_by_role("button", name="Edit image", exact=True).click()
    wait_for_candidate(dialog)
    (sent,) = upstream.requests("/sdapi/v1/img2img")
    assert_matches_painting(sent["mask"])
    # Nothing on the phone screen is wider than the screen.
    assert page.evaluate("document.documentElement.scrollWidth") <= 360


def test_generate_portrait_from_an_element_and_set_it_as_its_image(
    page: Page, live_server, sign_in, story: Project, upstream: StandinClient, worker
) -> None:
    mira = Element.objects.get(project=story, name="Mira Vale")
    sign_in(page, "editor", PASSWORD)
    page.goto(f"{live_server.url}{mira.get_absolute_url()}")
    page.get_by_role("link", name="Generate portrait").click()
    dialog = page.locator("#generate-dialog")
    expect(dialog.get_by_role("heading", name="Portrait of Mira Vale")).to_be_visible()
    choose(dialog, "Stable Diffusion WebUI", "v1-5-pruned-emaonly")
    expect(dialog.get_by_label("Mira Vale")).to_have_value("subject")
    # A portrait size, kept from the first model the dialog showed (the checkpoint offers 2:3 too).
    size = dialog.get_by_label("Size", exact=True).input_value()
    width, height = (int(side) for side in size.split("x"))
    assert height / width == 1.5
    dialog.get_by_role("button", name="Generate", exact=True).click()
    panel = wait_for_candidate(dialog)
    panel.locator(".candidate input[name=candidate]").check()
    panel.get_by_role("button", name="Save to library").click()
    panel.get_by_role("button", name="Set as Mira Vale’s image").click()
    expect(panel.get_by_text("is now the image of “Mira Vale”")).to_be_visible()
    mira.refresh_from_db()
    assert mira.image is not None and (mira.image.width, mira.image.height) == (width, height)
    page.goto(f"{live_server.url}{mira.get_absolute_url()}")
    expect(page.locator(".element-image img")).to_have_attribute(
        "src", re.compile(rf"/media/{mira.image_id}/file/$")
    )


def test_without_javascript_a_whole_image_edit_still_works(
    browser, live_server, sign_in, story: Project, harbour: MediaItem, upstream: StandinClient, worker
) -> None:
    context = browser.new_context(java_script_enabled=False)
    context.set_default_timeout(15_000)
    page = context.new_page()
    try:
        sign_in(page, "editor", PASSWORD)
        page.goto(f"{live_server.url}{harbour.get_absolute_url()}")
        page.get_by_role("link", name="Edit image…").click()  # a plain link: the edit page
        expect(page.get_by_role("heading", name="Edit image")).to_be_visible()
        # No painter without JavaScript: the image is shown, the tools and the canvas stay hidden.
        expect(page.locator(".mask-source")).to_be_visible()
        expect(page.locator(".mask-toolbar")).to_be_hidden()
        expect(page.locator("canvas.mask-canvas")).to_be_hidden()
        page.get_by_label("Instruction").fill("Warmer light")
        page.get_by_role("button", name="Edit image", exact=True).click()
        expect(page.get_by_text("Edit of “Harbour at dusk”: the whole image.")).to_be_visible()
        # The job's page refreshes itself with a <noscript> meta refresh, which this browser emulation (scripts
        # switched off in a scripting browser) does not parse: reload as the writer would, until it is done.
        job = GenerationJob.objects.get(operation="edit")  # the page above is the job's: it exists
        for _ in range(300):  # waits for the worker (a minute at most on a loaded machine); measures nothing
            if not GenerationJob.objects.filter(pk=job.pk, status__in=GenerationJob.UNFINISHED).exists():
                break
            page.wait_for_timeout(200)
        page.reload()
        expect(page.locator(".candidate")).to_have_count(1)
        (sent,) = upstream.requests("/v1/images/edits")
        assert [f["name"] for f in sent["body"]["_files"]] == ["image[]"]  # the image, no mask
        assert sent["body"]["prompt"].startswith("Warmer light")
    finally:
        context.close()
