"""Words a writer reads (issue 19): no catalog model id where the model has a label, no raw job status, counts
in words. Every page a writer sees a job or a generated image on is rendered and its visible text scanned."""

from __future__ import annotations

import html
import re

import pytest
from django.core.files.base import ContentFile
from django.urls import reverse

from imagegen.models import Candidate, GenerationJob
from imagegen.providers import PROVIDERS
from imagegen.saving import candidates_save
from tests.fixtures_projects import image_bytes
from tests.imagegen.conftest import upstream  # noqa: F401 — the stand-in, so providers are available

pytestmark = pytest.mark.django_db
Status = GenerationJob.Status


def labelled_catalog_ids() -> dict[str, str]:
    """Every model id the catalog knows with a label of its own, as {id: label}."""
    found = {}
    for provider in PROVIDERS.values():
        for family in getattr(provider, "families", ()):
            for model_id in family.known_ids:
                spec = family.spec_for(model_id)
                if spec is not None and spec.label and spec.label != model_id:
                    found[model_id] = spec.label
    return found


def visible_text(page: str) -> str:
    """What a reader sees: no tags (so no attribute values), no scripts or styles, entities decoded."""
    page = re.sub(r"<(script|style)\b.*?</\1>", " ", page, flags=re.S)
    return html.unescape(re.sub(r"\s+", " ", re.sub(r"<[^>]+>", " ", page)))


@pytest.fixture
def pages(upstream, project, owner, client_for):  # noqa: F811 — the imported fixture
    """The Media tab, the history, each job's panel and a saved image's page, for jobs of every status."""
    client = client_for("owner")
    ids = labelled_catalog_ids()
    models = ["gpt-image-2", "gpt-image-2.6-sunburst", "gpt-image-2.5-flare"]
    assert set(models) <= set(ids), "the scan needs labelled ids"
    jobs = []
    for n, status in enumerate(Status.values):
        jobs.append(GenerationJob.objects.create(
            user=owner, project=project, provider="openai", model=models[n % len(models)], prompt=f"Scene {n}",
            composed_prompt="x", status=status, images_requested=4, images_made=2 if status != "failed" else 0,
            error_class="unavailable" if status in ("failed", "partly_succeeded") else "",
            error_message="The provider could not be reached. Try again in a few minutes." if status == "failed" else "",
        ))  # fmt: skip
    candidate = Candidate(job=jobs[2], index=0, content_type="image/png", width=64, height=48, bytes=10)
    candidate.file.save("1.png", ContentFile(image_bytes()), save=False)
    candidate.save()
    [item] = candidates_save(job=jobs[2], candidates=[candidate], user=owner)
    slug = project.slug
    urls = [
        reverse("media:index", kwargs={"slug": slug}),
        reverse("imagegen:history", kwargs={"slug": slug}),
        reverse("media:detail", kwargs={"slug": slug, "pk": item.pk}),
        reverse("imagegen:dialog", kwargs={"slug": slug}),
        reverse("imagegen:again", kwargs={"slug": slug, "pk": jobs[1].pk}),
        *(reverse("imagegen:job", kwargs={"slug": slug, "pk": job.pk}) for job in jobs),
    ]
    return {url: client.get(url).content.decode() for url in urls}


def test_no_model_id_where_a_label_exists(pages):
    ids = labelled_catalog_ids()
    # The scan sees the models: their labels are there, on the lists and on the image's page.
    history = visible_text(pages[reverse("imagegen:history", kwargs={"slug": "moonlit-harbour"})])
    assert "GPT Image 2.6 Sunburst" in history and "GPT Image 2.5 Flare" in history
    for url, page in pages.items():
        text = visible_text(page)
        for model_id, label in ids.items():
            assert not re.search(rf"(?<![\w.-]){re.escape(model_id)}(?![\w.-])", text), (url, model_id, label)


def test_statuses_in_sentence_case_and_counts_in_words(pages):
    labels = set(Status.labels)
    for url, page in pages.items():
        text = visible_text(page)
        for value in Status.values:
            assert value.upper() not in text, (url, value)
        assert "partly_succeeded" not in text, url
        for badge in re.findall(r'<span class="status status-[a-z_]+">([^<]*)</span>', page):
            assert badge in labels, (url, badge)
        assert not re.search(r"\b\d+/\d+\b", text), (url, "a bare count such as 1/1")
    history = visible_text(pages[reverse("imagegen:history", kwargs={"slug": "moonlit-harbour"})])
    assert "2 of 4 images" in history


def test_status_badges_are_not_shouted():
    with open("static/css/inkweld.css") as css:
        rule = re.search(r"\.status \{[^}]*\}", css.read()).group(0)
    assert "uppercase" not in rule


def test_the_service_that_makes_the_image_is_named_in_a_writer_s_word(pages, client_for, project):
    """The dialog's choice of provider reads "Image service" (the CLI keeps `--provider`), in Generate and Edit."""
    dialog = pages[reverse("imagegen:dialog", kwargs={"slug": project.slug})]
    item = project.media_items.get()
    edit = client_for("owner").get(reverse("imagegen:edit", kwargs={"slug": project.slug, "pk": item.pk}))
    for page in (dialog, edit.content.decode()):
        assert '<label for="id_provider">Image service</label>' in page
        assert not re.search(r"<label[^>]*>\s*Provider", page)
    # A saved image's details name it the same way.
    detail = pages[reverse("media:detail", kwargs={"slug": project.slug, "pk": item.pk})]
    assert "<dt>Image service</dt><dd>OpenAI</dd>" in detail and "<dt>Provider</dt>" not in detail


def test_an_image_s_format_is_named_not_typed(pages, project):
    detail = pages[reverse("media:detail", kwargs={"slug": project.slug, "pk": project.media_items.get().pk})]
    assert "<dt>Format</dt><dd>PNG</dd>" in detail
    for url, page in pages.items():
        assert not re.search(r"\bimage/(png|jpeg|webp|gif)\b", visible_text(page)), url
