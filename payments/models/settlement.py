"""Settlement models: settlement requests and settlement batches, driven by the kernel's outbox (core.models).

Celery delivers at least once and Redis may lose what it holds; these rows are the durable record of work to do.
An outbox message is written in the same transaction as the business change, so it exists exactly when the change
does; settlement items name the pending transfers that are due to be posted; a batch is one unit of posting work whose
membership is fixed before anything is posted, so re-running it posts nothing twice.
"""

from __future__ import annotations

from django.db import models
from django.db.models import Q
from django.utils import timezone

from core.models import OutboxMessage, OutboxState

# The outbox lives in the kernel (core.models); settlement batches point at the message that asked for them.
__all__ = [
    "OutboxMessage",
    "OutboxState",
    "SettlementBatch",
    "SettlementBatchState",
    "SettlementItem",
    "SettlementItemState",
]


class SettlementItemState(models.TextChoices):
    REQUESTED = "requested", "Requested"  # due for settlement, in no batch yet
    CLAIMED = "claimed", "Claimed"  # taken by an open batch
    SETTLED = "settled", "Settled"  # the pending transfer is posted
    REJECTED = "rejected", "Rejected"  # the ledger refused the post (voided, expired, ...); see result_code


class SettlementItem(models.Model):
    """A pending transfer that is due to be posted, written in the same transaction as the pending transfer.

    One row per pending transfer (unique). A batch claims it, then posts it with a transfer id derived from the pending
    id, so the ledger itself refuses a second post.
    """

    pending_transfer = models.OneToOneField(
        "payments.Transfer", on_delete=models.PROTECT, related_name="settlement_item", help_text="A PENDING transfer."
    )
    state = models.CharField(max_length=10, choices=SettlementItemState.choices, default=SettlementItemState.REQUESTED)
    batch = models.ForeignKey(
        "payments.SettlementBatch", null=True, blank=True, on_delete=models.PROTECT, related_name="items"
    )
    result_code = models.CharField(max_length=64, blank=True, help_text="The ledger's result code of the post.")
    created_at = models.DateTimeField(default=timezone.now)
    settled_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["id"]
        constraints = [
            models.CheckConstraint(
                condition=Q(state__in=SettlementItemState.values), name="payments_settlement_item_state_valid"
            ),
            models.CheckConstraint(
                condition=Q(state=SettlementItemState.REQUESTED, batch__isnull=True)
                | (~Q(state=SettlementItemState.REQUESTED) & Q(batch__isnull=False)),
                name="payments_settlement_item_batch_matches_state",
            ),
            models.CheckConstraint(
                condition=~Q(state=SettlementItemState.SETTLED) | Q(settled_at__isnull=False),
                name="payments_settlement_item_settled_has_time",
            ),
        ]
        indexes = [
            models.Index(
                fields=["id"],
                name="payments_settlement_requested",
                condition=Q(state=SettlementItemState.REQUESTED),
            ),
        ]

    def __str__(self) -> str:
        return f"settlement item {self.pending_transfer_id} ({self.state})"


class SettlementBatchState(models.TextChoices):
    OPEN = "open", "Open"  # items claimed, posts not committed yet
    CLOSED = "closed", "Closed"  # every item settled or rejected; counts, totals and hash are final


class SettlementBatch(models.Model):
    """One unit of settlement: up to a few thousand claimed items posted in one database transaction.

    When closed, `totals` maps each currency to the posted amount in minor units, and `leaf_hash` is the SHA-256 (hex)
    over the sorted `(post transfer id, amount)` list; the identity app anchors it so a merchant can prove a payout.
    """

    state = models.CharField(max_length=10, choices=SettlementBatchState.choices, default=SettlementBatchState.OPEN)
    item_count = models.PositiveIntegerField(default=0, help_text="Items claimed by the batch.")
    settled_count = models.PositiveIntegerField(default=0)
    rejected_count = models.PositiveIntegerField(default=0)
    totals = models.JSONField(default=dict, blank=True, help_text="Posted minor units per ISO 4217 currency.")
    leaf_hash = models.CharField(max_length=64, blank=True)
    outbox_message = models.ForeignKey(
        OutboxMessage, null=True, blank=True, on_delete=models.SET_NULL, related_name="settlement_batches"
    )
    created_at = models.DateTimeField(default=timezone.now)
    closed_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-id"]
        constraints = [
            models.CheckConstraint(
                condition=Q(state__in=SettlementBatchState.values), name="payments_settlement_batch_state_valid"
            ),
            models.CheckConstraint(
                condition=Q(state=SettlementBatchState.OPEN)
                | Q(closed_at__isnull=False, leaf_hash__regex=r"^[0-9a-f]{64}$"),
                name="payments_settlement_batch_closed_is_final",
            ),
            models.CheckConstraint(
                condition=Q(state=SettlementBatchState.OPEN)
                | Q(settled_count=models.F("item_count") - models.F("rejected_count")),
                name="payments_settlement_batch_counts_add_up",
            ),
        ]
        indexes = [
            models.Index(fields=["id"], name="payments_settlement_batch_open", condition=Q(state="open")),
        ]

    def __str__(self) -> str:
        return f"settlement batch {self.pk} ({self.state})"
