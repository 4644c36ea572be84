"""Merkle trees over leaf hashes, with inclusion proofs that anyone can check offline.

The portal anchors only the root of a batch on the Tangle; every leaf keeps its inclusion proof, so a verifier who holds
a leaf hash, its proof and the anchored root can confirm membership in O(log n) without asking the portal.

Hashing follows RFC 6962 / RFC 9162 (Certificate Transparency):

* leaf node  = SHA-256(0x00 || leaf)       (the leaf is the 32-byte salted hash of the anchored record)
* inner node = SHA-256(0x01 || left || right)

The domain-separation prefixes keep a leaf from ever being confused with an inner node (second-preimage attacks).

Odd nodes are **promoted**, never duplicated: when a level has an odd number of nodes, its last node moves up
unchanged. Built bottom-up this way, the tree is exactly RFC 9162's ``MTH`` (the left subtree of ``n`` leaves is the
complete tree of the largest power of two below ``n``), so the audit paths are RFC 9162 inclusion proofs and
:func:`verify_inclusion` is the RFC 9162 §2.1.3.2 algorithm. Duplication (Bitcoin style) is avoided because it lets
two different leaf lists share one root.

A node at level ``l`` that covers leaf ``i`` sits at index ``i >> l`` of that level, both for paired and for promoted
nodes, which lets all proofs be read straight out of the level lists.
"""

from __future__ import annotations

import hashlib
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

LEAF_HASH_SIZE = 32
"""Size in bytes of every leaf and every node hash (SHA-256)."""

LEAF_PREFIX = b"\x00"
NODE_PREFIX = b"\x01"


@dataclass(frozen=True, slots=True)
class InclusionProof:
    """The audit path proving that the leaf at ``leaf_index`` is in a tree of ``tree_size`` leaves.

    ``audit_path`` holds the sibling hashes from the leaf level upwards, as lowercase hex strings (64 characters each),
    so the proof can be stored as JSON next to the leaf without conversion.
    """

    leaf_index: int
    tree_size: int
    audit_path: tuple[str, ...]

    def to_json(self) -> dict[str, Any]:
        """Return a JSON-serialisable form: ``{"leaf_index", "tree_size", "audit_path": [hex, ...]}``."""
        return {"leaf_index": self.leaf_index, "tree_size": self.tree_size, "audit_path": list(self.audit_path)}

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> InclusionProof:
        """Rebuild a proof from :meth:`to_json` output; raises ``ValueError`` when a field is missing or mistyped."""
        try:
            leaf_index = data["leaf_index"]
            tree_size = data["tree_size"]
            audit_path = data["audit_path"]
        except (KeyError, TypeError) as error:
            raise ValueError(f"inclusion proof lacks a field: {error}") from error
        is_valid = (
            type(leaf_index) is int
            and type(tree_size) is int
            and isinstance(audit_path, list | tuple)
            and all(isinstance(item, str) for item in audit_path)
        )
        if not is_valid:
            raise ValueError("inclusion proof fields have the wrong types")
        return cls(leaf_index=leaf_index, tree_size=tree_size, audit_path=tuple(audit_path))


@dataclass(frozen=True, slots=True)
class MerkleTree:
    """A built tree: its root and one inclusion proof per leaf, in leaf order."""

    root: bytes
    proofs: tuple[InclusionProof, ...]

    @property
    def size(self) -> int:
        """Number of leaves in the tree."""
        return len(self.proofs)


def hash_leaf(*, leaf: bytes) -> bytes:
    """Return the RFC 9162 leaf node hash of ``leaf`` (32 bytes)."""
    return hashlib.sha256(LEAF_PREFIX + leaf).digest()


def hash_children(*, left: bytes, right: bytes) -> bytes:
    """Return the RFC 9162 inner node hash of two child hashes (32 bytes)."""
    return hashlib.sha256(NODE_PREFIX + left + right).digest()


def _build_levels(leaves: Sequence[bytes]) -> list[list[bytes]]:
    """Return every level of the tree, leaf nodes first and the one-element root level last."""
    sha256 = hashlib.sha256
    level = [sha256(LEAF_PREFIX + leaf).digest() for leaf in leaves]
    levels = [level]
    while len(level) > 1:
        paired = [sha256(NODE_PREFIX + level[k] + level[k + 1]).digest() for k in range(0, len(level) - 1, 2)]
        if len(level) % 2:
            paired.append(level[-1])
        level = paired
        levels.append(level)
    return levels


def _check_leaves(leaves: Sequence[bytes]) -> None:
    if not leaves:
        raise ValueError("a Merkle tree needs at least one leaf")
    for position, leaf in enumerate(leaves):
        if not isinstance(leaf, bytes) or len(leaf) != LEAF_HASH_SIZE:
            raise ValueError(f"leaf {position} is not a {LEAF_HASH_SIZE}-byte hash")


def merkle_root(*, leaves: Sequence[bytes]) -> bytes:
    """Return the root of the tree over ``leaves`` (each a 32-byte hash) without computing proofs."""
    _check_leaves(leaves)
    return _build_levels(leaves)[-1][0]


def build_tree(*, leaves: Sequence[bytes]) -> MerkleTree:
    """Build the tree over ``leaves`` (each a 32-byte hash, in batch order) and an inclusion proof for every leaf.

    Raises ``ValueError`` for an empty list or a leaf that is not 32 bytes. A proof has at most
    ``ceil(log2(len(leaves)))`` hashes (17 for 100,000 leaves).
    """
    _check_leaves(leaves)
    levels = _build_levels(leaves)
    root = levels[-1][0]
    # Hex once per node rather than once per proof entry; proofs of neighbouring leaves share most hashes.
    inner = [(shift, [node.hex() for node in level], len(level)) for shift, level in enumerate(levels[:-1])]
    size = len(leaves)
    proofs = tuple(
        InclusionProof(
            leaf_index=index,
            tree_size=size,
            audit_path=tuple(
                hexes[(index >> shift) ^ 1] for shift, hexes, width in inner if (index >> shift) ^ 1 < width
            ),
        )
        for index in range(size)
    )
    return MerkleTree(root=root, proofs=proofs)


def _decode_path(audit_path: Sequence[str]) -> list[bytes] | None:
    decoded = []
    for item in audit_path:
        try:
            node = bytes.fromhex(item)
        except (TypeError, ValueError):
            return None
        if len(node) != LEAF_HASH_SIZE:
            return None
        decoded.append(node)
    return decoded


def verify_inclusion(leaf: bytes, proof: InclusionProof | Mapping[str, Any], root: bytes) -> bool:
    """Return True when ``proof`` shows that ``leaf`` (a 32-byte hash) is in the tree whose root is ``root``.

    Implements RFC 9162 §2.1.3.2. ``proof`` may be an :class:`InclusionProof` or its JSON form. Any malformed input
    (wrong lengths, bad hex, index out of range, a path too short or too long) yields False, never an exception.
    As in RFC 9162 the root commits to the leaves, not to ``tree_size``: a size whose tree gives this leaf the same
    path shape also verifies, so callers that need the size authenticated must anchor it alongside the root.
    """
    if isinstance(proof, Mapping):
        try:
            proof = InclusionProof.from_json(proof)
        except ValueError:
            return False
    if not isinstance(leaf, bytes) or len(leaf) != LEAF_HASH_SIZE:
        return False
    if not isinstance(root, bytes) or len(root) != LEAF_HASH_SIZE:
        return False
    if not 0 <= proof.leaf_index < proof.tree_size:
        return False
    path = _decode_path(proof.audit_path)
    if path is None:
        return False
    index, last = proof.leaf_index, proof.tree_size - 1
    node = hash_leaf(leaf=leaf)
    for sibling in path:
        if last == 0:
            return False
        if index & 1 or index == last:
            node = hash_children(left=sibling, right=node)
            while not index & 1 and index != 0:
                index >>= 1
                last >>= 1
        else:
            node = hash_children(left=node, right=sibling)
        index >>= 1
        last >>= 1
    return last == 0 and node == root
