from __future__ import annotations

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.db.models import Count
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.views.decorators.http import require_GET, require_POST

from inkweld.http import AuthenticatedRequest

from ..access import can_edit, can_manage, project_view, projects_visible_to, role_of
from ..forms import MemberForm, ProjectForm
from ..models import Membership, Project
from ..services import membership_set, project_contents, project_create, project_delete


@login_required
@require_GET
def project_list(request: HttpRequest) -> HttpResponse:
    projects = projects_visible_to(request.user).select_related("owner", "cover").order_by("-updated_at")
    return render(request, "projects/list.html", {"projects": projects})


@login_required
def create(request: AuthenticatedRequest) -> HttpResponse:
    form = ProjectForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        project = project_create(
            owner=request.user, title=form.cleaned_data["title"], description=form.cleaned_data["description"]
        )
        messages.success(request, f"Created “{project.title}”.")
        return redirect(project)
    return render(request, "projects/form.html", {"form": form})


@project_view("view")
@require_GET
def detail(request: HttpRequest, project: Project) -> HttpResponse:
    counts = Project.objects.filter(pk=project.pk).aggregate(
        documents=Count("documents", distinct=True),
        elements=Count("elements", distinct=True),
        media=Count("media_items", distinct=True),
    )
    return render(
        request,
        "projects/detail.html",
        {
            "project": project,
            "tab": "overview",
            "counts": counts,
            "role": role_of(request.user, project),
            "memberships": project.memberships.select_related("user"),
            "can_edit": can_edit(request.user, project),
            "can_manage": can_manage(request.user, project),
            "member_form": MemberForm(project=project) if can_manage(request.user, project) else None,
        },
    )


@project_view("edit")
def edit(request: HttpRequest, project: Project) -> HttpResponse:
    form = ProjectForm(request.POST or None, instance=project)
    if request.method == "POST" and form.is_valid():
        form.save()
        messages.success(request, "Saved the project.")
        return redirect(project)
    return render(request, "projects/form.html", {"form": form, "project": project, "tab": "overview"})


@project_view("manage")
def delete(request: HttpRequest, project: Project) -> HttpResponse:
    if request.method == "POST":
        title = project.title
        project_delete(project=project)
        messages.success(request, f"Deleted “{title}” and everything in it.")
        return redirect("projects:list")
    return render(
        request,
        "projects/delete.html",
        {"project": project, "tab": "overview", "contents": project_contents(project)},
    )


@project_view("manage")
@require_POST
def member_add(request: HttpRequest, project: Project) -> HttpResponse:
    form = MemberForm(request.POST, project=project)
    if form.is_valid():
        user, role = form.cleaned_data["username"], form.cleaned_data["role"]
        _, created = membership_set(project=project, user=user, role=role)
        label = Membership.Role(role).label.lower()
        verb = "Added" if created else "Changed"
        messages.success(
            request, f"{verb} {user.get_username()} as {'an' if label[0] in 'aeiou' else 'a'} {label}."
        )
        return redirect(project)
    for errors in form.errors.values():
        for error in errors:
            messages.error(request, str(error))
    return redirect(project)


@project_view("manage")
@require_POST
def member_remove(request: HttpRequest, project: Project, pk: int) -> HttpResponse:
    membership = get_object_or_404(project.memberships.select_related("user"), pk=pk)
    membership.delete()
    messages.success(request, f"Removed {membership.user.get_username()} from the project.")
    return redirect(project)
