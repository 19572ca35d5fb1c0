"""Admin → Model prices: each known model's price with its source and date, and an admin's override in use."""

from __future__ import annotations

from decimal import Decimal

import pytest
from django.urls import reverse

from imagegen.models import ModelPrice

pytestmark = pytest.mark.django_db
LIST = reverse("admin:imagegen_modelprice_changelist")


def test_prices_in_force_name_their_source_and_date(admin_client):
    html = admin_client.get(LIST).content.decode()
    assert "Prices in force" in html
    rows = {row.model: row for row in admin_client.get(LIST).context["prices_in_force"]}
    assert (
        rows["gpt-image-2.6-sunburst"].price == "per million tokens: text in $5, image in $8, image out $30"
    )
    assert "OpenAI's pricing page" in rows["gpt-image-2.6-sunburst"].source
    assert f"{rows['gpt-image-2.6-sunburst'].as_of:%Y-%m-%d}" == "2026-12-01"
    assert rows["black-forest-labs/flux-schnell"].price == "$0.003 per image"
    assert "model=gpt-image-2" in rows["gpt-image-2"].override_url  # "Set a price" prefills the family


def test_an_admin_sets_a_family_price_and_it_is_in_force(admin_client, admin_user):
    add = reverse("admin:imagegen_modelprice_add")
    form = admin_client.get(f"{add}?provider=openai&model=gpt-image-2").content.decode()
    assert 'value="gpt-image-2"' in form
    response = admin_client.post(
        add,
        {"provider": "openai", "model": "gpt-image-2", "kind": "per_token", "text_in": "4", "image_in": "6",
         "image_out": "24", "note": "our gateway"},
    )  # fmt: skip
    assert response.status_code == 302, response.content.decode()[:3000]
    price = ModelPrice.objects.get()
    assert (price.image_out, price.updated_by) == (Decimal(24), admin_user)
    rows = {row.model: row for row in admin_client.get(LIST).context["prices_in_force"]}
    assert rows["gpt-image-2.5-flare"].price == "per million tokens: text in $4, image in $6, image out $24"
    assert rows["gpt-image-2.5-flare"].source == "admin override (our gateway)"


def test_a_price_without_its_numbers_is_refused(admin_client):
    response = admin_client.post(
        reverse("admin:imagegen_modelprice_add"),
        {"provider": "openai", "model": "gpt-image-2", "kind": "per_image"},
    )
    assert response.status_code == 200 and "Enter the price of one image." in response.content.decode()
    assert not ModelPrice.objects.exists()
