"""`imagegen generate` takes sizes by what writers make and includes the house style, from the same declarations
as the dialog (imagegen.sizes presets, the GenerateForm's house-style rule)."""

from __future__ import annotations

import pytest

from imagegen.cli.job_cmds import plan_generation
from imagegen.config import get_config
from imagegen.options import SIZE
from imagegen.providers import get_provider
from imagegen.sizes import PRESETS
from projects.models import Element

pytestmark = pytest.mark.django_db


def plan(project, **o):
    config = get_config()

    def models_for(provider_id):
        return get_provider(provider_id, config.connection(provider_id)).models()

    args = {"project": project.slug, "prompt": "A lighthouse", "provider": "openai", **o}
    return plan_generation(config=config, models_for=models_for, **args)


@pytest.fixture
def ink(project):
    ink = Element.objects.create(project=project, kind="style", name="Ink wash", description="Muted indigo.")
    project.house_style = ink
    project.save()
    return ink


@pytest.mark.parametrize(
    ("model", "size", "expected"),
    [
        ("gpt-image-2", "print-6x9", "1824x2752"),
        ("gpt-image-2", "chapter-header", "2400x800"),
        ("gpt-image-2", "1600x2560", "1600x2560"),
        ("dall-e-3", "print-6x9", "1024x1792"),
        ("dall-e-3", "large-square", "1024x1024"),
    ],
)
def test_size_by_what_you_make(upstream, project, model, size, expected):
    extra = {"style": "vivid", "quality": "standard"} if model == "dall-e-3" else {}
    assert plan(project, model=model, size=size, **extra).options.size == expected


def test_the_help_lists_what_you_can_make():
    assert all(p.key in SIZE.cli_help for p in PRESETS)


def test_house_style_goes_along_unless_left_out(upstream, project, ink):
    assert "Style: Ink wash, a style. Muted indigo." in plan(project).composed.text
    assert "Ink wash" not in plan(project, no_house_style=True).composed.text
    # Given a role on the command line, that role wins.
    as_reference = plan(project, element=["Ink wash:reference"], no_house_style=True).composed.text
    assert "Reference: Ink wash, a style." in as_reference
