"""`imagegen generate` — a generation job from the command line.

`generate` checks its options the way the Generate Image dialog does, then creates and runs the job in this process
through the same services (not through the queue), so its record, limits and cost are those of any other job.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Mapping, MutableMapping, Sequence
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from django.contrib.auth import get_user_model
from django.contrib.auth.models import User
from django.core.management.base import BaseCommand, CommandError, CommandParser
from django.db import connection

from imagegen import saving, services, usage
from imagegen.catalog import ModelOption, ModelSpec
from imagegen.cli import Subcommand, add_option_arguments
from imagegen.config import PROVIDER_IDS, PROVIDER_LABELS, EffectiveConfig, get_config
from imagegen.generate_form import GenerateForm, element_field_name
from imagegen.limits import LimitReached
from imagegen.models import GenerationJob
from imagegen.options import OPTIONS
from imagegen.permissions import PERMISSION_NAME, can_generate
from imagegen.prompts import ComposedPrompt, Role
from imagegen.providers import PROVIDERS, ProviderError, get_provider
from imagegen.sizes import preset_choice
from projects.access import can_edit
from projects.models import Element, Project

BAD_INPUT = 2
NOTHING_MADE = 1
POLL_SECONDS = 0.5


def _bad(message: str) -> CommandError:
    return CommandError(message, returncode=BAD_INPUT)


@dataclass(frozen=True)
class Plan:
    """A validated generation request, ready for services.job_create."""

    user: User
    project: Project
    spec: ModelSpec
    options: services.GenerationOptions
    composed: ComposedPrompt
    estimated_cost: Decimal | None


# --- Checking the request: the dialog's rules, with messages that say which option to change -----------------


def _project(slug: str) -> Project:
    project = Project.objects.select_related("owner").filter(slug=slug).first()
    if project is None:
        raise _bad(f"No project with the slug {slug!r}. The slug is the last part of the project's address.")
    return project


def _user(username: str | None, project: Project) -> User:
    if not username:
        user = project.owner
    else:
        named = get_user_model().objects.filter(username=username).first()
        if named is None:
            raise _bad(f"No user named {username!r}.")
        user = named
        if not can_edit(user, project):
            raise _bad(
                f"{username} cannot edit {project.title!r}; only its owner and editors may generate images for it."
            )
    if not can_generate(user):
        name = user.get_username()
        raise _bad(
            f"{name} may not generate images (it spends the site's credit): give the account the permission "
            f"“{PERMISSION_NAME}” in Django admin → Users → {name}, or choose another user with --user."
        )
    return user


def _provider(provider_id: str | None, config: EffectiveConfig) -> str:
    status = config.generation_status()
    if not status.available:
        raise _bad(f"Image generation is not available: {status.reason}. See `manage.py imagegen status`.")
    provider_id = provider_id or config.effective_default_provider() or ""
    if provider_id not in PROVIDER_IDS:
        raise _bad(f"Unknown provider {provider_id!r}; use one of {', '.join(PROVIDER_IDS)}.")
    availability = config.provider_status(provider_id)
    if not availability.available:
        raise _bad(f"{PROVIDER_LABELS[provider_id]} is not available: {availability.reason}.")
    return provider_id


def _model(provider_id: str, model_id: str | None, models: Sequence[ModelOption]) -> ModelOption:
    label = PROVIDER_LABELS[provider_id]
    usable = [m for m in models if m.available]
    if not model_id:
        if not usable:
            raise _bad(f"{label} offers no model you can use right now. See `manage.py imagegen status`.")
        # The same first choice as the dialog: the provider's current model, not the oldest in its list.
        preferred = PROVIDERS[provider_id].preferred_model
        return next((m for m in usable if m.id == preferred), usable[0])
    # Stable Diffusion checkpoints answer to their title ("name.safetensors [hash]") or their short name.
    found = next((m for m in models if model_id in (m.id, m.label)), None)
    if found is None:
        names = ", ".join(m.id for m in usable) or "none"
        raise _bad(f"{label} has no model {model_id!r}. Models you can use: {names}.")
    if not found.available:
        raise _bad(f"{found.label} cannot be used now: {found.unavailable_reason}")
    return found


def _elements(project: Project, specs: Sequence[str]) -> list[tuple[Element, str]]:
    chosen = []
    for text in specs:
        # rpartition: an element's name may itself contain a colon ("Act II: The Flood").
        name, sep, role = text.rpartition(":")
        role = role.strip().lower()
        if not sep or not name.strip():
            raise _bad(f'--element {text!r}: write NAME:ROLE, e.g. "Mira Vale:subject".')
        if role not in Role.LABELS:
            raise _bad(f"--element {text!r}: unknown role {role!r}; use one of {', '.join(Role.ORDER)}.")
        matches = list(project.elements.filter(name__iexact=name.strip()))
        exact = [e for e in matches if e.name == name.strip()]
        matches = exact or matches
        if not matches:
            raise _bad(f"{project.title!r} has no worldbuilding element named {name.strip()!r}.")
        if len(matches) > 1:
            raise _bad(
                f"{project.title!r} has {len(matches)} elements named {name.strip()!r}; rename one first."
            )
        chosen.append((matches[0], role))
    return chosen


def _terminal_errors(form: GenerateForm) -> str:
    """The form's errors, each named by the command-line option that set it."""
    lines = []
    for name, errors in form.errors.items():
        flag = _FLAGS.get(name, "") if name != "__all__" else ""
        if name.startswith("element_"):
            flag = "--element"
        for error in errors:
            lines.append(f"{flag}: {error}" if flag else str(error))
    return " ".join(lines)


# Form field → the option that fills it (a custom size comes from --size).
_FLAGS = {
    "prompt": "--prompt",
    "model": "--model",
    "custom_size": "--size",
    **{o.name: o.cli_flag for o in OPTIONS},
}


def plan_generation(
    *, config: EffectiveConfig, models_for: Callable[[str], Sequence[ModelOption]], **o: Any
) -> Plan:
    """The request checked exactly as the dialog checks it: through the dialog's own form, starting from the
    values the dialog would show for this model, with what was given on the command line on top."""
    project = _project(o["project"])
    user = _user(o.get("user"), project)
    provider_id = _provider(o.get("provider"), config)
    models = list(models_for(provider_id))
    spec = _model(provider_id, o.get("model"), models)
    elements = _elements(project, o.get("element") or [])

    def form(
        data: Mapping[str, Any] | None = None, initial: MutableMapping[str, Any] | None = None
    ) -> GenerateForm:
        return GenerateForm(
            data,
            initial=initial,
            project=project,
            providers=[provider_id],
            default_provider=provider_id,
            models_for=lambda _pid: models,
        )

    shown = form(initial={"provider": provider_id, "model": spec.id})
    data = {name: shown[name].value() for name in shown.fields if not name.startswith("element_")}
    data = {k: v for k, v in data.items() if v is not None}
    data["prompt"] = o.get("prompt") or ""
    for option in OPTIONS:
        if o.get(option.name) is not None:
            data[option.name] = str(o[option.name])
    # A thing writers make ("print-6x9") is the size the dialog offers for it on this model.
    if o.get("size") is not None and (choice := preset_choice(spec, str(o["size"]))):
        data["size"] = choice
    for element, role in elements:
        data[f"element_{element.pk}"] = role
    if o.get("no_house_style") and shown.house_style is not None:
        # The house style goes along unless its role is given ("" is "Not in this image", as in the dialog).
        data.setdefault(element_field_name(shown.house_style), "")
    bound = form(data)
    if not bound.is_valid():
        raise _bad(_terminal_errors(bound))
    assert bound.spec is not None and bound.composed is not None
    return Plan(
        user=user,
        project=project,
        spec=bound.spec,
        options=bound.options(),
        composed=bound.composed,
        estimated_cost=bound.estimated_cost,
    )


# --- Running in this process, with progress on the terminal ---------------------------------------------------


def run_with_progress(
    job: GenerationJob, write: Callable[[str], None], interval: float = POLL_SECONDS
) -> GenerationJob:
    """Run the job in a thread (as a worker would) and print a line whenever its status or progress changes."""
    failure: list[BaseException] = []

    def work() -> None:
        try:
            services.job_run(job_id=job.pk)
        except BaseException as err:  # re-raised below, in the command's own thread
            failure.append(err)
        finally:
            connection.close()  # this thread's own connection; nobody else will close it

    thread = threading.Thread(target=work, name=f"imagegen-generate-{job.pk}", daemon=True)
    started = time.monotonic()
    # The job was created queued: say so before the thread can move it on, so the first line never depends on timing.
    last: tuple[str, int | None] | None = (job.status, None)
    write(f"  {0:5.1f}s  {job.get_status_display()}")
    thread.start()
    try:
        while True:
            alive = thread.is_alive()  # read before the row, so the last state printed is the final one
            row: Mapping[str, Any] = (
                GenerationJob.objects.filter(pk=job.pk).values("status", "progress").first() or {}
            )
            progress = row.get("progress")
            state = (row.get("status", ""), None if progress is None else round(progress * 100))
            if state != last:
                label = GenerationJob.Status(state[0]).label if state[0] else "?"
                running = state[1] is not None and state[0] == GenerationJob.Status.RUNNING
                write(f"  {time.monotonic() - started:5.1f}s  {label}{f' {state[1]}%' if running else ''}")
                last = state
            if not alive:
                break
            thread.join(interval)
    except KeyboardInterrupt:
        write("Interrupted: asking the provider to stop (Ctrl-C again to leave at once)…")
        services.job_cancel(job=job)
        thread.join()
    if failure:
        raise failure[0]
    return GenerationJob.objects.get(pk=job.pk)


class GenerateCommand(Subcommand):
    name = "generate"
    help = "Generate images for a project now, in this process, as the Generate Image dialog would."
    description = (
        "Check the options against the model (as the dialog does), create the job — limits and budget apply — and "
        "run it here, not through the queue, showing progress. With --save every image made is saved to the "
        "project's media library. Exit status: 0 when at least one image was made, 1 when none was, 2 for bad input."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument(
            "--project", required=True, metavar="SLUG", help="the project's slug (from its address)"
        )
        parser.add_argument("--prompt", required=True, metavar="TEXT", help="what the image should show")
        parser.add_argument(
            "--provider", choices=PROVIDER_IDS, help="default: the effective default provider"
        )
        parser.add_argument(
            "--model", help="a model id (for Stable Diffusion, a checkpoint); default: the first usable"
        )
        add_option_arguments(parser, OPTIONS)
        parser.add_argument(
            "--element",
            action="append",
            metavar="NAME:ROLE",
            help=f"a worldbuilding element and its role ({', '.join(Role.ORDER)}); repeat for more",
        )
        parser.add_argument(
            "--no-house-style",
            action="store_true",
            help="leave the project's house style out of this generation (it goes along by default)",
        )
        parser.add_argument("--save", action="store_true", help="save every image made to the media library")
        parser.add_argument("--user", metavar="USERNAME", help="who generates (default: the project's owner)")

    def handle(self, command: BaseCommand, **options: Any) -> None:
        write = command.stdout.write
        config = get_config()

        def models_for(provider_id: str) -> Sequence[ModelOption]:
            try:
                return get_provider(provider_id, config.connection(provider_id)).models()
            except ProviderError as err:
                raise _bad(f"{PROVIDER_LABELS[provider_id]}: {err.message}") from None

        plan = plan_generation(config=config, models_for=models_for, **options)
        for note in plan.composed.omissions:
            write(f"Prompt shortened to fit {plan.spec.label}: {note}.")
        try:
            job = services.job_create(
                user=plan.user,
                project=plan.project,
                options=plan.options,
                composed=plan.composed,
                estimated_cost=plan.estimated_cost,
                config=config,
                enqueue=False,
            )
        except LimitReached as err:
            raise _bad(err.message) from None
        estimate = "unknown" if plan.estimated_cost is None else usage.format_usd(plan.estimated_cost)
        write(
            f"Job {job.pk}: {PROVIDER_LABELS[job.provider]} {plan.spec.label}, {job.images_requested} image(s) "
            f"at {plan.options.size}, estimated cost {estimate}."
        )
        job = run_with_progress(job, write)
        write(
            f"Job {job.pk}: {job.get_status_display()} — {job.images_made} of {job.images_requested} image(s) made, "
            f"{usage.cost_text(job)}."
        )
        if job.error_class:
            write(f"Error: {job.error_class} — {job.error_message}")
        if options["save"] and job.images_made:
            items = saving.candidates_save(job=job, candidates=list(job.candidates.all()), user=plan.user)
            for item in items:
                write(f"Saved media item {item.pk}: {item.display_title} — {item.get_absolute_url()}")
        if not job.images_made:
            raise CommandError(
                f"No image was made (job {job.pk}, {job.error_class or 'no error class'}).",
                returncode=NOTHING_MADE,
            )


SUBCOMMANDS: list[Subcommand] = [GenerateCommand()]
