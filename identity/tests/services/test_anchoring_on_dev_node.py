"""Anchoring through the real iota-sdk against the local dev node, started as its own process."""

import hashlib
import sqlite3

import pytest

from identity.merkle import verify_inclusion
from identity.models import AnchorBatch, AnchorLeaf
from identity.services.anchoring import ANCHOR_TAG, anchor_leaves_add_many, anchor_pending_leaves_run
from identity.tangle.anchor import get_anchor
from identity.tangle.block import parse_block
from identity.tangle.store import DATABASE_NAME
from identity.tangle.testing import running_dev_node
from identity.tasks import anchor_pending_leaves

pytestmark = pytest.mark.django_db(transaction=True)


def queue_credential_leaves(count: int) -> None:
    leaves = [(hashlib.sha256(b"credential-%d" % n).digest(), "credential", f"urn:test:{n}") for n in range(count)]
    assert anchor_leaves_add_many(leaves=leaves) == count


def anchored_roots_on_node(node) -> list[str]:
    """Roots (hex) of every block the node stored with the portal's tag, in the order the node received them."""
    with sqlite3.connect(node.data_dir / DATABASE_NAME) as database:
        raws = [row[0] for row in database.execute("SELECT raw FROM blocks ORDER BY seq")]
    payloads = [parse_block(raw).payload for raw in raws]
    return [payload.data.hex() for payload in payloads if payload is not None and payload.tag == ANCHOR_TAG.encode()]


def assert_every_proof_verifies_against_the_node(node) -> None:
    anchor = get_anchor(node.url)
    roots = {batch.pk: anchor.fetch_block(batch.block_id).data for batch in AnchorBatch.objects.all()}
    rows = AnchorLeaf.objects.values_list("leaf_hash", "proof", "batch_id", "state")
    assert {state for *_, state in rows} == {"anchored"}
    assert all(
        verify_inclusion(bytes.fromhex(leaf_hash), proof, roots[batch_id]) for leaf_hash, proof, batch_id, _ in rows
    )


def test_ten_thousand_credential_leaves_one_block_per_batch_every_proof_verifies(tmp_path, settings, client):
    queue_credential_leaves(10_000)
    with running_dev_node(data_dir=tmp_path / "tangle") as node:
        settings.TANGLE_NODE_URL = node.url
        outcome = anchor_pending_leaves()

        assert outcome == {"batches_anchored": 1, "leaves_anchored": 10_000, "batches_waiting": 0}
        batch = AnchorBatch.objects.get()
        assert (batch.state, batch.tree_size, batch.node_url) == ("anchored", 10_000, node.url)
        assert anchored_roots_on_node(node) == [batch.root]
        assert_every_proof_verifies_against_the_node(node)
        sample = AnchorLeaf.objects.order_by("id")[4321]
        public = client.get(f"/credentials/anchors/{sample.leaf_hash}").json()
        fetched = get_anchor(node.url).fetch_block(public["blockId"])
        assert verify_inclusion(
            bytes.fromhex(public["leafHash"]),
            {"leaf_index": public["leafIndex"], "tree_size": public["treeSize"], "audit_path": public["auditPath"]},
            fetched.data,
        )
        assert len(public["auditPath"]) <= 14


class StopsNodeAfter:
    """Posts through the real node and stops the node after ``count`` blocks, as if it crashed mid-run."""

    def __init__(self, node, count):
        self.node, self.count, self.anchor = node, count, get_anchor(node.url)

    def anchor_root(self, root, *, tag):
        if self.count == 0:
            self.node.stop()
        self.count -= 1
        return self.anchor.anchor_root(root, tag=tag)


def test_node_stopped_mid_run_loses_nothing_and_anchors_nothing_twice(tmp_path):
    queue_credential_leaves(10_000)
    with running_dev_node(data_dir=tmp_path / "tangle") as node:
        interrupted = anchor_pending_leaves_run(anchor=StopsNodeAfter(node, 2), batch_size=2_500)

        assert interrupted.is_node_unavailable is True
        assert (interrupted.batches_anchored, interrupted.leaves_anchored, interrupted.batches_waiting) == (2, 5_000, 1)
        assert AnchorLeaf.objects.filter(state="anchored").count() == 5_000
        assert AnchorLeaf.objects.filter(state="pending", batch__state="posting").count() == 2_500
        assert AnchorLeaf.objects.filter(state="pending", batch__isnull=True).count() == 2_500

        node.start()
        resumed = anchor_pending_leaves_run(anchor=get_anchor(node.url), batch_size=2_500)

        assert (resumed.batches_anchored, resumed.leaves_anchored, resumed.batches_waiting) == (2, 5_000, 0)
        roots = sorted(AnchorBatch.objects.values_list("root", flat=True))
        assert AnchorBatch.objects.filter(state="anchored").count() == 4
        assert sorted(anchored_roots_on_node(node)) == roots
        assert AnchorLeaf.objects.filter(state="anchored").count() == 10_000
        assert sum(AnchorBatch.objects.values_list("tree_size", flat=True)) == 10_000
        assert_every_proof_verifies_against_the_node(node)
