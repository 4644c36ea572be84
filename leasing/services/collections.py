"""Collecting due schedule rows: from the customer's portal balance through the ledger, or into a SEPA batch.

`collections_run(on=...)` is what Celery beat calls each day. Every row is handled in its own transaction that
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

from leasing import ledger
from leasing.errors import LedgerRefusedError
from leasing.models import (
    Collection,
    CollectionMethod,
    CollectionStatus,
    Contract,
    ContractStatus,
    DirectDebitBatch,
    DirectDebitBatchStatus,
    ScheduleItem,
    ScheduleItemStatus,
)

logger = logging.getLogger(__name__)
COLLECTIBLE_CONTRACT_STATES = (ContractStatus.ACTIVE, ContractStatus.IN_ARREARS, ContractStatus.ENDED)


@dataclass(frozen=True)
class CollectionRunResult:
    """What one run did: rows collected from balances, rows put into SEPA batches, rows the ledger refused."""

    collected: int = 0
    submitted: int = 0
    refused: int = 0


def _due_item_ids(*, on: datetime.date) -> list[int]:
    live = Collection.objects.exclude(status=CollectionStatus.RETURNED).values("schedule_item_id")
    return list(
        ScheduleItem.objects.filter(
            status=ScheduleItemStatus.DUE, due_date__lte=on, contract__status__in=COLLECTIBLE_CONTRACT_STATES
        )
        .exclude(id__in=live)
        .order_by("due_date", "id")
        .values_list("id", flat=True)
    )


def collections_run(*, on: datetime.date) -> CollectionRunResult:
    """Collects every row due on or before `on` that has no live collection; safe to run any number of times."""
    collected = submitted = refused = 0
    for item_id in _due_item_ids(on=on):
        try:
            outcome = schedule_item_collect(schedule_item_id=item_id, on=on)
        except LedgerRefusedError as error:
            logger.info("collection of schedule row %s refused: %s", item_id, error.code)
            refused += 1
            continue
        collected += outcome == CollectionStatus.COLLECTED
        submitted += outcome == CollectionStatus.SUBMITTED
    return CollectionRunResult(collected=collected, submitted=submitted, refused=refused)


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
    attempt = _next_attempt(item=item)
    if attempt is None:
        return None
    contract = item.contract
    is_direct_debit = contract.collection_method == CollectionMethod.SEPA_DIRECT_DEBIT
    status = CollectionStatus.SUBMITTED if is_direct_debit else CollectionStatus.COLLECTED
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
                batch=_open_batch(on=on, currency=contract.currency) if is_direct_debit else None,
            )
    except IntegrityError:
        return None  # another run wrote the live collection first
    _collection_post(collection=collection, item=item)
    if collection.batch_id:
        DirectDebitBatch.objects.filter(pk=collection.batch_id).update(
            count=F("count") + 1, total=F("total") + item.amount
        )
    ScheduleItem.objects.filter(pk=item.pk).update(status=ScheduleItemStatus.PAID, paid_at=collection.created_at)
    return status


def _open_batch(*, on: datetime.date, currency: str) -> DirectDebitBatch:
    """Today's open batch for `currency`, created on first use; concurrent creators converge through the constraint."""
    found = DirectDebitBatch.objects.filter(collection_date=on, currency=currency, status=DirectDebitBatchStatus.OPEN)
    batch = found.first()
    if batch is not None:
        return batch
    try:
        with transaction.atomic():
            count = DirectDebitBatch.objects.filter(collection_date=on).count()
            return DirectDebitBatch.objects.create(
                collection_date=on, currency=currency, message_id=f"FLDD-{on:%Y%m%d}-{currency}-{count + 1}"
            )
    except IntegrityError:
        return found.get()


def _payer_account_id(*, contract: Contract) -> int:
    if contract.collection_method == CollectionMethod.SEPA_DIRECT_DEBIT:
        return ledger.book_account_id(purpose=ledger.Purpose.SEPA_CLEARING, currency=contract.currency)
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
                ledger.book_account_id(purpose=ledger.Purpose.INTEREST_REVENUE, currency=currency),
                item.interest,
                ledger.LeaseTransferCode.INTEREST_ACCRUAL,
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
                ledger.LeaseTransferCode.INSTALMENT_PAYMENT,
            ),
            ledger.Leg(
                "services",
                payer,
                ledger.book_account_id(purpose=ledger.Purpose.SERVICE_REVENUE, currency=currency),
                item.services,
                ledger.LeaseTransferCode.SERVICE_CHARGE,
            ),
        ],
    )
