"""Settlement: pending transfers that are due are posted in batches, each exactly once.

Flow: the service that creates a pending transfer calls `settlement_request` in the same transaction; that writes a
`SettlementItem` and an outbox message whose task is `payments.settlement_batch_run`. The task finishes any batch a
dead worker left open, then claims up to `SETTLEMENT_BATCH_SIZE` requested items with `FOR UPDATE SKIP LOCKED` (one
transaction: the batch is open and its membership fixed), and posts them through the ledger (a second transaction:
posts, item states, counts, totals and hash, batch closed). Post ids are derived from the pending ids (uuid5), so a
batch that runs again gets `exists` from the ledger instead of a second post.
"""

from __future__ import annotations

import hashlib
import logging
import uuid
from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from django.conf import settings
from django.db import transaction
from django.utils import timezone

from core.errors import ValidationFailed
from core.outbox import outbox_message_mark_done, outbox_write
from identity.services import anchor_leaf_add
from payments.ledger.services import transfers_create
from payments.ledger.types import MAX_BATCH_SIZE, ResultCode, TransferFlags, TransferSpec
from payments.models import (
    OutboxMessage,
    OutboxState,
    SettlementBatch,
    SettlementBatchState,
    SettlementItem,
    SettlementItemState,
    Transfer,
)

logger = logging.getLogger(__name__)

SETTLEMENT_TOPIC = "payments.settlement_batch_run"
# Namespace of the deterministic ids: post id = uuid5(namespace, "post:<pending id>").
SETTLEMENT_NAMESPACE = uuid.UUID("6f1d2c1e-5b0a-4f8e-9a57-3c2b8d7e4a10")
SETTLED_CODES = frozenset({ResultCode.OK, ResultCode.EXISTS})
# Rounds one task runs before it hands the rest to a continuation message, so a task stays far below the broker's
# visibility timeout even under a constant stream of requests.
MAX_ROUNDS_PER_TASK = 50


@dataclass(frozen=True)
class SettlementRunResult:
    """What one run of `settlement_batch_run` did: batches closed, items settled and rejected."""

    batches_closed: int = 0
    items_settled: int = 0
    items_rejected: int = 0


def settlement_batch_size() -> int:
    """Items per batch; large enough that PostgreSQL, not Celery's per-task overhead, bounds throughput."""
    return int(getattr(settings, "SETTLEMENT_BATCH_SIZE", 2000))


def settlement_post_transfer_id(*, pending_transfer_id: uuid.UUID) -> uuid.UUID:
    """The id of the transfer that posts `pending_transfer_id`: the same on every run, so the ledger sees a retry."""
    return uuid.uuid5(SETTLEMENT_NAMESPACE, f"post:{pending_transfer_id}")


def settlement_request(*, pending_transfer_id: uuid.UUID) -> OutboxMessage:
    """Marks one pending transfer as due for settlement; call it in the transaction that created the transfer."""
    return settlement_request_many(pending_transfer_ids=[pending_transfer_id])


@transaction.atomic
def settlement_request_many(*, pending_transfer_ids: Sequence[uuid.UUID]) -> OutboxMessage:
    """Marks pending transfers as due for settlement and writes one outbox message that triggers a batch run.

    Runs in the caller's transaction (the one that created the pending transfers), so a rolled-back change leaves
    neither items nor a task. Requesting the same set again changes nothing. Raises `ValidationFailed`
    (`pending_transfer_not_found`) unless every id names an existing PENDING transfer.
    """
    pending_ids = list(dict.fromkeys(pending_transfer_ids))  # the caller's order: batches take items oldest first
    if not pending_ids:
        raise ValidationFailed("No pending transfer was named.", code="pending_transfer_not_found")
    found = Transfer.objects.filter(pk__in=pending_ids, flags__in=_pending_flag_values()).count()
    if found != len(pending_ids):
        raise ValidationFailed(
            f"{len(pending_ids) - found} of the transfers are not pending transfers.", code="pending_transfer_not_found"
        )
    SettlementItem.objects.bulk_create(
        [SettlementItem(pending_transfer_id=pending_id) for pending_id in pending_ids],
        ignore_conflicts=True,
        batch_size=2000,
    )
    request_key = uuid.uuid5(SETTLEMENT_NAMESPACE, "request:" + ",".join(sorted(str(i) for i in pending_ids)))
    return outbox_write(topic=SETTLEMENT_TOPIC, key=f"request:{request_key}", payload={"items": len(pending_ids)})


def _pending_flag_values() -> list[int]:
    """Every stored `flags` value with the PENDING bit (PENDING alone or with LINKED)."""
    return [int(TransferFlags.PENDING), int(TransferFlags.PENDING | TransferFlags.LINKED)]


def settlement_batch_run(*, outbox_message_id: int, batch_size: int | None = None) -> SettlementRunResult:
    """Settles everything that is due, then acknowledges the outbox message (the task `payments.settlement_batch_run`).

    Safe to run twice and concurrently: a done message is a no-op, batches are claimed with SKIP LOCKED, an open batch
    is posted by one worker at a time, and posts have deterministic ids.
    """
    message = OutboxMessage.objects.filter(pk=outbox_message_id).only("id", "state").first()
    if message is None or message.state == OutboxState.DONE:
        return SettlementRunResult()
    size = batch_size or settlement_batch_size()
    totals = [settlement_batch_post(batch_id=batch_id) for batch_id in settlement_open_batch_ids()]
    for _ in range(MAX_ROUNDS_PER_TASK):
        batch_id, claimed = settlement_batch_claim(batch_size=size, outbox_message_id=outbox_message_id)
        if batch_id is not None:
            totals.append(settlement_batch_post(batch_id=batch_id))
        if claimed < size:
            outbox_message_mark_done(message_id=outbox_message_id)
            return _sum_results(totals)
    with transaction.atomic():
        outbox_write(topic=SETTLEMENT_TOPIC, key=f"continue:{outbox_message_id}", payload={})
        outbox_message_mark_done(message_id=outbox_message_id)
    return _sum_results(totals)


def _sum_results(results: Iterable[SettlementRunResult]) -> SettlementRunResult:
    results = list(results)
    return SettlementRunResult(
        batches_closed=sum(r.batches_closed for r in results),
        items_settled=sum(r.items_settled for r in results),
        items_rejected=sum(r.items_rejected for r in results),
    )


def settlement_open_batch_ids() -> list[int]:
    """Open batches: claimed by a worker that is posting them now, or left behind by one that died."""
    return list(
        SettlementBatch.objects.filter(state=SettlementBatchState.OPEN).order_by("id").values_list("id", flat=True)
    )


@transaction.atomic
def settlement_batch_claim(*, batch_size: int, outbox_message_id: int | None) -> tuple[int | None, int]:
    """Claims up to `batch_size` requested items into a new open batch; returns (batch id or None, items claimed).

    `FOR UPDATE SKIP LOCKED` lets concurrent workers claim disjoint sets without waiting for each other.
    """
    item_ids = list(
        SettlementItem.objects.select_for_update(skip_locked=True)
        .filter(state=SettlementItemState.REQUESTED)
        .order_by("id")
        .values_list("id", flat=True)[:batch_size]
    )
    if not item_ids:
        return None, 0
    batch = SettlementBatch.objects.create(item_count=len(item_ids), outbox_message_id=outbox_message_id)
    SettlementItem.objects.filter(pk__in=item_ids).update(state=SettlementItemState.CLAIMED, batch=batch)
    return batch.pk, len(item_ids)


_PENDING_FIELDS = (
    "id",
    "pending_transfer__id",
    "pending_transfer__amount",
    "pending_transfer__ledger",
    "pending_transfer__code",
    "pending_transfer__debit_account_id",
    "pending_transfer__credit_account_id",
)


@transaction.atomic
def settlement_batch_post(*, batch_id: int) -> SettlementRunResult:
    """Posts an open batch's items through the ledger and closes it, all in one transaction.

    Returns an empty result when the batch is closed or another worker holds it. An item is settled when the ledger
    answers `ok` or `exists` (posted before by this batch), rejected with the ledger's code otherwise (for example a
    pending transfer voided by its timeout).
    """
    batch = (
        SettlementBatch.objects.select_for_update(skip_locked=True)
        .filter(pk=batch_id, state=SettlementBatchState.OPEN)
        .first()
    )
    if batch is None:
        return SettlementRunResult()
    items = list(
        SettlementItem.objects.filter(batch=batch, state=SettlementItemState.CLAIMED)
        .select_related("pending_transfer")
        .only(*_PENDING_FIELDS)
        .order_by("id")
    )
    codes = _post_items(items=items, batch_id=batch.pk)
    _record_item_results(items=items, codes=codes)
    settled = [item for item, code in zip(items, codes, strict=True) if code in SETTLED_CODES]
    totals: dict[str, int] = defaultdict(int)
    for item in settled:
        totals[item.pending_transfer.ledger] += item.pending_transfer.amount
    batch.settled_count = len(settled)
    batch.rejected_count = len(items) - len(settled)
    batch.item_count = len(items)
    batch.totals = dict(sorted(totals.items()))
    batch.leaf_hash = settlement_batch_hash(
        entries=[
            (settlement_post_transfer_id(pending_transfer_id=i.pending_transfer.id), i.pending_transfer.amount)
            for i in settled
        ]
    )
    batch.state = SettlementBatchState.CLOSED
    batch.closed_at = timezone.now()
    batch.save()
    # The batch's hash joins the next Merkle tree anchored on the Tangle, in this same transaction, so a merchant can
    # later prove a payout. Payments calls identity's service; identity never imports payments.
    anchor_leaf_add(
        leaf_hash=bytes.fromhex(batch.leaf_hash), source="settlement_batch", reference=f"settlement-batch:{batch.pk}"
    )
    return SettlementRunResult(batches_closed=1, items_settled=len(settled), items_rejected=batch.rejected_count)


def _post_items(*, items: Sequence[SettlementItem], batch_id: int) -> list[ResultCode]:
    """Submits one POST_PENDING per item (full pending amount) and returns the ledger's code per item, in order."""
    specs = [
        TransferSpec(
            id=settlement_post_transfer_id(pending_transfer_id=item.pending_transfer.id),
            debit_account_id=item.pending_transfer.debit_account_id,
            credit_account_id=item.pending_transfer.credit_account_id,
            amount=item.pending_transfer.amount,
            ledger=item.pending_transfer.ledger,
            code=item.pending_transfer.code,
            flags=TransferFlags.POST_PENDING,
            pending_id=item.pending_transfer.id,
            user_data=f"settlement-batch:{batch_id}",
        )
        for item in items
    ]
    codes: list[ResultCode] = []
    for start in range(0, len(specs), MAX_BATCH_SIZE):
        codes.extend(result.code for result in transfers_create(transfers=specs[start : start + MAX_BATCH_SIZE]))
    return codes


def _record_item_results(*, items: Sequence[SettlementItem], codes: Sequence[ResultCode]) -> None:
    """Stores each item's outcome with one UPDATE per distinct result code."""
    by_code: dict[ResultCode, list[int]] = defaultdict(list)
    for item, code in zip(items, codes, strict=True):
        by_code[code].append(item.pk)
    now = timezone.now()
    for code, item_ids in by_code.items():
        if code in SETTLED_CODES:
            changes = {"state": SettlementItemState.SETTLED, "settled_at": now}
        else:
            changes = {"state": SettlementItemState.REJECTED}
            logger.warning("settlement: %d item(s) rejected by the ledger with %s", len(item_ids), code)
        SettlementItem.objects.filter(pk__in=item_ids).update(result_code=str(code), **changes)


def settlement_batch_hash(*, entries: Iterable[tuple[uuid.UUID, int]]) -> str:
    """SHA-256 (hex) over the sorted `(post transfer id, amount in minor units)` list of a batch.

    Canonical form: one line `"<uuid>:<amount>\\n"` per transfer (lowercase hyphenated UUID, decimal amount), sorted by
    the UUID string; the empty batch hashes the empty string. Anyone holding the list can recompute it.
    """
    lines = sorted(f"{transfer_id}:{int(amount)}\n" for transfer_id, amount in entries)
    return hashlib.sha256("".join(lines).encode("ascii")).hexdigest()
