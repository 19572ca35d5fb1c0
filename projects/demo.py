"""The demo project that `manage.py seed_demo` gives the `writer` account."""

from __future__ import annotations

import io
import math

from django.contrib.auth.models import User
from django.db import transaction
from PIL import Image, ImageDraw

from .models import Document, Element, Project

DEMO_SLUG = "demo"

ELEMENTS: list[tuple[str, str, str, list[list[str]]]] = [
    (
        Element.Kind.CHARACTER,
        "Mira Vale",
        "A cartographer who maps other people's dreams. Quiet, precise, stubborn about small things.",
        [
            ["Hair", "silver, cut short"],
            ["Age", "25"],
            ["Eyes", "grey-green"],
            ["Carries", "a brass compass"],
        ],
    ),
    (
        Element.Kind.LOCATION,
        "The Drowned Library",
        "Half-submerged stacks lit by green lanterns; the lower floors are reached by boat.",
        [["Light", "green lanterns"], ["Sound", "water lapping at shelves"]],
    ),
    (
        Element.Kind.ITEM,
        "The Brass Compass",
        "Its needle points at whatever you lost most recently.",
        [["Material", "tarnished brass"]],
    ),
    (
        Element.Kind.STYLE,
        "Ink wash",
        "Loose brush strokes in muted indigo on warm paper, soft edges, lots of empty space.",
        [["Palette", "indigo, sepia, paper white"]],
    ),
]

DOCUMENT_BODY = """Mira rowed in under the arch as the lanterns came on, one by one, green as bottle glass.

The compass in her pocket had stopped spinning. Whatever she had lost was here, somewhere between the third and \
fourth floors, where the water met the spines of the oldest atlases.

{cover}

She tied the boat to a reading lamp and began to read the shelves the way other people read faces.
"""


def _cover_png() -> bytes:
    """A small ink-wash-like picture drawn here, so the demo needs no files and no network."""
    width, height = 960, 600
    image = Image.new("RGB", (width, height), (250, 246, 238))
    draw = ImageDraw.Draw(image)
    for y in range(height):  # dusk sky fading into paper
        t = y / height
        draw.line([(0, y), (width, y)], fill=(int(47 + 200 * t), int(75 + 170 * t), int(143 + 95 * t)))
    for i in range(7):  # shelves rising out of the water
        x = 80 + i * 120
        top = 200 + int(60 * math.sin(i))
        draw.rectangle([x, top, x + 70, 470], fill=(34, 45, 80))
        for row in range(top + 20, 470, 28):
            draw.line([(x + 6, row), (x + 64, row)], fill=(90, 160, 110), width=3)
    draw.rectangle([0, 430, width, height], fill=(38, 70, 96))
    for i in range(12):  # reflections
        draw.line(
            [(60 + i * 75, 470 + i % 3 * 30), (120 + i * 75, 470 + i % 3 * 30)], fill=(120, 190, 150), width=2
        )
    out = io.BytesIO()
    image.save(out, format="PNG")
    return out.getvalue()


@transaction.atomic
def seed_demo_project(writer: User) -> bool:
    """Create the `demo` project for `writer`; True when created, False when it already existed."""
    from media_library.services import media_item_create_from_bytes  # media_library imports projects

    if Project.objects.filter(slug=DEMO_SLUG).exists():
        return False
    project = Project.objects.create(
        owner=writer,
        slug=DEMO_SLUG,
        title="The Drowned Library",
        description="A cartographer of dreams, a library under water, and a compass that finds what you lost.",
    )
    cover, _ = media_item_create_from_bytes(
        project=project,
        data=_cover_png(),
        created_by=writer,
        title="The Drowned Library at dusk",
        alt_text="Dark bookshelves rising from still water under a dusk sky, green lights along the shelves.",
    )
    project.cover = cover
    project.save(update_fields=["cover"])
    for kind, name, description, attributes in ELEMENTS:
        element = Element.objects.create(
            project=project, kind=kind, name=name, description=description, attributes=attributes
        )
        if kind == Element.Kind.LOCATION:
            element.image = cover
            element.save(update_fields=["image"])
    Document.objects.create(
        project=project,
        title="Chapter One: The Arch",
        order=1,
        body=DOCUMENT_BODY.format(cover=f"[[image:{cover.pk}|The library at dusk]]"),
    )
    Document.objects.create(
        project=project, title="Notes", order=2, body="Who drew the first map of the library?\n"
    )
    return True
