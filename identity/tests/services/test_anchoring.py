import hashlib
from datetime import timedelta

import pytest
from django.utils import timezone

from core.errors import ConflictError, ValidationFailed
from identity.merkle import verify_inclusion
from identity.models import AnchorBatch, AnchorLeaf
from identity.services.anchoring import (
    ANCHOR_LEASE,
    ANCHOR_TAG,
    anchor_leaf_add,
    anchor_leaves_add_many,
    anchor_pending_leaves_run,
    anchor_proof_verify,
)

pytestmark = pytest.mark.django_db


def leaf(number: int) -> bytes:
    return hashlib.sha256(b"leaf-%d" % number).digest()


def queue(count: int, start: int = 0) -> None:
    anchor_leaves_add_many(leaves=[(leaf(n), "credential", f"urn:test:{n}") for n in range(start, start + count)])


def test_anchor_leaf_add_queues_once_and_returns_the_same_leaf_again():
    first = anchor_leaf_add(leaf_hash=leaf(1), source="settlement_batch", reference="settlement-batch:7")
    second = anchor_leaf_add(leaf_hash=leaf(1), source="settlement_batch", reference="settlement-batch:7")

    assert second.pk == first.pk
    assert first.leaf_hash == leaf(1).hex()
    assert first.state == AnchorLeaf.State.PENDING
    assert AnchorLeaf.objects.count() == 1


def test_anchor_leaf_add_refuses_bad_input_and_a_hash_of_another_source():
    anchor_leaf_add(leaf_hash=leaf(1), source="credential", reference="urn:uuid:1")

    with pytest.raises(ValidationFailed):
        anchor_leaf_add(leaf_hash=b"short", source="credential", reference="x")
    with pytest.raises(ValidationFailed):
        anchor_leaf_add(leaf_hash=leaf(2), source="ledger", reference="x")
    with pytest.raises(ConflictError):
        anchor_leaf_add(leaf_hash=leaf(1), source="settlement_batch", reference="batch 1")
    assert AnchorLeaf.objects.count() == 1


def test_run_anchors_pending_leaves_in_batches_with_verifiable_proofs(memory_tangle):
    queue(25)

    result = anchor_pending_leaves_run(anchor=memory_tangle, batch_size=10)

    assert (result.batches_anchored, result.leaves_anchored, result.batches_waiting) == (3, 25, 0)
    assert len(memory_tangle.blocks) == 3
    assert AnchorLeaf.objects.filter(state="anchored").count() == 25
    for stored in AnchorLeaf.objects.select_related("batch"):
        block = memory_tangle.blocks[stored.batch.block_id]
        assert block.tag == ANCHOR_TAG.encode()
        assert block.data.hex() == stored.batch.root
        assert verify_inclusion(bytes.fromhex(stored.leaf_hash), stored.proof, block.data) is True
    assert sorted(AnchorBatch.objects.values_list("tree_size", flat=True)) == [5, 10, 10]


def test_node_down_keeps_leaves_waiting_and_the_next_run_anchors_them_once(memory_tangle):
    queue(12)
    memory_tangle.is_down = True

    down = anchor_pending_leaves_run(anchor=memory_tangle, batch_size=5)

    assert down.is_node_unavailable is True
    assert (down.batches_anchored, down.batches_waiting) == (0, 1)
    assert AnchorLeaf.objects.filter(state="anchored").count() == 0
    waiting = AnchorBatch.objects.get()
    assert (waiting.state, waiting.block_id, waiting.attempts, waiting.tree_size) == ("posting", "", 1, 5)
    assert AnchorLeaf.objects.filter(batch__isnull=True).count() == 7
    assert memory_tangle.blocks == {}

    memory_tangle.is_down = False
    back = anchor_pending_leaves_run(anchor=memory_tangle, batch_size=5)

    assert (back.batches_anchored, back.leaves_anchored, back.batches_waiting) == (3, 12, 0)
    assert AnchorBatch.objects.get(pk=waiting.pk).root == waiting.root
    assert len(memory_tangle.blocks) == 3
    assert sorted(block.data.hex() for block in memory_tangle.blocks.values()) == sorted(
        AnchorBatch.objects.values_list("root", flat=True)
    )


class CrashAfterPosting:
    """The node accepts the block, then the worker dies before it can record the block id."""

    def __init__(self, tangle):
        self.tangle = tangle

    def anchor_root(self, root, *, tag):
        self.tangle.anchor_root(root, tag=tag)
        raise SystemExit("worker killed")


def test_crash_between_posting_and_recording_loses_nothing_and_counts_each_leaf_once(memory_tangle):
    queue(6)
    with pytest.raises(SystemExit):
        anchor_pending_leaves_run(anchor=CrashAfterPosting(memory_tangle), batch_size=10)
    batch = AnchorBatch.objects.get()
    assert batch.state == "posting"
    assert AnchorLeaf.objects.filter(batch=batch, state="pending").count() == 6

    within_lease = anchor_pending_leaves_run(anchor=memory_tangle)
    assert (within_lease.batches_anchored, within_lease.batches_waiting) == (0, 1)

    later = anchor_pending_leaves_run(anchor=memory_tangle, now=timezone.now() + ANCHOR_LEASE + timedelta(seconds=1))

    assert (later.batches_anchored, later.leaves_anchored) == (1, 6)
    assert AnchorBatch.objects.count() == 1
    batch.refresh_from_db()
    assert batch.state == "anchored"
    assert memory_tangle.blocks[batch.block_id].data.hex() == batch.root
    assert AnchorLeaf.objects.filter(batch=batch, state="anchored").count() == 6
    # The first post reached the node too: the same root is on the Tangle twice and the portal records one block.
    assert [block.data.hex() for block in memory_tangle.blocks.values()] == [batch.root, batch.root]


def test_a_run_with_nothing_pending_posts_nothing(memory_tangle):
    result = anchor_pending_leaves_run(anchor=memory_tangle)

    assert (result.batches_anchored, result.leaves_anchored, result.batches_waiting) == (0, 0, 0)
    assert memory_tangle.blocks == {}


def test_anchor_proof_verify_checks_the_path_and_optionally_the_block(memory_tangle):
    queue(3)
    anchor_pending_leaves_run(anchor=memory_tangle)
    stored = AnchorLeaf.objects.select_related("batch").first()
    root = bytes.fromhex(stored.batch.root)
    leaf_hash = bytes.fromhex(stored.leaf_hash)

    assert anchor_proof_verify(leaf_hash=leaf_hash, proof=stored.proof, root=root) is True
    assert (
        anchor_proof_verify(
            leaf_hash=leaf_hash, proof=stored.proof, root=root, block_id=stored.batch.block_id, anchor=memory_tangle
        )
        is True
    )
    assert anchor_proof_verify(leaf_hash=leaf(99), proof=stored.proof, root=root) is False
    assert (
        anchor_proof_verify(
            leaf_hash=leaf_hash, proof=stored.proof, root=root, block_id="0x" + "00" * 32, anchor=memory_tangle
        )
        is False
    )
    assert anchor_proof_verify(leaf_hash=leaf_hash, proof="not a proof", root=root) is False


def test_the_task_without_a_node_url_does_nothing(settings):
    from identity.tasks import anchor_pending_leaves

    settings.TANGLE_NODE_URL = ""
    queue(2)

    assert anchor_pending_leaves() == {"batches_anchored": 0, "leaves_anchored": 0, "batches_waiting": 0}
    assert AnchorLeaf.objects.filter(state="pending").count() == 2
