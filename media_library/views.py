"""The Media tab: grid, upload, detail, the actions on an item, and the private file views."""

from __future__ import annotations

from pathlib import Path

from django.conf import settings
from django.contrib import messages
from django.core.paginator import Paginator
from django.db.models import Q, QuerySet
from django.http import HttpResponse, HttpResponseBase
from django.shortcuts import get_object_or_404, redirect, render
from django.template.defaultfilters import filesizeformat
from django.utils.http import urlencode
from django.views.decorators.http import require_GET, require_POST

from imagegen.options import display_rows
from inkweld.http import HtmxRequest
from projects import embeds
from projects.access import can_edit, project_view
from projects.models import Document, Element, Project
from projects.services import document_places

from . import services, versions
from .forms import InsertIntoDocumentForm, MediaFilterForm, MediaItemForm, SetElementImageForm, UploadForm
from .models import MediaItem
from .serving import private_file_response

PAGE_SIZE = 24


def _item(project: Project, pk: int) -> MediaItem:
    # Through the project's manager, so item.project is this project object (no extra query, no other project).
    return get_object_or_404(project.media_items.all(), pk=pk)


def _filtered(project: Project, form: MediaFilterForm) -> QuerySet[MediaItem]:
    items = project.media_items.all()
    if form.is_valid():
        if origin := form.cleaned_data["origin"]:
            items = items.filter(origin=origin)
        if q := form.cleaned_data["q"].strip():
            items = items.filter(
                Q(title__icontains=q) | Q(alt_text__icontains=q) | Q(generation__prompt__icontains=q)
            )
    # The grid shows thumbnails only: never fetch what it does not draw.
    return items.only(
        "pk",
        "project_id",
        "title",
        "alt_text",
        "origin",
        "width",
        "height",
        "thumbnail_width",
        "thumbnail_height",
        "created_at",
    )


@project_view("view")
@require_GET
def index(request: HtmxRequest, project: Project) -> HttpResponse:
    form = MediaFilterForm(request.GET or None)
    page = Paginator(_filtered(project, form), PAGE_SIZE).get_page(request.GET.get("page"))
    filters = {k: v for k, v in request.GET.items() if k in {"origin", "q"} and isinstance(v, str) and v}
    return render(
        request,
        "media_library/index.html",
        {
            "project": project,
            "tab": "media",
            "can_edit": can_edit(request.user, project),
            "filter_form": form,
            "filtered": bool(filters),
            "page": page,
            "page_query": urlencode(filters),
        },
    )


@project_view("edit")
def upload(request: HtmxRequest, project: Project) -> HttpResponse:
    form = UploadForm(request.POST, request.FILES) if request.method == "POST" else UploadForm()
    if request.method == "POST" and form.is_valid():
        added = 0
        for uploaded in form.cleaned_data["files"]:
            name = uploaded.name or "file"
            if uploaded.size > settings.MEDIA_MAX_UPLOAD_BYTES:
                # Checked before reading, so an oversized file is never held in memory.
                limit = filesizeformat(settings.MEDIA_MAX_UPLOAD_BYTES)
                messages.error(request, f"“{name}” was not added: it is larger than the {limit} limit.")
                continue
            try:
                item, created = services.media_item_create_from_bytes(
                    project=project,
                    data=uploaded.read(),
                    origin=MediaItem.Origin.UPLOADED,
                    created_by=request.user,
                    title=Path(name).stem,
                )
            except services.ImageRejected as exc:
                messages.error(request, f"“{name}” was not added: {exc}")
                continue
            if created:
                added += 1
            else:
                messages.info(
                    request, f"“{name}” is already in this project's library, as “{item.display_title}”."
                )
        if added:
            messages.success(request, f"Added {added} image{'s' if added != 1 else ''} to the library.")
        return redirect("media:index", slug=project.slug)
    return render(
        request,
        "media_library/upload.html",
        {"project": project, "tab": "media", "form": form, "max_bytes": settings.MEDIA_MAX_UPLOAD_BYTES},
    )


def _generation_rows(item: MediaItem) -> list[tuple[str, str]]:
    gen = item.generation if isinstance(item.generation, dict) else {}
    options = found if isinstance(found := gen.get("options"), dict) else {}
    # The size asked for; the image's own dimensions are shown beside it ("auto" lets the model choose).
    requested = options.get("size") or gen.get("requested_size") or gen.get("size")
    if requested:
        options = {**options, "size": requested}
    rows = [
        ("Prompt", gen.get("prompt")),
        ("Negative prompt", options.get("negative_prompt") or gen.get("negative_prompt")),
        ("Image service", gen.get("provider_label") or gen.get("provider")),
        ("Model", gen.get("model_label") or gen.get("model")),
    ]
    rows += [(label, value) for label, value in display_rows(options) if label != "Negative prompt"]
    if gen.get("seed") is not None and "seed" not in options:
        rows.append(("Seed", gen.get("seed")))
    return [(label, str(value)) for label, value in rows if value not in (None, "")]


@project_view("view")
@require_GET
def detail(request: HtmxRequest, project: Project, pk: int) -> HttpResponse:
    item = _item(project, pk)
    editable = can_edit(request.user, project)
    return render(
        request,
        "media_library/detail.html",
        {
            "project": project,
            "tab": "media",
            "item": item,
            "can_edit": editable,
            "refs": services.media_item_references(item),
            "versions": versions.history(item),
            "generation_rows": _generation_rows(item),
            "embed_code": embeds.embed_line(item.pk),
            "documents": document_places(project) if editable else [],
            "element_form": SetElementImageForm(project=project) if editable else None,
            "has_elements": editable and Element.objects.filter(project=project).exists(),
        },
    )


@project_view("edit")
def edit(request: HtmxRequest, project: Project, pk: int) -> HttpResponse:
    item = _item(project, pk)
    form = MediaItemForm(request.POST or None, instance=item)
    if request.method == "POST" and form.is_valid():
        form.save()
        messages.success(request, "Saved the title and alt text.")
        return redirect(item)
    return render(
        request, "media_library/edit.html", {"project": project, "tab": "media", "item": item, "form": form}
    )


@project_view("edit")
def delete(request: HtmxRequest, project: Project, pk: int) -> HttpResponse:
    item = _item(project, pk)
    if request.method == "POST":
        title = item.display_title
        refs = services.media_item_delete(item=item)
        cleared = []
        if refs.is_cover:
            cleared.append("the project cover")
        cleared += [f"the image of “{e.name}”" for e in refs.elements]
        cleared += [f"“{d.title}”" for d in refs.documents]
        note = f" It was removed from {', '.join(cleared)}." if cleared else ""
        if refs.relinked:
            note += " " + refs.relinked.sentence()
        messages.success(request, f"Deleted “{title}”.{note}")
        return redirect("media:index", slug=project.slug)
    return render(
        request,
        "media_library/delete.html",
        {
            "project": project,
            "tab": "media",
            "item": item,
            "refs": services.media_item_references(item),
            "relinking": versions.relinking(item),
        },
    )


def _answer(
    request: HtmxRequest, message: str, go_to: MediaItem | Document, *, ok: bool = True
) -> HttpResponse:
    """An action's outcome. From the Generate Image dialog (htmx) it is the sentence alone, shown beside the image,
    so the writer stays in the dialog with the other images' actions; without JavaScript, the next page says it."""
    if request.htmx:
        return render(request, "media_library/_action_note.html", {"message": message, "ok": ok})
    (messages.success if ok else messages.error)(request, message)
    return redirect(go_to)


@project_view("edit")
@require_POST
def set_cover(request: HtmxRequest, project: Project, pk: int) -> HttpResponse:
    item = _item(project, pk)
    services.media_item_set_cover(item=item)
    response = _answer(request, f"“{item.display_title}” is now the project cover.", item)
    response["HX-Trigger"] = "cover-changed"  # the overview's cover, behind the dialog, refreshes itself
    return response


@project_view("edit")
@require_POST
def insert_into_document(request: HtmxRequest, project: Project, pk: int) -> HttpResponse:
    item = _item(project, pk)
    form = InsertIntoDocumentForm(request.POST, project=project)
    if not form.is_valid():
        return _answer(request, "Choose one of this project's documents.", item, ok=False)
    document: Document = form.cleaned_data["document"]
    after = form.cleaned_data["after_paragraph"]
    services.media_item_insert_into_document(
        item=item, document=document, caption=form.cleaned_data["caption"], after_paragraph=after
    )
    where = "at the end" if after is None else f"after paragraph {after}"
    message = f"Added “{item.display_title}” {where} of “{document.title}”."
    if request.htmx or after is None:
        response = _answer(request, message, document)
        response["HX-Trigger"] = (
            "document-changed"  # the document, if open behind the dialog, shows the image
        )
        return response
    messages.success(request, message)  # without JavaScript: to the paragraph, not the top of the document
    return redirect(f"{document.get_absolute_url()}#paragraph-{after}")


@project_view("edit")
@require_POST
def set_element_image(request: HtmxRequest, project: Project, pk: int) -> HttpResponse:
    item = _item(project, pk)
    form = SetElementImageForm(request.POST, project=project)
    if not form.is_valid():
        return _answer(request, "Choose one of this project's worldbuilding elements.", item, ok=False)
    element: Element = form.cleaned_data["element"]
    services.media_item_set_element_image(item=item, element=element)
    response = _answer(request, f"“{item.display_title}” is now the image of “{element.name}”.", item)
    response["HX-Trigger"] = (
        "element-changed"  # the element's page, if behind the dialog, shows its new image
    )
    return response


# --- Private file views: access checked by project_view, bytes by serving.private_file_response ----------


@project_view("view")
@require_GET
def serve_file(request: HtmxRequest, project: Project, pk: int) -> HttpResponseBase:
    item = _item(project, pk)
    return private_file_response(
        request, name=item.file.name, content_type=item.content_type, etag_value=item.sha256
    )


@project_view("view")
@require_GET
def serve_thumbnail(request: HtmxRequest, project: Project, pk: int) -> HttpResponseBase:
    item = _item(project, pk)
    return private_file_response(
        request, name=item.thumbnail.name, content_type="image/webp", etag_value=f"{item.sha256}-thumb"
    )


@project_view("view")
@require_GET
def download(request: HtmxRequest, project: Project, pk: int) -> HttpResponseBase:
    item = _item(project, pk)
    stem = "".join(c if c.isalnum() or c in " -_" else "_" for c in item.display_title).strip() or "image"
    return private_file_response(
        request,
        name=item.file.name,
        content_type=item.content_type,
        etag_value=item.sha256,
        download_name=f"{stem}.{item.extension}",
    )
