"""Receiving card acquirer webhooks: signature and freshness checks, replay protection, and the order's outcome.

The signature header is `FinLab-Signature: t=<unix seconds>,v1=<hex HMAC-SHA256 over "t.body">`. A request is refused
(and logged) when the header is missing or malformed, the timestamp is more than `PAYMENTS_WEBHOOK_TOLERANCE_SECONDS`
(default 300) away from now, the signature does not match, or the event id was seen before.
"""

from __future__ import annotations

import hmac
import json
import logging
import time
from dataclasses import dataclass

from django.conf import settings
from django.db import IntegrityError, transaction
from django.utils.crypto import salted_hmac

from core.errors import ApplicationError
from payments.checkout.sandbox import webhook_signature
from payments.checkout.services import checkout_order_decline, checkout_order_pay
from payments.ledger.client import house_account_get_or_open
from payments.ledger.registry import Purpose
from payments.models import CheckoutOrder, CheckoutProvider, WebhookEvent

logger = logging.getLogger(__name__)

SIGNATURE_HEADER = "FinLab-Signature"


class WebhookRefused(ApplicationError):
    """A webhook the portal does not trust or has processed already; `code` says why."""

    status = 400


def sandbox_webhook_secret() -> bytes:
    """`PAYMENTS_SANDBOX_WEBHOOK_SECRET`, or a key derived from `SECRET_KEY` when it is not set (embedded default)."""
    configured = settings.PAYMENTS_SANDBOX_WEBHOOK_SECRET
    if configured:
        return configured.encode()
    return salted_hmac("payments.sandbox-webhook", "secret", algorithm="sha256").hexdigest().encode()


def webhook_tolerance_seconds() -> int:
    return settings.PAYMENTS_WEBHOOK_TOLERANCE_SECONDS


def _refuse(*, code: str, detail: str, status: int = 400) -> WebhookRefused:
    logger.warning("webhook refused: %s (%s)", code, detail)
    refusal = WebhookRefused(detail, code=code)
    refusal.status = status
    return refusal


def webhook_signature_verify(*, header: str, body: bytes, secret: bytes, now: int | None = None) -> None:
    """Raises `WebhookRefused` unless `header` signs `body` with `secret` within the tolerance."""
    parts = dict(item.split("=", 1) for item in header.split(",") if "=" in item)
    timestamp_text, signature = parts.get("t", ""), parts.get("v1", "")
    if not timestamp_text.isdigit() or not signature:
        raise _refuse(code="webhook_signature_missing", detail="no t=...,v1=... signature header")
    timestamp = int(timestamp_text)
    current = int(time.time()) if now is None else now
    if abs(current - timestamp) > webhook_tolerance_seconds():
        raise _refuse(code="webhook_timestamp_out_of_tolerance", detail=f"timestamp {timestamp}, now {current}")
    expected = webhook_signature(secret=secret, timestamp=timestamp, body=body)
    if not hmac.compare_digest(expected, signature):
        raise _refuse(code="webhook_signature_invalid", detail="signature does not match the body")


@dataclass(frozen=True, slots=True)
class WebhookOutcome:
    event_id: str
    event_type: str
    order_status: str


def sandbox_webhook_receive(*, header: str, body: bytes, now: int | None = None) -> WebhookOutcome:
    """Verifies and applies one sandbox acquirer event: `payment.approved` pays the order and issues its code,
    `payment.declined` declines it. A replayed event id is refused with `webhook_replayed` and changes nothing."""
    webhook_signature_verify(header=header, body=body, secret=sandbox_webhook_secret(), now=now)
    try:
        event = json.loads(body)
        event_id, event_type, data = str(event["id"]), str(event["type"]), event["data"]
        order_public_id, amount, currency = str(data["order_id"]), int(data["amount"]), str(data["currency"])
    except (ValueError, KeyError, TypeError):
        raise _refuse(code="webhook_malformed", detail="the body is not a payment event") from None
    try:
        with transaction.atomic():
            return _apply(
                event_id=event_id, event_type=event_type, order_public_id=order_public_id, amount=amount,
                currency=currency,
            )  # fmt: skip
    except IntegrityError:
        raise _refuse(code="webhook_replayed", detail=f"event {event_id} was processed before", status=409) from None


def _apply(*, event_id: str, event_type: str, order_public_id: str, amount: int, currency: str) -> WebhookOutcome:
    order = CheckoutOrder.objects.filter(public_id=order_public_id, provider=CheckoutProvider.CARD_SANDBOX).first()
    if order is None:
        raise _refuse(code="webhook_order_unknown", detail=f"no card order {order_public_id}", status=422)
    if (amount, currency) != (order.amount, order.currency):
        raise _refuse(code="webhook_amount_mismatch", detail=f"{amount} {currency} for order {order.public_id}")
    WebhookEvent.objects.create(
        provider=CheckoutProvider.CARD_SANDBOX, event_id=event_id, event_type=event_type, order=order
    )
    if event_type == "payment.approved":
        order = checkout_order_pay(
            order_id=order.pk,
            funding_account=house_account_get_or_open(ledger=currency, purpose=Purpose.QR_CARD_ACQUIRER_CLEARING),
        )
    elif event_type == "payment.declined":
        order = checkout_order_decline(order_id=order.pk)
    else:
        raise _refuse(code="webhook_event_type_unknown", detail=event_type, status=422)
    return WebhookOutcome(event_id=event_id, event_type=event_type, order_status=order.status)
