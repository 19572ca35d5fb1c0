"""The true cost of a job: estimate before, actual after (and where it came from), admin price overrides, the
unknown-price policy of the budget, and a generation that may have been billed is never sent twice."""

from __future__ import annotations

from decimal import ROUND_CEILING, Decimal

import pytest
from django.core.management import call_command
from django.urls import reverse

from imagegen import costs
from imagegen.config import get_config
from imagegen.limits import LimitReached, check_limits, spend_this_month
from imagegen.models import GenerationJob, ModelPrice
from imagegen.providers import model_spec
from imagegen.services import job_run, user_reference
from imagegen.usage import cost_text

Source = GenerationJob.CostSource
GPT2 = "gpt-image-2.6-sunburst"
USAGE = {
    "input_tokens": 50,
    "input_tokens_details": {"text_tokens": 40, "image_tokens": 10},
    "output_tokens": 4160,
}


def spec(model_id: str = GPT2):
    return model_spec("openai", model_id)


# --- where the actual figure comes from, best first ------------------------------------------------------------


@pytest.mark.parametrize(
    ("model", "reported", "usage", "made", "expected", "source"),
    [
        (GPT2, Decimal("0.5"), USAGE, 1, Decimal("0.5"), Source.PROVIDER),  # money reported wins over tokens
        (GPT2, None, USAGE, 1, Decimal("0.1251"), Source.TOKENS),  # 40×5 + 10×8 + 4,160×30 millionths
        (GPT2, None, {}, 2, Decimal("0.1440"), Source.ESTIMATE),  # no tokens: the estimate of what was made
        (GPT2, None, {}, 0, None, Source.UNKNOWN),
        ("dall-e-3", None, {}, 3, Decimal("0.120"), Source.ESTIMATE),  # 3 × the per-image price
        ("gpt-image-1.5", None, {}, 1, None, Source.UNKNOWN),  # never priced: unknown, not $0
    ],
)
@pytest.mark.django_db
def test_actual_cost_and_its_source(model, reported, usage, made, expected, source):
    found = costs.actual_cost(
        spec(model), reported=reported, usage=usage, images_made=made, sent_images=False, size="1024x1024",
        quality="medium" if model == GPT2 else "standard",
    )  # fmt: skip
    assert (found.amount, found.source) == (expected, source)


@pytest.mark.django_db
def test_a_self_hosted_engine_is_free():
    checkpoint = model_spec("stable-diffusion", "v1-5-pruned-emaonly.safetensors [6ce0161689]")
    found = costs.actual_cost(
        checkpoint, reported=None, usage={}, images_made=4, sent_images=False, size="512x512", quality=""
    )
    assert (found.amount, found.source) == (Decimal(0), Source.FREE)


# --- prices an admin sets --------------------------------------------------------------------------------------


@pytest.mark.django_db
def test_a_family_override_is_used_by_the_estimate_and_the_actual_cost():
    before = costs.estimate_cost(spec(), size="1024x1024", quality="high")
    assert before == Decimal("0.1920")  # 6,400 tokens × $30 per million
    ModelPrice.objects.create(
        provider="openai", model="gpt-image-2", kind="per_token",
        text_in=Decimal(2), image_in=Decimal(4), image_out=Decimal(10), note="our gateway's rate card",
    )  # fmt: skip
    assert costs.estimate_cost(spec(), size="1024x1024", quality="high") == Decimal("0.0640")
    actual = costs.actual_cost(
        spec(), reported=None, usage=USAGE, images_made=1, sent_images=False, size="1024x1024", quality="high"
    )
    assert actual.amount == Decimal("0.0418")  # 40×2 + 10×4 + 4,160×10 = 41,720 millionths, rounded up
    assert "admin override (our gateway's rate card)" in costs.price_of(spec()).source


@pytest.mark.django_db
def test_a_models_own_override_wins_over_its_familys():
    ModelPrice.objects.create(
        provider="openai", model="gpt-image-2", kind="per_image", per_image=Decimal("0.10")
    )
    ModelPrice.objects.create(provider="openai", model=GPT2, kind="per_image", per_image=Decimal("0.30"))
    assert costs.estimate_cost(spec(GPT2), size="1024x1024", quality="high", count=2) == Decimal("0.60")
    assert costs.estimate_cost(spec("gpt-image-2.5-flare"), size="1024x1024", quality="high") == Decimal(
        "0.10"
    )


@pytest.mark.django_db
def test_a_per_image_override_gives_a_price_to_a_model_that_had_none():
    ModelPrice.objects.create(
        provider="openai", model="gpt-image-1.5", kind="per_image", per_image=Decimal("0.05")
    )
    assert costs.estimate_cost(spec("gpt-image-1.5"), size="1024x1024", quality="high", count=3) == Decimal(
        "0.15"
    )


@pytest.mark.django_db
def test_an_override_must_say_its_price():
    from django.core.exceptions import ValidationError

    with pytest.raises(ValidationError) as caught:
        ModelPrice(provider="openai", model="gpt-image-2", kind="per_token", text_in=Decimal(1)).full_clean()
    assert set(caught.value.message_dict) == {"image_in", "image_out"}


# --- the budget and prices nobody knows ------------------------------------------------------------------------


@pytest.mark.django_db
def test_the_budget_refuses_an_unknown_price_by_default(editor, monkeypatch):
    monkeypatch.setenv("AI_IMAGE_MONTHLY_BUDGET", "10")
    with pytest.raises(LimitReached) as caught:
        check_limits(user=editor, count=1, estimated_cost=None, config=get_config())
    assert "price is unknown" in caught.value.message


@pytest.mark.django_db
def test_allowed_unknown_prices_count_the_assumed_price_never_zero(editor, project, monkeypatch):
    monkeypatch.setenv("AI_IMAGE_MONTHLY_BUDGET", "1")
    monkeypatch.setenv("AI_IMAGE_UNKNOWN_PRICE", "allow")
    monkeypatch.setenv("AI_IMAGE_ASSUMED_PRICE", "0.40")
    counted = check_limits(user=editor, count=2, estimated_cost=None, config=get_config())
    assert (counted.cost, counted.assumed) == (Decimal("0.80"), True)
    GenerationJob.objects.create(
        user=editor, project=project, provider="openai", model="gpt-image-1.5", prompt="p", composed_prompt="p",
        images_requested=2, estimated_cost=counted.cost, estimate_assumed=True,
    )  # fmt: skip
    assert spend_this_month() == Decimal("0.80")  # the queued job counts at its assumed price
    with pytest.raises(LimitReached) as caught:
        check_limits(user=editor, count=1, estimated_cost=None, config=get_config())
    assert "would add an assumed $0.40" in caught.value.message


# --- a whole job against the stand-in ----------------------------------------------------------------------------

pytestmark_db = pytest.mark.django_db(transaction=True)


def run_worker() -> None:
    call_command("db_worker", "--batch", "--no-startup-delay", "--interval", "0.05", verbosity=0)


@pytestmark_db
def test_a_gpt_image_2_job_stores_its_cost_from_the_answers_usage(upstream, client_for, project, monkeypatch):
    """The flagship provider's spend is what its tokens cost, counted by the usage report and the budget."""
    monkeypatch.setenv("AI_IMAGE_MONTHLY_BUDGET", "25")
    client = client_for("editor")
    data = {"provider": "openai", "model": "gpt-image-2", "prompt": "An ebook cover: a lighthouse in fog",
            "size": "1600x2560", "quality": "low", "count": "2", "action": "generate"}  # fmt: skip
    response = client.post(reverse("imagegen:dialog", kwargs={"slug": project.slug}), data)
    assert response.status_code == 302  # accepted under the budget: the price is known
    job = GenerationJob.objects.get()
    assert job.estimated_cost == Decimal("0.1642")  # 2 × 2,735 output + 9 text tokens, rounded up
    run_worker()
    job.refresh_from_db()
    assert job.status == "succeeded" and job.cost_source == Source.TOKENS
    (sent,) = upstream.requests("/v1/images/generations")
    usage = job.usage  # the answer's own usage object, kept on the job for the audit
    assert usage["output_tokens"] > 0
    text = usage["input_tokens_details"]["text_tokens"]
    image = usage["input_tokens_details"]["image_tokens"]
    exact = Decimal(text * 5 + image * 8 + usage["output_tokens"] * 30) / 1_000_000
    expected = exact.quantize(Decimal("0.0001"), rounding=ROUND_CEILING)
    assert job.actual_cost == expected
    assert spend_this_month() == job.actual_cost  # the budget counts the actual, not the estimate
    # safety_identifier: a stable hash standing for the writer, never their name.
    identifier = sent["body"]["safety_identifier"]
    assert identifier == user_reference(job.user_id) and "editor" not in identifier and len(identifier) == 32


@pytestmark_db
def test_a_read_timeout_on_a_generation_reaches_the_upstream_exactly_once(
    upstream, client_for, project, monkeypatch
):
    monkeypatch.setenv("AI_IMAGE_OPENAI_TIMEOUT", "1")
    upstream.script(family="openai", hang=True)
    client = client_for("editor")
    data = {"provider": "openai", "model": "gpt-image-2", "prompt": "p", "size": "1024x1024", "quality": "low",
            "count": "1", "action": "generate"}  # fmt: skip
    client.post(reverse("imagegen:dialog", kwargs={"slug": project.slug}), data)
    run_worker()
    job = GenerationJob.objects.get()
    assert job.status == "failed" and job.error_class == "unavailable"
    assert "may have made — and charged for — the images" in job.error_message
    assert len(upstream.requests("/v1/images/generations")) == 1
    # It may have been billed: it counts, at its estimate, in the budget and the reports — never as $0.
    assert job.may_have_cost and (job.actual_cost, job.cost_source) == (job.estimated_cost, Source.ESTIMATE)
    assert spend_this_month() == job.estimated_cost > 0
    assert f"cost ${job.actual_cost}, estimated (nothing better was reported)" in cost_text(job)


# --- Jobs the upstream may have billed without an image -----------------------------------------------------------

OPENAI = "https://api.openai.com/v1"


@pytest.fixture
def openai_job(db, monkeypatch, project, editor, fresh_cache):
    """A queued gpt-image-2 job for 2 low-quality images against a replayed OpenAI."""
    monkeypatch.setenv("OPENAI_API_KEY", "sk-test-billing-0123456789")
    estimate = costs.estimate_cost(
        spec("gpt-image-2"), size="1024x1024", quality="low", count=2, prompt_chars=1
    )
    job = GenerationJob.objects.create(
        user=editor, project=project, provider="openai", model="gpt-image-2", prompt="p", composed_prompt="p",
        options={"size": "1024x1024", "quality": "low", "count": 2}, images_requested=2, estimated_cost=estimate,
    )  # fmt: skip
    return job


def test_an_answer_with_nothing_usable_keeps_the_cost_its_tokens_say(openai_job, rsps):
    usage = {
        "input_tokens": 8,
        "input_tokens_details": {"text_tokens": 8, "image_tokens": 0},
        "output_tokens": 1400,
    }
    rsps.post(
        f"{OPENAI}/images/generations", json={"data": [{"b64_json": "bm90IGFuIGltYWdl"}] * 2, "usage": usage}
    )
    job = job_run(job_id=openai_job.pk)
    assert (job.status, job.error_class, job.images_made) == ("failed", "bad_response", 0)
    assert job.may_have_cost and job.cost_source == Source.TOKENS
    assert job.actual_cost == Decimal(
        "0.0421"
    )  # 8×5 + 1,400×30 millionths: what it charged for the bad images
    assert spend_this_month() == job.actual_cost


def test_a_gateway_timeout_on_a_generation_is_not_repeated_and_may_have_cost(openai_job, rsps):
    rsps.post(f"{OPENAI}/images/generations", status=504, body="upstream request timeout")
    job = job_run(job_id=openai_job.pk, sleep=lambda s: None)
    assert len(rsps.calls) == 1
    assert job.status == "failed" and job.may_have_cost and job.actual_cost == job.estimated_cost
    assert "may have made — and charged for" in job.error_message


def test_a_worker_that_died_mid_job_leaves_a_job_that_counts(openai_job):
    from datetime import timedelta

    from django.utils import timezone

    from imagegen.recovery import jobs_fail_stuck

    long_ago = timezone.now() - timedelta(minutes=10)
    GenerationJob.objects.filter(pk=openai_job.pk).update(
        status="running", started_at=long_ago, heartbeat_at=long_ago
    )
    assert jobs_fail_stuck() == 1
    job = GenerationJob.objects.get(pk=openai_job.pk)
    assert job.status == "failed" and job.may_have_cost
    assert spend_this_month() == job.estimated_cost  # the estimate counts: its request may have been billed
    assert "may have been charged" in cost_text(job)


def test_a_job_refused_before_anything_was_made_costs_nothing(openai_job, rsps):
    refusal = {"error": {"message": "Your request was rejected.", "type": "image_generation_user_error",
                         "param": None, "code": "moderation_blocked"}}  # fmt: skip
    rsps.post(f"{OPENAI}/images/generations", status=400, json=refusal)
    job = job_run(job_id=openai_job.pk)
    assert job.status == "failed" and not job.may_have_cost and job.actual_cost is None
    assert spend_this_month() == 0 and "nothing charged" in cost_text(job)
