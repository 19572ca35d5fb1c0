"""Turning what an upstream sent into checked image bytes: base64, data URLs, and Pillow's verdict."""

from __future__ import annotations

import binascii
import io
import warnings
from dataclasses import dataclass

from PIL import Image, UnidentifiedImageError

from .errors import BadResponseError

CONTENT_TYPES = {"PNG": "image/png", "JPEG": "image/jpeg", "WEBP": "image/webp", "GIF": "image/gif"}


@dataclass(frozen=True)
class ImageInfo:
    format: str
    content_type: str
    width: int
    height: int


def inspect_image(data: bytes) -> ImageInfo:
    """Decode the image fully with Pillow: the only proof that the bytes are a whole, usable picture.

    `verify()` checks the container (PNG chunk CRCs, a missing end); `load()` then decodes the pixels, which is
    what catches a truncated JPEG or zlib stream. Pillow's pixel buffer lives outside Python's allocator and is
    released as soon as the image object goes.
    """
    if not data:
        raise BadResponseError(reason="an empty image")
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("error", Image.DecompressionBombWarning)
            with Image.open(io.BytesIO(data)) as probe:
                probe.verify()
            with Image.open(io.BytesIO(data)) as img:
                fmt = img.format or ""
                width, height = img.size
                img.load()
    except UnidentifiedImageError as exc:
        raise BadResponseError(reason="the data is not an image") from exc
    except (Image.DecompressionBombError, Image.DecompressionBombWarning) as exc:
        raise BadResponseError(reason="the image is implausibly large") from exc
    except (OSError, SyntaxError, ValueError, EOFError) as exc:
        raise BadResponseError(reason="the image is truncated or corrupt") from exc
    if fmt not in CONTENT_TYPES:
        raise BadResponseError(reason=f"an unsupported image format ({fmt or 'unknown'})")
    return ImageInfo(format=fmt, content_type=CONTENT_TYPES[fmt], width=width, height=height)


@dataclass(frozen=True)
class ImageKind:
    content_type: str
    extension: str


def image_kind(data: bytes) -> ImageKind:
    """What an image we hold is, from its header (it was checked when it was stored)."""
    with Image.open(io.BytesIO(data)) as image:
        fmt = image.format or "PNG"
    return ImageKind(CONTENT_TYPES.get(fmt, "image/png"), {"JPEG": "jpg"}.get(fmt, fmt.lower()))


def upload_ready(data: bytes) -> bytes:
    """An image from the library as upstreams take it: PNG, JPEG and WebP as they are, anything else (a GIF) as a
    PNG of its first frame. The edit APIs take those three formats only."""
    with Image.open(io.BytesIO(data)) as image:
        if image.format in ("PNG", "JPEG", "WEBP"):
            return data
        image.seek(0)
        out = io.BytesIO()
        image.convert("RGBA" if "transparency" in image.info else "RGB").save(out, format="PNG")
        return out.getvalue()


def decode_base64(text: str) -> bytes:
    """Base64 text → bytes without the extra ASCII copy base64.b64decode makes of a str argument.

    binascii reads an ASCII str in place. Non-strict mode skips line breaks some gateways insert; anything
    corrupted beyond that is caught when Pillow decodes the result.
    """
    if not isinstance(text, str) or not text:
        raise BadResponseError(reason="no image data")
    try:
        return binascii.a2b_base64(text)
    except (binascii.Error, ValueError) as exc:
        raise BadResponseError(reason="the image data is not valid base64") from exc


def split_data_url(url: str) -> tuple[str, str]:
    """`data:image/png;base64,XXXX` → ("image/png", "XXXX")."""
    if not isinstance(url, str) or not url.startswith("data:"):
        raise BadResponseError(reason="the image is not a data URL")
    header, sep, payload = url.partition(",")
    if not sep or not header.endswith(";base64"):
        raise BadResponseError(reason="the image data URL is not base64")
    return header[5:].split(";", 1)[0], payload
