"""The sandbox card acquirer, the embedded default provider: test cards, a challenge step, signed webhook events.

It behaves like a real acquirer's hosted payment page: the card number is read from the form, checked (Luhn, test
card table) and dropped; only the brand and the last four digits are kept. The outcome reaches the portal as a webhook
event signed with HMAC-SHA256 over `timestamp.body`, delivered after commit by a Celery task through the outbox.

Test cards (any future expiry, any CVC):

    4242 4242 4242 4242  Visa        approved
    5555 5555 5555 4444  Mastercard  approved
    4000 0000 0000 3220  Visa        challenge step (one-time code 123456), then approved
    4000 0000 0000 0002  Visa        declined (card_declined)
    4000 0000 0000 9995  Visa        declined (insufficient_funds)

Any other number that passes the Luhn check is declined with `not_a_test_card`.
"""

from __future__ import annotations

import hmac
import json
import time
import uuid
from dataclasses import dataclass

from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext_lazy

from core.errors import ConflictError, ValidationFailed
from core.outbox import outbox_write
from payments.models import CheckoutOrder, CheckoutOrderStatus, SandboxCardPayment, SandboxCardPaymentStatus

WEBHOOK_TOPIC = "payments.sandbox_webhook_deliver"
CHALLENGE_CODE = "123456"


@dataclass(frozen=True, slots=True)
class TestCard:
    brand: str
    outcome: str  # "approve", "challenge" or "decline"
    decline_reason: str = ""


TEST_CARDS: dict[str, TestCard] = {
    "4242424242424242": TestCard("Visa", "approve"),
    "5555555555554444": TestCard("Mastercard", "approve"),
    "4000000000003220": TestCard("Visa", "challenge"),
    "4000000000000002": TestCard("Visa", "decline", "card_declined"),
    "4000000000009995": TestCard("Visa", "decline", "insufficient_funds"),
}


def luhn_is_valid(number: str) -> bool:
    """The ISO/IEC 7812 check digit test over a string of 12 to 19 digits."""
    if not number.isdigit() or not 12 <= len(number) <= 19:
        return False
    total = 0
    for index, character in enumerate(reversed(number)):
        digit = int(character)
        if index % 2 == 1:
            digit = digit * 2 - 9 if digit > 4 else digit * 2
        total += digit
    return total % 10 == 0


def card_brand(number: str) -> str:
    if number.startswith("4"):
        return "Visa"
    if number[:2] in {"51", "52", "53", "54", "55"} or "2221" <= number[:4] <= "2720":
        return "Mastercard"
    if number[:2] in {"34", "37"}:
        return "American Express"
    return "Card"


@transaction.atomic
def sandbox_card_payment_create(*, order_id: int, card_number: str) -> SandboxCardPayment:
    """Takes the card for an order and decides: approve, decline or ask for the challenge step.

    The number itself is not stored anywhere. Raises `ValidationFailed` (`card_number_invalid`) when it fails Luhn.
    """
    number = "".join(card_number.split()).replace("-", "")
    if not luhn_is_valid(number):
        raise ValidationFailed(
            gettext_lazy("This card number is not valid."), code="card_number_invalid", fields={"card_number": []}
        )
    order = CheckoutOrder.objects.select_for_update().get(pk=order_id)
    if order.status != CheckoutOrderStatus.AWAITING_PAYMENT or SandboxCardPayment.objects.filter(order=order).exists():
        raise ConflictError(gettext_lazy("This order has been paid for already."), code="order_payment_exists")
    test_card = TEST_CARDS.get(number, TestCard(card_brand(number), "decline", "not_a_test_card"))
    status = {
        "approve": SandboxCardPaymentStatus.APPROVED,
        "challenge": SandboxCardPaymentStatus.CHALLENGE_REQUIRED,
        "decline": SandboxCardPaymentStatus.DECLINED,
    }[test_card.outcome]
    payment = SandboxCardPayment.objects.create(
        order=order,
        amount=order.amount,
        currency=order.currency,
        card_brand=test_card.brand,
        card_last4=number[-4:],
        status=status,
        decline_reason=test_card.decline_reason,
        decided_at=None if status == SandboxCardPaymentStatus.CHALLENGE_REQUIRED else timezone.now(),
    )
    if status != SandboxCardPaymentStatus.CHALLENGE_REQUIRED:
        _webhook_enqueue(payment=payment)
    return payment


@transaction.atomic
def sandbox_challenge_complete(*, payment_id: int, one_time_code: str) -> SandboxCardPayment:
    """The challenge step: the right one-time code approves the payment, a wrong one is refused (nothing changes)."""
    payment = SandboxCardPayment.objects.select_for_update().get(pk=payment_id)
    if payment.status != SandboxCardPaymentStatus.CHALLENGE_REQUIRED:
        raise ConflictError(gettext_lazy("This payment needs no challenge."), code="challenge_not_required")
    if not hmac.compare_digest(one_time_code.strip(), CHALLENGE_CODE):
        raise ValidationFailed(
            gettext_lazy("The code is not right."), code="challenge_failed", fields={"one_time_code": []}
        )
    SandboxCardPayment.objects.filter(pk=payment.pk).update(
        status=SandboxCardPaymentStatus.APPROVED, decided_at=timezone.now()
    )
    payment.refresh_from_db()
    _webhook_enqueue(payment=payment)
    return payment


def _webhook_enqueue(*, payment: SandboxCardPayment) -> None:
    outbox_write(topic=WEBHOOK_TOPIC, key=f"payment:{payment.public_id}", payload={"payment_id": payment.pk})


def sandbox_webhook_event(*, payment: SandboxCardPayment) -> dict[str, object]:
    """The event body the acquirer sends for a decided payment; the event id is fixed per payment and outcome."""
    event_type = "payment.approved" if payment.status == SandboxCardPaymentStatus.APPROVED else "payment.declined"
    return {
        "id": f"evt_{uuid.uuid5(payment.public_id, event_type).hex}",
        "type": event_type,
        "data": {
            "payment_id": str(payment.public_id),
            "order_id": str(payment.order.public_id),
            "amount": payment.amount,
            "currency": payment.currency,
            "card_brand": payment.card_brand,
            "card_last4": payment.card_last4,
            "decline_reason": payment.decline_reason,
        },
    }


def webhook_signature(*, secret: bytes, timestamp: int, body: bytes) -> str:
    """Hex HMAC-SHA256 over `"<timestamp>." + body`."""
    return hmac.new(secret, str(timestamp).encode() + b"." + body, "sha256").hexdigest()


def webhook_signature_header(*, secret: bytes, body: bytes, timestamp: int | None = None) -> str:
    """The `FinLab-Signature` header value: `t=<unix seconds>,v1=<hex signature>`."""
    stamp = int(time.time()) if timestamp is None else timestamp
    return f"t={stamp},v1={webhook_signature(secret=secret, timestamp=stamp, body=body)}"


def sandbox_webhook_body(*, payment: SandboxCardPayment) -> bytes:
    return json.dumps(sandbox_webhook_event(payment=payment), separators=(",", ":"), sort_keys=True).encode()
