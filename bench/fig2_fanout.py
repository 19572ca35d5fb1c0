"""Figure 2 — fan-out: 4 images from a one-image-per-request model (DALL·E 3) ÷ 1 image, same upstream delay.

Each request to the stand-in takes UPSTREAM_S; four images are four requests, which the provider sends in
parallel. Sequential calls would make the ratio about 4.
"""

from __future__ import annotations

from .harness import Stack
from .results import Figure
from .writer import submit_and_wait

UPSTREAM_S = 2.0


def fields(count: int) -> dict[str, object]:
    return {
        "provider": "openai",
        "model": "dall-e-3",
        "prompt": "A map of the drowned city, inked on vellum",
        "size": "1024x1024",
        "quality": "standard",
        "style": "vivid",
        "count": count,
    }


def run(stack: Stack, runs: int = 5) -> Figure:
    figure = Figure("fanout", "Fan-out (DALL·E 3, 4 images)", "4 images ÷ 1 image", "≤ 1.2", limit=1.2)
    stack.standin.script(family="openai", delay=UPSTREAM_S)
    browser = stack.browser()
    submit_and_wait(browser, stack.slug, fields(1))  # warm
    one, four = [], []
    for _ in range(runs):
        times = {}
        for count in (1, 4):
            stack.wait_idle()
            done = submit_and_wait(browser, stack.slug, fields(count))
            if done.status != "succeeded" or done.candidates != count:
                raise RuntimeError(f"figure 2: job ended {done.status} with {done.candidates} of {count}")
            times[count] = done.elapsed
        one.append(round(times[1], 3))
        four.append(round(times[4], 3))
        figure.samples.append(times[4] / times[1])
    figure.details = {"upstream_s": UPSTREAM_S, "one_image_s": one, "four_images_s": four}
    return figure
