"""Collecting due schedule rows: from the customer's portal balance through the ledger, or into a SEPA batch.

`collections_run(on=...)` is what Celery beat calls each day. A portal-balance row is collected once it is due. A
direct-debit row is collected under its pre-notification (`leasing.services.pre_notifications`): into the batch of
the notice's collection date (a TARGET2 business day), in the days up to that date's D-1 deadline, and only when the
notice reached the debtor `notice_days` ahead; a notice that did not, or whose deadline passed, is moved to a later
date instead. The first debit under a mandate is FRST, later ones RCUR (a debit rejected before settlement does not
count, so the next one is FRST again). Every row is handled in its own transaction that
locks it (`SKIP LOCKED`, so two runs share the work instead of waiting), checks that no live collection exists,
posts the ledger chain with ids derived from (row, attempt), writes the `Collection` and marks the row paid. The
unique constraint "one live collection per row" backs this up, so running twice, running concurrently or re-running
after a crash collects each row exactly once.

Postings per collected row (minor units): interest accrues to the receivable (receivable → interest revenue), the
payer pays interest, principal and fees into the receivable, and the services' part goes to service revenue. The
payer is the customer's portal balance, or the SEPA clearing account for a direct debit.
"""

from __future__ import annotations

import datetime
import logging
from dataclasses import dataclass

from django.db import IntegrityError, transaction
from django.db.models import F
from django.utils import timezone

from leasing import ledger, target2
from leasing.models import (
    Collection,
    CollectionMethod,
    CollectionStatus,
    Contract,
    DirectDebitBatch,
    DirectDebitBatchStatus,
    DirectDebitPreNotification,
    PreNotificationStatus,
    ReturnSource,
    ScheduleItem,
    ScheduleItemStatus,
    SequenceType,
)
from leasing.services import pre_notifications
from payments.ledger.client import LedgerRefused
from payments.ledger.registry import Purpose, TransferCode

logger = logging.getLogger(__name__)
COLLECTIBLE_CONTRACT_STATES = pre_notifications.COLLECTIBLE_CONTRACT_STATES
BATCH_WINDOW_DAYS = 5  # a debit joins its batch at most this many calendar days before the batch's D-1 deadline


@dataclass(frozen=True)
class CollectionRunResult:
    """What one run did: rows collected from balances, rows put into SEPA batches, rows the ledger refused, and
    direct debits moved to a later date because their pre-notification was not sent in time."""

    collected: int = 0
    submitted: int = 0
    refused: int = 0
    moved: int = 0


def _due_item_ids(*, on: datetime.date) -> list[int]:
    live = Collection.objects.exclude(status=CollectionStatus.RETURNED).values("schedule_item_id")
    return list(
        ScheduleItem.objects.filter(
            status=ScheduleItemStatus.DUE, due_date__lte=on, contract__status__in=COLLECTIBLE_CONTRACT_STATES
        )
        .exclude(contract__collection_method=CollectionMethod.SEPA_DIRECT_DEBIT)
        .exclude(id__in=live)
        .order_by("due_date", "id")
        .values_list("id", flat=True)
    )


def collections_run(*, on: datetime.date) -> CollectionRunResult:
    """Collects every portal-balance row due on or before `on` and every direct debit whose batch is to be built by
    now; safe to run any number of times."""
    outcomes = []
    jobs = [(schedule_item_collect, {"schedule_item_id": item_id}) for item_id in _due_item_ids(on=on)]
    jobs += [(direct_debit_collect, {"pre_notification_id": notice_id}) for notice_id in _due_notice_ids(on=on)]
    for job, arguments in jobs:
        try:
            outcomes.append(job(**arguments, on=on))
        except LedgerRefused as error:
            logger.info("collection %s refused: %s", arguments, error.code)
            outcomes.append("refused")
    return CollectionRunResult(
        collected=outcomes.count(CollectionStatus.COLLECTED),
        submitted=outcomes.count(CollectionStatus.SUBMITTED),
        refused=outcomes.count("refused"),
        moved=outcomes.count(PreNotificationStatus.MOVED),
    )


def _due_notice_ids(*, on: datetime.date) -> list[int]:
    """Scheduled notices whose batch is to be built by now (or whose deadline passed, to be moved)."""
    horizon = on + datetime.timedelta(days=BATCH_WINDOW_DAYS + 7)  # the deadline is at most a week before the date
    notices = DirectDebitPreNotification.objects.filter(
        status=PreNotificationStatus.SCHEDULED, collection_date__lte=horizon
    ).order_by("collection_date", "id")
    return [
        notice.pk
        for notice in notices.only("id", "collection_date")
        if on >= target2.submission_deadline(notice.collection_date) - datetime.timedelta(days=BATCH_WINDOW_DAYS)
    ]


def _next_attempt(*, item: ScheduleItem) -> int | None:
    """The attempt number for a new collection, or None when a live collection exists already."""
    attempts = list(Collection.objects.filter(schedule_item=item).values_list("attempt", "status"))
    if any(status != CollectionStatus.RETURNED for _, status in attempts):
        return None
    return max((attempt for attempt, _ in attempts), default=0) + 1


@transaction.atomic
def schedule_item_collect(*, schedule_item_id: int, on: datetime.date) -> str | None:
    """Collects one due row; returns the new collection's status, or None when there was nothing to do."""
    item = (
        ScheduleItem.objects.select_for_update(skip_locked=True, of=("self",))
        .select_related("contract")
        .filter(pk=schedule_item_id, status=ScheduleItemStatus.DUE, due_date__lte=on)
        .first()
    )
    if item is None or item.contract.status not in COLLECTIBLE_CONTRACT_STATES:
        return None
    if item.contract.collection_method == CollectionMethod.SEPA_DIRECT_DEBIT:
        return None  # collected under its pre-notification by `direct_debit_collect`
    collection = _collection_write(item=item, status=CollectionStatus.COLLECTED, batch=None)
    return None if collection is None else collection.status


def _collection_write(*, item: ScheduleItem, status: str, batch: DirectDebitBatch | None) -> Collection | None:
    """Writes the row's next collection attempt, posts it and marks the row paid; None when one is live already."""
    attempt = _next_attempt(item=item)
    if attempt is None:
        return None
    contract = item.contract
    try:
        with transaction.atomic():
            collection = Collection.objects.create(
                schedule_item=item,
                contract=contract,
                attempt=attempt,
                method=contract.collection_method,
                amount=item.amount,
                status=status,
                end_to_end_id=f"{contract.number}-{item.schedule_version}-{item.number}-{attempt}",
                batch=batch,
                sequence_type=_sequence_type(contract=contract, batch=batch) if batch else "",
            )
    except IntegrityError:
        return None  # another run wrote the live collection first
    _collection_post(collection=collection, item=item)
    if batch is not None:
        DirectDebitBatch.objects.filter(pk=batch.pk).update(count=F("count") + 1, total=F("total") + item.amount)
    ScheduleItem.objects.filter(pk=item.pk).update(status=ScheduleItemStatus.PAID, paid_at=collection.created_at)
    return collection


@transaction.atomic
def direct_debit_collect(*, pre_notification_id: int, on: datetime.date) -> str | None:
    """Puts the notified row into the batch of the notice's date when the notice was sent in time and the batch's
    D-1 deadline has not passed; moves the notice to a later date when it cannot be. Returns "submitted", "moved",
    or None when there was nothing to do yet."""
    item_id = (
        DirectDebitPreNotification.objects.filter(pk=pre_notification_id).values_list("schedule_item_id", flat=True)
    ).first()
    item = (
        ScheduleItem.objects.select_for_update(skip_locked=True, of=("self",))
        .select_related("contract")
        .filter(pk=item_id)
        .first()
    )
    notice = (
        DirectDebitPreNotification.objects.select_for_update()
        .filter(pk=pre_notification_id, status=PreNotificationStatus.SCHEDULED)
        .first()
    )
    if item is None or notice is None:
        return None
    contract = item.contract
    if not pre_notifications.notice_still_applies(notice=notice, item=item):
        DirectDebitPreNotification.objects.filter(pk=notice.pk).update(status=PreNotificationStatus.CANCELLED)
        return None
    deadline = target2.submission_deadline(notice.collection_date)
    sent_in_time = pre_notifications.notice_sent_in_time(notice=notice)
    if on > deadline or (not sent_in_time and (notice.sent_at is not None or on == deadline)):
        pre_notifications.pre_notification_move(notice=notice, item=item, on=on)
        return PreNotificationStatus.MOVED
    if not sent_in_time:
        return None  # the e-mail is on its way; the deadline has not come
    batch = _open_batch(collection_date=notice.collection_date, currency=contract.currency)
    collection = _collection_write(item=item, status=CollectionStatus.SUBMITTED, batch=batch)
    if collection is None:
        return None
    DirectDebitPreNotification.objects.filter(pk=notice.pk).update(status=PreNotificationStatus.COLLECTED)
    return collection.status


def _sequence_type(*, contract: Contract, batch: DirectDebitBatch) -> str:
    """FRST for the first debit under the contract's mandate, RCUR once one went to the bank in an earlier batch and
    was not rejected before settlement."""
    earlier = (
        Collection.objects.filter(contract__mandate_id=contract.mandate_id, method=CollectionMethod.SEPA_DIRECT_DEBIT)
        .exclude(batch=batch)
        .exclude(return_source=ReturnSource.REJECT)
    )
    return SequenceType.RECURRING if earlier.exists() else SequenceType.FIRST


def _open_batch(*, collection_date: datetime.date, currency: str) -> DirectDebitBatch:
    """The open batch of a collection date and currency, created on first use; concurrent creators converge through
    the constraint."""
    found = DirectDebitBatch.objects.filter(
        collection_date=collection_date, currency=currency, status=DirectDebitBatchStatus.OPEN
    )
    batch = found.first()
    if batch is not None:
        return batch
    try:
        with transaction.atomic():
            count = DirectDebitBatch.objects.filter(collection_date=collection_date).count()
            return DirectDebitBatch.objects.create(
                collection_date=collection_date,
                currency=currency,
                message_id=f"FLDD-{collection_date:%Y%m%d}-{currency}-{count + 1}-{timezone.now():%H%M%S}",
            )
    except IntegrityError:
        return found.get()


def _payer_account_id(*, contract: Contract) -> int:
    if contract.collection_method == CollectionMethod.SEPA_DIRECT_DEBIT:
        return ledger.book_account_id(purpose=Purpose.LEASE_SEPA_CLEARING, currency=contract.currency)
    return ledger.customer_balance_account_id(user_id=contract.customer_id, currency=contract.currency)


def interest_accrue(*, item: ScheduleItem) -> None:
    """Adds the row's interest to the receivable once (its transfer id is derived from the row alone)."""
    contract = item.contract
    currency = contract.currency
    ledger.posting_book(
        event=f"accrual:{item.pk}",
        currency=currency,
        legs=[
            ledger.Leg(
                "interest",
                contract.receivable_account_id,
                ledger.book_account_id(purpose=Purpose.LEASE_INTEREST_REVENUE, currency=currency),
                item.interest,
                TransferCode.LEASE_INTEREST_ACCRUAL,
            )
        ],
    )


def _collection_post(*, collection: Collection, item: ScheduleItem) -> None:
    contract = item.contract
    currency = contract.currency
    payer = _payer_account_id(contract=contract)
    interest_accrue(item=item)
    ledger.posting_book(
        event=f"collection:{item.pk}:{collection.attempt}",
        currency=currency,
        legs=[
            ledger.Leg(
                "payment",
                payer,
                contract.receivable_account_id,
                item.amount - item.services,
                TransferCode.LEASE_INSTALMENT_PAYMENT,
            ),
            ledger.Leg(
                "services",
                payer,
                ledger.book_account_id(purpose=Purpose.LEASE_SERVICE_REVENUE, currency=currency),
                item.services,
                TransferCode.LEASE_SERVICE_CHARGE,
            ),
        ],
    )
