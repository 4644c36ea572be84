"""Celery tasks of the shared kernel."""

from __future__ import annotations

from celery import shared_task
from django.conf import settings

from core.idempotency import idempotency_records_purge


@shared_task(name="core.idempotency_records_purge")
def idempotency_records_purge_task() -> int:
    """Drops stored first answers older than IDEMPOTENCY_RETENTION_DAYS."""
    return idempotency_records_purge(older_than_days=settings.IDEMPOTENCY_RETENTION_DAYS)
