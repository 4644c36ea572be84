"""Celery tasks of checkout: thin, named, take ids, safe to run twice (the webhook receiver refuses replays)."""

from __future__ import annotations

from celery import shared_task
from django.db import InterfaceError, OperationalError

from payments.checkout import delivery


@shared_task(
    name="payments.sandbox_webhook_deliver",
    autoretry_for=(OperationalError, InterfaceError),
    retry_backoff=1,
    retry_backoff_max=30,
    max_retries=8,
)
def sandbox_webhook_deliver(*, outbox_message_id: int) -> str:
    """Delivers the sandbox acquirer's signed webhook event for one decided card payment."""
    return delivery.sandbox_webhook_deliver(outbox_message_id=outbox_message_id)
