"""Anchoring meter-chain heads through identity's Tangle anchoring.

A settled session's chain head becomes a salted leaf (see `metering.anchor_leaf`). The leaf goes to identity's
`anchor_leaf_add`, which batches leaves into a Merkle tree and anchors its root in one Tangle block; the invoice keeps
the leaf, its salt and identity's leaf id, and the invoice check asks identity for the leaf again.

The leaf is queued in the transaction that settles the session; the beat sweep hands over any invoice whose leaf
has no identity reference (an invoice settled before anchoring existed, or a queueing that failed).
"""

from __future__ import annotations

import logging
from dataclasses import dataclass

from django.http import Http404

from identity.selectors import anchor_leaf_get
from identity.services.anchoring import anchor_leaf_add

logger = logging.getLogger(__name__)

ANCHOR_SOURCE = "meter_chain"


@dataclass(frozen=True)
class AnchorState:
    """What identity knows of a leaf: whether it is queued, and the Tangle block once its batch is anchored."""

    is_known: bool
    is_anchored: bool = False
    block_id: str = ""
    root: str = ""  # hex Merkle root of the leaf's batch, once anchored
    proof: object = None  # the leaf's RFC 9162 inclusion proof under ``root``


def meter_chain_leaf_anchor(*, leaf_hash: str, reference: str) -> str:
    """Queues `leaf_hash` (64 hex) for the next Tangle anchor; returns identity's leaf id."""
    leaf = anchor_leaf_add(leaf_hash=bytes.fromhex(leaf_hash), source=ANCHOR_SOURCE, reference=reference)
    return str(leaf.pk)


def meter_chain_leaf_state(*, leaf_hash: str) -> AnchorState:
    """Identity's record of a leaf: unknown, queued, or anchored in a block."""
    try:
        leaf = anchor_leaf_get(leaf_hash=leaf_hash)
    except Http404:
        return AnchorState(is_known=False)
    batch = leaf.batch if leaf.batch_id else None
    return AnchorState(
        is_known=True,
        is_anchored=leaf.state == "anchored",
        block_id=batch.block_id if batch else "",
        root=batch.root if batch else "",
        proof=leaf.proof,
    )
