"""Image bytes as upstreams wrap them: base64 text and data URLs. Deciding what the bytes are is
media_library/images.py's job (the one image module)."""

from __future__ import annotations

import binascii

from .errors import BadResponseError


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
