"""`manage.py imagegen generate | cleanup | usage`, generating against the in-process stand-in upstream."""

from __future__ import annotations

import io
from collections.abc import Iterator
from datetime import timedelta
from decimal import Decimal

import pytest
from django.core.files.base import ContentFile
from django.core.files.storage import default_storage
from django.core.management import CommandError, call_command
from django.utils import timezone

from imagegen import services
from imagegen.models import Candidate, GenerationJob
from media_library.models import MediaItem
from projects.models import Element, Project
from tests.fixtures_projects import image_bytes
from tests.imagegen.test_usage import at, make_job
from tests.standin.server import StandinServer

# Storage-relevant: every test runs on the local disk and on a real S3-compatible server (tests/fixtures_storage.py).
pytestmark = pytest.mark.usefixtures("media_storage")

Status = GenerationJob.Status
SD_CHECKPOINT = "v1-5-pruned-emaonly"
# services.job_run watches the job from a second thread with its own connection: it must see committed rows.
jobs_run = pytest.mark.django_db(transaction=True)


def run(*args: str) -> str:
    out = io.StringIO()
    call_command("imagegen", *args, stdout=out, stderr=io.StringIO())
    return out.getvalue()


def run_failing(*args: str) -> tuple[CommandError, str]:
    out = io.StringIO()
    with pytest.raises(CommandError) as excinfo:
        call_command("imagegen", *args, stdout=out, stderr=io.StringIO())
    return excinfo.value, out.getvalue()


@pytest.fixture
def standin(monkeypatch: pytest.MonkeyPatch) -> Iterator[StandinServer]:
    with StandinServer() as server:
        for name, value in server.env().items():
            monkeypatch.setenv(name, value)
        monkeypatch.setenv("OPENAI_API_KEY", "sk-standin-cli-test")
        yield server


@pytest.fixture
def mira(project: Project) -> Element:
    return Element.objects.create(
        project=project,
        kind=Element.Kind.CHARACTER,
        name="Mira Vale",
        description="A cartographer who maps other people's dreams.",
        attributes=[["Hair", "silver"]],
    )


def generate(*extra: str) -> tuple[str, ...]:
    return ("generate", "--project", "moonlit-harbour", "--prompt", "A lighthouse at dusk", *extra)


# --- generate ---------------------------------------------------------------------------------------------------


@jobs_run
def test_stable_diffusion_with_save_makes_media_items_with_metadata(
    standin, project, owner, mira, settings, tmp_path
):
    settings.MEDIA_ROOT = tmp_path
    standin.script(family="a1111", delay=2)  # slow enough for progress to show
    out = run(*generate("--provider", "stable-diffusion", "--model", SD_CHECKPOINT, "--count", "2", "--seed", "7",
                        "--size", "512x768", "--element", "Mira Vale:subject", "--save"))  # fmt: skip
    job = GenerationJob.objects.get()
    assert job.status == Status.SUCCEEDED
    assert (job.images_requested, job.images_made, job.user, job.project) == (2, 2, owner, project)
    assert job.options["steps"] == 30 and job.options["seed"] == 7 and job.options["size"] == "512x768"
    assert "Subject: Mira Vale, a character. A cartographer" in job.composed_prompt
    assert job.elements[0]["name"] == "Mira Vale" and job.elements[0]["role"] == "subject"
    # Progress on the terminal, then the outcome and the saved items.
    assert "Queued" in out and "Running" in out and "Succeeded" in out
    assert f"Job {job.pk}: Succeeded — 2 of 2 image(s) made" in out
    items = list(MediaItem.objects.filter(project=project).order_by("pk"))
    assert len(items) == 2
    for item in items:
        assert item.origin == MediaItem.Origin.GENERATED
        assert item.generation["job_id"] == job.pk
        assert item.generation["provider"] == "stable-diffusion"
        assert item.generation["model"].startswith(SD_CHECKPOINT)
        assert item.generation["elements"] == [
            {"id": mira.pk, "name": "Mira Vale", "kind": "character", "role": "subject"}
        ]
        assert item.created_by == owner
        assert f"Saved media item {item.pk}: A lighthouse at dusk — {item.get_absolute_url()}" in out
    assert set(job.candidates.values_list("saved_item", flat=True)) == {i.pk for i in items}


@jobs_run
def test_openai_dall_e_3_makes_two_images_in_two_calls(standin, project, editor, settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path
    out = run(*generate("--provider", "openai", "--model", "dall-e-3", "--count", "2", "--quality", "hd",
                        "--user", "editor"))  # fmt: skip
    job = GenerationJob.objects.get()
    assert (job.status, job.images_made, job.user) == (Status.SUCCEEDED, 2, editor)
    assert job.estimated_cost == Decimal("0.16")  # hd 1024x1024: $0.08 an image
    assert job.options == {"size": "1024x1024", "quality": "hd", "style": "vivid", "count": 2}
    assert len(standin.requests(path="/v1/images/generations", method="POST")) == 2  # dall-e-3 takes n=1
    assert "estimated cost $0.16" in out
    assert job.candidates.count() == 2 and not MediaItem.objects.exists()  # no --save: candidates only


@jobs_run
def test_a_refused_prompt_exits_1_and_is_recorded(standin, project, settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path
    standin.script(family="openai", fail_with="content_policy")
    error, out = run_failing(*generate("--provider", "openai", "--model", "dall-e-3", "--save"))
    assert error.returncode == 1
    job = GenerationJob.objects.get()
    assert job.status == Status.FAILED
    assert job.error_class == "content_policy"
    assert job.images_made == 0
    assert "Error: content_policy — " in out and "nothing charged" in out
    assert not MediaItem.objects.exists()


@jobs_run
@pytest.mark.parametrize(
    ("args", "message"),
    [
        (("--element", "Nobody:subject"), "has no worldbuilding element named 'Nobody'"),
        (("--element", "Mira Vale:hero"), "unknown role 'hero'"),
        (("--element", "Mira Vale"), "write NAME:ROLE"),
        (("--size", "640x640"), "--size: DALL·E 3 makes these sizes: Square · 1024 × 1024"),
        (
            ("--quality", "ultra"),
            "--quality: DALL·E 3 offers quality standard, hd; “ultra” is not one of them.",
        ),
        (("--count", "5"), "--count: Images may be at most 4 for DALL·E 3."),
        (("--count", "many"), "--count: Enter a whole number."),
        (("--seed", "3"), "DALL·E 3 takes no seed."),
        (("--negative-prompt", "fog"), "DALL·E 3 takes no negative prompt."),
        (("--model", "dall-e-9"), "OpenAI has no model 'dall-e-9'"),
        (("--user", "outsider"), "outsider cannot edit 'Moonlit Harbour'"),
        (("--user", "ghost"), "No user named 'ghost'"),
    ],
)
def test_bad_input_exits_2_before_any_job(standin, project, mira, outsider, args, message):
    base = ("--provider", "openai", "--model", "dall-e-3")
    if "--model" in args:
        base = ("--provider", "openai")
    error, _ = run_failing(*generate(*base, *args))
    assert error.returncode == 2
    assert message in str(error)
    assert not GenerationJob.objects.exists()
    assert not standin.requests(path="/v1/images/generations")


@jobs_run
def test_unknown_project_and_empty_or_long_prompts_exit_2(standin, project):
    error, _ = run_failing("generate", "--project", "nowhere", "--prompt", "x")
    assert error.returncode == 2 and "No project with the slug 'nowhere'" in str(error)
    error, _ = run_failing("generate", "--project", "moonlit-harbour", "--prompt", "  ")
    assert error.returncode == 2 and "--prompt: Describe the image you want." in str(error)
    error, _ = run_failing(
        "generate", "--project", "moonlit-harbour", "--prompt", "x" * 4001, "--model", "dall-e-3"
    )
    assert (
        error.returncode == 2
        and "--prompt: The prompt is 4001 characters; DALL·E 3 takes at most 4000." in str(error)
    )


@jobs_run
def test_an_unavailable_provider_exits_2(standin, project, monkeypatch):
    monkeypatch.setenv("AI_IMAGE_OPENAI_ENABLED", "false")
    error, _ = run_failing(*generate("--provider", "openai"))
    assert error.returncode == 2 and "OpenAI is not available: disabled by AI_IMAGE_OPENAI_ENABLED" in str(
        error
    )
    monkeypatch.setenv("AI_IMAGE_ENABLED", "false")
    error, _ = run_failing(*generate())
    assert error.returncode == 2 and "Image generation is not available" in str(error)


@jobs_run
def test_a_reached_limit_exits_2_with_the_limit_message(standin, project, owner, monkeypatch):
    monkeypatch.setenv("AI_IMAGE_DAILY_LIMIT", "3")
    make_job(owner, images_made=2, created_at=timezone.now())
    error, _ = run_failing(*generate("--provider", "openai", "--model", "dall-e-3", "--count", "2"))
    assert error.returncode == 2
    assert "Daily image limit: you have used 2 of 3 images today" in str(error)
    assert GenerationJob.objects.count() == 1
    assert not standin.requests(path="/v1/images/generations")


@jobs_run
def test_defaults_are_the_default_provider_and_its_first_usable_model(standin, project, settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path
    out = run(*generate("--provider", "stable-diffusion"))
    job = GenerationJob.objects.get()
    assert job.provider == "stable-diffusion" and job.model.startswith(SD_CHECKPOINT)
    assert job.options["size"] == "512x512"  # the dialog's default for a checkpoint: the WebUI's own
    assert "Succeeded" in out


# --- cleanup ----------------------------------------------------------------------------------------------------


def _candidate(job: GenerationJob, index: int, age: timedelta) -> Candidate:
    candidate = Candidate(job=job, index=index, content_type="image/png", width=64, height=48, bytes=0)
    candidate.file.save(f"{index + 1}.png", ContentFile(image_bytes(color=(index * 40, 0, 0))), save=False)
    candidate.created_at = timezone.now() - age
    candidate.save()
    return candidate


@jobs_run
def test_cleanup_removes_old_unsaved_candidates_and_fails_stuck_jobs(project, owner, settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path
    job = make_job(owner, project=project, images_requested=3, images_made=3)
    old = _candidate(job, 0, timedelta(hours=30))
    recent = _candidate(job, 1, timedelta(hours=2))
    saved = _candidate(job, 2, timedelta(hours=30))
    [item] = services.candidates_save(job=job, candidates=[saved], user=owner)
    stuck = make_job(
        owner, status=Status.RUNNING, images_made=0, started_at=timezone.now() - timedelta(days=1)
    )
    running = make_job(owner, status=Status.RUNNING, images_made=0, started_at=timezone.now())

    out = run("cleanup")

    assert not Candidate.objects.filter(pk=old.pk).exists()
    assert not default_storage.exists(old.file.name)
    assert Candidate.objects.filter(pk=recent.pk).exists() and default_storage.exists(recent.file.name)
    # What was saved lives on in the library, file and all, and the job keeps its link to it.
    item.refresh_from_db()
    assert default_storage.exists(item.file.name)
    assert Candidate.objects.get(pk=saved.pk).saved_item == item
    assert "Removed 1 candidate(s)" in out
    stuck.refresh_from_db()
    assert (stuck.status, stuck.error_class) == (Status.FAILED, "unavailable")
    assert GenerationJob.objects.get(pk=running.pk).status == Status.RUNNING
    assert "older than 24 h" in out and "Marked 1 stuck job(s) as failed." in out

    out = run("cleanup", "--older-than", "1")
    assert not Candidate.objects.filter(pk=recent.pk).exists()
    assert "Removed 1 candidate(s) older than 1 h." in out


@jobs_run
def test_cleanup_refuses_a_non_positive_age(db):
    error, _ = run_failing("cleanup", "--older-than", "0")
    assert error.returncode == 2


# --- usage ------------------------------------------------------------------------------------------------------


@jobs_run
def test_usage_prints_totals_per_month_provider_and_user(owner, editor, monkeypatch):
    monkeypatch.setattr(timezone, "now", lambda: at(2025, 3, 20))
    make_job(
        owner, created_at=at(2025, 2, 10), actual_cost=Decimal("0.10"), images_made=2, images_requested=2
    )
    make_job(editor, created_at=at(2025, 3, 3))
    make_job(editor, created_at=at(2025, 3, 4), provider="stable-diffusion", model="v1-5", images_made=4,
             images_requested=4, estimated_cost=Decimal(0))  # fmt: skip
    make_job(owner, created_at=at(2025, 3, 5), status=Status.FAILED, images_made=0)  # not charged

    out = run("usage", "--since", "2025-02-01")
    lines = out.splitlines()
    assert lines[0].startswith("Since 2025-02-01")
    assert lines[1] == "4 job(s), 7 image(s), spend $0.14 (estimated: $0.04)."
    table = {line.split("  ")[0].strip(): line.split() for line in lines if line and not line.startswith(" ")}
    # JOBS IMAGES SPEND ESTIMATED UNKNOWN
    assert table["February 2025"][-5:] == ["1", "2", "$0.10", "$0.00", "0"]
    assert table["March 2025"][-5:] == ["3", "5", "$0.04", "$0.04", "0"]
    assert table["OpenAI"][-5:] == ["3", "3", "$0.14", "$0.04", "0"]
    assert table["Stable Diffusion WebUI"][-5:] == ["1", "4", "$0.00", "$0.00", "0"]
    assert table["owner"][-5:] == ["2", "2", "$0.10", "$0.00", "0"]
    assert table["editor"][-5:] == ["2", "5", "$0.04", "$0.04", "0"]

    # Default: since the start of this month.
    assert run("usage").splitlines()[0].startswith("Since 2025-03-01")
    error, _ = run_failing("usage", "--since", "March")
    assert error.returncode == 2 and "YYYY-MM-DD" in str(error)


@jobs_run
def test_without_a_model_openai_starts_on_the_same_model_as_the_dialog(standin, project, settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path
    run(*generate("--provider", "openai", "--quality", "low"))
    assert GenerationJob.objects.get().model == "gpt-image-2"
