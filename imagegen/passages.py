"""Illustrate this passage: a document's paragraph (or the words chosen in it) as the scene of a generation.

The dialog opens with the passage as the prompt and each worldbuilding element the passage mentions (by name or
alias: projects.mentions) already given the role its kind suggests. The job remembers the document and paragraph,
so the saved image can be inserted right after that paragraph in one click.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from django.contrib.auth.models import AnonymousUser, User
from django.urls import reverse
from django.utils.html import format_html
from django.utils.http import urlencode

from projects import embeds
from projects.mentions import mentioned
from projects.models import Document, Element, Project

from .config import get_config
from .generate_form import DOCUMENT, PARAGRAPH, element_field_name
from .permissions import can_generate
from .prompts import Role

# The role an element mentioned in a passage starts with; the writer can change it in the dialog.
ROLE_FOR_KIND: dict[str, str] = {
    Element.Kind.CHARACTER: Role.SUBJECT,
    Element.Kind.LOCATION: Role.SETTING,
    Element.Kind.ITEM: Role.REFERENCE,
    Element.Kind.FACTION: Role.REFERENCE,
    Element.Kind.STYLE: Role.STYLE,
    Element.Kind.OTHER: Role.REFERENCE,
}
# The query key for the words chosen in the paragraph (JavaScript sends it; without, the whole paragraph).
PASSAGE = "passage"


class NoSuchPassage(LookupError):
    """The document has no such paragraph (it was edited since the page was loaded)."""


def passage_initial(*, document: Document, paragraph: int, passage: str = "") -> dict[str, Any]:
    """The dialog's starting values for a passage: the words chosen in paragraph `paragraph` (1 is the first), or
    the whole paragraph, as the prompt; the elements it mentions in their roles; where the image belongs."""
    found = embeds.paragraph(document.body, paragraph)
    if found is None:
        raise NoSuchPassage(paragraph)
    text = " ".join(passage.split()) or found.text
    initial: dict[str, Any] = {"prompt": text, DOCUMENT: document.pk, PARAGRAPH: paragraph}
    for element in mentioned(text, list(document.project.elements.all())):
        initial[element_field_name(element)] = ROLE_FOR_KIND.get(element.kind, Role.REFERENCE)
    return initial


def illustrate_url(project: Project, document: Document, paragraph: int) -> str:
    query = urlencode({DOCUMENT: document.pk, PARAGRAPH: paragraph})
    return f"{reverse('imagegen:dialog', kwargs={'slug': project.slug})}?{query}"


def illustrate_links(
    *, project: Project, document: Document, user: User | AnonymousUser, can_edit: bool
) -> Callable[[embeds.Paragraph], str] | None:
    """What the document page puts after each paragraph: an "Illustrate" link opening the dialog on it, for those
    who may generate here and now; None for anyone else. The stylesheet sets it beside its paragraph as a ✦, shown
    on hover or focus where there is a pointer that hovers, always on a touch screen (static/css/inkweld.css)."""
    if not (can_edit and can_generate(user) and get_config().generation_available()):
        return None

    def link(paragraph: embeds.Paragraph) -> str:
        url = illustrate_url(project, document, paragraph.number)
        return str(
            format_html(
                '<p class="illustrate"><a class="illustrate-link" href="{}" hx-get="{}" '
                'hx-target="#generate-dialog-body" hx-swap="innerHTML" data-dialog="generate-dialog" '
                'data-needs-online aria-haspopup="dialog" aria-label="Illustrate paragraph {}" '
                'title="Illustrate this paragraph">'
                '<span aria-hidden="true">✦</span><span class="illustrate-word"> Illustrate</span></a></p>',
                url,
                url,
                paragraph.number,
            )
        )

    return link
