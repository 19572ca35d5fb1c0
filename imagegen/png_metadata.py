"""Write generation parameters into a PNG's text chunk, as Stable Diffusion tools do.

AUTOMATIC1111 and the tools around it read a "parameters" text chunk shaped like:

    <prompt>
    Negative prompt: <negative prompt>
    Steps: 30, Sampler: Euler a, CFG scale: 7, Seed: 1234, Size: 512x512, Model: v1-5-pruned-emaonly

We add the chunk without re-encoding the pixels: the image data stays byte-for-byte what the provider sent.
"""

from __future__ import annotations

import struct
import zlib
from collections.abc import Mapping
from typing import Any

PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"


def parameters_text(generation: Mapping[str, Any]) -> str:
    """The A1111-style parameters text for a saved image's generation metadata."""
    lines = [str(generation.get("composed_prompt") or generation.get("prompt") or "")]
    if generation.get("negative_prompt"):
        lines.append(f"Negative prompt: {generation['negative_prompt']}")
    fields = []
    options = generation.get("options") or {}
    for label, value in (
        ("Steps", options.get("steps")),
        ("Seed", generation.get("seed")),
        ("Size", generation.get("size")),
        ("Quality", options.get("quality")),
        ("Style", options.get("style")),
        ("Model", generation.get("model")),
        ("Provider", generation.get("provider")),
    ):
        if value not in (None, ""):
            fields.append(f"{label}: {value}")
    if fields:
        lines.append(", ".join(fields))
    return "\n".join(lines)


def _chunk(kind: bytes, data: bytes) -> bytes:
    return (
        struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data) & 0xFFFFFFFF)
    )


def add_text_chunk(png: bytes, keyword: str, text: str) -> bytes:
    """Return the PNG with an iTXt chunk (UTF-8, uncompressed) inserted before IEND.

    Bytes that are not a PNG come back unchanged: JPEG and WebP carry no such chunk.
    """
    if not png.startswith(PNG_SIGNATURE):
        return png
    iend = png.rfind(b"IEND")
    if iend < 4:
        return png
    start = iend - 4  # the chunk's length field precedes its type
    # iTXt: keyword, NUL, compression flag, compression method, language tag NUL, translated keyword NUL, text.
    payload = keyword.encode("latin-1") + b"\x00\x00\x00" + b"\x00" + b"\x00" + text.encode("utf-8")
    return png[:start] + _chunk(b"iTXt", payload) + png[start:]
