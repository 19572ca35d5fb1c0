"""Spending by strangers (issue 11): generating needs the permission "Can generate images".

Editing a project is not enough: a generation costs the operator money, and with sign-up open anyone can make an
account. Every account that existed before the permission keeps generating (the migration grants it), `seed_demo`'s
writer has it, a self-signed-up account does not unless SIGNUP_CAN_GENERATE is on, and sign-up itself is off by
default in production.
"""

from __future__ import annotations

import io

import pytest
from django.contrib.auth.models import Permission, User
from django.core.management import CommandError, call_command
from django.db import connection
from django.db.migrations.executor import MigrationExecutor
from django.urls import reverse

from imagegen.models import GenerationJob
from imagegen.permissions import GENERATE_IMAGES, NOT_ALLOWED, GenerationNotAllowed, can_generate
from imagegen.prompts import ComposedPrompt
from imagegen.services import GenerationOptions, job_create
from media_library.models import MediaItem
from projects.models import Membership
from tests.accounts.test_settings import run_python

from .conftest import SD_MODEL
from .test_generate_views import dialog_url, sd_request


@pytest.fixture
def stranger(make_user, project):
    """An editor of the project who signed up without the permission."""
    user = make_user("stranger", can_generate=False)
    Membership.objects.create(project=project, user=user, role=Membership.Role.EDITOR)
    return user


@pytest.fixture
def stranger_client(client, stranger):
    client.force_login(stranger)
    return client


def media_tab(client, project) -> str:
    return client.get(reverse("media:index", kwargs={"slug": project.slug})).content.decode()


# --- Where the money is spent -----------------------------------------------------------------------------------


def test_job_create_refuses_without_the_permission(db, project, stranger):
    options = GenerationOptions(provider="stable-diffusion", model=SD_MODEL, prompt="A harbour")
    with pytest.raises(GenerationNotAllowed) as caught:
        job_create(
            user=stranger, project=project, options=options, composed=ComposedPrompt("A harbour", "A harbour"),
            estimated_cost=None, enqueue=False,
        )  # fmt: skip
    assert caught.value.message == NOT_ALLOWED
    assert not GenerationJob.objects.exists()


def test_the_dialog_refuses_and_says_why(upstream, stranger_client, project, htmx_headers):
    response = stranger_client.post(dialog_url(project), sd_request(), **htmx_headers)
    assert response.status_code == 403
    assert NOT_ALLOWED in response.content.decode()
    assert not GenerationJob.objects.exists()
    opened = stranger_client.get(dialog_url(project), **htmx_headers).content.decode()
    assert NOT_ALLOWED in opened and 'name="prompt"' not in opened


def test_the_button_gives_way_to_one_friendly_sentence(upstream, stranger_client, client_for, project):
    html = media_tab(stranger_client, project)
    assert "Generate Image" not in html
    assert html.count(NOT_ALLOWED) == 1
    # Someone allowed sees the button and not the sentence; a viewer sees neither (they cannot edit anyway).
    editor_html = media_tab(client_for("editor"), project)
    assert "Generate Image" in editor_html and NOT_ALLOWED not in editor_html
    assert NOT_ALLOWED not in media_tab(client_for("viewer"), project)


def test_no_sentence_when_generation_is_off_anyway(stranger_client, project):
    assert NOT_ALLOWED not in media_tab(stranger_client, project)


def test_variations_and_again_say_why_too(upstream, stranger_client, project, owner):
    job = GenerationJob.objects.create(
        user=owner, project=project, provider="stable-diffusion", model=SD_MODEL, prompt="p", composed_prompt="p",
    )  # fmt: skip
    again = stranger_client.get(reverse("imagegen:again", kwargs={"slug": project.slug, "pk": job.pk}))
    assert NOT_ALLOWED in again.content.decode() and 'name="prompt"' not in again.content.decode()


def test_the_cli_refuses_a_user_without_it(upstream, project, stranger):
    with pytest.raises(CommandError) as caught:
        call_command(
            "imagegen", "generate", "--project", project.slug, "--prompt", "A harbour", "--provider",
            "stable-diffusion", "--user", "stranger", stdout=io.StringIO(), stderr=io.StringIO(),
        )  # fmt: skip
    assert "stranger may not generate images" in str(caught.value)
    assert "Can generate images" in str(caught.value)
    assert not GenerationJob.objects.exists()


def test_superusers_may_generate(admin_user_):
    assert can_generate(admin_user_)


def test_an_inactive_account_may_not(make_user):
    assert not can_generate(make_user("gone", is_active=False))


# --- Who has it -------------------------------------------------------------------------------------------------


@pytest.mark.django_db(transaction=True)
def test_the_migration_grants_it_to_every_existing_account():
    executor = MigrationExecutor(connection)
    executor.migrate([("imagegen", "0003_job_input_image_limit")])
    Permission.objects.filter(codename="generate_images").delete()
    before = [User.objects.create_user(name) for name in ("ann", "bob", "cy")]
    executor = MigrationExecutor(connection)
    executor.loader.build_graph()
    executor.migrate(executor.loader.graph.leaf_nodes())
    for user in before:
        assert User.objects.get(pk=user.pk).has_perm(GENERATE_IMAGES)
    assert not User.objects.create_user("after").has_perm(GENERATE_IMAGES)


@pytest.mark.parametrize(("opt_in", "expected"), [(False, False), (True, True)])
def test_a_self_signed_up_account_needs_the_operator_to_opt_in(client, settings, opt_in, expected, db):
    settings.ALLOW_SIGNUP = True
    settings.SIGNUP_CAN_GENERATE = opt_in
    client.post(
        reverse("signup"),
        {"username": "newcomer", "password1": "a-long-pass-phrase-9", "password2": "a-long-pass-phrase-9"},
    )
    assert User.objects.get(username="newcomer").has_perm(GENERATE_IMAGES) is expected


def test_seed_demo_writer_may_generate(db, monkeypatch):
    monkeypatch.setenv("DEMO_WRITER_PASSWORD", "writer-pass-123")
    monkeypatch.setenv("DEMO_ADMIN_PASSWORD", "admin-pass-123")
    call_command("seed_demo", stdout=io.StringIO())
    assert User.objects.get(username="writer").has_perm(GENERATE_IMAGES)


def test_admin_shows_the_permission_on_a_user(admin_client, stranger):
    html = admin_client.get(reverse("admin:auth_user_change", args=[stranger.pk])).content.decode()
    assert "Can generate images (spends the site&#x27;s provider credit)" in html


PRINT_SIGNUP = (
    "import django; from django.conf import settings; django.setup(); "
    "print(settings.ALLOW_SIGNUP, settings.SIGNUP_CAN_GENERATE)"
)


@pytest.mark.parametrize(("debug", "expected"), [("false", "False False"), ("true", "True False")])
def test_sign_up_is_off_by_default_in_production(debug, expected):
    result = run_python(
        PRINT_SIGNUP, DEBUG=debug, SECRET_KEY="s" * 60, SALT_KEY="salt", SIGNUP_CAN_GENERATE=""
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == expected


def test_media_item_variations_button_needs_the_permission(
    upstream, stranger_client, client_for, project, owner
):
    job = GenerationJob.objects.create(
        user=owner, project=project, provider="stable-diffusion", model=SD_MODEL, prompt="p", composed_prompt="p",
    )  # fmt: skip
    from media_library.services import media_item_create_from_bytes
    from tests.fixtures_projects import image_bytes

    item, _ = media_item_create_from_bytes(
        project=project, data=image_bytes(), origin=MediaItem.Origin.GENERATED, generation={"job_id": job.pk}
    )
    url = reverse("media:detail", kwargs={"slug": project.slug, "pk": item.pk})
    assert "Generate variations" not in stranger_client.get(url).content.decode()
    assert "Generate variations" in client_for("editor").get(url).content.decode()
