"""Live provider checks wired into admin (Test connection) and the CLI (`status --live`, `models`).

Upstreams are replayed with `responses`, using the providers' canned answers; nothing leaves the machine.
"""

from __future__ import annotations

import io
import json
import logging
import threading
from typing import Any

import pytest
import requests
import responses
from django.contrib.auth.models import Permission
from django.core.management import CommandError, call_command
from django.test import Client
from django.urls import reverse

from imagegen.config import get_config
from imagegen.connection_check import CHECK_TIMEOUT, connect
from imagegen.management.commands.imagegen import SUBCOMMANDS, Command
from imagegen.providers.openai import OpenAIProvider
from tests.imagegen.providers.cases import (
    SD_MODELS,
    OpenAICase,
    OpenRouterCase,
    StableDiffusionCase,
)

OPENAI, OPENROUTER, SD = OpenAICase(), OpenRouterCase(), StableDiffusionCase()
SD_PASSWORD = SD.api_key.partition(":")[2]
SECRETS = (OPENAI.api_key, OPENROUTER.api_key, SD.api_key, SD_PASSWORD)
TEST_URL = reverse("admin:imagegen_imagegenerationsettings_test_connection")
CHANGE_URL = reverse("admin:imagegen_imagegenerationsettings_change", args=[1])


@pytest.fixture(autouse=True)
def _fresh_cache(fresh_cache: None) -> None:
    """Every wiring test starts with no cached model list (tests/imagegen/conftest.py)."""


@pytest.fixture
def configured(monkeypatch: pytest.MonkeyPatch) -> None:
    """All three providers configured from the environment, at the canned cases' URLs."""
    monkeypatch.setenv("OPENAI_API_KEY", OPENAI.api_key)
    monkeypatch.setenv("AI_IMAGE_OPENROUTER_API_KEY", OPENROUTER.api_key)
    monkeypatch.setenv("AI_IMAGE_SD_ENDPOINT", SD.base_url)
    monkeypatch.setenv("AI_IMAGE_SD_API_KEY", SD.api_key)


def no_secrets(text: str) -> bool:
    return not any(secret in text for secret in SECRETS)


def status_row(html: str, provider_id: str) -> str:
    """One provider's row of the status block."""
    start = html.index(f'id="imagegen-status-{provider_id}"')
    return html[start : html.index('<div class="form-row"', start)]


def openai_ok(rsps: responses.RequestsMock) -> None:
    rsps.get(OPENAI.check_url, json=OPENAI.check_body)


def sd_ok(rsps: responses.RequestsMock) -> None:
    rsps.get(SD.check_url, json=SD_MODELS)


def reply_error(rsps: responses.RequestsMock, case: Any, kind: str, url: str | None = None) -> None:
    status, body, headers = case.errors[kind]
    rsps.get(url or case.check_url, json=body, status=status, headers=headers)


# --- admin: Test connection -----------------------------------------------------------------------------


def test_test_connection_shows_each_providers_live_status_and_never_a_key(
    admin_client: Client, configured: None, rsps: responses.RequestsMock, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    openai_ok(rsps)
    reply_error(rsps, OPENROUTER, "authentication")
    sd_ok(rsps)
    response = admin_client.post(TEST_URL, follow=True)
    assert response.redirect_chain == [(CHANGE_URL, 302)]
    html = response.content.decode()
    openai = status_row(html, "openai")
    assert "reachable:</strong> The key works; image models: GPT Image 2." in openai
    assert 'data-status="ok"' in openai
    openrouter = status_row(html, "openrouter")
    assert "key rejected:</strong>" in openrouter
    assert 'data-status="auth_rejected"' in openrouter
    sd = status_row(html, "stable-diffusion")
    assert "reachable:</strong> The WebUI answers; 2 checkpoint(s) installed." in sd
    assert "Checked " in html
    # Each upstream was asked with its own credentials, and none of them came back to the page or the log.
    auth = {call.request.url: call.request.headers.get("Authorization") for call in rsps.calls}
    assert auth[OPENAI.check_url] == OPENAI.authorization
    assert auth[SD.check_url] == SD.authorization
    assert no_secrets(html)
    assert no_secrets(caplog.text)
    # Shown once: a reload is the configuration's status again, with the button still there.
    again = admin_client.get(CHANGE_URL).content.decode()
    assert "data-status=" not in again
    assert "Test connection" in again


def test_a_provider_the_configuration_rules_out_is_not_called(
    admin_client: Client, monkeypatch: pytest.MonkeyPatch, rsps: responses.RequestsMock
) -> None:
    monkeypatch.setenv("OPENAI_API_KEY", OPENAI.api_key)
    monkeypatch.setenv("AI_IMAGE_SD_ENDPOINT", SD.base_url)
    monkeypatch.setenv("AI_IMAGE_SD_ENABLED", "false")
    openai_ok(rsps)
    html = admin_client.post(TEST_URL, follow=True).content.decode()
    assert [call.request.url for call in rsps.calls] == [OPENAI.check_url]
    openrouter = status_row(html, "openrouter")
    assert "no API key (set it in admin or AI_IMAGE_OPENROUTER_API_KEY)" in openrouter
    assert "live-check" not in openrouter
    sd = status_row(html, "stable-diffusion")
    assert "disabled by AI_IMAGE_SD_ENABLED" in sd
    assert "live-check" not in sd


def test_an_unreachable_upstream_is_reported_not_raised(
    admin_client: Client, monkeypatch: pytest.MonkeyPatch, rsps: responses.RequestsMock
) -> None:
    monkeypatch.setenv("AI_IMAGE_SD_ENDPOINT", SD.base_url)
    rsps.get(SD.check_url, body=requests.ConnectionError("Connection refused"))
    html = admin_client.post(TEST_URL, follow=True).content.decode()
    sd = status_row(html, "stable-diffusion")
    assert "not reachable:</strong> The provider could not be reached" in sd


def test_checks_run_in_parallel(admin_client: Client, configured: None, rsps: responses.RequestsMock) -> None:
    # Each upstream answers only once the other two are waiting too: one after another, they would time out.
    barrier = threading.Barrier(3)

    def meeting(body: Any) -> Any:
        def callback(request: requests.PreparedRequest) -> tuple[int, dict[str, str], str]:
            barrier.wait(timeout=5)
            return 200, {"Content-Type": "application/json"}, body

        return callback

    rsps.add_callback("GET", OPENAI.check_url, callback=meeting(json.dumps(OPENAI.check_body)))
    rsps.add_callback("GET", OPENROUTER.check_url, callback=meeting(json.dumps(OPENROUTER.check_body)))
    rsps.add_callback("GET", SD.check_url, callback=meeting(json.dumps(SD_MODELS)))
    html = admin_client.post(TEST_URL, follow=True).content.decode()
    assert html.count('data-status="ok"') == 3


def test_a_crashing_check_is_a_sentence_not_a_500(
    admin_client: Client, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    monkeypatch.setenv("OPENAI_API_KEY", OPENAI.api_key)

    def crash(self: OpenAIProvider) -> None:
        raise RuntimeError("bug")

    monkeypatch.setattr(OpenAIProvider, "check", crash)
    response = admin_client.post(TEST_URL, follow=True)
    assert response.status_code == 200
    assert "check failed:</strong> The check failed unexpectedly." in status_row(
        response.content.decode(), "openai"
    )
    assert "connection check crashed" in caplog.text


def test_from_htmx_only_the_status_block_is_answered(
    admin_client: Client, monkeypatch: pytest.MonkeyPatch, rsps: responses.RequestsMock
) -> None:
    monkeypatch.setenv("OPENAI_API_KEY", OPENAI.api_key)
    openai_ok(rsps)
    response = admin_client.post(TEST_URL, headers={"HX-Request": "true"})
    assert response.status_code == 200
    html = response.content.decode()
    assert html.lstrip().startswith('<fieldset class="module aligned imagegen-status" id="imagegen-status">')
    assert "<html" not in html
    assert "reachable:</strong> The key works" in status_row(html, "openai")
    assert 'name="csrfmiddlewaretoken"' in html  # the swapped-in button can be pressed again
    assert no_secrets(html)


def test_the_settings_page_offers_the_button_outside_the_settings_form(admin_client: Client) -> None:
    html = admin_client.get(CHANGE_URL).content.decode()
    button = html.index(f'action="{TEST_URL}"')
    # Forms cannot nest: the status block, with its own form, comes before the settings form.
    assert button < html.index('id="imagegenerationsettings_form"')
    assert "htmx" in html


@pytest.mark.parametrize("codename", [None, "view_imagegenerationsettings"])
def test_staff_without_change_permission_are_refused(
    make_user: Any, client: Client, configured: None, rsps: responses.RequestsMock, codename: str | None
) -> None:
    staff = make_user("staff", is_staff=True)
    if codename:
        staff.user_permissions.add(Permission.objects.get(codename=codename))
    client.force_login(staff)
    assert client.post(TEST_URL).status_code == 403
    assert len(rsps.calls) == 0


def test_staff_with_change_permission_may_test(
    make_user: Any, client: Client, monkeypatch: pytest.MonkeyPatch, rsps: responses.RequestsMock
) -> None:
    monkeypatch.setenv("OPENAI_API_KEY", OPENAI.api_key)
    openai_ok(rsps)
    staff = make_user("staff", is_staff=True)
    staff.user_permissions.add(Permission.objects.get(codename="change_imagegenerationsettings"))
    client.force_login(staff)
    html = client.post(TEST_URL, follow=True).content.decode()
    assert "reachable:</strong>" in status_row(html, "openai")


def test_non_staff_are_sent_to_the_admin_login(
    user_client: Client, configured: None, rsps: responses.RequestsMock
) -> None:
    response = user_client.post(TEST_URL)
    assert response.status_code == 302
    assert "/login/" in response["Location"]
    assert len(rsps.calls) == 0


def test_get_is_not_allowed_and_calls_nobody(
    admin_client: Client, configured: None, rsps: responses.RequestsMock
) -> None:
    assert admin_client.get(TEST_URL).status_code == 405
    assert len(rsps.calls) == 0


def test_a_post_without_the_csrf_token_is_refused(
    admin_user_: Any, configured: None, rsps: responses.RequestsMock
) -> None:
    client = Client(enforce_csrf_checks=True)
    client.force_login(admin_user_)
    assert client.post(TEST_URL).status_code == 403
    assert len(rsps.calls) == 0


def test_checks_wait_at_most_the_check_timeout(db: None, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("OPENAI_API_KEY", OPENAI.api_key)
    assert connect("openai", get_config()).timeout == CHECK_TIMEOUT  # not the 120 s a generation may take
    monkeypatch.setenv("AI_IMAGE_OPENAI_TIMEOUT", "5")
    assert connect("openai", get_config()).timeout == 5


# --- CLI: status --live ---------------------------------------------------------------------------------


def run(*args: str) -> tuple[str, str]:
    out, err = io.StringIO(), io.StringIO()
    call_command("imagegen", *args, stdout=out, stderr=err)
    return out.getvalue(), err.getvalue()


def run_failing(*args: str) -> tuple[CommandError, str]:
    out = io.StringIO()
    with pytest.raises(CommandError) as excinfo:
        call_command("imagegen", *args, stdout=out, stderr=io.StringIO())
    return excinfo.value, out.getvalue()


def test_status_has_a_live_option_and_names_stay_unique() -> None:
    parser = Command().create_parser("manage.py", "imagegen")
    subparsers = next(a for a in parser._actions if a.dest == "subcommand")
    assert "--live" in subparsers.choices["status"].format_help()
    assert "models" in subparsers.choices
    assert len({s.name for s in SUBCOMMANDS}) == len(SUBCOMMANDS)


def test_status_without_live_asks_nobody(db: None, configured: None, rsps: responses.RequestsMock) -> None:
    out, _ = run("status")
    assert "Live check" not in out
    assert len(rsps.calls) == 0


def test_status_live_ok(db: None, monkeypatch: pytest.MonkeyPatch, rsps: responses.RequestsMock) -> None:
    monkeypatch.setenv("OPENAI_API_KEY", OPENAI.api_key)
    monkeypatch.setenv("AI_IMAGE_SD_ENDPOINT", SD.base_url)
    monkeypatch.setenv("AI_IMAGE_SD_API_KEY", SD.api_key)
    openai_ok(rsps)
    sd_ok(rsps)
    out, err = run("status", "--live")  # no CommandError: exit 0
    lines = out.splitlines()
    assert lines.index("Image generation: available (default provider: OpenAI)") < lines.index("Live check:")
    assert "  OpenAI — reachable: The key works; image models: GPT Image 2." in lines
    assert (
        "  OpenRouter — not available: no API key (set it in admin or AI_IMAGE_OPENROUTER_API_KEY)" in lines
    )
    assert "  Stable Diffusion WebUI — reachable: The WebUI answers; 2 checkpoint(s) installed." in lines
    assert no_secrets(out + err)


def test_status_live_key_rejected_exits_1(db: None, configured: None, rsps: responses.RequestsMock) -> None:
    reply_error(rsps, OPENAI, "authentication")
    rsps.get(OPENROUTER.check_url, json=OPENROUTER.check_body)
    sd_ok(rsps)
    error, out = run_failing("status", "--live")
    assert error.returncode == 1
    assert str(error) == "Live check failed: OpenAI (key rejected)."
    assert "  OpenAI — key rejected: " in out
    assert "  OpenRouter — reachable: The OpenRouter key works. 12.50 USD left of its limit." in out
    # OpenAI's own message echoes a masked key; neither it nor ours carries the real one.
    assert no_secrets(out + str(error))


def test_status_live_unreachable_exits_1(
    db: None, monkeypatch: pytest.MonkeyPatch, rsps: responses.RequestsMock
) -> None:
    monkeypatch.setenv("OPENAI_API_KEY", OPENAI.api_key)
    monkeypatch.setenv("AI_IMAGE_SD_ENDPOINT", SD.base_url)
    openai_ok(rsps)
    rsps.get(SD.check_url, body=requests.ConnectionError("Connection refused"))
    error, out = run_failing("status", "--live")
    assert error.returncode == 1
    assert "Stable Diffusion WebUI (not reachable)" in str(error)
    assert "  Stable Diffusion WebUI — not reachable: The provider could not be reached" in out


def test_status_live_fails_for_an_enabled_provider_that_cannot_be_called(
    db: None, monkeypatch: pytest.MonkeyPatch, rsps: responses.RequestsMock
) -> None:
    monkeypatch.setenv("OPENAI_API_KEY", OPENAI.api_key)
    monkeypatch.setenv("AI_IMAGE_SD_ENABLED", "true")  # switched on, but no endpoint
    openai_ok(rsps)
    error, out = run_failing("status", "--live")
    assert error.returncode == 1
    assert "Stable Diffusion WebUI (not available)" in str(error)
    assert "  Stable Diffusion WebUI — not available: no endpoint URL" in out


def test_status_live_still_checks_when_generation_is_off(
    db: None, monkeypatch: pytest.MonkeyPatch, rsps: responses.RequestsMock
) -> None:
    monkeypatch.setenv("AI_IMAGE_ENABLED", "false")
    monkeypatch.setenv("OPENAI_API_KEY", OPENAI.api_key)
    openai_ok(rsps)
    error, out = run_failing("status", "--live")
    assert error.returncode == 1
    assert "Image generation is not available: disabled by AI_IMAGE_ENABLED" in str(error)
    assert "  OpenAI — reachable: " in out


# --- CLI: models ----------------------------------------------------------------------------------------


def model_block(out: str, model_id: str) -> list[str]:
    lines = out.splitlines()
    start = next(i for i, line in enumerate(lines) if line.startswith(f"  {model_id}: "))
    return lines[start : start + 7]


def test_models_openai_from_the_live_list(
    db: None, monkeypatch: pytest.MonkeyPatch, rsps: responses.RequestsMock
) -> None:
    monkeypatch.setenv("OPENAI_API_KEY", OPENAI.api_key)
    live = [{"id": m, "object": "model", "created": 1, "owned_by": "openai", **extra} for m, extra in (
        ("gpt-image-2", {}), ("gpt-image-2.6-sunburst", {}), ("gpt-4o", {}),
        ("dall-e-3", {"shutdown_date": "2026-05-12"}))]  # fmt: skip
    rsps.get(OPENAI.check_url, json={"object": "list", "data": live})
    out, err = run("models", "openai")
    assert out.startswith("OpenAI — 3 models (2 available), from the provider's live list\n")
    assert "Note:" not in out
    assert model_block(out, "gpt-image-2.6-sunburst") == [
        "  gpt-image-2.6-sunburst: GPT Image 2.6 Sunburst — available",
        "    sizes: 1024x1024, 1536x1024, 1024x1536, 2048x2048, 3840x2160, 2160x3840, auto; or any WxH with "
        "sides multiples of 16, 16–3840 px, aspect up to 3:1, at least 655,360 pixels, at most 8,294,400 pixels",
        "    qualities: low, medium, high, xhigh, max, auto (default)",
        "    styles: none to choose",
        "    images per job: up to 4",
        "    edits: yes, with a painted mask; up to 16 input images",
        "    price: per million tokens: text in $5, image in $8, image out $30 (OpenAI's pricing page, "
        "second-hand, 2026-12-01)",
    ]
    dalle3 = model_block(out, "dall-e-3")
    assert (
        dalle3[0]
        == "  dall-e-3: DALL·E 3 — not available: DALL·E 3 was retired by the provider on 2026-05-12."
    )
    assert dalle3[3] == "    styles: vivid, natural"
    assert dalle3[4] == "    images per job: up to 4 (one per request; several are requested in parallel)"
    assert dalle3[6] == (
        "    price: per image: 1024x1024 standard $0.04, 1792x1024 standard $0.08, 1024x1792 standard $0.08, "
        "1024x1024 hd $0.08, 1792x1024 hd $0.12, 1024x1792 hd $0.12 (OpenAI's pricing page, "
        "2026-12-01)"
    )
    assert "gpt-4o" not in out
    assert no_secrets(out + err)


def test_models_openai_falls_back_to_the_catalog_with_a_note(
    db: None, monkeypatch: pytest.MonkeyPatch, rsps: responses.RequestsMock
) -> None:
    monkeypatch.setenv("OPENAI_API_KEY", OPENAI.api_key)
    reply_error(rsps, OPENAI, "authentication")
    out, _ = run("models", "openai")  # the catalog is still an answer: exit 0
    assert "from the built-in catalog" in out.splitlines()[0]
    assert "  Note: The list of models this key can use could not be fetched (" in out
    assert "gpt-image-2: GPT Image 2 — available" in out
    assert no_secrets(out)


def test_models_stable_diffusion_lists_the_checkpoints(
    db: None, monkeypatch: pytest.MonkeyPatch, rsps: responses.RequestsMock
) -> None:
    monkeypatch.setenv("AI_IMAGE_SD_ENDPOINT", SD.base_url)
    monkeypatch.setenv("AI_IMAGE_SD_API_KEY", SD.api_key)
    sd_ok(rsps)
    out, err = run("models", "sd")
    assert out.startswith("Stable Diffusion WebUI — 2 models (2 available), from the provider's live list\n")
    assert model_block(out, "v1-5-pruned-emaonly.safetensors [6ce0161689]") == [
        "  v1-5-pruned-emaonly.safetensors [6ce0161689]: v1-5-pruned-emaonly — available",
        "    sizes: 512x512, 768x768, 1024x1024, 512x768, 768x512, 832x1216, 1216x832; or any WxH with sides "
        "multiples of 8, 256–2048 px",
        "    qualities: none to choose",
        "    styles: none to choose",
        "    images per job: up to 8",
        "    edits: yes, with a painted mask",
        "    price: free (self-hosted)",
    ]
    assert "  sd_xl_base_1.0.safetensors [31e35c80fc]: sd_xl_base_1.0 — available" in out
    assert rsps.calls[0].request.headers["Authorization"] == SD.authorization
    assert no_secrets(out + err)


def test_models_stable_diffusion_unreachable_says_why_and_exits_1(
    db: None, monkeypatch: pytest.MonkeyPatch, rsps: responses.RequestsMock
) -> None:
    monkeypatch.setenv("AI_IMAGE_SD_ENDPOINT", SD.base_url)
    rsps.get(SD.check_url, body=requests.ConnectionError("Connection refused"))
    rsps.get(SD.check_url, body=requests.ConnectionError("Connection refused"))  # the check that says why
    error, out = run_failing("models", "stable-diffusion")
    assert error.returncode == 1
    assert "Stable Diffusion WebUI — no models: The provider could not be reached" in out


def test_models_without_a_provider_lists_every_available_one(
    db: None, monkeypatch: pytest.MonkeyPatch, rsps: responses.RequestsMock
) -> None:
    monkeypatch.setenv("OPENAI_API_KEY", OPENAI.api_key)
    monkeypatch.setenv("AI_IMAGE_SD_ENDPOINT", SD.base_url)
    openai_ok(rsps)
    sd_ok(rsps)
    out, _ = run("models")
    headlines = [line for line in out.splitlines() if line and not line.startswith(" ")]
    assert [h.split(" — ")[0] for h in headlines] == ["OpenAI", "Stable Diffusion WebUI"]


def test_models_unknown_provider_exits_2(db: None, rsps: responses.RequestsMock) -> None:
    error, _ = run_failing("models", "midjourney")
    assert error.returncode == 2
    assert (
        str(error)
        == "Unknown provider 'midjourney': use one of openai, openrouter, stable-diffusion, comfyui."
    )


def test_models_unavailable_provider_says_why_and_exits_1(db: None, rsps: responses.RequestsMock) -> None:
    error, _ = run_failing("models", "openrouter")
    assert error.returncode == 1
    assert str(error) == (
        "OpenRouter is not available: no API key (set it in admin or AI_IMAGE_OPENROUTER_API_KEY)."
    )
    assert len(rsps.calls) == 0


def test_models_with_no_provider_available_exits_1(db: None) -> None:
    error, _ = run_failing("models")
    assert error.returncode == 1
    assert str(error).startswith("No provider is available. OpenAI: no API key")
