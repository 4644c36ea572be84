"""Celery tasks of the credit-check flow: thin, named, safe to run twice."""

from __future__ import annotations

from celery import shared_task

from core.outbox import outbox_handler
from credit_checks.webhooks import WebhookDeliveryFailed, webhook_delivery_attempt

# The outbox finds a handler by its topic's app label (credit_checks.tasks).
WEBHOOK_TOPIC = "credit_checks.credit_check_webhook"


@outbox_handler(WEBHOOK_TOPIC)
def credit_check_webhook_outbox_deliver(*, delivery_id: int) -> None:
    """The outbox's delivery of a recorded event (queued after commit by `webhook_event_create`); a failure is
    retried by the outbox sweep with backoff, a delivered event is not sent again."""
    webhook_delivery_attempt(delivery_id=delivery_id)


@shared_task(
    name="identity.credit_check_webhook_deliver",
    autoretry_for=(WebhookDeliveryFailed,),
    retry_backoff=5,
    retry_backoff_max=3600,
    retry_jitter=True,
    max_retries=10,
)
def credit_check_webhook_deliver(delivery_id: int) -> str:
    """Send one webhook event now (a manual redelivery; events are queued through the outbox); a failed attempt is retried after 5, 10, 20, ... seconds (at most an hour apart, ten
    times). Every attempt carries the same event id, so a receiver that saw it already ignores it."""
    return str(webhook_delivery_attempt(delivery_id=delivery_id).event_id)


@shared_task(name="identity.credit_checks_purge")
def credit_checks_purge() -> dict[str, int]:
    """Beat: expire open requests past their deadline and delete everything older than the retention period."""
    from credit_checks.services import credit_checks_purge_run

    return credit_checks_purge_run()
