"""Celery tasks of payments: thin, named, take ids, call one service, safe to run twice."""

from __future__ import annotations

from celery import shared_task
from django.db import InterfaceError, OperationalError

from core import outbox
from payments.settlement import services

# Failures worth a retry: the database or the broker was briefly unreachable, a deadlock or serialization victim.
TRANSIENT_ERRORS: tuple[type[BaseException], ...] = (OperationalError, InterfaceError, *outbox.BROKER_ERRORS)


@shared_task(
    name="payments.settlement_batch_run",
    autoretry_for=TRANSIENT_ERRORS,
    retry_backoff=1,
    retry_backoff_max=30,
    max_retries=8,
)
def settlement_batch_run(*, outbox_message_id: int) -> None:
    """Settles every due item in batches and acknowledges the outbox message that asked for it."""
    services.settlement_batch_run(outbox_message_id=outbox_message_id)


@shared_task(name="payments.pending_transfers_expire")
def pending_transfers_expire() -> int:
    """Voids pending ledger transfers whose timeout has passed. Beat runs it every minute; running twice is harmless
    (expiry rows are taken with SKIP LOCKED and each void has an id derived from its pending transfer).

    QR authorizations go first, so each redemption is marked expired and its money follows a blocked code to the
    replacement in the same transaction as the void; the ledger's pass then expires every other pending transfer."""
    from django.utils import timezone

    from payments.ledger.services import pending_transfers_expire as expire
    from payments.qr.redemptions import qr_authorizations_expire

    now = timezone.now()
    return qr_authorizations_expire(now=now) + expire(now=now)


@shared_task(name="payments.code_expiry_reminders_queue")
def code_expiry_reminders_queue() -> int:
    """Queues the reminders of codes with money left that expire soon (beat, daily); once per code and expiry."""
    from payments.notifications import code_expiry_reminders_queue as queue

    return queue()


# Checkout of QR payment codes: the sandbox acquirer's webhook delivery (defined in payments.checkout.tasks).
from payments.checkout.tasks import sandbox_webhook_deliver  # noqa: E402, F401
