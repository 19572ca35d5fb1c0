"""Images in documents: the embed syntax, and turning a document body into safe HTML.

A document body is plain text. An image from the project's media library is embedded by a line of its own::

    [[image:42]]
    [[image:42|The harbour at dawn]]

where 42 is the media item's number (shown on its page in the Media tab) and the optional text after ``|`` is a
caption. Blank lines separate paragraphs; single line breaks are kept. Everything else is shown exactly as typed:
the body is escaped, so HTML in it is text, never markup.

An embed whose image was deleted, or that names an image from another project, renders as a small
"image removed" note rather than failing. A line that only looks like an embed — a number with more digits than
a database id can hold, digits other than 0-9 — is not an embed: it is shown as the text it is and never reaches a
query as an id.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from typing import TYPE_CHECKING

from django.utils.html import escape, format_html
from django.utils.safestring import SafeString, mark_safe

if TYPE_CHECKING:
    from media_library.models import MediaItem

# At most 18 ASCII digits: every such number fits a 64-bit database integer (SQLite's and PostgreSQL's bigint),
# and int() of it is cheap. `\d` would also take other scripts' digits, which a writer never types as an id.
MAX_ID_DIGITS = 18
# `\r` before the line end: bodies saved from a browser's textarea arrive with CRLF line endings.
EMBED_LINE = re.compile(
    rf"^[ \t]*\[\[image:([0-9]{{1,{MAX_ID_DIGITS}}})(?:\|([^\]\r\n]*))?\]\][ \t\r]*$", re.MULTILINE
)
HELP_TEXT = (
    "Plain text. Leave a blank line between paragraphs. To show an image from the Media tab, put "
    "<code>[[image:42]]</code> on a line of its own (42 is the image's number, shown on its page), "
    "or <code>[[image:42|a caption]]</code>."
)


@dataclass(frozen=True)
class Paragraph:
    """A paragraph of text in a body: its number (1 for the first; embeds are not counted) and its lines."""

    number: int
    lines: tuple[str, ...]
    # The index, in the body's lines, of the line just after the paragraph: where an embed after it goes.
    end: int

    @property
    def text(self) -> str:
        return "\n".join(line.strip() for line in self.lines)


def _blocks(lines: list[str]) -> Iterator[Paragraph | re.Match[str]]:
    """The body's paragraphs and embed lines, in order: how the document page shows it and how a place in it is
    named ("after paragraph 3"), so the two cannot disagree."""
    paragraph: list[str] = []
    number = 0
    for index, line in enumerate(lines):
        match = EMBED_LINE.fullmatch(line)
        if match is None and line.strip():
            paragraph.append(line)
            continue
        if paragraph:
            number += 1
            yield Paragraph(number, tuple(paragraph), index)
            paragraph = []
        if match is not None:
            yield match
    if paragraph:
        yield Paragraph(number + 1, tuple(paragraph), len(lines))


def paragraphs(body: str) -> list[Paragraph]:
    return [block for block in _blocks(body.splitlines()) if isinstance(block, Paragraph)]


def paragraph(body: str, number: int) -> Paragraph | None:
    return next((p for p in paragraphs(body) if p.number == number), None)


def embed_line(media_id: int, caption: str = "") -> str:
    caption = caption.replace("]", "").replace("\r", " ").replace("\n", " ").strip()
    return f"[[image:{media_id}|{caption}]]" if caption else f"[[image:{media_id}]]"


def embedded_ids(body: str) -> list[int]:
    """The media ids a body embeds, in order of first appearance."""
    return list(dict.fromkeys(int(m.group(1)) for m in EMBED_LINE.finditer(body)))


def body_embeds(body: str, media_id: int) -> bool:
    return media_id in embedded_ids(body)


def append_embed(body: str, media_id: int, caption: str = "") -> str:
    """The body with an embed line added at the end, as its own paragraph."""
    body = body.rstrip()
    return f"{body}\n\n{embed_line(media_id, caption)}\n" if body else f"{embed_line(media_id, caption)}\n"


def insert_embed_after_paragraph(body: str, number: int, media_id: int, caption: str = "") -> str:
    """The body with an embed added as its own paragraph right after paragraph `number` (1 is the first); at the
    end when the body has no such paragraph (it was shortened since the writer chose the place)."""
    lines = body.splitlines()
    found = next((p for p in paragraphs(body) if p.number == number), None)
    if found is None:
        return append_embed(body, media_id, caption)
    after = lines[found.end :]
    while after and not after[0].strip():
        after.pop(0)
    rest = ["", *after] if after else []
    return "\n".join([*lines[: found.end], "", embed_line(media_id, caption), *rest]).rstrip("\n") + "\n"


def paragraph_openings(body: str, length: int = 40) -> list[tuple[int, str]]:
    """(number, how it starts) for each paragraph, to choose a place by: (3, "It was the night…")."""
    openings = []
    for paragraph in paragraphs(body):
        text = " ".join(paragraph.text.split())
        openings.append(
            (paragraph.number, text if len(text) <= length else text[: length - 1].rstrip() + "…")
        )
    return openings


def remove_embeds(body: str, media_id: int) -> str:
    """The body without any embed line for `media_id` (used when the image is deleted)."""

    def drop(match: re.Match[str]) -> str:
        return "" if int(match.group(1)) == media_id else match.group(0)

    cleaned = EMBED_LINE.sub(drop, body)
    # Removing a line leaves a gap; collapse runs of blank lines so paragraphs stay as the writer had them.
    return re.sub(r"(?:\r?\n){3,}", "\n\n", cleaned).strip("\r\n") + ("\n" if cleaned.strip() else "")


def render_body(
    body: str,
    items: Iterable[MediaItem],
    image_url: Callable[[MediaItem], str],
    after_paragraph: Callable[[Paragraph], str] | None = None,
) -> SafeString:
    """The body as HTML: escaped paragraphs, and a figure for each embed of one of `items`.

    With `after_paragraph` (safe HTML to put after each paragraph, e.g. an "Illustrate" link), each paragraph is
    numbered (id="paragraph-3", data-paragraph="3") so a passage chosen in it can name its place."""
    by_id = {item.pk: item for item in items}
    blocks: list[str] = []
    for block in _blocks(body.splitlines()):
        if isinstance(block, Paragraph):
            text = "<br>".join(escape(line) for line in block.lines)
            if after_paragraph is None:
                blocks.append(f"<p>{text}</p>")
            else:
                n = block.number
                blocks.append(
                    f'<p id="paragraph-{n}" data-paragraph="{n}">{text}</p>{after_paragraph(block)}'
                )
        else:
            blocks.append(_figure(by_id.get(int(block.group(1))), (block.group(2) or "").strip(), image_url))
    return mark_safe("\n".join(blocks))  # noqa: S308 — every piece above is escaped or built by format_html


def _figure(item: MediaItem | None, caption: str, image_url: Callable[[MediaItem], str]) -> str:
    if item is None:
        return str(
            format_html('<p class="embed-missing">Image removed{}</p>', f" ({caption})" if caption else "")
        )
    # Alt describes the image, the caption names it: the caption is never read twice (once as alt, once as caption).
    alt = item.alt_text or item.title
    if alt.strip() == caption:
        alt = ""
    caption_html = format_html("<figcaption>{}</figcaption>", caption) if caption else ""
    return str(
        format_html(
            '<figure class="doc-figure"><img src="{}" alt="{}" width="{}" height="{}" loading="lazy">{}</figure>',
            image_url(item),
            alt,
            item.width,
            item.height,
            caption_html,
        )
    )
