from __future__ import annotations

from django.contrib import messages
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.views.decorators.http import require_GET

from ..access import can_edit, project_view
from ..forms import ElementForm
from ..models import Element, Project


def _element(project: Project, pk: int) -> Element:
    return get_object_or_404(project.elements.select_related("image"), pk=pk)


@project_view("view")
@require_GET
def element_list(request: HttpRequest, project: Project) -> HttpResponse:
    by_kind: dict[str, list[Element]] = {kind: [] for kind in Element.Kind.values}
    for element in project.elements.select_related("image"):
        by_kind[element.kind].append(element)
    groups = [(Element.Kind(kind).label, kind, items) for kind, items in by_kind.items() if items]
    return render(
        request,
        "projects/elements/list.html",
        {
            "project": project,
            "tab": "worldbuilding",
            "groups": groups,
            "can_edit": can_edit(request.user, project),
        },
    )


@project_view("view")
@require_GET
def element_detail(request: HttpRequest, project: Project, pk: int) -> HttpResponse:
    return render(
        request,
        "projects/elements/detail.html",
        {
            "project": project,
            "tab": "worldbuilding",
            "element": _element(project, pk),
            "can_edit": can_edit(request.user, project),
        },
    )


@project_view("edit")
def element_create(request: HttpRequest, project: Project) -> HttpResponse:
    kind = request.GET.get("kind")
    form = ElementForm(request.POST or None, initial={"kind": kind} if kind in Element.Kind.values else None)
    if request.method == "POST" and form.is_valid():
        element = form.save(commit=False)
        element.project = project
        element.save()
        messages.success(request, f"Created “{element.name}”.")
        return redirect(element)
    return render(
        request, "projects/elements/form.html", {"project": project, "tab": "worldbuilding", "form": form}
    )


@project_view("edit")
def element_edit(request: HttpRequest, project: Project, pk: int) -> HttpResponse:
    element = _element(project, pk)
    form = ElementForm(request.POST or None, instance=element)
    if request.method == "POST" and form.is_valid():
        form.save()
        messages.success(request, f"Saved “{element.name}”.")
        return redirect(element)
    return render(
        request,
        "projects/elements/form.html",
        {"project": project, "tab": "worldbuilding", "form": form, "element": element},
    )


@project_view("edit")
def element_delete(request: HttpRequest, project: Project, pk: int) -> HttpResponse:
    element = _element(project, pk)
    if request.method == "POST":
        element.delete()
        messages.success(request, f"Deleted “{element.name}”. Its image stays in the Media tab.")
        return redirect("projects:elements", slug=project.slug)
    return render(
        request,
        "projects/confirm_delete.html",
        {
            "project": project,
            "tab": "worldbuilding",
            "thing": element,
            "kind": element.get_kind_display().lower(),
            "consequence": "Its description and attributes are deleted. Its image stays in the Media tab.",
            "cancel_url": element.get_absolute_url(),
        },
    )
