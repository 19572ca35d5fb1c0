"""The Generate Image dialog and `imagegen generate` are one set of rules: the same inputs give the same defaults,
the same accepted options and the same refusals. Each of the four drifts found between them has a row here:
Stable Diffusion's default size, sizes one accepted and the other refused, the quality a model without "medium"
starts on, and reference images for an OpenRouter model outside the built-in catalog."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from django.core.management.base import CommandError

from imagegen.cli.job_cmds import plan_generation
from imagegen.config import get_config
from imagegen.generate_form import GenerateForm
from imagegen.providers import get_provider
from tests.imagegen.conftest import SD_MODEL
from tests.standin.server import StandinServer

pytestmark = pytest.mark.django_db
PROMPT = "A lighthouse at dusk"


@pytest.fixture
def standin(monkeypatch: pytest.MonkeyPatch) -> Iterator[StandinServer]:
    from django.core.cache import cache

    with StandinServer() as server:
        for name, value in server.env().items():
            monkeypatch.setenv(name, value)
        monkeypatch.setenv("OPENAI_API_KEY", "sk-agree-test-0123456789")
        monkeypatch.setenv("AI_IMAGE_OPENROUTER_API_KEY", "sk-or-v1-agree-test-0123456789")
        cache.clear()
        yield server
        cache.clear()


def models_for(provider_id: str) -> Any:
    config = get_config()
    return get_provider(provider_id, config.connection(provider_id)).models()


def through_dialog(project: Any, provider: str, model: str, given: dict[str, str]) -> Any:
    """What the dialog makes of it: the form as the browser shows it for that model, with `given` typed in."""
    config = get_config()

    def form(data: Any = None, initial: Any = None) -> GenerateForm:
        return GenerateForm(
            data,
            initial=initial,
            project=project,
            providers=config.available_providers(),
            default_provider=provider,
            models_for=models_for,
        )

    shown = form(initial={"provider": provider, "model": model})
    data = {n: shown[n].value() for n in shown.fields if not n.startswith("element_")}
    data = {k: v for k, v in data.items() if v is not None}
    data.update({"prompt": PROMPT, **given})
    bound = form(data)
    if not bound.is_valid():
        return sorted(str(e) for errors in bound.errors.values() for e in errors)
    return bound.options()


def through_cli(project: Any, provider: str, model: str, given: dict[str, str]) -> Any:
    try:
        plan = plan_generation(
            config=get_config(), models_for=models_for, project=project.slug, prompt=PROMPT, provider=provider,
            model=model, **given,
        )  # fmt: skip
    except CommandError as err:
        # The terminal names the option ("--size: …"); the sentence after it is the dialog's.
        return sorted(part.split(": ", 1)[1] if part.startswith("--") else part for part in [str(err)])
    return plan.options


CASES = [
    # (provider, model, what is given, what both must end up with: options or the refusal's words)
    ("stable-diffusion", SD_MODEL, {}, {"size": "512x512", "steps": 30, "cfg_scale": 7.0}),  # drift 1
    ("openai", "dall-e-3", {}, {"size": "1024x1024", "quality": "standard", "style": "vivid"}),  # drift 3
    ("openai", "gpt-image-1", {}, {"size": "1024x1024", "quality": "medium"}),
    ("openai", "gpt-image-2", {"size": "1200x1808"}, {"size": "1200x1808", "quality": "medium"}),
    ("openai", "dall-e-3", {"size": "1536x1024"}, "DALL·E 3 makes these sizes"),  # drift 2
    ("openai", "gpt-image-2", {"size": "1600x2561"}, "both sides must be multiples of 16"),
    ("stable-diffusion", SD_MODEL, {"size": "4096x4096"}, "each side must be 256 to 2048 pixels"),
    ("openai", "dall-e-3", {"seed": "5"}, "DALL·E 3 takes no seed."),
    ("openai", "dall-e-3", {"quality": "medium"}, "DALL·E 3 offers quality standard, hd"),
    ("openai", "dall-e-3", {"count": "9"}, "Images may be at most 4 for DALL·E 3."),
    ("stable-diffusion", SD_MODEL, {"seed": "5", "count": "3"}, {"size": "512x512", "seed": 5, "count": 3}),
]


@pytest.mark.parametrize(("provider", "model", "given", "expected"), CASES)
def test_the_dialog_and_the_command_line_agree(standin, project, provider, model, given, expected):
    dialog = through_dialog(project, provider, model, given)
    cli = through_cli(project, provider, model, given)
    if isinstance(expected, str):
        assert isinstance(dialog, list) and isinstance(cli, list), (dialog, cli)
        assert any(expected in e for e in dialog) and any(expected in e for e in cli)
        assert [e for e in dialog if expected in e] == [e for e in cli if expected in e]
        return
    assert dialog == cli
    recorded = dialog.as_job_options()
    assert {k: recorded[k] for k in expected} == expected


def test_reference_images_go_along_for_an_openrouter_model_outside_the_catalog(standin, project):
    """Drift 4: the command line used to drop the model's input-image limit for live-only OpenRouter models."""
    model = "openai/gpt-5-image-mini"  # listed live by OpenRouter, takes images, not in the built-in catalog
    dialog = through_dialog(project, "openrouter", model, {})
    cli = through_cli(project, "openrouter", model, {})
    assert dialog.max_input_images == cli.max_input_images > 0
