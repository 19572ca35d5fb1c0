"""`imagegen edit | upscale` — iterate on a saved image from the command line.

Both check their options through the dialog's own forms (EditForm, UpscaleForm), create the job through the same
services (limits, budget, cost and the audit record apply), and run it in this process with progress on the
terminal. With --save the result is saved as a new version of the image, and its id is printed.
"""

from __future__ import annotations

from collections.abc import Mapping, MutableMapping, Sequence
from pathlib import Path
from typing import Any

from django import forms
from django.contrib.auth.models import User
from django.core.management.base import BaseCommand, CommandError, CommandParser

from imagegen import iterate, saving, usage
from imagegen.catalog import ModelOption
from imagegen.cli import Subcommand, add_option_arguments
from imagegen.cli.job_cmds import NOTHING_MADE, _bad, _elements, _user, run_with_progress
from imagegen.config import PROVIDER_LABELS, EffectiveConfig, get_config
from imagegen.edit_form import EditForm
from imagegen.generate_form import ModelsFor, element_field_name
from imagegen.limits import LimitReached
from imagegen.masks import data_url
from imagegen.models import GenerationJob
from imagegen.options import EDIT, OPTIONS
from imagegen.prompts import Role
from imagegen.providers import PROVIDERS, ProviderError, get_provider
from imagegen.sources import EditSource
from imagegen.upscale_form import UpscaleForm
from media_library.models import MediaItem

EDIT_OPTIONS = [o for o in OPTIONS if EDIT in o.operations]
# Form field → the option that sets it, to name it in an error.
EDIT_FLAGS = {
    "prompt": "--prompt",
    "model": "--model",
    "mask": "--mask",
    **{o.name: o.cli_flag for o in EDIT_OPTIONS},
}
UPSCALE_FLAGS = {"factor": "--factor", "upscaler": "--upscaler", "provider": "--provider"}


def _item(item_id: int) -> MediaItem:
    item = MediaItem.objects.select_related("project__owner").filter(pk=item_id).first()
    if item is None:
        raise _bad(f"No media item with the id {item_id}. An image's id is the number in its page's address.")
    return item


def _start(o: Mapping[str, Any]) -> tuple[EffectiveConfig, MediaItem, User]:
    """What both commands check first: the image, who acts (they must be able to edit its project), availability."""
    config = get_config()
    item = _item(o["item"])
    user = _user(o.get("user"), item.project)
    status = config.generation_status()
    if not status.available:
        raise _bad(f"Image generation is not available: {status.reason}. See `manage.py imagegen status`.")
    return config, item, user


def _errors(form: forms.BaseForm, flags: Mapping[str, str]) -> str:
    lines = []
    for name, errors in form.errors.items():
        flag = "--element" if name.startswith("element_") else flags.get(name, "")
        lines += [f"{flag}: {error}" if flag else str(error) for error in errors]
    return " ".join(lines)


def _check_provider(provider_id: str | None, offered: Sequence[str], what: str) -> str | None:
    if provider_id is None:
        return None
    if provider_id not in offered:
        names = ", ".join(offered) or "none is available now"
        raise _bad(f"--provider {provider_id}: it cannot {what} images here; providers that can: {names}.")
    return provider_id


def _models_for(config: EffectiveConfig) -> ModelsFor:
    def load(provider_id: str) -> Sequence[ModelOption]:
        try:
            return get_provider(provider_id, config.connection(provider_id)).models()
        except ProviderError as err:
            raise _bad(f"{PROVIDER_LABELS[provider_id]}: {err.message}") from None

    return load


def _finish(command: BaseCommand, job: GenerationJob, *, save: bool, user: User) -> None:
    write = command.stdout.write
    job = run_with_progress(job, write)
    write(
        f"Job {job.pk}: {job.get_status_display()} — {job.images_made} of {job.images_requested} image(s) made, "
        f"{usage.cost_text(job)}."
    )
    if job.error_class:
        write(f"Error: {job.error_class} — {job.error_message}")
    if save and job.images_made:
        for item in saving.candidates_save(job=job, candidates=list(job.candidates.all()), user=user):
            of = f" (a version of media item {item.source_id})" if item.source_id else ""
            write(f"Saved media item {item.pk}{of}: {item.display_title} — {item.get_absolute_url()}")
    if not job.images_made:
        raise CommandError(
            f"No image was made (job {job.pk}, {job.error_class or 'no error class'}).",
            returncode=NOTHING_MADE,
        )


class EditCommand(Subcommand):
    name = "edit"
    help = "Edit a saved image with an instruction (and optionally a mask), as the Edit dialog would."
    description = (
        "Check the instruction and options against the model as the Edit dialog does, create the job — limits and "
        "budget apply — and run it here with progress. A mask is a PNG the size of the image whose transparent "
        "pixels (alpha under half) mark what to repaint, whatever the provider; without one the whole image may "
        "change. With --save every image made is saved as a new version of the image and its id printed. "
        "Exit status: 0 when at least one image was made, 1 when none was, 2 for bad input."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--item", required=True, type=int, metavar="ID", help="the media item's id")
        parser.add_argument("--prompt", required=True, metavar="TEXT", help="what should change")
        parser.add_argument("--mask", metavar="FILE.png", help="where to repaint: transparent pixels")
        parser.add_argument("--provider", help="default: the effective default provider, if it edits")
        parser.add_argument("--model", help="a model that edits; default: the first the dialog offers")
        add_option_arguments(parser, EDIT_OPTIONS)
        parser.add_argument(
            "--element",
            action="append",
            metavar="NAME:ROLE",
            help=f"a worldbuilding element and its role ({', '.join(Role.ORDER)}); its portrait goes along",
        )
        parser.add_argument(
            "--save", action="store_true", help="save every image made as a version of the image"
        )
        parser.add_argument("--user", metavar="USERNAME", help="who edits (default: the project's owner)")

    def handle(self, command: BaseCommand, **o: Any) -> None:
        config, item, user = _start(o)
        project = item.project
        providers = iterate.editing_providers(config)
        provider_id = _check_provider(o.get("provider"), providers, "edit")
        mask_text = ""
        if o.get("mask"):
            path = Path(o["mask"])
            if not path.is_file():
                raise _bad(f"--mask {o['mask']}: no such file.")
            mask_text = data_url(path.read_bytes())
        elements = _elements(project, o.get("element") or [])
        models_for = _models_for(config)
        source = EditSource(item=item)

        def form(
            data: Mapping[str, Any] | None = None, initial: MutableMapping[str, Any] | None = None
        ) -> EditForm:
            return EditForm(
                data,
                initial=initial,
                source=source,
                project=project,
                providers=providers,
                default_provider=provider_id or config.effective_default_provider(),
                models_for=models_for,
            )

        shown = form(initial={"provider": provider_id})
        if o.get("model"):
            # A model by id, or (Stable Diffusion checkpoints) by its short name; one that cannot edit says why.
            found = next((m for m in shown.model_options if o["model"] in (m.id, m.label)), None)
            if found is None or not found.available:
                names = ", ".join(m.id for m in shown.model_options if m.available) or "none"
                label = PROVIDER_LABELS.get(shown.provider_id, shown.provider_id)
                why = found.unavailable_reason if found else f"{label} has no such model."
                raise _bad(f"--model {o['model']}: {why} Models that can edit: {names}.")
            shown = form(initial={"provider": shown.provider_id, "model": found.id})
        data = {name: shown[name].value() for name in shown.fields if not name.startswith("element_")}
        data = {k: v for k, v in data.items() if v is not None}
        data.update(prompt=o["prompt"], mask=mask_text)
        for option in EDIT_OPTIONS:
            if o.get(option.name) is not None:
                data[option.name] = str(o[option.name])
        for element, role in elements:
            data[element_field_name(element)] = role
        bound = form(data)
        if not bound.is_valid():
            raise _bad(_errors(bound, EDIT_FLAGS))
        assert bound.spec is not None
        write = command.stdout.write
        if bound.mask_note:
            write(bound.mask_note)
        for note in bound.composed.omissions if bound.composed else ():
            write(f"Prompt shortened to fit {bound.spec.label}: {note}.")
        try:
            job = iterate.edit_job_create(
                user=user, project=project, form=bound, config=config, enqueue=False
            )
        except LimitReached as err:
            raise _bad(err.message) from None
        mask = f"a mask over {bound.mask.repaint_fraction:.0%} of it" if bound.mask else "the whole image"
        write(
            f"Job {job.pk}: {PROVIDER_LABELS[job.provider]} {bound.spec.label} edits “{item.display_title}” "
            f"({mask}), {job.images_requested} image(s) at {job.options['size']}."
        )
        _finish(command, job, save=o["save"], user=user)


class UpscaleCommand(Subcommand):
    name = "upscale"
    help = "Upscale a saved image 2× or 4×, as the Upscale dialog would."
    description = (
        "Check the factor and upscaler as the Upscale dialog does, create the job — limits apply — and run it here "
        "with progress. With --save the result is saved as a new version of the image and its id printed. "
        "Exit status: 0 when the image was made, 1 when not, 2 for bad input."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--item", required=True, type=int, metavar="ID", help="the media item's id")
        parser.add_argument("--factor", required=True, type=int, choices=(2, 4), help="2 or 4 times as large")
        parser.add_argument("--upscaler", help="an upscaler the engine lists (default: its best)")
        parser.add_argument("--provider", help="default: the first available provider that upscales")
        parser.add_argument("--save", action="store_true", help="save the result as a version of the image")
        parser.add_argument("--user", metavar="USERNAME", help="who upscales (default: the project's owner)")

    def handle(self, command: BaseCommand, **o: Any) -> None:
        config, item, user = _start(o)
        project = item.project
        providers = iterate.upscaling_providers(config)
        if not providers:
            raise _bad("No available provider can upscale images (a Stable Diffusion WebUI or ComfyUI can).")
        provider_id = _check_provider(o.get("provider"), providers, "upscale") or providers[0]

        def upscalers_for(pid: str) -> list[str]:
            return get_provider(pid, config.connection(pid)).upscalers()

        data = {"provider": provider_id, "factor": str(o["factor"]), "upscaler": o.get("upscaler") or ""}
        bound = UpscaleForm(
            data, source=EditSource(item=item), providers=providers, upscalers_for=upscalers_for
        )
        if not bound.is_valid():
            raise _bad(_errors(bound, UPSCALE_FLAGS))
        try:
            job = iterate.upscale_job_create(
                user=user, project=project, form=bound, config=config, enqueue=False
            )
        except LimitReached as err:
            raise _bad(err.message) from None
        write = command.stdout.write
        write(
            f"Job {job.pk}: {PROVIDERS[provider_id].label} upscales “{item.display_title}” {o['factor']}× with "
            f"{job.model}, to {job.options['size']}."
        )
        _finish(command, job, save=o["save"], user=user)


SUBCOMMANDS: list[Subcommand] = [EditCommand(), UpscaleCommand()]
