"""Image bytes as upstreams wrap them: base64 text and data URLs. Deciding what the bytes are is
media_library/images.py's job (the one image module)."""

from __future__ import annotations

import binascii

from media_library.images import ImageRejected, sniff

from .errors import BadResponseError
from .results import Preview


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


# A preview is a glimpse for the open dialog: one bigger than this is dropped rather than passed around.
MAX_PREVIEW_BYTES = 4 * 1024 * 1024


def preview_from_base64(text: object) -> Preview | None:
    """A live preview as an upstream sends it (base64, maybe a data URL), or None when there is none or it is not
    an image we show. A bad preview never fails the job: the final image is what counts."""
    if not isinstance(text, str) or not text:
        return None
    if text.startswith("data:"):
        try:
            text = split_data_url(text)[1]
        except BadResponseError:
            return None
    if len(text) > MAX_PREVIEW_BYTES * 4 // 3 + 4:
        return None
    try:
        return preview_from_bytes(decode_base64(text))
    except BadResponseError:
        return None


def preview_from_bytes(data: bytes) -> Preview | None:
    """Image bytes as a live preview, or None when they are too big or not an image we show."""
    if len(data) > MAX_PREVIEW_BYTES:
        return None
    try:
        fmt = sniff(data)
    except ImageRejected:
        return None
    return Preview(image=data, content_type=fmt.content_type)
