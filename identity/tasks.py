"""Celery tasks of identity: thin, named, safe to run twice."""

from __future__ import annotations

from celery import shared_task

from identity.services.anchoring import anchor_pending_leaves_run


@shared_task(name="identity.anchor_pending_leaves")
def anchor_pending_leaves() -> dict[str, int]:
    """Anchor pending leaves (beat: every TANGLE_ANCHOR_INTERVAL_SECONDS). Not retried: a node that is down keeps
    the leaves pending, and the next tick posts them; overlapping runs skip each other's leaves and batches."""
    result = anchor_pending_leaves_run()
    return {
        "batches_anchored": result.batches_anchored,
        "leaves_anchored": result.leaves_anchored,
        "batches_waiting": result.batches_waiting,
    }
