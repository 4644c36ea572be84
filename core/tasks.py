"""Celery tasks of the shared kernel."""

from __future__ import annotations

from celery import shared_task
from django.conf import settings

from core import outbox
from core.idempotency import idempotency_records_purge


@shared_task(name="core.idempotency_records_purge")
def idempotency_records_purge_task() -> int:
    """Drops stored first answers older than IDEMPOTENCY_RETENTION_DAYS."""
    return idempotency_records_purge(older_than_days=settings.IDEMPOTENCY_RETENTION_DAYS)


@shared_task(name=outbox.DELIVER_TASK)
def outbox_deliver(*, outbox_message_id: int) -> str:
    """Runs the registered handler of one outbox message; safe to run twice (see core.outbox)."""
    return outbox.outbox_message_deliver(message_id=outbox_message_id)


@shared_task(name="core.outbox_sweep")
def outbox_sweep() -> int:
    """Beat, every few seconds: hands overdue outbox messages over again, marks the hopeless ones dead. A failed run is
    not retried; the next tick does the same work."""
    return outbox.outbox_sweep()
