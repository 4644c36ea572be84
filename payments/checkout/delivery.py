"""The sandbox acquirer delivering its webhook events to the portal, one outbox message per decided payment.

The acquirer is embedded, so delivery hands the signed body and header to the same receiver the HTTP endpoint uses
(`POST /api/payments/checkout/webhooks/sandbox`) instead of a network round trip. A replay refusal means an earlier
delivery got through: the message is done.
"""

from __future__ import annotations

import logging

from core.outbox import outbox_message_mark_done
from payments.checkout.sandbox import sandbox_webhook_body, webhook_signature_header
from payments.checkout.webhooks import WebhookRefused, sandbox_webhook_receive, sandbox_webhook_secret
from payments.models import OutboxMessage, OutboxState, SandboxCardPayment

logger = logging.getLogger(__name__)


def sandbox_webhook_deliver(*, outbox_message_id: int) -> str:
    """Signs and delivers the event of the payment named by the outbox message; returns the outcome's code."""
    message = OutboxMessage.objects.filter(pk=outbox_message_id).first()
    if message is None or message.state == OutboxState.DONE:
        return "done_before"
    payment = SandboxCardPayment.objects.select_related("order").get(pk=message.payload["payment_id"])
    body = sandbox_webhook_body(payment=payment)
    header = webhook_signature_header(secret=sandbox_webhook_secret(), body=body)
    try:
        outcome = sandbox_webhook_receive(header=header, body=body).order_status
    except WebhookRefused as refusal:
        if refusal.code != "webhook_replayed":
            logger.error("sandbox webhook for payment %s refused: %s", payment.public_id, refusal.code)
        outcome = refusal.code
    outbox_message_mark_done(message_id=outbox_message_id)
    return outcome
