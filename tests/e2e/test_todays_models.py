"""Today's OpenAI models and their true cost, in a real browser with the worker and the stand-in.

A key that lists only `gpt-image-2` and `gpt-image-2.6-sunburst` (OpenAI as of 2026-12-01): the dialog offers exactly
those two, with the ebook cover among their sizes and a priced estimate; with a monthly budget set the job is
accepted; its actual cost is computed from the answer's `usage` tokens, and the job panel, the usage page and
`imagegen usage` all show it.
"""

from __future__ import annotations

import io
import subprocess
from decimal import ROUND_CEILING, Decimal

from django.core.management import call_command
from playwright.sync_api import Page, expect

from imagegen.models import GenerationJob
from projects.models import Project
from tests.conftest import PASSWORD
from tests.e2e.test_generation_journeys import form_refresh, job_panel, open_dialog, open_media_tab
from tests.standin.client import StandinClient


def test_todays_openai_models_priced_by_tokens(
    page: Page,
    live_server,
    sign_in,
    story: Project,
    upstream: StandinClient,
    start_worker,
    monkeypatch,
    admin_user_,
) -> None:
    upstream.configure(openai_models=["gpt-image-2", "gpt-image-2.6-sunburst"])
    monkeypatch.setenv("AI_IMAGE_MONTHLY_BUDGET", "25")
    start_worker()
    sign_in(page, "editor", PASSWORD)
    open_media_tab(page, live_server.url, story)
    dialog = open_dialog(page)
    with form_refresh(page):
        dialog.get_by_label("Image service").select_option(label="OpenAI")

    models = dialog.get_by_label("Model").locator("option").all_inner_texts()
    assert models == ["GPT Image 2.6 Sunburst", "GPT Image 2"]
    expect(dialog.get_by_label("Model").locator("option:checked")).to_have_text("GPT Image 2")
    expect(dialog.locator("#cost-estimate")).to_contain_text(
        "$0.072"
    )  # medium 1024×1024: 2,400 tokens × $30/M
    dialog.get_by_label("Size", exact=True).select_option(label="Ebook cover · 1600 × 2560")
    dialog.get_by_label("Quality").select_option(label="Low")
    expect(dialog.locator("#cost-estimate")).to_contain_text("$0.082")  # 2,735 tokens
    dialog.get_by_label("Prompt", exact=True).fill("An ebook cover: a lighthouse in fog")
    dialog.get_by_role("button", name="Generate", exact=True).click()

    panel = job_panel(dialog)
    expect(panel.locator(".status")).to_have_text("Succeeded", timeout=20_000)
    job = GenerationJob.objects.get()
    assert (job.model, job.options["size"], job.cost_source) == ("gpt-image-2", "1600x2560", "tokens")
    (answered,) = upstream.usages("/v1/images/generations")
    usage = answered["usage"]  # what the stand-in's answer said was used
    assert job.usage == usage
    details = usage["input_tokens_details"]
    exact = (
        Decimal(details["text_tokens"] * 5 + details["image_tokens"] * 8 + usage["output_tokens"] * 30)
        / 10**6
    )
    assert job.actual_cost == exact.quantize(Decimal("0.0001"), rounding=ROUND_CEILING)
    cost = f"${job.actual_cost}"
    expect(panel.locator(".job-cost")).to_contain_text(f"cost {cost}, computed from the tokens used")

    # The admin's usage page and the command line count the actual cost.
    admin = page.context.browser.new_context().new_page()
    sign_in(admin, admin_user_.username, PASSWORD)
    admin.goto(f"{live_server.url}/admin/imagegen/generationjob/usage/")
    expect(admin.locator("#by-provider")).to_contain_text(cost)
    out = io.StringIO()
    call_command("imagegen", "usage", stdout=out)
    assert f"spend {cost}" in out.getvalue()
    admin.context.close()


def test_the_family_is_all_that_is_offered(
    page: Page, live_server, sign_in, story: Project, upstream: StandinClient, start_worker: subprocess.Popen
) -> None:
    """Today's OpenAI: the retired models are not listed at all, and a model of no known family says why."""
    upstream.configure(
        openai_models=["gpt-image-2", "gpt-image-2.5-flare", "gpt-image-3-preview", "dall-e-3"]
    )
    sign_in(page, "editor", PASSWORD)
    open_media_tab(page, live_server.url, story)
    dialog = open_dialog(page)
    with form_refresh(page):
        dialog.get_by_label("Image service").select_option(label="OpenAI")
    assert dialog.get_by_label("Model").locator("option").all_inner_texts() == [
        "GPT Image 2.5 Flare",
        "GPT Image 2",
        "DALL·E 3",  # listed by this key: a gateway may still serve it
    ]
    dialog.locator(".unavailable-models summary").click()
    expect(dialog.locator(".unavailable-models")).to_contain_text(
        "gpt-image-3-preview is a model Inkweld does not know"
    )
