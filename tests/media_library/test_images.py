"""What an image is, decided by decoding: bad files are refused with a reason, photos are made upright and private."""

from __future__ import annotations

import io

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import reverse
from PIL import ExifTags, Image

from media_library.images import ImageRejected, process_image
from media_library.models import MediaItem
from tests.fixtures_projects import image_bytes

# Storage-relevant: every test runs on the local disk and on a real S3-compatible server (tests/fixtures_storage.py).
pytestmark = pytest.mark.usefixtures("media_storage")


def photo_with_exif(orientation: int = 6, gps: bool = True) -> bytes:
    """A 60 by 30 JPEG, red on the left half, tagged as rotated (6 = turn 90° clockwise to view) and with a location."""
    image = Image.new("RGB", (60, 30), (255, 255, 255))
    image.paste((255, 0, 0), (0, 0, 30, 30))
    exif = Image.Exif()
    exif[ExifTags.Base.Orientation] = orientation
    exif[ExifTags.Base.Make] = "Pocket camera"
    if gps:
        gps_ifd = exif.get_ifd(ExifTags.IFD.GPSInfo)
        gps_ifd[ExifTags.GPS.GPSLatitudeRef] = "N"
        gps_ifd[ExifTags.GPS.GPSLatitude] = (51.0, 30.0, 0.0)
    out = io.BytesIO()
    image.save(out, format="JPEG", exif=exif, quality=95)
    return out.getvalue()


def upload(client, project, *files: SimpleUploadedFile):
    return client.post(
        reverse("media:upload", kwargs={"slug": project.slug}), {"files": list(files)}, follow=True
    )


def messages_of(response) -> list[str]:
    return [str(m) for m in response.context["messages"]]


@pytest.mark.parametrize(
    ("fmt", "content_type"),
    [("PNG", "image/png"), ("JPEG", "image/jpeg"), ("WEBP", "image/webp"), ("GIF", "image/gif")],
)
def test_accepted_formats_are_decoded_not_named(fmt, content_type, project, client_for) -> None:
    # Named .bin with a lying declared type: only the bytes count.
    response = upload(
        client_for("editor"), project, SimpleUploadedFile("x.bin", image_bytes(fmt), "text/plain")
    )
    item = MediaItem.objects.get(project=project)
    assert item.content_type == content_type
    assert (item.width, item.height) == (64, 48)
    assert "Added 1 image to the library." in messages_of(response)


def test_a_text_file_named_png_is_refused(project, client_for) -> None:
    fake = SimpleUploadedFile("cover.png", b"<html>definitely not a picture</html>", "image/png")
    response = upload(client_for("editor"), project, fake)
    assert "“cover.png” was not added: It is not a PNG, JPEG, WebP or GIF image." in messages_of(response)
    assert not MediaItem.objects.exists()


def test_other_image_formats_are_refused(project, client_for) -> None:
    response = upload(
        client_for("editor"), project, SimpleUploadedFile("a.png", image_bytes("BMP"), "image/png")
    )
    assert "“a.png” was not added: It is not a PNG, JPEG, WebP or GIF image." in messages_of(response)
    assert not MediaItem.objects.exists()


def test_a_truncated_png_is_refused(project, client_for) -> None:
    whole = image_bytes(size=(400, 400))
    response = upload(client_for("editor"), project, SimpleUploadedFile("cut.png", whole[: len(whole) // 2]))
    assert any(
        "“cut.png” was not added: The image is incomplete or damaged" in m for m in messages_of(response)
    )
    assert not MediaItem.objects.exists()


def test_too_many_bytes_is_refused(project, client_for, settings) -> None:
    settings.MEDIA_MAX_UPLOAD_BYTES = 1000
    big = image_bytes(size=(300, 300), fmt="PNG", compress_level=0)
    assert len(big) > 1000
    response = upload(client_for("editor"), project, SimpleUploadedFile("big.png", big))
    assert "“big.png” was not added: it is larger than the 1000\xa0bytes limit." in messages_of(response)
    assert not MediaItem.objects.exists()
    # The service refuses too, for callers that do not go through the upload form.
    with pytest.raises(ImageRejected, match="larger than"):
        process_image(big)


def test_too_many_pixels_is_refused(project, client_for, settings) -> None:
    settings.MEDIA_MAX_PIXELS = 100 * 100
    response = upload(
        client_for("editor"), project, SimpleUploadedFile("huge.png", image_bytes(size=(101, 100)))
    )
    assert any(
        "“huge.png” was not added: It is 101 by 100 pixels, more than the 10,000 pixels allowed" in m
        for m in messages_of(response)
    )
    assert not MediaItem.objects.exists()


def test_a_decompression_bomb_is_refused_before_decoding(settings) -> None:
    settings.MEDIA_MAX_PIXELS = 1_000_000
    # A small file that claims 3000 by 3000 pixels: compressed it is a few KB, decoded it would be 27 MB.
    bomb = image_bytes("PNG", size=(3000, 3000), color=(0, 0, 0))
    assert len(bomb) < 100_000
    with pytest.raises(ImageRejected, match="pixels"):
        process_image(bomb)


def test_the_same_file_twice_is_stored_once(project, client_for) -> None:
    data = image_bytes()
    client = client_for("editor")
    upload(client, project, SimpleUploadedFile("first.png", data))
    response = upload(client, project, SimpleUploadedFile("again.png", data))
    assert MediaItem.objects.filter(project=project).count() == 1
    assert "“again.png” is already in this project's library, as “first”." in messages_of(response)


def test_several_files_at_once_each_get_an_answer(project, client_for) -> None:
    response = upload(
        client_for("editor"),
        project,
        SimpleUploadedFile("one.png", image_bytes(color=(1, 1, 1))),
        SimpleUploadedFile("two.jpg", image_bytes("JPEG", color=(2, 2, 2))),
        SimpleUploadedFile("notes.png", b"just text"),
    )
    assert sorted(MediaItem.objects.values_list("title", flat=True)) == ["one", "two"]
    messages = messages_of(response)
    assert "Added 2 images to the library." in messages
    assert "“notes.png” was not added: It is not a PNG, JPEG, WebP or GIF image." in messages


def test_an_upload_with_no_file_shows_the_form_again(project, client_for) -> None:
    response = client_for("editor").post(reverse("media:upload", kwargs={"slug": project.slug}), {})
    assert response.status_code == 200
    assert "Choose at least one image to upload." in response.content.decode()


def test_exif_orientation_is_applied_and_gps_dropped(project, client_for) -> None:
    upload(client_for("editor"), project, SimpleUploadedFile("photo.jpg", photo_with_exif()))
    item = MediaItem.objects.get()
    assert (item.width, item.height) == (30, 60)  # turned upright
    with item.file.open("rb") as handle:
        stored = Image.open(io.BytesIO(handle.read()))
    exif = stored.getexif()
    assert stored.size == (30, 60)
    assert ExifTags.Base.Orientation not in exif
    assert ExifTags.IFD.GPSInfo not in exif and not exif.get_ifd(ExifTags.IFD.GPSInfo)
    assert exif[ExifTags.Base.Make] == "Pocket camera"  # other metadata is kept
    # Rotated clockwise: the red left half is now the top.
    top, bottom = stored.convert("RGB").getpixel((15, 5)), stored.convert("RGB").getpixel((15, 55))
    assert top[0] > 200 and top[1] < 60
    assert bottom[1] > 200


def test_a_clean_file_is_kept_byte_for_byte(project, owner) -> None:
    data = image_bytes("JPEG")
    processed = process_image(data)
    assert processed.data == data


def test_thumbnails_are_webp_no_longer_than_320(project) -> None:
    processed = process_image(image_bytes(size=(1600, 900)))
    thumb = Image.open(io.BytesIO(processed.thumbnail))
    assert thumb.format == "WEBP"
    assert thumb.size == (320, 180) == (processed.thumbnail_width, processed.thumbnail_height)
    small = process_image(image_bytes(size=(100, 50)))
    assert (small.thumbnail_width, small.thumbnail_height) == (100, 50)  # never enlarged
