"""Real images, drawn with Pillow: a gradient, a few shapes and a label, all chosen by a seed.

Each image is visibly its own (the label carries the index and a prompt snippet, the colours come from the
seed) and the same seed always draws the same pixels, the way a real upstream repeats a seeded generation.
`bytes_target` makes heavy images for memory benchmarks: random noise does not compress, so a 3 MB target
gives a ~3 MB PNG (~4 MB of base64), as real upstream images are.
"""

from __future__ import annotations

import base64
import io
import math
import random
import threading
from collections import OrderedDict

from PIL import Image, ImageDraw, ImageFilter, ImageFont, ImageOps
from PIL.PngImagePlugin import PngInfo

MAX_DRAWN_SIDE = 4096  # larger requests are drawn scaled down to fit (4x upscales of 1024 are exact)
# Small enough not to distort memory benchmarks that run the stand-in inside the measured process.
CACHE_BYTES = 64 * 1024 * 1024
# A private, ancillary PNG chunk ("i" ancillary, "n" private, "K" reserved, "w" safe to copy): decoders skip
# it, so it can pad a file to its byte target when the image is too small to hold that much noise.
PAD_CHUNK = b"inKw"

_cache: OrderedDict[tuple, bytes] = OrderedDict()
_cache_size = 0
_cache_lock = threading.Lock()

MEDIA_TYPES = {"png": "image/png", "jpeg": "image/jpeg", "webp": "image/webp"}


def drawn_size(width: int, height: int) -> tuple[int, int]:
    width, height = max(1, width), max(1, height)
    scale = min(1.0, MAX_DRAWN_SIDE / max(width, height))
    return max(1, round(width * scale)), max(1, round(height * scale))


def _colour(rng: random.Random) -> tuple[int, int, int]:
    return (rng.randrange(256), rng.randrange(256), rng.randrange(256))


def draw(width: int, height: int, seed: int, label: str) -> Image.Image:
    rng = random.Random(seed)
    gradient = Image.linear_gradient("L").rotate(rng.randrange(360), expand=False).resize((width, height))
    image = ImageOps.colorize(gradient, _colour(rng), _colour(rng))
    pen = ImageDraw.Draw(image)
    short = min(width, height)
    for _ in range(rng.randrange(3, 8)):
        x, y = rng.randrange(width), rng.randrange(height)
        size = rng.randrange(max(2, short // 10), max(3, short // 3))
        box = [x - size // 2, y - size // 2, x + size // 2, y + size // 2]
        if rng.random() < 0.5:
            pen.ellipse(box, fill=_colour(rng), outline="black", width=max(1, short // 200))
        else:
            pen.rectangle(box, fill=_colour(rng), outline="white", width=max(1, short // 200))
    font = ImageFont.load_default(size=max(10, short // 12))
    margin = max(2, short // 24)
    stroke = max(1, short // 300)
    pen.multiline_text(
        (margin, margin), label, fill="white", font=font, stroke_width=stroke, stroke_fill="black", spacing=4
    )
    return image


def _add_noise(image: Image.Image, seed: int, noise_bytes: int) -> None:
    """Overwrite the bottom rows with noise until about `noise_bytes` of raw pixels are random."""
    width, height = image.size
    rows = min(height, math.ceil(noise_bytes / (width * 3)))
    if rows <= 0:
        return
    noise = Image.frombytes("RGB", (width, rows), random.Random(seed ^ 0x5EED).randbytes(width * rows * 3))
    image.paste(noise, (0, height - rows))


def _encode(image: Image.Image, fmt: str, pad_to: int | None, seed: int) -> bytes:
    out = io.BytesIO()
    if fmt == "jpeg":
        image.save(out, "JPEG", quality=90)
    elif fmt == "webp":
        image.save(out, "WEBP", quality=90)
    else:
        # Level 1 is several times faster than the default; heavy images are mostly noise, which does not
        # shrink at all, so they skip compression (level 0) and halve the time again.
        level = 0 if pad_to else 1
        image.save(out, "PNG", compress_level=level)
        if pad_to is not None and out.tell() < pad_to:
            info = PngInfo()
            # 12 bytes of chunk framing (length, type, CRC) count towards the target too.
            filler = random.Random(seed).randbytes(max(0, pad_to - out.tell() - 12))
            info.add(PAD_CHUNK, filler, after_idat=True)
            out = io.BytesIO()
            image.save(out, "PNG", compress_level=level, pnginfo=info)
    return out.getvalue()


def render(
    width: int,
    height: int,
    seed: int,
    label: str,
    *,
    bytes_target: int | None = None,
    fmt: str = "png",
) -> bytes:
    """The encoded image for these arguments, from the cache when it was drawn before."""
    global _cache_size
    fmt = fmt if fmt in MEDIA_TYPES else "png"
    width, height = drawn_size(width, height)
    key = (width, height, seed, label, bytes_target, fmt)
    with _cache_lock:
        if key in _cache:
            _cache.move_to_end(key)
            return _cache[key]
    image = draw(width, height, seed, label)
    if bytes_target:
        _add_noise(image, seed, bytes_target)
    data = _encode(image, fmt, bytes_target, seed)
    with _cache_lock:
        if key not in _cache:
            _cache[key] = data
            _cache_size += len(data)
            while _cache_size > CACHE_BYTES and len(_cache) > 1:
                _, old = _cache.popitem(last=False)
                _cache_size -= len(old)
    return data


def label_for(index: int, prompt: str, extra: str = "") -> str:
    snippet = " ".join(prompt.split())[:28]
    lines = [f"#{index + 1}", snippet]
    if extra:
        lines.append(extra)
    return "\n".join(line for line in lines if line)


def parse_size(value: object, default: tuple[int, int]) -> tuple[int, int] | None:
    """'1024x1536' → (1024, 1536); 'auto'/None → default; anything malformed → None."""
    if value is None or value == "auto":
        return default
    if not isinstance(value, str):
        return None
    w, sep, h = value.lower().partition("x")
    if not sep or not w.isdigit() or not h.isdigit():
        return None
    return int(w), int(h)


def blur_preview(data: bytes, progress: float) -> bytes:
    """A partial image of `data` at `progress` (0..1): blurred, less as it nears the end; same format."""
    image = Image.open(io.BytesIO(data))
    fmt = image.format or "PNG"
    image = image.convert("RGB")
    image.thumbnail((512, 512))
    radius = max(0.0, (1.0 - progress) * 12)
    out = io.BytesIO()
    image.filter(ImageFilter.GaussianBlur(radius)).save(out, fmt, **({"quality": 80} if fmt != "PNG" else {}))
    return out.getvalue()


def preview_of(width: int, height: int, seed: int, label: str, progress: float) -> Image.Image:
    """A live preview while a job runs: the final picture, small and blurred by what is left to do."""
    small_w, small_h = drawn_size(width, height)
    scale = min(1.0, 256 / max(small_w, small_h))
    image = draw(max(1, round(small_w * scale)), max(1, round(small_h * scale)), seed, label)
    return image.filter(ImageFilter.GaussianBlur(max(0.0, (1.0 - progress) * 8)))


def encode_png_b64(image: Image.Image) -> str:
    out = io.BytesIO()
    image.save(out, "PNG", compress_level=1)
    return base64.b64encode(out.getvalue()).decode("ascii")
