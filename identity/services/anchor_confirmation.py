"""Confirming an anchored Merkle root on the Tangle itself, for every verifier of the portal.

The portal's records say which block carries a batch's root; a verifier must not take that on trust. Before an anchor
check passes, the block is fetched from the node at ``TANGLE_NODE_URL`` through iota-sdk: it must hash to its id, be
referenced by a milestone and carry exactly the root. The answer is one of three:

* ``confirmed``: the node holds the block with the root;
* ``not_on_tangle``: the node answered and does not hold it (unknown block, other data, malformed block id);
* ``unverifiable``: no node is configured, or it cannot be reached. Never a pass.

A confirmed ``(node, block, root)`` is remembered in a bounded cache of this process, so a root already confirmed is
not asked for again: a milestone-referenced block does not change. The cache is deliberately process-local rather
than in Redis or the database, which a verifier should not have to trust either; each process asks once per root.
Refusals and outages are never cached.
"""

from __future__ import annotations

import enum
import logging
import threading
from collections import OrderedDict
from datetime import timedelta

from django.conf import settings

from identity.tangle.anchor import Anchor, AnchorError, AnchorUnavailable, get_anchor

logger = logging.getLogger(__name__)

CACHE_SIZE = 100_000
"""Confirmed roots kept per process (about 200 bytes each): one batch root covers up to 20,000 credentials."""


class RootConfirmation(enum.StrEnum):
    """What the Tangle node says of a block and the root it should carry."""

    CONFIRMED = "confirmed"
    NOT_ON_TANGLE = "not_on_tangle"
    UNVERIFIABLE = "unverifiable"


class ConfirmedRoots:
    """A thread-safe, least-recently-used set of ``(node URL, block id, root)`` the node has confirmed."""

    def __init__(self, *, size: int) -> None:
        self._size = size
        self._entries: OrderedDict[tuple[str, str, bytes], None] = OrderedDict()
        self._lock = threading.Lock()

    def __contains__(self, key: tuple[str, str, bytes]) -> bool:
        with self._lock:
            if key not in self._entries:
                return False
            self._entries.move_to_end(key)
            return True

    def add(self, key: tuple[str, str, bytes]) -> None:
        with self._lock:
            self._entries[key] = None
            self._entries.move_to_end(key)
            while len(self._entries) > self._size:
                self._entries.popitem(last=False)

    def clear(self) -> None:
        with self._lock:
            self._entries.clear()

    def __len__(self) -> int:
        with self._lock:
            return len(self._entries)


confirmed_roots = ConfirmedRoots(size=CACHE_SIZE)
_anchors: dict[str, Anchor] = {}
_anchors_lock = threading.Lock()


def verification_anchor() -> Anchor | None:
    """The Tangle client for ``TANGLE_NODE_URL`` (one per process and URL), or None when no node is configured."""
    url = settings.TANGLE_NODE_URL
    if not url:
        return None
    with _anchors_lock:
        anchor = _anchors.get(url)
        if anchor is None:
            timeout = timedelta(seconds=settings.TANGLE_VERIFY_TIMEOUT_SECONDS)
            anchor = _anchors[url] = get_anchor(url, api_timeout=timeout)
        return anchor


def anchored_root_confirm(*, block_id: str, root: bytes, anchor: Anchor | None = None) -> RootConfirmation:
    """Ask the node (``anchor``, by default the configured one) whether block ``block_id`` carries ``root``."""
    anchor = anchor if anchor is not None else verification_anchor()
    if anchor is None:
        logger.warning("anchor unverifiable: TANGLE_NODE_URL is not set")
        return RootConfirmation.UNVERIFIABLE
    if not block_id:
        return RootConfirmation.NOT_ON_TANGLE
    key = (str(getattr(anchor, "node_url", type(anchor).__name__)), block_id.lower(), root)
    if key in confirmed_roots:
        return RootConfirmation.CONFIRMED
    try:
        is_anchored = anchor.is_anchored(block_id, root)
    except AnchorUnavailable as error:
        logger.warning("anchor unverifiable: Tangle node %s unavailable (%s)", key[0], error)
        return RootConfirmation.UNVERIFIABLE
    except (AnchorError, ValueError) as error:
        logger.warning("anchor block %s refused by node %s: %s", block_id, key[0], type(error).__name__)
        return RootConfirmation.NOT_ON_TANGLE
    if not is_anchored:
        logger.warning("anchor block %s with root %s is not on node %s", block_id, root.hex(), key[0])
        return RootConfirmation.NOT_ON_TANGLE
    confirmed_roots.add(key)
    return RootConfirmation.CONFIRMED
