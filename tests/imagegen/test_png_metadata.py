import io

from PIL import Image

from imagegen.png_metadata import add_text_chunk, parameters_text
from tests.fixtures_projects import image_bytes


def test_parameters_chunk_is_readable_by_image_tools_and_pixels_are_unchanged():
    png = image_bytes("PNG", (32, 16))
    text = parameters_text(
        {
            "composed_prompt": "A lighthouse — at dusk",
            "negative_prompt": "blurry",
            "seed": 42,
            "size": "32x16",
            "model": "sd-1.5",
            "provider": "stable-diffusion",
            "options": {"steps": 20},
        }
    )
    assert text == (
        "A lighthouse — at dusk\nNegative prompt: blurry\n"
        "Steps: 20, Seed: 42, Size: 32x16, Model: sd-1.5, Provider: stable-diffusion"
    )
    tagged = add_text_chunk(png, "parameters", text)
    image = Image.open(io.BytesIO(tagged))
    image.load()  # the CRCs are right, or Pillow refuses
    assert image.text["parameters"] == text
    assert image.tobytes() == Image.open(io.BytesIO(png)).tobytes()


def test_non_png_bytes_come_back_unchanged():
    jpeg = image_bytes("JPEG")
    assert add_text_chunk(jpeg, "parameters", "x") == jpeg
