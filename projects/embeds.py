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
from collections.abc import Callable, Iterable
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


PARAGRAPH_BREAK = re.compile(r"(?:[ \t]*\r?\n){2,}")


def paragraphs(body: str) -> list[str]:
    """The body's paragraphs (blocks between blank lines), as typed."""
    return [p for p in PARAGRAPH_BREAK.split(body.strip("\r\n")) if p.strip()]


def paragraph_openings(body: str, length: int = 40) -> list[str]:
    """How each paragraph starts, to choose a place by ("It was the night…"); an embedded image as "an image"."""
    openings = []
    for paragraph in paragraphs(body):
        text = " ".join(paragraph.split())
        if EMBED_LINE.fullmatch(paragraph.strip()):
            openings.append("an image")
        else:
            openings.append(text if len(text) <= length else text[: length - 1].rstrip() + "…")
    return openings


def insert_embed(body: str, media_id: int, caption: str = "", *, after: int | None = None) -> str:
    """The body with an embed line as a paragraph of its own after paragraph `after` (0-based), or at the end
    when `after` is None or past the last one. The other paragraphs are kept exactly as typed."""
    blocks = paragraphs(body)
    if after is None or after >= len(blocks) - 1:
        return append_embed(body, media_id, caption)
    blocks.insert(after + 1, embed_line(media_id, caption))
    return "\n\n".join(blocks) + "\n"


def remove_embeds(body: str, media_id: int) -> str:
    """The body without any embed line for `media_id` (used when the image is deleted)."""

    def drop(match: re.Match[str]) -> str:
        return "" if int(match.group(1)) == media_id else match.group(0)

    cleaned = EMBED_LINE.sub(drop, body)
    # Removing a line leaves a gap; collapse runs of blank lines so paragraphs stay as the writer had them.
    return re.sub(r"(?:\r?\n){3,}", "\n\n", cleaned).strip("\r\n") + ("\n" if cleaned.strip() else "")


def render_body(body: str, items: Iterable[MediaItem], image_url: Callable[[MediaItem], str]) -> SafeString:
    """The body as HTML: escaped paragraphs, and a figure for each embed of one of `items`."""
    by_id = {item.pk: item for item in items}
    blocks: list[str] = []
    paragraph: list[str] = []

    def flush() -> None:
        if paragraph:
            blocks.append("<p>" + "<br>".join(escape(line) for line in paragraph) + "</p>")
            paragraph.clear()

    for line in body.splitlines():
        match = EMBED_LINE.fullmatch(line)
        if match:
            flush()
            blocks.append(_figure(by_id.get(int(match.group(1))), (match.group(2) or "").strip(), image_url))
        elif line.strip():
            paragraph.append(line)
        else:
            flush()
    flush()
    return mark_safe("\n".join(blocks))  # noqa: S308 — every piece above is escaped or built by format_html


def _figure(item: MediaItem | None, caption: str, image_url: Callable[[MediaItem], str]) -> str:
    if item is None:
        return str(
            format_html('<p class="embed-missing">Image removed{}</p>', f" ({caption})" if caption else "")
        )
    alt = item.alt_text or caption or item.title
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
