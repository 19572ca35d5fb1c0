"""Large answers: 4 images x ~4 MB, decoded within a stated memory bound.

The bound: tracemalloc's peak while generating is at most K = 3 times the decoded image bytes. Base64 is 4/3 of
the decoded size, so the JSON body alone is ~1.33x; the provider holds at most two forms of it at once (bytes then
text, text then parsed strings) and releases each image's base64 as soon as it is decoded. Keeping the raw body,
its text and the parsed JSON alive together, or decoding through base64.b64decode's ASCII copy, breaks the bound.
Pillow's pixel buffers are allocated outside Python's allocator and are not counted (one image at a time).
"""

from __future__ import annotations

import gc
import json
import tracemalloc

from imagegen.providers import GenerationRequest
from imagegen.providers.openai import OpenAIProvider

from .cases import OpenAICase
from .conftest import b64, png

K = 3.0
CASE = OpenAICase()


def test_four_large_images_decode_within_the_bound(rsps, sleeps):
    pictures = [png(1180, 1180) for _ in range(4)]  # noise: ~4.2 MB of PNG each, ~5.6 MB of base64
    decoded = sum(len(p) for p in pictures)
    assert decoded > 16_000_000
    body = json.dumps({"created": 1, "data": [{"b64_json": b64(p)} for p in pictures]}).encode()
    rsps.post(CASE.generate_url, body=body, content_type="application/json")
    provider = OpenAIProvider(CASE.connection(), sleep=sleeps.append)
    request = GenerationRequest(model="gpt-image-2", prompt="p", count=4)

    gc.collect()
    tracemalloc.start()
    try:
        result = provider.generate(request)
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()

    assert [i.data for i in result.images] == pictures
    assert peak <= K * decoded, (
        f"decoded {decoded / 1e6:.1f} MB, body {len(body) / 1e6:.1f} MB, peak {peak / 1e6:.1f} MB = {peak / decoded:.2f}x"
    )
