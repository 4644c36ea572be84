"""The sandbox card acquirer: test cards, the challenge step, and signed webhooks (bad signature, stale, replayed)."""

from __future__ import annotations

import json
import logging
import time

import pytest

from core.errors import ApplicationError
from core.money import Money
from payments.checkout.sandbox import (
    luhn_is_valid,
    sandbox_card_payment_create,
    sandbox_challenge_complete,
    sandbox_webhook_body,
    webhook_signature_header,
)
from payments.checkout.services import checkout_order_create
from payments.checkout.webhooks import sandbox_webhook_secret
from payments.models import CheckoutOrderStatus, CheckoutProvider, SandboxCardPayment, WebhookEvent
from payments.qr.selectors import qr_code_view
from payments.tests.qr.factories import database_snapshot, product_create

pytestmark = pytest.mark.django_db
WEBHOOK_URL = "/api/payments/checkout/webhooks/sandbox"


@pytest.fixture
def order(customer):
    order, _ = checkout_order_create(
        customer=customer, product=product_create(), amount=5_000, provider=CheckoutProvider.CARD_SANDBOX
    )
    return order


def test_luhn_check():
    assert [luhn_is_valid(n) for n in ("4242424242424242", "4242424242424241", "42", "4000000000003220")] == [
        True, False, False, True,
    ]  # fmt: skip


def test_an_approving_card_pays_the_order_through_the_webhook(order, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True):
        payment = sandbox_card_payment_create(order_id=order.pk, card_number="4242 4242 4242 4242")

    order.refresh_from_db()
    assert (payment.card_brand, payment.card_last4) == ("Visa", "4242")
    assert order.status == CheckoutOrderStatus.PAID
    assert qr_code_view(code=order.code).balance == Money(5_000, "EUR")
    assert WebhookEvent.objects.get().event_type == "payment.approved"


def test_a_challenge_card_waits_for_the_one_time_code(order, django_capture_on_commit_callbacks):
    payment = sandbox_card_payment_create(order_id=order.pk, card_number="4000000000003220")
    with pytest.raises(ApplicationError) as refusal:
        sandbox_challenge_complete(payment_id=payment.pk, one_time_code="000000")
    assert refusal.value.code == "challenge_failed"
    order.refresh_from_db()
    assert order.status == CheckoutOrderStatus.AWAITING_PAYMENT

    with django_capture_on_commit_callbacks(execute=True):
        sandbox_challenge_complete(payment_id=payment.pk, one_time_code="123456")

    order.refresh_from_db()
    assert order.status == CheckoutOrderStatus.PAID


def test_a_declining_card_declines_the_order(order, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True):
        sandbox_card_payment_create(order_id=order.pk, card_number="4000000000000002")

    order.refresh_from_db()
    assert (order.status, order.code) == (CheckoutOrderStatus.DECLINED, None)


def test_a_card_number_failing_luhn_is_refused_and_never_stored(order):
    before = database_snapshot()

    with pytest.raises(ApplicationError) as refusal:
        sandbox_card_payment_create(order_id=order.pk, card_number="4242424242424241")

    assert refusal.value.code == "card_number_invalid"
    assert database_snapshot() == before


def test_only_brand_and_last_four_digits_are_kept(order):
    payment = sandbox_card_payment_create(order_id=order.pk, card_number="5555555555554444")

    stored = SandboxCardPayment.objects.filter(pk=payment.pk).values()[0]
    assert "5555555555554444" not in json.dumps(stored, default=str)
    assert (stored["card_brand"], stored["card_last4"]) == ("Mastercard", "4444")


def _approved_body(order) -> bytes:
    payment = sandbox_card_payment_create(order_id=order.pk, card_number="4000000000003220")
    SandboxCardPayment.objects.filter(pk=payment.pk).update(status="approved")
    payment.refresh_from_db()
    return sandbox_webhook_body(payment=payment)


def _post(client, body: bytes, header: str):
    return client.post(WEBHOOK_URL, data=body, content_type="application/json", headers={"FinLab-Signature": header})


def test_the_webhook_endpoint_accepts_a_signed_event_once_and_refuses_the_replay(client, order, caplog):
    body = _approved_body(order)
    header = webhook_signature_header(secret=sandbox_webhook_secret(), body=body)

    first = _post(client, body, header)
    after_first = database_snapshot()
    with caplog.at_level(logging.WARNING, logger="payments.checkout.webhooks"):
        replay = _post(client, body, header)

    assert (first.status_code, first.json()["order_status"]) == (200, "paid")
    assert (replay.status_code, replay.json()["code"]) == (409, "webhook_replayed")
    assert database_snapshot() == after_first
    assert "webhook refused: webhook_replayed" in caplog.text


@pytest.mark.parametrize(
    ("make_header", "code"),
    [
        (lambda body: webhook_signature_header(secret=b"not-the-secret", body=body), "webhook_signature_invalid"),
        (
            lambda body: webhook_signature_header(secret=sandbox_webhook_secret(), body=body + b" "),
            "webhook_signature_invalid",
        ),
        (
            lambda body: webhook_signature_header(
                secret=sandbox_webhook_secret(), body=body, timestamp=int(time.time()) - 301
            ),
            "webhook_timestamp_out_of_tolerance",
        ),
        (
            lambda body: webhook_signature_header(
                secret=sandbox_webhook_secret(), body=body, timestamp=int(time.time()) + 301
            ),
            "webhook_timestamp_out_of_tolerance",
        ),
        (lambda body: "", "webhook_signature_missing"),
    ],
    ids=["wrong-secret", "altered-body", "too-old", "from-the-future", "no-header"],
)
def test_untrusted_webhooks_are_refused_logged_and_change_nothing(client, order, caplog, make_header, code):
    body = _approved_body(order)
    before = database_snapshot()

    with caplog.at_level(logging.WARNING, logger="payments.checkout.webhooks"):
        response = _post(client, body, make_header(body))

    assert (response.status_code, response.json()["code"]) == (400, code)
    assert database_snapshot() == before
    assert f"webhook refused: {code}" in caplog.text
