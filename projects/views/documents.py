from __future__ import annotations

from django.contrib import messages
from django.db.models import Max
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.views.decorators.http import require_GET

from imagegen.passages import illustrate_links
from media_library.models import MediaItem

from .. import embeds
from ..access import can_edit, project_view
from ..forms import DocumentForm
from ..models import Document, Project


def _document(project: Project, pk: int) -> Document:
    return get_object_or_404(project.documents.all(), pk=pk)


@project_view("view")
@require_GET
def document_list(request: HttpRequest, project: Project) -> HttpResponse:
    return render(
        request,
        "projects/documents/list.html",
        {
            "project": project,
            "tab": "documents",
            "documents": project.documents.all(),
            "can_edit": can_edit(request.user, project),
        },
    )


@project_view("view")
@require_GET
def document_detail(request: HttpRequest, project: Project, pk: int) -> HttpResponse:
    document = _document(project, pk)
    # Only this project's images: an id from another project renders as "image removed".
    items = MediaItem.objects.filter(project=project, pk__in=embeds.embedded_ids(document.body))
    editable = can_edit(request.user, project)
    illustrate = illustrate_links(project=project, document=document, user=request.user, can_edit=editable)
    body_html = embeds.render_body(
        document.body,
        items,
        lambda item: reverse("media:file", kwargs={"slug": project.slug, "pk": item.pk}),
        # Numbered paragraphs for everyone (an insert's message links to one); "Illustrate" for who may generate.
        after_paragraph=illustrate or (lambda paragraph: ""),
    )
    return render(
        request,
        "projects/documents/detail.html",
        {
            "project": project,
            "tab": "documents",
            "document": document,
            "body_html": body_html,
            "can_edit": editable,
            "can_illustrate": illustrate is not None,
        },
    )


@project_view("edit")
def document_create(request: HttpRequest, project: Project) -> HttpResponse:
    next_order = (project.documents.aggregate(m=Max("order"))["m"] or 0) + 1
    form = DocumentForm(request.POST or None, initial={"order": next_order})
    if request.method == "POST" and form.is_valid():
        document = form.save(commit=False)
        document.project = project
        document.save()
        messages.success(request, f"Created “{document.title}”.")
        return redirect(document)
    return render(
        request, "projects/documents/form.html", {"project": project, "tab": "documents", "form": form}
    )


@project_view("edit")
def document_edit(request: HttpRequest, project: Project, pk: int) -> HttpResponse:
    document = _document(project, pk)
    form = DocumentForm(request.POST or None, instance=document)
    if request.method == "POST" and form.is_valid():
        form.save()
        messages.success(request, f"Saved “{document.title}”.")
        return redirect(document)
    return render(
        request,
        "projects/documents/form.html",
        {"project": project, "tab": "documents", "form": form, "document": document},
    )


@project_view("edit")
def document_delete(request: HttpRequest, project: Project, pk: int) -> HttpResponse:
    document = _document(project, pk)
    if request.method == "POST":
        document.delete()
        messages.success(request, f"Deleted “{document.title}”. Its images stay in the Media tab.")
        return redirect("projects:documents", slug=project.slug)
    return render(
        request,
        "projects/confirm_delete.html",
        {
            "project": project,
            "tab": "documents",
            "thing": document,
            "kind": "document",
            "consequence": "Its text is deleted. Images it shows stay in the Media tab.",
            "cancel_url": document.get_absolute_url(),
        },
    )
