"""Anchoring: pending leaf hashes are gathered into Merkle trees whose roots go into Tangle blocks.

One run (the Celery beat task ``identity.anchor_pending_leaves``) does, in order:

1. **Reconcile**: every batch still ``posting`` (its node was down, or a worker died between posting and recording)
   is posted again with the same root. Its leaves never join another batch, so nothing is lost or counted twice.
2. **New batches**: up to ``TANGLE_ANCHOR_BATCH_SIZE`` pending leaves are taken with ``SKIP LOCKED``, the tree is
   built, and the batch (root, leaves, proofs) is committed as ``posting`` *before* the root is sent.
3. After the node accepted the block, one transaction stores the block id and marks the batch and its leaves
   ``anchored``.

If the node is unreachable the run stops at the first failure; what it could not post waits for the next run. A
worker that dies after the node accepted a block but before step 3 leaves the batch ``posting``; once its lease
(``ANCHOR_LEASE``) has passed, the next run posts the same root again and records that block. The Tangle may then
hold the same root twice, which proves the same thing; the portal records one block per batch.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta

from django.conf import settings
from django.db import IntegrityError, transaction
from django.db.models import F, Q
from django.utils import timezone

from core.errors import ConflictError, ValidationFailed
from identity.merkle import LEAF_HASH_SIZE, build_tree, verify_inclusion
from identity.models import AnchorBatch, AnchorLeaf, AnchorSource
from identity.services.anchor_confirmation import RootConfirmation, anchored_root_confirm
from identity.tangle.anchor import Anchor, AnchorError, AnchorUnavailable, get_anchor

logger = logging.getLogger(__name__)

ANCHOR_TAG = "finlab:anchor:v1"
ANCHOR_LEASE = timedelta(minutes=2)
"""How long a worker owns a batch it is posting; longer than one node call (10 s timeout) with a wide margin."""
MAX_BATCHES_PER_RUN = 10
_BULK_UPDATE_SIZE = 2_000


@dataclass(frozen=True)
class AnchorRunResult:
    """What one run did: batches and leaves newly anchored, and batches still waiting for the node."""

    batches_anchored: int = 0
    leaves_anchored: int = 0
    batches_waiting: int = 0
    is_node_unavailable: bool = False


def anchor_leaf_add(*, leaf_hash: bytes, source: str, reference: str) -> AnchorLeaf:
    """Queue a 32-byte hash for anchoring and return its leaf; idempotent: the same hash again returns the same leaf.

    ``source`` is an :class:`AnchorSource` value (``credential``, ``status_list``, ``settlement_batch``,
    ``meter_chain``) and
    ``reference`` what the hash is of (a credential id, a status list version, a settlement batch id), never personal
    data. Safe inside the caller's transaction: the leaf commits (or rolls back) with it.
    """
    if not isinstance(leaf_hash, bytes) or len(leaf_hash) != LEAF_HASH_SIZE:
        raise ValidationFailed("A leaf hash is 32 bytes.", code="invalid_leaf_hash")
    if source not in AnchorSource.values:
        raise ValidationFailed(f"Unknown anchor source {source!r}.", code="invalid_anchor_source")
    if not reference or len(reference) > 200:
        raise ValidationFailed("A leaf reference is 1 to 200 characters.", code="invalid_anchor_reference")
    hex_hash = leaf_hash.hex()
    try:
        with transaction.atomic():
            leaf, _created = AnchorLeaf.objects.get_or_create(
                leaf_hash=hex_hash, defaults={"source": source, "reference": reference}
            )
    except IntegrityError:
        leaf = AnchorLeaf.objects.get(leaf_hash=hex_hash)
    if leaf.source != source:
        raise ConflictError("This hash is already queued for another source.", code="leaf_exists")
    return leaf


def anchor_leaves_add_many(*, leaves: Sequence[tuple[bytes, str, str]]) -> int:
    """Queue many ``(leaf_hash, source, reference)`` at once (bulk insert); hashes already queued are skipped.
    Returns how many leaves were new."""
    rows = []
    for leaf_hash, source, reference in leaves:
        if not isinstance(leaf_hash, bytes) or len(leaf_hash) != LEAF_HASH_SIZE or source not in AnchorSource.values:
            raise ValidationFailed("Each leaf is a 32-byte hash with a known source.", code="invalid_leaf_hash")
        if not reference or len(reference) > 200:
            raise ValidationFailed("A leaf reference is 1 to 200 characters.", code="invalid_anchor_reference")
        rows.append(AnchorLeaf(leaf_hash=leaf_hash.hex(), source=source, reference=reference))
    before = AnchorLeaf.objects.count()
    AnchorLeaf.objects.bulk_create(rows, ignore_conflicts=True, batch_size=_BULK_UPDATE_SIZE)
    return AnchorLeaf.objects.count() - before


def anchor_pending_leaves_run(
    *, anchor: Anchor | None = None, batch_size: int | None = None, now: datetime | None = None
) -> AnchorRunResult:
    """One anchoring run (see the module docstring); returns what it did. Without a node URL it does nothing."""
    if anchor is None:
        if not settings.TANGLE_NODE_URL:
            logger.warning("anchoring skipped: TANGLE_NODE_URL is not set")
            return AnchorRunResult()
        anchor = get_anchor(settings.TANGLE_NODE_URL)
    batch_size = batch_size or settings.TANGLE_ANCHOR_BATCH_SIZE
    anchored = leaves = 0
    for batch_id in _batches_to_reconcile(now=now or timezone.now()):
        outcome = _claim_and_post(batch_id=batch_id, anchor=anchor, now=now)
        if outcome is None:
            return _result(anchored, leaves, is_node_unavailable=True)
        anchored, leaves = anchored + (outcome > 0), leaves + outcome
    for _ in range(MAX_BATCHES_PER_RUN):
        batch_id = _batch_create(batch_size=batch_size, now=now or timezone.now())
        if batch_id is None:
            break
        outcome = _post_and_record(batch_id=batch_id, anchor=anchor)
        if outcome is None:
            return _result(anchored, leaves, is_node_unavailable=True)
        anchored, leaves = anchored + 1, leaves + outcome
    return _result(anchored, leaves, is_node_unavailable=False)


def _result(anchored: int, leaves: int, *, is_node_unavailable: bool) -> AnchorRunResult:
    waiting = AnchorBatch.objects.filter(state=AnchorBatch.State.POSTING).count()
    return AnchorRunResult(anchored, leaves, waiting, is_node_unavailable)


def _claimable(now: datetime) -> Q:
    return Q(state=AnchorBatch.State.POSTING) & (Q(claimed_until__isnull=True) | Q(claimed_until__lt=now))


def _batches_to_reconcile(*, now: datetime) -> list[int]:
    return list(AnchorBatch.objects.filter(_claimable(now)).order_by("id").values_list("id", flat=True))


def _claim_and_post(*, batch_id: int, anchor: Anchor, now: datetime | None) -> int | None:
    """Post a waiting batch if no other worker holds it; 0 when another worker does, None when the node is down."""
    moment = now or timezone.now()
    claimed = AnchorBatch.objects.filter(_claimable(moment), pk=batch_id).update(claimed_until=moment + ANCHOR_LEASE)
    if not claimed:
        return 0
    return _post_and_record(batch_id=batch_id, anchor=anchor)


@transaction.atomic
def _batch_create(*, batch_size: int, now: datetime) -> int | None:
    """Take pending leaves (SKIP LOCKED), build their tree and commit the batch as ``posting`` with every proof."""
    rows = list(
        AnchorLeaf.objects.select_for_update(skip_locked=True)
        .filter(state=AnchorLeaf.State.PENDING, batch__isnull=True)
        .order_by("id")
        .values_list("id", "leaf_hash")[:batch_size]
    )
    if not rows:
        return None
    tree = build_tree(leaves=[bytes.fromhex(leaf_hash) for _, leaf_hash in rows])
    batch = AnchorBatch.objects.create(
        root=tree.root.hex(), tree_size=tree.size, tag=ANCHOR_TAG, claimed_until=now + ANCHOR_LEASE, created_at=now
    )
    updates = [
        AnchorLeaf(pk=leaf_id, batch_id=batch.pk, leaf_index=proof.leaf_index, proof=proof.to_json())
        for (leaf_id, _), proof in zip(rows, tree.proofs, strict=True)
    ]
    AnchorLeaf.objects.bulk_update(updates, ["batch", "leaf_index", "proof"], batch_size=_BULK_UPDATE_SIZE)
    logger.info("anchor batch %s built over %s leaves", batch.pk, tree.size)
    return batch.pk


def _post_and_record(*, batch_id: int, anchor: Anchor) -> int | None:
    """Send the batch's root; on acceptance record the block. Returns the leaves anchored, None if the node is down."""
    batch = AnchorBatch.objects.get(pk=batch_id)
    try:
        receipt = anchor.anchor_root(bytes.fromhex(batch.root), tag=batch.tag)
    except AnchorError as error:
        AnchorBatch.objects.filter(pk=batch_id).update(
            attempts=F("attempts") + 1, last_error=f"{type(error).__name__}: {error}"[:300], claimed_until=None
        )
        log = logger.warning if isinstance(error, AnchorUnavailable) else logger.error
        log("anchor batch %s not posted (%s); it stays posting", batch_id, type(error).__name__)
        return None
    return _record_anchored(batch=batch, block_id=receipt.block_id, node_url=receipt.node_url)


@transaction.atomic
def _record_anchored(*, batch: AnchorBatch, block_id: str, node_url: str) -> int:
    now = timezone.now()
    updated = AnchorBatch.objects.filter(pk=batch.pk, state=AnchorBatch.State.POSTING).update(
        state=AnchorBatch.State.ANCHORED,
        block_id=block_id,
        node_url=node_url,
        anchored_at=now,
        attempts=F("attempts") + 1,
        last_error="",
        claimed_until=None,
    )
    if not updated:
        return 0
    count = AnchorLeaf.objects.filter(batch_id=batch.pk).update(state=AnchorLeaf.State.ANCHORED, anchored_at=now)
    logger.info("anchor batch %s anchored in block %s (%s leaves)", batch.pk, block_id, count)
    return count


def anchor_proof_verify(
    *, leaf_hash: bytes, proof: object, root: bytes, block_id: str = "", anchor: Anchor | None = None
) -> bool:
    """True when ``proof`` shows ``leaf_hash`` under ``root`` (offline, RFC 9162) and, if an ``anchor`` is given,
    the block ``block_id`` on the Tangle carries exactly ``root``. An unreachable node raises AnchorUnavailable.

    The Tangle is asked as the credential verifier asks it (:func:`anchored_root_confirm`), sharing its cache of
    confirmed roots."""
    if not isinstance(proof, dict) or not verify_inclusion(leaf_hash, proof, root):
        return False
    if anchor is None:
        return True
    confirmation = anchored_root_confirm(block_id=block_id, root=root, anchor=anchor)
    if confirmation is RootConfirmation.UNVERIFIABLE:
        raise AnchorUnavailable(f"the Tangle node could not confirm block {block_id}")
    return confirmation is RootConfirmation.CONFIRMED
