"""Project workflows that span models or storage."""

from __future__ import annotations

from dataclasses import dataclass

from django.contrib.auth.models import User

from .models import Membership, Project


@dataclass(frozen=True)
class ProjectContents:
    """What deleting a project takes with it, for the confirmation page."""

    documents: int
    elements: int
    media_items: int
    members: int


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
