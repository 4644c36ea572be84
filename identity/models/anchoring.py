"""Merkle leaves waiting for or holding a Tangle anchor, and the batches whose roots were anchored."""

from __future__ import annotations

from django.db import models
from django.db.models import Q
from django.utils import timezone
from django.utils.translation import gettext_lazy as _


class AnchorSource(models.TextChoices):
    CREDENTIAL = "credential", _("Credential")
    STATUS_LIST = "status_list", _("Status list version")
    SETTLEMENT_BATCH = "settlement_batch", _("Settlement batch")
    METER_CHAIN = "meter_chain", _("Meter chain head of a charging session")


class AnchorBatch(models.Model):
    """One Merkle tree over pending leaves whose root goes into one Tangle block.

    The batch is written in state ``posting`` (root, size, leaves and their proofs) before the root is sent to the
    node, so a crash or an unreachable node never loses the leaves nor lets them into a second batch: the next run
    posts the same root again. Only after the node accepted the block does the batch become ``anchored`` with its
    ``block_id``. ``claimed_until`` is a lease that keeps two workers from posting the same batch at once.
    """

    class State(models.TextChoices):
        POSTING = "posting", _("Posting")
        ANCHORED = "anchored", _("Anchored")

    root = models.CharField(max_length=64, unique=True)
    tree_size = models.PositiveIntegerField()
    tag = models.CharField(max_length=64)
    state = models.CharField(max_length=10, choices=State.choices, default=State.POSTING)
    block_id = models.CharField(max_length=66, blank=True)
    node_url = models.CharField(max_length=300, blank=True)
    attempts = models.PositiveIntegerField(default=0)
    last_error = models.CharField(max_length=300, blank=True)
    claimed_until = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField(default=timezone.now)
    anchored_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at", "-id"]
        constraints = [
            models.CheckConstraint(condition=Q(state__in=["posting", "anchored"]), name="identity_batch_state_valid"),
            models.CheckConstraint(condition=Q(root__regex=r"^[0-9a-f]{64}$"), name="identity_batch_root_hex"),
            models.CheckConstraint(condition=Q(tree_size__gte=1), name="identity_batch_not_empty"),
            models.CheckConstraint(
                condition=Q(state="posting", block_id="", anchored_at__isnull=True)
                | Q(state="anchored", block_id__regex=r"^0x[0-9a-f]{64}$", anchored_at__isnull=False),
                name="identity_batch_anchored_has_block",
            ),
            models.UniqueConstraint(
                fields=["block_id"], condition=Q(state="anchored"), name="identity_batch_block_unique"
            ),
        ]

    def __str__(self) -> str:
        return f"batch {self.pk} ({self.state}, {self.tree_size} leaves)"


class AnchorLeaf(models.Model):
    """A 32-byte hash (hex) to be anchored: a credential's salted leaf, a status-list version, a settlement batch.

    ``pending`` leaves with no batch wait for the next run; a leaf in a ``posting`` batch already has its index and
    proof but counts as anchored only once the batch is. ``reference`` says what the hash is of (a credential id, a
    status list version, a settlement batch id) and never holds personal data.
    """

    class State(models.TextChoices):
        PENDING = "pending", _("Pending")
        ANCHORED = "anchored", _("Anchored")

    leaf_hash = models.CharField(max_length=64, unique=True)
    source = models.CharField(max_length=20, choices=AnchorSource.choices)
    reference = models.CharField(max_length=200)
    state = models.CharField(max_length=10, choices=State.choices, default=State.PENDING)
    batch = models.ForeignKey(AnchorBatch, null=True, blank=True, on_delete=models.PROTECT, related_name="leaves")
    leaf_index = models.PositiveIntegerField(null=True, blank=True)
    proof = models.JSONField(null=True, blank=True)
    created_at = models.DateTimeField(default=timezone.now)
    anchored_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["id"]
        indexes = [models.Index(fields=["state", "batch"], name="identity_leaf_pending_idx")]
        constraints = [
            models.CheckConstraint(condition=Q(leaf_hash__regex=r"^[0-9a-f]{64}$"), name="identity_leaf_hash_hex"),
            models.CheckConstraint(condition=Q(state__in=["pending", "anchored"]), name="identity_leaf_state_valid"),
            models.CheckConstraint(
                condition=Q(source__in=["credential", "status_list", "settlement_batch", "meter_chain"]),
                name="identity_leaf_source_valid",
            ),
            models.CheckConstraint(
                condition=Q(batch__isnull=True, leaf_index__isnull=True, proof__isnull=True)
                | Q(batch__isnull=False, leaf_index__isnull=False, proof__isnull=False),
                name="identity_leaf_batch_has_proof",
            ),
            models.CheckConstraint(
                condition=Q(state="pending", anchored_at__isnull=True)
                | Q(state="anchored", batch__isnull=False, anchored_at__isnull=False),
                name="identity_leaf_anchored_in_batch",
            ),
            models.UniqueConstraint(fields=["batch", "leaf_index"], name="identity_leaf_index_unique_in_batch"),
        ]

    def __str__(self) -> str:
        return f"{self.source} leaf {self.leaf_hash[:12]}… ({self.state})"
