"""The dialog's form offers only what the chosen model allows and validates against its family's rules."""

from decimal import Decimal

import pytest

from imagegen.catalog import ModelOption
from imagegen.generate_form import GenerateForm
from imagegen.providers import model_spec
from imagegen.sizes import size_of
from projects.models import Element

pytestmark = pytest.mark.django_db

OPENAI_MODELS = ("gpt-image-2", "gpt-image-2.6-sunburst", "dall-e-3", "dall-e-2", "gpt-image-1.5")


def models_for(provider_id: str) -> list[ModelOption]:
    if provider_id == "stable-diffusion":
        spec = model_spec("stable-diffusion", "sd-v1-5 [abc]").replace(
            label="SD 1.5", samplers=("Euler a", "DPM++ 2M")
        )
        return [ModelOption.from_spec(spec)]
    return [ModelOption.from_spec(model_spec(provider_id, m)) for m in OPENAI_MODELS]


def make_form(project, data=None, providers=("openai", "stable-diffusion"), models_for=models_for, **kw):
    return GenerateForm(
        data,
        project=project,
        providers=list(providers),
        default_provider=providers[0],
        models_for=models_for,
        **kw,
    )


def dalle3(**overrides):
    data = {"provider": "openai", "model": "dall-e-3", "prompt": "A lighthouse", "size": "1024x1024",
            "quality": "standard", "style": "vivid", "count": "1"}  # fmt: skip
    data.update(overrides)
    return data


def test_dalle3_offers_its_sizes_styles_and_counts_only(project):
    form = make_form(project, initial={"provider": "openai", "model": "dall-e-3"})
    # Its three sizes; each thing writers make is offered on the one that serves it best.
    assert {size_of(c) for c, _ in form.fields["size"].choices} == {"1024x1024", "1024x1792", "1792x1024"}
    assert "custom_size" not in form.fields  # DALL·E 3 makes three sizes only
    assert [c for c, _ in form.fields["style"].choices] == ["vivid", "natural"]
    assert form.fields["count"].max_value == 4
    assert "negative_prompt" not in form.fields and "seed" not in form.fields and "steps" not in form.fields


def test_new_dialog_starts_on_the_current_openai_model(project):
    form = make_form(project)
    assert form.spec.id == "gpt-image-2"
    assert form.fields["quality"].initial == "medium"
    sizes = dict(form.fields["size"].choices)
    assert sizes["1600x2560"] == "Ebook cover · 1600 × 2560" and sizes["custom"] == "Custom size…"
    assert form.estimated_cost == Decimal("0.0720")  # 2,400 tokens of a medium 1024×1024 at $30 per million


def test_gpt_image_2_6_offers_its_extra_qualities_and_detail(project):
    form = make_form(project, initial={"provider": "openai", "model": "gpt-image-2.6-sunburst"})
    assert [q for q, _ in form.fields["quality"].choices] == ["low", "medium", "high", "xhigh", "max", "auto"]
    assert form.fields["complexity"].initial == "high"


@pytest.mark.parametrize(
    ("custom", "error"),
    [
        ("1200x1808", None),
        ("1200 × 1808", None),  # a typed multiplication sign and spaces are fine
        ("1200x1800", "multiples of 16"),
        ("4000x1024", "each side must be 16 to 3840 pixels"),
        ("2400x768", "at most 3 times"),
        ("", "Write the custom size"),
        ("big", "width x height"),
    ],
)
def test_a_custom_size_must_fit_the_family_rule(project, custom, error):
    data = {"provider": "openai", "model": "gpt-image-2", "prompt": "A cover", "size": "custom",
            "custom_size": custom, "quality": "low", "count": "1"}  # fmt: skip
    form = make_form(project, data)
    if error is None:
        assert form.is_valid(), form.errors
        assert form.options().size == "1200x1808"
    else:
        assert not form.is_valid() and error in " ".join(form.errors["custom_size"])


def test_a_size_given_as_pixels_becomes_a_custom_size(project):
    # Generate again on a job with a custom size, or the command line's --size.
    form = make_form(project, initial={"provider": "openai", "model": "gpt-image-2", "size": "1200x1808"})
    assert form["size"].value() == "custom" and form["custom_size"].value() == "1200x1808"


def test_stable_diffusion_offers_negative_prompt_seed_and_steps(project):
    form = make_form(project, initial={"provider": "stable-diffusion"})
    assert {"negative_prompt", "seed", "steps"} <= set(form.fields)
    assert "quality" not in form.fields and "style" not in form.fields
    assert form.fields["count"].max_value == 8


@pytest.mark.parametrize(
    ("overrides", "field", "message"),
    [
        ({"size": "256x256"}, "size", "DALL·E 3 makes these sizes: Square · 1024 × 1024, "),
        (
            {"quality": "ultra"},
            "quality",
            "DALL·E 3 offers quality standard, hd; “ultra” is not one of them.",
        ),
        ({"style": "noir"}, "style", "DALL·E 3 offers style vivid, natural; “noir” is not one of them."),
        ({"count": "5"}, "count", "Images may be at most 4 for DALL·E 3."),
        ({"count": "0"}, "count", "Images must be at least 1."),
        ({"prompt": "x" * 4001}, "prompt", "The prompt is 4001 characters; DALL·E 3 takes at most 4000."),
        ({"prompt": "   "}, "prompt", "Describe the image you want."),
        ({"seed": "7"}, "__all__", "DALL·E 3 takes no seed."),
        ({"negative_prompt": "fog"}, "__all__", "DALL·E 3 takes no negative prompt."),
    ],
)
def test_invalid_options_are_field_errors(project, overrides, field, message):
    form = make_form(project, dalle3(**overrides))
    assert not form.is_valid()
    assert message in " ".join(form.errors[field])


def test_dall_e_2_prompt_limit_is_1000(project):
    form = make_form(project, dalle3(model="dall-e-2", size="512x512", prompt="y" * 1001, style=""))
    assert not form.is_valid()
    assert form.errors["prompt"][0] == "The prompt is 1001 characters; DALL·E 2 takes at most 1000."


def test_valid_request_composes_the_prompt_and_estimates_the_cost(project):
    mira = Element.objects.create(
        project=project, kind="character", name="Mira", attributes=[["Hair", "silver"]]
    )
    harbour = Element.objects.create(project=project, kind="location", name="Harbour", description="Foggy.")
    data = dalle3(quality="hd", size="1792x1024", count="2", **{f"element_{mira.pk}": "subject",
                                                                f"element_{harbour.pk}": "setting"})  # fmt: skip
    form = make_form(project, data)
    assert form.is_valid(), form.errors
    assert form.estimated_cost == Decimal("0.240")  # 0.120 per hd wide image x 2
    assert form.composed.text == (
        "A lighthouse\n\nSubject: Mira, a character. Hair: silver.\nSetting: Harbour, a location. Foggy."
    )
    options = form.options()
    assert (options.model, options.size, options.values["quality"], options.count) == (
        "dall-e-3",
        "1792x1024",
        "hd",
        2,
    )
    assert [(e.name, role) for e, role in options.elements] == [("Mira", "subject"), ("Harbour", "setting")]


def test_elements_of_another_project_cannot_be_used(project, owner):
    from projects.models import Project

    other = Project.objects.create(owner=owner, title="Other", slug="other")
    stranger = Element.objects.create(project=other, kind="character", name="Stranger")
    form = make_form(project, dalle3(**{f"element_{stranger.pk}": "subject"}))
    assert form.is_valid()
    assert "Stranger" not in form.composed.text
    assert form.options().elements == []


def test_bad_role_is_an_error(project):
    mira = Element.objects.create(project=project, kind="character", name="Mira")
    form = make_form(project, dalle3(**{f"element_{mira.pk}": "villain"}))
    assert not form.is_valid()
    assert f"element_{mira.pk}" in form.errors


def test_unknown_price_is_unknown_not_zero(project):
    form = make_form(project, dalle3(model="gpt-image-1.5", size="1024x1024", quality="high", style=""))
    assert form.is_valid(), form.errors
    assert form.estimated_cost is None


def test_self_hosted_costs_nothing(project):
    data = {"provider": "stable-diffusion", "model": "sd-v1-5 [abc]", "prompt": "p", "size": "512x512",
            "count": "3", "steps": "20", "seed": "42", "negative_prompt": "blurry"}  # fmt: skip
    form = make_form(project, data)
    assert form.is_valid(), form.errors
    assert form.estimated_cost == Decimal(0) and form.is_free
    values = form.options().values
    assert values == {"seed": 42, "negative_prompt": "blurry", "steps": 20, "cfg_scale": 7.0}


def test_a_model_the_provider_does_not_offer_is_refused(project):
    def only_gpt_image(pid):
        return [ModelOption.from_spec(model_spec("openai", "gpt-image-2"))]

    form = GenerateForm(
        dalle3(), project=project, providers=["openai"], default_provider="openai", models_for=only_gpt_image
    )
    assert not form.is_valid()
    assert "model" in form.errors


def test_no_usable_model_explains_itself(project):
    form = GenerateForm(
        dalle3(), project=project, providers=["openai"], default_provider="openai", models_for=lambda pid: []
    )
    assert not form.is_valid()
    assert "offers no model you can use right now" in form.non_field_errors()[0]


def test_provider_select_hidden_when_only_one(project):
    form = make_form(project, providers=("openai",))
    assert form["provider"].is_hidden


def test_a_stale_hidden_provider_is_replaced_by_the_one_offered(project):
    # Try again on a job whose provider has since been switched off: only Stable Diffusion is left.
    data = {"provider": "openai", "model": "sd-v1-5 [abc]", "prompt": "p", "size": "512x512", "count": "1",
            "steps": "20"}  # fmt: skip
    form = make_form(project, data, providers=("stable-diffusion",))
    assert form.is_valid(), form.errors
    assert form.options().provider == "stable-diffusion"
    unbound = make_form(project, initial={"provider": "openai"}, providers=("stable-diffusion",))
    assert 'value="stable-diffusion"' in str(unbound["provider"])


@pytest.mark.parametrize("typed", ["1600x2560", "1600 x 2560", "1600×2560", "1600X2560"])
def test_a_custom_size_is_estimated_as_the_job_will_ask_for_it(project, typed):
    """However the writer types it, the estimate (and so the budget check) is for the size the job will request."""
    data = {"provider": "openai", "model": "gpt-image-2", "prompt": "A cover", "size": "custom", "custom_size": typed,
            "quality": "high", "count": "1"}  # fmt: skip
    live = make_form(project, data)
    assert live.estimated_cost == Decimal("0.7501")  # before validation: the live estimate while typing
    assert live.is_valid(), live.errors
    assert live.options().size == "1600x2560" and live.estimated_cost == Decimal("0.7501")


def test_dated_snapshots_stay_out_of_the_menu_unless_asked_for(project):
    from imagegen.catalog import fold_snapshots

    listed = ("gpt-image-2.6-sunburst", "gpt-image-2", "gpt-image-2-2026-04-21", "gpt-image-1.5-2025-12-16")

    def live(provider_id: str) -> list[ModelOption]:
        return fold_snapshots([ModelOption.from_spec(model_spec("openai", m)) for m in listed])

    menu = make_form(project, providers=("openai",), models_for=live).fields["model"].choices
    # The alias stands for its latest build; a snapshot with no alias listed is still the only way to that model.
    assert [label for _, label in menu] == [
        "GPT Image 2.6 Sunburst", "GPT Image 2", "GPT Image 1.5 (2025-12-16)",
    ]  # fmt: skip
    # Generate again on a job pinned to a snapshot (or the CLI naming it) keeps it, shown and accepted.
    pinned = make_form(
        project, providers=("openai",), models_for=live, initial={"model": "gpt-image-2-2026-04-21"}
    )
    assert pinned.spec.id == "gpt-image-2-2026-04-21"
    assert "GPT Image 2 (2026-04-21)" in [label for _, label in pinned.fields["model"].choices]
    data = {"provider": "openai", "model": "gpt-image-2-2026-04-21", "prompt": "A lighthouse", "size": "1024x1024",
            "quality": "medium", "count": "1"}  # fmt: skip
    bound = make_form(project, data, providers=("openai",), models_for=live)
    assert bound.is_valid(), bound.errors
