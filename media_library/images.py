"""Decoding, checking and normalising image bytes, and making thumbnails. No database, no storage.

What a file *is* is decided by decoding it with Pillow — never by its name or declared type. Accepted formats are
PNG, JPEG, WebP and GIF. Before anything is stored the image is turned upright (EXIF orientation) and its GPS
location is removed; files that need neither are kept byte for byte.
"""

from __future__ import annotations

import hashlib
import io
import warnings
from dataclasses import dataclass

from django.conf import settings
from django.template.defaultfilters import filesizeformat
from PIL import Image, ImageOps, UnidentifiedImageError

FORMATS = {"PNG": "image/png", "JPEG": "image/jpeg", "WEBP": "image/webp", "GIF": "image/gif"}
EXTENSIONS = {"PNG": "png", "JPEG": "jpg", "WEBP": "webp", "GIF": "gif"}
THUMBNAIL_LONG_SIDE = 320
_ORIENTATION = 0x0112
_GPS_IFD = 0x8825


class ImageRejected(ValueError):
    """The bytes are not an image we keep. The message is written for the writer and says what to do."""


@dataclass(frozen=True)
class ProcessedImage:
    data: bytes  # what to store: the original bytes, or the upright, GPS-free re-encoding
    content_type: str
    extension: str
    width: int
    height: int
    sha256: str  # of `data`
    thumbnail: bytes  # WebP
    thumbnail_width: int
    thumbnail_height: int


def process_image(data: bytes, *, max_bytes: int | None = None) -> ProcessedImage:
    """Check and normalise an image. Raises ImageRejected with a message for the writer.

    `max_bytes` defaults to MEDIA_MAX_UPLOAD_BYTES (the limit writers see for uploads).
    """
    max_bytes = max_bytes if max_bytes is not None else settings.MEDIA_MAX_UPLOAD_BYTES
    if len(data) > max_bytes:
        raise ImageRejected(
            f"It is larger than the {filesizeformat(max_bytes)} limit; make it smaller and try again."
        )
    if not data:
        raise ImageRejected("The file is empty.")
    image = _open(data)
    try:
        needs_rewrite = _needs_rewrite(image)
        if needs_rewrite:
            data = _rewrite(image)
            image.close()
            image = _open(data)
        thumb, thumb_w, thumb_h = _thumbnail(image)
        return ProcessedImage(
            data=data,
            content_type=FORMATS[image.format],
            extension=EXTENSIONS[image.format],
            width=image.width,
            height=image.height,
            sha256=hashlib.sha256(data).hexdigest(),
            thumbnail=thumb,
            thumbnail_width=thumb_w,
            thumbnail_height=thumb_h,
        )
    finally:
        image.close()


def _open(data: bytes) -> Image.Image:
    """Open and fully decode the image, rejecting anything we do not keep."""
    max_pixels: int = settings.MEDIA_MAX_PIXELS
    try:
        # Pillow's own bomb guard only warns below twice its limit; make a warning a refusal.
        with warnings.catch_warnings():
            warnings.simplefilter("error", Image.DecompressionBombWarning)
            image = Image.open(io.BytesIO(data), formats=list(FORMATS))
            if image.width * image.height > max_pixels:
                image.close()
                raise ImageRejected(
                    f"It is {image.width} by {image.height} pixels, more than the {max_pixels:,} pixels allowed; "
                    "scale it down and try again."
                )
            image.load()  # decodes the pixels: a truncated or corrupt file fails here
    except ImageRejected:
        raise
    except (Image.DecompressionBombError, Image.DecompressionBombWarning) as exc:
        raise ImageRejected("It has too many pixels to open safely; scale it down and try again.") from exc
    except UnidentifiedImageError as exc:
        raise ImageRejected("It is not a PNG, JPEG, WebP or GIF image.") from exc
    except (OSError, SyntaxError, ValueError) as exc:
        raise ImageRejected(
            "The image is incomplete or damaged and cannot be read; export it again and retry."
        ) from exc
    if image.format not in FORMATS:  # pragma: no cover — `formats=` above already limits this
        image.close()
        raise ImageRejected("It is not a PNG, JPEG, WebP or GIF image.")
    return image


def _needs_rewrite(image: Image.Image) -> bool:
    if getattr(image, "n_frames", 1) > 1:
        # Animations are kept as they are: re-encoding would lose frames, and they rarely carry EXIF.
        return False
    exif = image.getexif()
    xmp = image.info.get("xmp") or b""
    gps_in_xmp = b"GPS" in (xmp.encode() if isinstance(xmp, str) else xmp)
    return exif.get(_ORIENTATION, 1) != 1 or _GPS_IFD in exif or gps_in_xmp


def _rewrite(image: Image.Image) -> bytes:
    """Re-encode upright, in the same format, without GPS (and without XMP, which can hold it too)."""
    upright = ImageOps.exif_transpose(image)  # also removes the orientation tag
    exif = upright.getexif()
    exif.pop(_GPS_IFD, None)
    exif.pop(_ORIENTATION, None)
    options: dict[str, object] = {"exif": exif.tobytes()}
    if icc := image.info.get("icc_profile"):
        options["icc_profile"] = icc
    fmt = image.format
    if fmt == "JPEG":
        options.update(quality=95, subsampling=0)
        if upright.mode not in {"RGB", "L", "CMYK"}:
            upright = upright.convert("RGB")
    elif fmt == "WEBP":
        options.update(quality=95)
    out = io.BytesIO()
    upright.save(out, format=fmt, **options)
    return out.getvalue()


def _thumbnail(image: Image.Image) -> tuple[bytes, int, int]:
    """A WebP whose long side is at most THUMBNAIL_LONG_SIDE pixels (never enlarged)."""
    image.seek(0)
    has_alpha = image.mode in {"RGBA", "LA", "PA"} or (image.mode == "P" and "transparency" in image.info)
    thumb = image.convert("RGBA" if has_alpha else "RGB")
    thumb.thumbnail((THUMBNAIL_LONG_SIDE, THUMBNAIL_LONG_SIDE), Image.Resampling.LANCZOS)
    out = io.BytesIO()
    thumb.save(out, format="WEBP", quality=82, method=4)
    return out.getvalue(), thumb.width, thumb.height
