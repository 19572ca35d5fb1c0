import re

from playwright.sync_api import expect

from media_library.models import MediaItem
from tests.conftest import PASSWORD
from tests.fixtures_projects import image_bytes


def test_upload_an_image_see_it_in_the_grid_and_open_it(page, live_server, sign_in, project, tmp_path):
    picture = tmp_path / "lighthouse.png"
    picture.write_bytes(image_bytes(size=(400, 300), color=(40, 80, 160)))
    sign_in(page, "editor", PASSWORD)

    page.goto(f"{live_server.url}/projects/{project.slug}/")
    page.get_by_role("navigation", name="Project sections").get_by_role("link", name="Media").click()
    expect(page.get_by_role("heading", name="No images yet")).to_be_visible()
    page.locator(".media-header").get_by_role("link", name="Upload").click()
    page.get_by_label("Images").set_input_files(str(picture))
    page.get_by_role("button", name="Upload").click()

    expect(page.get_by_text("Added 1 image to the library.")).to_be_visible()
    tile = page.locator(".media-tile").filter(has_text="lighthouse")
    expect(tile).to_have_count(1)
    thumbnail = tile.locator("img")
    expect(thumbnail).to_have_attribute("src", re.compile(r"/thumbnail/$"))
    # The thumbnail really loaded through the protected view.
    page.wait_for_function("img => img.complete && img.naturalWidth > 0", arg=thumbnail.element_handle())
    assert thumbnail.evaluate("img => img.naturalWidth") == 320

    tile.get_by_role("link").click()
    expect(page.get_by_role("heading", name="lighthouse")).to_be_visible()
    expect(page.get_by_text("400 \u00d7 300 px")).to_be_visible()
    full = page.locator(".media-detail-image img")
    page.wait_for_function("img => img.complete && img.naturalWidth > 0", arg=full.element_handle())
    assert full.evaluate("img => img.naturalWidth") == 400
    assert MediaItem.objects.get().created_by.username == "editor"
