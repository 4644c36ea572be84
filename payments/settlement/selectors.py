"""Reads of settlement for the back office: batches and the outbox backlog of the reconciliation report."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime

from django.db.models import Count, Min, QuerySet, Sum
from django.shortcuts import get_object_or_404
from django.utils import timezone

from payments.models import (
    OutboxMessage,
    OutboxState,
    SettlementBatch,
    SettlementBatchState,
    SettlementItem,
    SettlementItemState,
)


def settlement_batch_list(*, state: str | None = None, before_id: int | None = None) -> QuerySet[SettlementBatch]:
    """Batches newest first, optionally one state and only those older than `before_id` (keyset paging).

    Back office only; the view checks the role. Batches belong to the portal, not to a user.
    """
    batches = SettlementBatch.objects.order_by("-id")
    if state:
        batches = batches.filter(state=state)
    if before_id is not None:
        batches = batches.filter(id__lt=before_id)
    return batches


def settlement_batch_get(*, batch_id: int) -> SettlementBatch:
    """One batch or 404."""
    return get_object_or_404(SettlementBatch, pk=batch_id)


@dataclass(frozen=True)
class SettlementBacklog:
    """Outbox and settlement figures for the reconciliation report. Amounts in minor units per currency."""

    outbox_by_state: dict[str, int]
    outbox_resent: int  # unfinished messages handed to the broker more than once
    outbox_oldest_unfinished_at: datetime | None
    outbox_oldest_unfinished_age_seconds: float | None
    items_by_state: dict[str, int]
    items_due_by_currency: dict[str, int] = field(default_factory=dict)  # requested or claimed, not yet posted
    items_oldest_due_at: datetime | None = None
    batches_open: int = 0
    batches_closed: int = 0
    settled_by_currency: dict[str, int] = field(default_factory=dict)

    @property
    def outbox_unfinished(self) -> int:
        return self.outbox_by_state[OutboxState.PENDING] + self.outbox_by_state[OutboxState.ENQUEUED]

    @property
    def items_due(self) -> int:
        return self.items_by_state[SettlementItemState.REQUESTED] + self.items_by_state[SettlementItemState.CLAIMED]


def settlement_backlog_summary() -> SettlementBacklog:
    """Counts of outbox messages and settlement items per state, the oldest unfinished work, and amounts due/settled."""
    outbox_counts = dict(OutboxMessage.objects.values_list("state").annotate(n=Count("id")).order_by())
    unfinished = OutboxMessage.objects.exclude(state=OutboxState.DONE)
    oldest_message = unfinished.aggregate(oldest=Min("created_at"))["oldest"]
    item_counts = dict(SettlementItem.objects.values_list("state").annotate(n=Count("id")).order_by())
    due = SettlementItem.objects.filter(state__in=[SettlementItemState.REQUESTED, SettlementItemState.CLAIMED])
    due_by_currency = dict(
        due.values_list("pending_transfer__ledger").annotate(total=Sum("pending_transfer__amount")).order_by()
    )
    batch_counts = dict(SettlementBatch.objects.values_list("state").annotate(n=Count("id")).order_by())
    return SettlementBacklog(
        outbox_by_state={state: outbox_counts.get(state, 0) for state in OutboxState.values},
        outbox_resent=unfinished.filter(attempts__gt=1).count(),
        outbox_oldest_unfinished_at=oldest_message,
        outbox_oldest_unfinished_age_seconds=(
            (timezone.now() - oldest_message).total_seconds() if oldest_message else None
        ),
        items_by_state={state: item_counts.get(state, 0) for state in SettlementItemState.values},
        items_due_by_currency=dict(sorted(due_by_currency.items())),
        items_oldest_due_at=due.aggregate(oldest=Min("created_at"))["oldest"],
        batches_open=batch_counts.get(SettlementBatchState.OPEN, 0),
        batches_closed=batch_counts.get(SettlementBatchState.CLOSED, 0),
        settled_by_currency=settlement_settled_totals(),
    )


def settlement_settled_totals() -> dict[str, int]:
    """Posted minor units per currency over every settled item (equals the sum of the closed batches' `totals`)."""
    settled = SettlementItem.objects.filter(state=SettlementItemState.SETTLED)
    totals = settled.values_list("pending_transfer__ledger").annotate(total=Sum("pending_transfer__amount")).order_by()
    return dict(sorted(totals))
