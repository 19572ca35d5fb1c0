"""The dialog for iterating on an image: Edit (a saved image or a candidate), Generate variations, Upscale, and an
element's Generate portrait. Thin views over imagegen/iterate.py; each answers into the open dialog, as a partial,
or as a full page without JavaScript, exactly like the Generate Image dialog (views.py), whose helpers they share.

Every URL here names its project's slug and goes through `project_view("edit")`: the owner and editors may use it,
a viewer gets 403, anyone else 404, and anonymous visitors are sent to sign in.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, MutableMapping
from typing import Any, TypeVar

from django.http import Http404, HttpRequest, HttpResponse, HttpResponseBadRequest
from django.shortcuts import get_object_or_404, redirect
from django.urls import reverse
from django.views.decorators.http import require_http_methods

from inkweld.http import AuthenticatedRequest
from media_library.models import MediaItem
from projects.access import project_view
from projects.models import Project

from . import iterate
from .config import EffectiveConfig, get_config
from .edit_form import EditForm
from .generate_form import GenerateForm
from .limits import LimitReached
from .masks import data_url
from .models import Candidate, GenerationJob
from .options import OPTION_BY_NAME
from .permissions import can_generate
from .prompts import Role
from .providers import get_provider
from .sources import EditSource
from .upscale_form import UpscaleForm
from .views import (
    DIALOG_TARGET,
    _form,
    _initial_from_job,
    _initial_from_query,
    _job_context,
    _not_allowed,
    _render,
    models_for,
)

# The buttons each dialog has: rebuild the form (another provider or model), show the prompt, and its own submit.
# Anything else is refused: a tampered or garbled form must not start a paid job.
EDIT_ACTIONS = frozenset({"refresh", "preview", "edit"})
GENERATE_ACTIONS = frozenset({"refresh", "preview", "generate"})
UPSCALE_ACTIONS = frozenset({"refresh", "upscale"})

# The dialog's form: the Generate Image form (variations, portraits), its Edit form, or the Upscale form.
DialogForm = TypeVar("DialogForm", bound=GenerateForm | UpscaleForm)
FormFor = Callable[..., DialogForm]
FormData = Mapping[str, Any] | None
FormInitial = MutableMapping[str, Any] | None
Create = Callable[[DialogForm, EffectiveConfig], GenerationJob]


def _flow(
    request: AuthenticatedRequest,
    project: Project,
    *,
    form_for: FormFor[DialogForm],
    initial: Mapping[str, Any],
    actions: frozenset[str],
    submit: str,
    create: Create[DialogForm],
    panel: str = "imagegen/_form.html",
    context: Mapping[str, Any] | None = None,
    providers: Callable[[EffectiveConfig], list[str]] | None = None,
) -> HttpResponse:
    """GET: the form, filled in with `initial`. POST: rebuild it, preview the prompt, or submit it as a job."""
    if not can_generate(request.user):
        # Editing, varying and upscaling spend the site's credit like generating: the same permission, the same words.
        return _not_allowed(request, project)
    config = get_config()
    status = config.generation_status()
    context = {"submit_action": submit, **(context or {})}
    if request.htmx and request.htmx.target != DIALOG_TARGET:
        # A panel swapped inside the open dialog (Edit on a candidate): its heading follows, out of band.
        context["oob_title"] = True
    if not status.available:
        return _render(request, project, "imagegen/_unavailable.html", {"reason": status.reason, **context})
    if providers is not None and not providers(config):
        reason = "no provider that is available now can do this"
        return _render(request, project, "imagegen/_unavailable.html", {"reason": reason, **context})
    if request.method != "POST":
        if providers is not None and request.GET.get("provider") in providers(config):
            # "Use … instead" on a failed edit or upscale: the same request, on another provider.
            initial = {**initial, "provider": request.GET["provider"]}
        return _render(request, project, panel, {**context, "form": form_for(config, initial=initial)})
    action = request.POST.get("action", "")
    if action not in actions:
        return HttpResponseBadRequest(
            "Unknown action: use the dialog's buttons (reload the page if it is old)."
        )
    if action == "refresh":
        form = form_for(config, initial=request.POST.dict())
        return _render(request, project, panel, {**context, "form": form})
    form = form_for(config, data=request.POST)
    if not form.is_valid():
        return _render(request, project, panel, {**context, "form": form})
    if action == "preview":
        return _render(request, project, panel, {**context, "form": form, "preview": form.composed})
    try:
        job = create(form, config)
    except LimitReached as limit:
        form.add_error(None, limit.message)
        return _render(request, project, panel, {**context, "form": form})
    if not request.htmx:
        return redirect("imagegen:job", slug=project.slug, pk=job.pk)
    return _render(request, project, "imagegen/_job.html", _job_context(job))


# --- Edit --------------------------------------------------------------------------------------------------------


def _edit_form(project: Project, source: EditSource) -> FormFor[EditForm]:
    def make(config: EffectiveConfig, data: FormData = None, initial: FormInitial = None) -> EditForm:
        providers = iterate.editing_providers(config)
        default = config.effective_default_provider()
        return EditForm(
            data,
            source=source,
            project=project,
            providers=providers,
            default_provider=default if default in providers else None,
            models_for=models_for(config),
            initial=initial,
        )

    return make


def _edit(request: AuthenticatedRequest, project: Project, source: EditSource, form_url: str) -> HttpResponse:
    # A link may choose the provider, model, options and roles, as for the Generate Image dialog.
    initial: dict[str, Any] = _initial_from_query(request.GET)
    again = _job_from_query(request, project, GenerationJob.Operation.EDIT)
    if again is not None:
        initial = _initial_from_job(again)
        if again.mask:
            with again.mask.open("rb") as handle:
                initial["mask"] = data_url(handle.read())
    return _flow(
        request,
        project,
        form_for=_edit_form(project, source),
        initial=initial,
        actions=EDIT_ACTIONS,
        submit="edit",
        providers=iterate.editing_providers,
        create=lambda form, config: iterate.edit_job_create(
            user=request.user, project=project, form=form, config=config
        ),
        context={"form_url": form_url, "source": source, "dialog_title": "Edit image"},
    )


def _job_from_query(request: HttpRequest, project: Project, operation: str) -> GenerationJob | None:
    """Try again: the job named by ?again=, if it is this project's and of this kind."""
    pk = request.GET.get("again", "")
    if request.method != "GET" or not pk.isascii() or not pk.isdigit() or len(pk) > 18:
        return None
    return GenerationJob.objects.filter(pk=int(pk), project=project, operation=operation).first()


@project_view("edit")
@require_http_methods(["GET", "POST"])
def edit_item(request: AuthenticatedRequest, project: Project, pk: int) -> HttpResponse:
    """Edit a saved image: an instruction, optionally a mask; the result becomes one of its versions."""
    item = get_object_or_404(project.media_items.all(), pk=pk)
    url = reverse("imagegen:edit", kwargs={"slug": project.slug, "pk": item.pk})
    return _edit(request, project, EditSource(item=item), url)


@project_view("edit")
@require_http_methods(["GET", "POST"])
def edit_candidate(request: AuthenticatedRequest, project: Project, pk: int) -> HttpResponse:
    """Edit a candidate from the dialog. One saved since is edited as the saved image (its versions follow it)."""
    candidate = get_object_or_404(
        Candidate.objects.select_related("job__project", "saved_item"), pk=pk, job__project=project
    )
    if candidate.saved_item is not None:
        source = EditSource(item=candidate.saved_item)
    elif candidate.file:
        source = EditSource(candidate=candidate)
    else:
        raise Http404("This image has expired.")
    url = reverse("imagegen:edit_candidate", kwargs={"slug": project.slug, "pk": candidate.pk})
    return _edit(request, project, source, url)


# --- Variations and portraits ------------------------------------------------------------------------------------


def _generate_form(project: Project, **extra: Any) -> FormFor[GenerateForm]:
    def make(config: EffectiveConfig, data: FormData = None, initial: FormInitial = None) -> GenerateForm:
        return _form(project, config, data=data, initial=initial, **extra)

    return make


@project_view("edit")
@require_http_methods(["GET", "POST"])
def variations(request: AuthenticatedRequest, project: Project, pk: int) -> HttpResponse:
    """Generate variations of a saved image: the same settings with a new seed; they are saved as its versions."""
    item = get_object_or_404(MediaItem, project=project, pk=pk, origin=MediaItem.Origin.GENERATED)
    job = GenerationJob.objects.filter(pk=item.generation.get("job_id"), project=project).first()
    if job is None:
        raise Http404("This image's generation record is gone.")
    return _flow(
        request,
        project,
        form_for=_generate_form(project),
        initial=_initial_from_job(job, new_seed=True),
        actions=GENERATE_ACTIONS,
        submit="generate",
        create=lambda form, config: iterate.variation_job_create(
            user=request.user, project=project, form=form, source=item, config=config
        ),
        context={
            "form_url": reverse("imagegen:variations", kwargs={"slug": project.slug, "pk": item.pk}),
            "variations_of": item,
        },
    )


def _generate_for(
    request: AuthenticatedRequest,
    project: Project,
    *,
    prompt: str,
    initial: Mapping[str, Any],
    form_for: FormFor,
    create: Create,
    context: Mapping[str, Any],
) -> HttpResponse:
    """A Generate dialog opened for one thing (a portrait, a cover): its own prompt and starting values, with a
    provider, model or option a link may choose."""
    chosen = {k: v for k, v in request.GET.items() if k in OPTION_BY_NAME or k in ("provider", "model")}
    return _flow(
        request,
        project,
        form_for=form_for,
        initial={"prompt": prompt, **initial, **chosen},
        actions=GENERATE_ACTIONS,
        submit="generate",
        create=create,
        context=context,
    )


@project_view("edit")
@require_http_methods(["GET", "POST"])
def portrait(request: AuthenticatedRequest, project: Project, pk: int) -> HttpResponse:
    """Generate portrait (from an element's page): the element as Subject, a portrait size; its image once saved."""
    element = get_object_or_404(project.elements.all(), pk=pk)
    return _generate_for(
        request,
        project,
        prompt=f"A portrait of {element.name}",
        initial={f"element_{element.pk}": Role.SUBJECT},
        form_for=_generate_form(project, portrait_for=element),
        create=lambda form, config: iterate.portrait_job_create(
            user=request.user, project=project, form=form, element=element, config=config
        ),
        context={
            "form_url": reverse("imagegen:portrait", kwargs={"slug": project.slug, "pk": element.pk}),
            "portrait_for": element,
            "dialog_title": f"Portrait of {element.name}",
        },
    )


@project_view("edit")
@require_http_methods(["GET", "POST"])
def cover(request: AuthenticatedRequest, project: Project) -> HttpResponse:
    """Generate cover (from the project's overview): the title and description as the prompt, a cover size."""
    about = f" {project.description.strip()}" if project.description.strip() else ""
    return _generate_for(
        request,
        project,
        prompt=f"A book cover for “{project.title}”.{about}",
        initial={},
        form_for=_generate_form(project, cover=True),
        create=lambda form, config: iterate.cover_job_create(
            user=request.user, project=project, form=form, config=config
        ),
        context={
            "form_url": reverse("imagegen:cover", kwargs={"slug": project.slug}),
            "dialog_title": f"Cover for {project.title}",
        },
    )


# --- Upscale -----------------------------------------------------------------------------------------------------


def _upscale_form(source: EditSource) -> FormFor[UpscaleForm]:
    def make(config: EffectiveConfig, data: FormData = None, initial: FormInitial = None) -> UpscaleForm:
        def upscalers_for(provider_id: str) -> list[str]:
            return get_provider(provider_id, config.connection(provider_id)).upscalers()

        return UpscaleForm(
            data,
            source=source,
            providers=iterate.upscaling_providers(config),
            upscalers_for=upscalers_for,
            initial=initial,
        )

    return make


@project_view("edit")
@require_http_methods(["GET", "POST"])
def upscale(request: AuthenticatedRequest, project: Project, pk: int) -> HttpResponse:
    """Upscale a saved image 2× or 4× in the background; the result becomes one of its versions."""
    item = get_object_or_404(project.media_items.all(), pk=pk)
    source = EditSource(item=item)
    factor = request.GET.get("factor", "")
    return _flow(
        request,
        project,
        form_for=_upscale_form(source),
        initial={"factor": int(factor)} if factor in ("2", "4") else {},
        actions=UPSCALE_ACTIONS,
        submit="upscale",
        providers=iterate.upscaling_providers,
        create=lambda form, config: iterate.upscale_job_create(
            user=request.user, project=project, form=form, config=config
        ),
        panel="imagegen/_upscale_form.html",
        context={
            "form_url": reverse("imagegen:upscale", kwargs={"slug": project.slug, "pk": item.pk}),
            "source": source,
            "dialog_title": "Upscale image",
        },
    )
