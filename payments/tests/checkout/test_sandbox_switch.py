"""The sandbox card acquirer approves published test cards, so it can be switched off, and production does."""

from __future__ import annotations

import pytest

from conftest import login_client
from core.errors import ValidationFailed
from payments.checkout.services import checkout_order_create
from payments.models import CheckoutOrder, CheckoutProvider
from payments.tests.qr.factories import product_create
from portal.testing import production_setting

pytestmark = pytest.mark.django_db


@pytest.fixture
def sandbox_off(settings):
    settings.PAYMENTS_SANDBOX_ACQUIRER = False


def test_switched_off_no_card_order_is_taken_and_the_shop_offers_only_transfer(sandbox_off, customer):
    product = product_create()
    client = login_client(customer)

    page = client.get(f"/payments/qr/shop/{product.slug}/").content.decode()
    posted = client.post(f"/payments/qr/shop/{product.slug}/", {"amount": "25.00", "provider": "card_sandbox"})

    assert 'value="card_sandbox"' not in page and 'value="sepa_transfer"' in page
    assert posted.status_code == 400
    assert 'class="field-error"' in posted.content.decode()
    with pytest.raises(ValidationFailed) as refused:
        checkout_order_create(customer=customer, product=product, amount=2_500, provider=CheckoutProvider.CARD_SANDBOX)
    assert refused.value.code == "provider_unavailable"
    assert CheckoutOrder.objects.count() == 0


def test_switched_off_the_acquirer_pages_and_webhook_are_gone(sandbox_off, customer, settings):
    settings.PAYMENTS_SANDBOX_ACQUIRER = True
    order, _ = checkout_order_create(
        customer=customer, product=product_create(), amount=2_500, provider=CheckoutProvider.CARD_SANDBOX
    )
    settings.PAYMENTS_SANDBOX_ACQUIRER = False
    client = login_client(customer)

    page = client.get(f"/payments/checkout/sandbox/{order.public_id}/")
    webhook = client.post("/api/payments/checkout/webhooks/sandbox", {}, content_type="application/json")

    assert page.status_code == 404
    assert (webhook.status_code, webhook.json()["code"]) == (404, "not_found")
    order.refresh_from_db()
    assert order.status == "awaiting_payment"


def test_production_settings_switch_the_sandbox_acquirer_off():
    assert production_setting("PAYMENTS_SANDBOX_ACQUIRER") == "False"
