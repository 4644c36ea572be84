"""Signed webhooks that tell a dealer organisation's systems about credit-check results.

Each event is a :class:`WebhookDelivery` with a stable ``event_id``. Every attempt POSTs the same JSON body with
three headers: ``X-FinLab-Event-Id`` (receivers drop ids they have seen), ``X-FinLab-Timestamp`` (Unix seconds) and
``X-FinLab-Signature: sha256=<hex HMAC-SHA256 of "<timestamp>.<body>" under the organisation's secret>``. The secret
is stored encrypted because the portal needs it to sign.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import logging
import secrets
import time
import uuid
from typing import Any

from django.db import transaction
from django.utils import timezone

from accounts.models import DealerOrganisation
from core.encryption import field_decrypt, field_encrypt
from core.outbound import OutboundRefused, outbound_post, outbound_url_check
from core.outbox import outbox_write
from core.sql import row_with
from credit_checks.models import CreditCheckRequest, DealerWebhook, WebhookDelivery

EVENT_ID_HEADER = "X-FinLab-Event-Id"
TIMESTAMP_HEADER = "X-FinLab-Timestamp"
SIGNATURE_HEADER = "X-FinLab-Signature"
DELIVERY_TIMEOUT_SECONDS = 10.0
logger = logging.getLogger(__name__)


class WebhookDeliveryFailed(Exception):
    """The receiver did not answer 2xx (or could not be reached): the task retries with backoff."""


def _associated_data(organisation_id: int) -> bytes:
    return f"credit-check-webhook:{organisation_id}".encode()


def webhook_signature(*, secret: str, timestamp: int, body: bytes) -> str:
    """``sha256=`` + hex HMAC-SHA256 over ``<timestamp>.<body>``; receivers compute the same and compare."""
    digest = hmac.new(secret.encode(), str(timestamp).encode() + b"." + body, hashlib.sha256).hexdigest()
    return f"sha256={digest}"


def _check_url(url: str) -> None:
    """https only, and no host that resolves to an internal address (core/outbound.py); refusals are
    `webhook_url_invalid` and `webhook_address_forbidden`."""
    outbound_url_check(url, purpose="webhook")


@transaction.atomic
def dealer_webhook_configure(*, dealer_organisation: DealerOrganisation, url: str) -> tuple[DealerWebhook, str]:
    """Set the organisation's webhook URL with a new signing secret, returned once (it replaces any earlier one)."""
    _check_url(url)
    raw_secret = "whsec_" + secrets.token_urlsafe(32)
    encrypted = field_encrypt(plaintext=raw_secret.encode(), context=_associated_data(dealer_organisation.pk))
    webhook, _created = DealerWebhook.objects.update_or_create(
        dealer_organisation=dealer_organisation, defaults={"url": url, "encrypted_secret": encrypted}
    )
    return webhook, raw_secret


def _secret_of(webhook: DealerWebhook) -> str:
    return field_decrypt(
        blob=webhook.encrypted_secret, context=_associated_data(webhook.dealer_organisation_id)
    ).decode()


def webhook_event_payload(*, request: CreditCheckRequest) -> dict[str, Any]:
    """What the dealer's systems learn: the request id, its status and refusal reason, the verdict and its policy
    version, and the two disclosed claims; the same shape as the poll API."""
    from credit_checks.selectors import credit_check_public_view

    return {"type": "credit_check.completed", "creditCheck": credit_check_public_view(request=request)}


# Compiled once per process: every completed credit check asks it.
_WEBHOOK_OF = row_with(DealerWebhook, "dealer_organisation_id", int)


def webhook_event_create(*, request: CreditCheckRequest) -> WebhookDelivery | None:
    """Record an event for the request's organisation (if it has a webhook) and send it after commit."""
    if not _WEBHOOK_OF.fetch(dealer_organisation_id=request.dealer_organisation_id):
        return None
    delivery = WebhookDelivery.objects.create(
        event_id=uuid.uuid4(), request=request, payload=webhook_event_payload(request=request)
    )
    from credit_checks.tasks import WEBHOOK_TOPIC

    outbox_write(topic=WEBHOOK_TOPIC, key=f"event:{delivery.event_id}", payload={"delivery_id": delivery.pk})
    return delivery


def webhook_delivery_attempt(*, delivery_id: int) -> WebhookDelivery:
    """POST the event once; a delivered event is not sent again. Raises WebhookDeliveryFailed for a retry."""
    delivery = WebhookDelivery.objects.select_related("request").get(pk=delivery_id)
    if delivery.delivered_at is not None:
        return delivery
    webhook = DealerWebhook.objects.get(dealer_organisation_id=delivery.request.dealer_organisation_id)
    body = json.dumps(delivery.payload, separators=(",", ":"), sort_keys=True).encode()
    timestamp = int(time.time())
    headers = {
        "Content-Type": "application/json",
        EVENT_ID_HEADER: str(delivery.event_id),
        TIMESTAMP_HEADER: str(timestamp),
        SIGNATURE_HEADER: webhook_signature(secret=_secret_of(webhook), timestamp=timestamp, body=body),
    }
    try:
        status_code = outbound_post(
            webhook.url, content=body, headers=headers, timeout=DELIVERY_TIMEOUT_SECONDS, purpose="webhook"
        )
    except OutboundRefused as refusal:
        # The host now resolves to an internal address (or the URL is no longer allowed): nothing is sent.
        logger.warning("webhook event %s not sent: %s", delivery.event_id, refusal.code)
        status_code = 0
    WebhookDelivery.objects.filter(pk=delivery.pk).update(
        attempts=delivery.attempts + 1,
        last_status_code=status_code or None,
        delivered_at=timezone.now() if 200 <= status_code < 300 else None,
    )
    if not 200 <= status_code < 300:
        raise WebhookDeliveryFailed(f"event {delivery.event_id}: receiver answered {status_code or 'nothing'}")
    delivery.refresh_from_db()
    return delivery
