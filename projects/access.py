"""Who may do what in a project — the one place these rules live.

Three levels, each including the ones before it:

* **view** — the owner, editors and viewers: read every page, see and download media.
* **edit** — the owner and editors: change documents, elements and media, and generate images.
* **manage** — the owner alone: delete the project and choose its members.

Someone with no part in a project gets a 404, never a 403, so that a project's existence does not leak.
A member who tries something above their level gets a 403. Anonymous visitors are sent to sign in
(`project_view` wraps `login_required`).

Other features (image generation) use `get_project_for`, `can_edit` and `project_view`.
"""

from __future__ import annotations

from collections.abc import Callable
from functools import wraps
from typing import Concatenate, Literal, ParamSpec, cast

from django.contrib.auth.decorators import login_required
from django.contrib.auth.models import AnonymousUser, User
from django.core.exceptions import PermissionDenied
from django.db.models import OuterRef, Q, QuerySet, Subquery
from django.http import Http404, HttpRequest, HttpResponseBase

from inkweld.http import AuthenticatedRequest

from .models import Membership, Project

OWNER = "owner"
Level = Literal["view", "edit", "manage"]
AnyUser = User | AnonymousUser
P = ParamSpec("P")


def projects_visible_to(user: AnyUser) -> QuerySet[Project]:
    """Every project the user owns or is a member of (none for anonymous visitors)."""
    if not user.is_authenticated:
        return Project.objects.none()
    return Project.objects.filter(Q(owner=user) | Q(memberships__user=user)).distinct()


def role_of(user: AnyUser, project: Project) -> str | None:
    """'owner', 'editor', 'viewer', or None when the user has no part in the project.

    Uses the role that `get_project_for` annotated on the project when there is one, so checks in
    templates and views cost no queries.
    """
    if not user.is_authenticated:
        return None
    if project.owner_id == user.pk:
        return OWNER
    if hasattr(project, "member_role"):
        return project.member_role
    return Membership.objects.filter(project=project, user=user).values_list("role", flat=True).first()


def can_view(user: AnyUser, project: Project) -> bool:
    return role_of(user, project) is not None


def can_edit(user: AnyUser, project: Project) -> bool:
    """True for the owner and editors: they change content and media and may generate images."""
    return role_of(user, project) in {OWNER, Membership.Role.EDITOR}


def can_manage(user: AnyUser, project: Project) -> bool:
    """True for the owner alone: deleting the project and choosing its members."""
    return role_of(user, project) == OWNER


def get_project_for(
    request_or_user: HttpRequest | AnyUser, slug: str, *, edit: bool = False, manage: bool = False
) -> Project:
    """The project at `slug` if the user may see it, in one query.

    Raises Http404 when the project does not exist *or* the user has no part in it (no existence leak), and
    PermissionDenied when a member asks for more than their role allows (`edit=True` for editors and the
    owner, `manage=True` for the owner). The project comes with `owner` and `cover` loaded and the user's
    role in `project.member_role`.
    """
    user = request_or_user if isinstance(request_or_user, User | AnonymousUser) else request_or_user.user
    if not user.is_authenticated:
        raise Http404("No such project.")
    role = Membership.objects.filter(project=OuterRef("pk"), user=user).values("role")[:1]
    project = (
        Project.objects.select_related("owner", "cover")
        .annotate(member_role=Subquery(role))
        .filter(slug=slug)
        .first()
    )
    if project is None or not can_view(user, project):
        raise Http404("No such project.")
    if manage and not can_manage(user, project):
        raise PermissionDenied("Only the project's owner can do that.")
    if edit and not can_edit(user, project):
        raise PermissionDenied("Viewers can read this project but not change it.")
    return project


def project_view(
    level: Level = "view",
) -> Callable[
    [Callable[Concatenate[AuthenticatedRequest, Project, P], HttpResponseBase]],
    Callable[Concatenate[HttpRequest, str, P], HttpResponseBase],
]:
    """Decorate a view taking `(request, project, **kwargs)` for a URL with a `slug`.

    Anonymous visitors are redirected to sign in; everyone else gets the project checked at `level`
    ("view", "edit" or "manage") by `get_project_for`.
    """

    def decorator(
        view: Callable[Concatenate[AuthenticatedRequest, Project, P], HttpResponseBase],
    ) -> Callable[Concatenate[HttpRequest, str, P], HttpResponseBase]:
        @login_required
        @wraps(view)
        def wrapper(request: HttpRequest, slug: str, *args: P.args, **kwargs: P.kwargs) -> HttpResponseBase:
            project = get_project_for(request, slug, edit=level == "edit", manage=level == "manage")
            # login_required let only a signed-in user through; django-htmx's middleware set `htmx`.
            return view(cast(AuthenticatedRequest, request), project, *args, **kwargs)

        return wrapper

    return decorator
