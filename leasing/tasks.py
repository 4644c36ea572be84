"""Celery tasks of leasing: thin, named, safe to run twice (each effect is idempotent in its service)."""

from __future__ import annotations

from celery import shared_task
from django.db import InterfaceError, OperationalError
from django.utils import timezone

from core.outbox import outbox_handler
from leasing.services import arrears, collections, credit_verdicts, pre_notifications

TRANSIENT_ERRORS = (OperationalError, InterfaceError)
PRE_NOTIFICATION_TOPIC = "leasing.pre_notification_send"
DUNNING_LETTER_TOPIC = "leasing.dunning_letter_send"


@shared_task(name="leasing.collections_run", autoretry_for=TRANSIENT_ERRORS, retry_backoff=5, max_retries=5)
def collections_run() -> int:
    """Collects portal-balance rows due today or earlier and puts notified direct debits into the batch of their
    collection date by its D-1 deadline; beat runs it hourly, repeats collect nothing twice."""
    result = collections.collections_run(on=timezone.localdate())
    return result.collected + result.submitted


@shared_task(name="leasing.arrears_run", autoretry_for=TRANSIENT_ERRORS, retry_backoff=5, max_retries=5)
def arrears_run() -> int:
    """Refreshes arrears status, late fees and dunning letters; beat runs it daily after the collections."""
    return arrears.arrears_run(on=timezone.localdate())


@shared_task(name="leasing.credit_verdicts_collect", autoretry_for=TRANSIENT_ERRORS, retry_backoff=5, max_retries=5)
def credit_verdicts_collect() -> int:
    """Pulls recorded credit-check verdicts into waiting applications; beat runs it every minute."""
    return credit_verdicts.application_credit_verdicts_collect()


@shared_task(name="leasing.pre_notifications_run", autoretry_for=TRANSIENT_ERRORS, retry_backoff=5, max_retries=5)
def pre_notifications_run() -> int:
    """Writes the direct-debit notices coming due and queues the unsent ones; beat runs it before the collections."""
    return pre_notifications.pre_notifications_run(on=timezone.localdate())


@outbox_handler(PRE_NOTIFICATION_TOPIC)
def pre_notification_send(*, pre_notification_id: int) -> bool:
    """E-mails one direct-debit notice (queued through the outbox); a second run finds it stamped and sends nothing."""
    return pre_notifications.pre_notification_deliver(pre_notification_id=pre_notification_id)


@outbox_handler(DUNNING_LETTER_TOPIC)
def dunning_letter_send(*, letter_id: int) -> bool:
    """E-mails one recorded dunning letter (queued through the outbox); a second run finds it stamped."""
    return arrears.dunning_letter_email(letter_id=letter_id)
