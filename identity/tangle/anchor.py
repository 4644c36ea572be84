"""Anchoring Merkle roots on the Tangle behind one interface, with an iota-sdk 1.x backend.

A batch's Merkle root goes into one tagged-data block: the tag names what was anchored (for example
``finlab.credentials.v1``), the data is the 32-byte root and nothing else. Anyone holding a leaf, its inclusion proof
and the block id can later fetch the block from any node of the network and compare.

Errors form one family so callers can decide what to do:

* :class:`AnchorUnavailable` — the node cannot be reached, is unhealthy, times out or answers 5xx/429. Transient:
  keep the leaves pending and retry later.
* :class:`AnchorRejected` — the node or the SDK refused the request itself; retrying the same request will not help.
* :class:`AnchorBlockNotFound` — the node does not know the block id.
* :class:`AnchorIntegrityError` — the node returned bytes that do not hash to the requested block id.
"""

from __future__ import annotations

import re
import threading
from dataclasses import dataclass
from datetime import timedelta
from typing import Any, Protocol
from urllib.parse import urlsplit

from iota_sdk import Client, ClientError

from identity.tangle.block import (
    MAX_TAG_LENGTH,
    BlockFormatError,
    TaggedData,
    block_id_of,
    from_hex,
    parse_block,
    to_hex,
)

ROOT_LENGTH = 32
"""Size in bytes of an anchored Merkle root (SHA-256)."""
DEFAULT_API_TIMEOUT = timedelta(seconds=10)

_STATUS_CODE = re.compile(r"status code (\d{3})")
_TRANSIENT_STATUS_CODES = frozenset({408, 425, 429})


class AnchorError(Exception):
    """Base class of every anchoring failure."""


class AnchorUnavailable(AnchorError):
    """The Tangle node cannot serve the request right now; the same request may succeed later."""


class AnchorRejected(AnchorError):
    """The request was refused as such (malformed or not allowed); retrying it unchanged will fail again."""


class AnchorBlockNotFound(AnchorError):
    """The node does not know the requested block id."""


class AnchorIntegrityError(AnchorError):
    """The node answered with a block whose BLAKE2b-256 hash is not the requested block id."""


@dataclass(frozen=True, slots=True)
class AnchorReceipt:
    """Proof of submission: ``block_id`` (``0x``-prefixed hex) holds ``root`` under ``tag`` on ``node_url``."""

    block_id: str
    root: bytes
    tag: str
    node_url: str


class Anchor(Protocol):
    """A place where Merkle roots are published so that anyone can check them later."""

    def anchor_root(self, root: bytes, *, tag: str) -> AnchorReceipt:
        """Publish ``root`` (32 bytes) labelled with ``tag`` (UTF-8, at most 64 bytes) and return the receipt."""
        ...

    def fetch_block(self, block_id: str) -> TaggedData | None:
        """Return the tagged data of block ``block_id``, or None when the block carries no tagged data."""
        ...

    def is_anchored(self, block_id: str, root: bytes) -> bool:
        """Return True when block ``block_id`` is confirmed and carries exactly ``root`` as its data."""
        ...


def _check_block_id(block_id: str) -> bytes:
    try:
        return from_hex(block_id, length=32, field="block id")
    except BlockFormatError as error:
        raise ValueError(str(error)) from error


def classify_client_error(error: ClientError) -> AnchorError:
    """Map an iota-sdk ``ClientError`` to the anchor error family (see the module docstring)."""
    detail: Any = error.args[0] if error.args else {}
    kind = detail.get("type") if isinstance(detail, dict) else None
    message = str(detail.get("error", detail)) if isinstance(detail, dict) else str(detail)
    if kind not in (None, "client"):
        return AnchorRejected(f"iota-sdk refused the request ({kind}): {message}")
    if "was not found" in message:
        return AnchorBlockNotFound(message)
    status = _STATUS_CODE.search(message)
    if status is not None:
        code = int(status.group(1))
        if code == 404:
            return AnchorBlockNotFound(message)
        if 400 <= code < 500 and code not in _TRANSIENT_STATUS_CODES:
            return AnchorRejected(message)
    return AnchorUnavailable(message)


class IotaSdkAnchor:
    """Anchors roots through iota-sdk 1.x on a Stardust-protocol node (the local dev node or a private network).

    The SDK client is created on first use, so a Celery worker makes its own after forking. After a transient failure
    it is discarded: a fresh client checks the node's health again instead of waiting for the SDK's next sync.
    """

    def __init__(self, *, node_url: str, api_timeout: timedelta = DEFAULT_API_TIMEOUT) -> None:
        self.node_url = node_url.rstrip("/")
        self.api_timeout = api_timeout
        self._client: Client | None = None
        self._lock = threading.Lock()

    def _call(self, method: str, *args: Any, **kwargs: Any) -> Any:
        with self._lock:
            if self._client is None:
                self._client = Client(nodes=[self.node_url], api_timeout=self.api_timeout)
            client = self._client
        try:
            return getattr(client, method)(*args, **kwargs)
        except ClientError as error:
            failure = classify_client_error(error)
            if isinstance(failure, AnchorUnavailable):
                with self._lock:
                    if self._client is client:
                        self._client = None
            raise failure from error

    def anchor_root(self, root: bytes, *, tag: str) -> AnchorReceipt:
        """Post one tagged-data block whose data is ``root``; raises :class:`AnchorUnavailable` if the node is down."""
        if not isinstance(root, bytes) or len(root) != ROOT_LENGTH:
            raise ValueError(f"root must be {ROOT_LENGTH} bytes")
        tag_bytes = tag.encode()
        if not tag_bytes or len(tag_bytes) > MAX_TAG_LENGTH:
            raise ValueError(f"tag must be 1 to {MAX_TAG_LENGTH} bytes of UTF-8")
        block_id, _block = self._call("build_and_post_block", tag=to_hex(tag_bytes), data=to_hex(root))
        return AnchorReceipt(block_id=block_id, root=root, tag=tag, node_url=self.node_url)

    def fetch_block(self, block_id: str) -> TaggedData | None:
        """Fetch the raw block, check it hashes to ``block_id`` and return its tagged data (None if it has none)."""
        expected_id = _check_block_id(block_id)
        raw = bytes(self._call("get_block_raw", block_id))
        if block_id_of(raw) != expected_id:
            raise AnchorIntegrityError(f"node {self.node_url} returned bytes that do not hash to {block_id}")
        try:
            return parse_block(raw).payload
        except BlockFormatError:
            return None

    def is_anchored(self, block_id: str, root: bytes) -> bool:
        """True when the block exists, is referenced by a milestone and its data equals ``root``.

        An unknown block gives False; an unreachable node raises :class:`AnchorUnavailable` rather than answering.
        """
        try:
            tagged_data = self.fetch_block(block_id)
            if tagged_data is None or tagged_data.data != root:
                return False
            metadata = self._call("get_block_metadata", block_id)
        except AnchorBlockNotFound:
            return False
        return getattr(metadata, "referencedByMilestoneIndex", None) is not None


def get_anchor(url: str, *, api_timeout: timedelta = DEFAULT_API_TIMEOUT) -> Anchor:
    """Return the anchor backend for a node URL (``http``/``https``: a Stardust node API through iota-sdk)."""
    scheme = urlsplit(url).scheme
    if scheme in ("http", "https"):
        return IotaSdkAnchor(node_url=url, api_timeout=api_timeout)
    raise ValueError(f"no anchor backend for URL scheme {scheme!r}")
