"""Project workflows that span models or storage."""

from __future__ import annotations

from dataclasses import dataclass

from django.contrib.auth.models import User

from .embeds import paragraph_openings
from .models import Document, Membership, Project


@dataclass(frozen=True)
class ProjectContents:
    """What deleting a project takes with it, for the confirmation page."""

    documents: int
    elements: int
    media_items: int
    members: int


@dataclass(frozen=True)
class DocumentPlaces:
    """A document as a place to insert an image: after one of its paragraphs (number, how it starts) or at the end."""

    pk: int
    title: str
    places: list[tuple[int, str]]
    starts_here: bool  # the menu starts at the end of this one


def document_places(project: Project, *, start: int | None = None) -> list[DocumentPlaces]:
    """Every document of the project with the places an image can go, for the Insert menus (the Generate dialog's
    and the image page's offer the same choices). The menu starts on document `start` (a passage's own document)
    when it is still there, else on the first."""
    documents = list(Document.objects.filter(project=project).only("pk", "title", "body"))
    pks = [d.pk for d in documents]
    first = start if start in pks else next(iter(pks), None)
    return [DocumentPlaces(d.pk, d.title, paragraph_openings(d.body), d.pk == first) for d in documents]


def project_contents(project: Project) -> ProjectContents:
    return ProjectContents(
        documents=project.documents.count(),
        elements=project.elements.count(),
        media_items=project.media_items.count(),
        members=project.memberships.count(),
    )


def project_create(*, owner: User, title: str, description: str = "") -> Project:
    return Project.objects.create(
        owner=owner, title=title, description=description, slug=Project.unique_slug_for(title)
    )


def project_delete(*, project: Project) -> None:
    """Delete the project with its documents, elements, memberships and media.

    The media files go with their rows: media_library.signals removes them once the deletion is committed.
    """
    project.delete()


def membership_set(*, project: Project, user: User, role: str) -> tuple[Membership, bool]:
    """Add the user to the project with `role`, or change the role of an existing member."""
    membership, created = Membership.objects.update_or_create(
        project=project, user=user, defaults={"role": role}
    )
    return membership, created
