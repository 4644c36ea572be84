"""Every write of the identity app. Other apps import from here, for example
``from identity.services import anchor_leaf_add``."""

from identity.services.anchoring import AnchorRunResult, anchor_leaf_add, anchor_pending_leaves_run, anchor_proof_verify

__all__ = ["AnchorRunResult", "anchor_leaf_add", "anchor_pending_leaves_run", "anchor_proof_verify"]
