"""Masks: where an edit may repaint. Kept in one convention, converted for each upstream when it is sent.

**The convention** (the dialog's painter, `imagegen edit --mask`, the job record, every provider's request): a PNG
exactly the size of the image being edited, whose **transparent** pixels mark what to repaint. A pixel counts as
transparent when its alpha is under half, so a painter's soft brush edge or a file whose "fully transparent" area was
drawn with anti-aliasing both mean what they look like. `mask_from_png` checks a mask and stores it binary: fully
transparent where to repaint, fully opaque elsewhere.

**Per upstream** (providers convert when they send):
* OpenAI `/images/edits`: exactly this (a PNG with an alpha channel, transparent = repaint, the first image's size);
* AUTOMATIC1111 / Forge / SD.Next `img2img`: white where to repaint, on black — `white_on_black`;
* ComfyUI: LoadImage reads the alpha channel as its MASK output (1 where transparent), so the stored PNG is uploaded
  as it is;
* OpenRouter: no mask at all (the whole image may change; the dialog says so).

A mask that marks nothing is not an error: it means the whole image may change, and the job says so.
"""

from __future__ import annotations

import base64
import binascii
import io
import re
import warnings
from dataclasses import dataclass

from PIL import Image, UnidentifiedImageError

# A mask is one bit per pixel of the image: even a 3840 × 3840 mask with ragged strokes stays far below this.
MAX_MASK_BYTES = 8 * 1024 * 1024
_DATA_URL = re.compile(r"^data:image/png;base64,(?P<payload>[A-Za-z0-9+/=\s]*)$")
ALPHA_THRESHOLD = 128  # alpha below this: repaint


class MaskRejected(ValueError):
    """The mask cannot be used. The message is for the writer and says what to do."""


@dataclass(frozen=True)
class Mask:
    """A checked mask in the convention: `png` is RGBA, alpha 0 where to repaint and 255 elsewhere."""

    png: bytes
    width: int
    height: int
    repaint_pixels: int

    @property
    def repaint_fraction(self) -> float:
        return self.repaint_pixels / (self.width * self.height)

    def as_data_url(self) -> str:
        return data_url(self.png)


def data_url(png: bytes) -> str:
    """A PNG as the painter's hidden field holds it (Try again fills it with the job's mask)."""
    return "data:image/png;base64," + base64.b64encode(png).decode("ascii")


def _size(width: int, height: int) -> str:
    return f"{width} × {height}"


def png_from_data_url(text: str) -> bytes:
    """The bytes of a `data:image/png;base64,…` URL (what the dialog's painter puts in its hidden field)."""
    match = _DATA_URL.match(text.strip())
    if match is None:
        raise MaskRejected("The painted mask did not arrive as a PNG image. Paint it again, or clear it.")
    try:
        return base64.b64decode(re.sub(r"\s", "", match["payload"]), validate=True)
    except (binascii.Error, ValueError) as exc:
        raise MaskRejected("The painted mask arrived damaged. Paint it again, or clear it.") from exc


def mask_from_png(data: bytes, *, size: tuple[int, int]) -> Mask | None:
    """Check a mask for an image of `size` (width, height) and store it binary; None when it marks nothing.

    Raises MaskRejected (a sentence for the writer) when it is not a PNG, is another size, or has no transparency.
    """
    if len(data) > MAX_MASK_BYTES:
        raise MaskRejected(
            "The mask file is larger than 8 MB; a mask needs one colour and transparency only."
        )
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("error", Image.DecompressionBombWarning)
            image = Image.open(io.BytesIO(data), formats=["PNG"])
            # The size is in the header: a mask of the wrong size is refused before its pixels are decoded.
            if image.size != size:
                raise MaskRejected(
                    f"The mask is {_size(*image.size)} pixels but the image is {_size(*size)}; a mask must be "
                    "exactly the image's size. Paint it again on this image."
                )
            image.load()
    except MaskRejected:
        raise
    except (UnidentifiedImageError, Image.DecompressionBombError, Image.DecompressionBombWarning) as exc:
        raise MaskRejected(
            "The mask must be a PNG image, transparent where the picture should change."
        ) from exc
    except (OSError, SyntaxError, ValueError) as exc:
        raise MaskRejected("The mask image is incomplete or damaged; export it again.") from exc
    if not _has_alpha(image):
        raise MaskRejected(
            "The mask has no transparency, so it cannot mark anything: make the area to change transparent, "
            "or leave the mask out to edit the whole image."
        )
    alpha = image.convert("RGBA").getchannel("A")
    keep = alpha.point(lambda a: 0 if a < ALPHA_THRESHOLD else 255)
    repaint = keep.histogram()[0]
    if repaint == 0:
        return None
    binary = Image.new("RGBA", image.size, (0, 0, 0, 255))
    binary.putalpha(keep)
    out = io.BytesIO()
    binary.save(out, format="PNG", optimize=True)
    return Mask(png=out.getvalue(), width=image.width, height=image.height, repaint_pixels=repaint)


def _has_alpha(image: Image.Image) -> bool:
    if image.mode in ("RGBA", "LA", "PA", "RGBa", "La"):
        return True
    return "transparency" in image.info  # palette or grey/RGB with a tRNS chunk


def white_on_black(mask_png: bytes) -> bytes:
    """The WebUI's mask: a greyscale PNG the same size, white (255) where to repaint, black elsewhere."""
    with Image.open(io.BytesIO(mask_png)) as image:
        alpha = image.convert("RGBA").getchannel("A")
    repaint = alpha.point(lambda a: 255 if a < ALPHA_THRESHOLD else 0)
    out = io.BytesIO()
    repaint.save(out, format="PNG", optimize=True)
    return out.getvalue()
