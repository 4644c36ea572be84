import hashlib
import json

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from bench.merkle import merkle_benchmark
from identity.merkle import (
    InclusionProof,
    build_tree,
    hash_children,
    hash_leaf,
    merkle_root,
    verify_inclusion,
)


def make_leaves(count: int) -> list[bytes]:
    return [hashlib.sha256(b"leaf-%d" % index).digest() for index in range(count)]


def reference_root(leaves: list[bytes]) -> bytes:
    """RFC 9162 §2.1.1 MTH, written recursively straight from the definition."""
    if len(leaves) == 1:
        return hashlib.sha256(b"\x00" + leaves[0]).digest()
    split = 1 << ((len(leaves) - 1).bit_length() - 1)
    return hashlib.sha256(b"\x01" + reference_root(leaves[:split]) + reference_root(leaves[split:])).digest()


def reference_path(index: int, leaves: list[bytes]) -> list[bytes]:
    """RFC 9162 §2.1.3.1 PATH(m, D[n]), written recursively straight from the definition."""
    if len(leaves) == 1:
        return []
    split = 1 << ((len(leaves) - 1).bit_length() - 1)
    if index < split:
        return [*reference_path(index, leaves[:split]), reference_root(leaves[split:])]
    return [*reference_path(index - split, leaves[split:]), reference_root(leaves[:split])]


def test_single_leaf_root_is_the_leaf_hash_and_proof_is_empty():
    leaf = bytes(range(32))
    tree = build_tree(leaves=[leaf])
    assert tree.root == hashlib.sha256(b"\x00" + leaf).digest()
    assert tree.proofs == (InclusionProof(leaf_index=0, tree_size=1, audit_path=()),)
    assert verify_inclusion(leaf, tree.proofs[0], tree.root) is True


def test_three_leaf_tree_promotes_the_odd_leaf():
    a, b, c = make_leaves(3)
    tree = build_tree(leaves=[a, b, c])
    ab = hash_children(left=hash_leaf(leaf=a), right=hash_leaf(leaf=b))
    assert tree.root == hash_children(left=ab, right=hash_leaf(leaf=c))
    assert tree.proofs[2].audit_path == (ab.hex(),)
    assert tree.proofs[0].audit_path == (hash_leaf(leaf=b).hex(), hash_leaf(leaf=c).hex())


def test_known_answer_matches_an_independent_rfc_9162_implementation():
    # Root and audit path computed with pymerkle 6.1.0 (InmemoryTree, sha256) over the same five leaves.
    leaves = [bytes([value]) * 32 for value in range(5)]
    tree = build_tree(leaves=leaves)
    assert tree.root.hex() == "85e20cac1f02fda7bcdb2fc3f908568c57018c77815f1fa361acad13994f08bf"
    assert tree.proofs[4].audit_path == ("fdea52008cdae79fa8bf806261959e23f5e11681646a2fa2bc9b5e56b32030a2",)


@pytest.mark.parametrize("size", range(1, 301))
def test_every_proof_matches_rfc_9162_and_verifies(size):
    leaves = make_leaves(size)
    tree = build_tree(leaves=leaves)
    assert tree.size == size
    assert tree.root == reference_root(leaves)
    assert merkle_root(leaves=leaves) == tree.root
    for index, (leaf, proof) in enumerate(zip(leaves, tree.proofs, strict=True)):
        assert proof.leaf_index == index
        assert proof.tree_size == size
        assert proof.audit_path == tuple(node.hex() for node in reference_path(index, leaves))
        assert verify_inclusion(leaf, proof, tree.root) is True
        assert verify_inclusion(leaf, json.loads(json.dumps(proof.to_json())), tree.root) is True


@settings(max_examples=60, deadline=None)
@given(
    leaves=st.lists(st.binary(min_size=32, max_size=32), min_size=1, max_size=200),
    data=st.data(),
)
def test_random_trees_verify_and_reject_a_different_leaf(leaves, data):
    tree = build_tree(leaves=leaves)
    index = data.draw(st.integers(min_value=0, max_value=len(leaves) - 1))
    proof = tree.proofs[index]
    assert verify_inclusion(leaves[index], proof, tree.root) is True
    other = data.draw(st.binary(min_size=32, max_size=32).filter(lambda candidate: candidate != leaves[index]))
    assert verify_inclusion(other, proof, tree.root) is False


def test_tampered_leaf_proof_and_root_are_rejected():
    leaves = make_leaves(37)
    tree = build_tree(leaves=leaves)
    proof = tree.proofs[20]
    leaf = leaves[20]
    assert verify_inclusion(leaf, proof, tree.root) is True

    flipped_leaf = bytes([leaf[0] ^ 1]) + leaf[1:]
    assert verify_inclusion(flipped_leaf, proof, tree.root) is False
    flipped_root = tree.root[:-1] + bytes([tree.root[-1] ^ 1])
    assert verify_inclusion(leaf, proof, flipped_root) is False

    for position in range(len(proof.audit_path)):
        path = list(proof.audit_path)
        path[position] = ("f" if path[position][0] != "f" else "0") + path[position][1:]
        tampered = InclusionProof(leaf_index=20, tree_size=37, audit_path=tuple(path))
        assert verify_inclusion(leaf, tampered, tree.root) is False

    assert (
        verify_inclusion(leaf, InclusionProof(leaf_index=21, tree_size=37, audit_path=proof.audit_path), tree.root)
        is False
    )
    for wrong_size in (20, 32, 65):
        wrong = InclusionProof(leaf_index=20, tree_size=wrong_size, audit_path=proof.audit_path)
        assert verify_inclusion(leaf, wrong, tree.root) is False
    assert (
        verify_inclusion(leaf, InclusionProof(leaf_index=20, tree_size=37, audit_path=proof.audit_path[:-1]), tree.root)
        is False
    )
    longer = (*proof.audit_path, proof.audit_path[-1])
    assert verify_inclusion(leaf, InclusionProof(leaf_index=20, tree_size=37, audit_path=longer), tree.root) is False


def test_proof_of_one_leaf_does_not_prove_another():
    leaves = make_leaves(16)
    tree = build_tree(leaves=leaves)
    assert verify_inclusion(leaves[3], tree.proofs[4], tree.root) is False


@pytest.mark.parametrize(
    "proof",
    [
        {"leaf_index": 0, "tree_size": 2},
        {"leaf_index": "0", "tree_size": 2, "audit_path": []},
        {"leaf_index": 0, "tree_size": 2, "audit_path": "00"},
        {"leaf_index": 0, "tree_size": 2, "audit_path": ["zz" * 32]},
        {"leaf_index": 0, "tree_size": 2, "audit_path": ["00" * 31]},
        {"leaf_index": 2, "tree_size": 2, "audit_path": ["00" * 32]},
        {"leaf_index": -1, "tree_size": 2, "audit_path": ["00" * 32]},
        {"leaf_index": 0, "tree_size": 0, "audit_path": []},
    ],
)
def test_malformed_json_proofs_are_rejected_without_raising(proof):
    leaves = make_leaves(2)
    tree = build_tree(leaves=leaves)
    assert verify_inclusion(leaves[0], proof, tree.root) is False


def test_wrong_sized_leaf_or_root_is_rejected():
    leaves = make_leaves(2)
    tree = build_tree(leaves=leaves)
    assert verify_inclusion(leaves[0][:31], tree.proofs[0], tree.root) is False
    assert verify_inclusion(leaves[0], tree.proofs[0], tree.root + b"\x00") is False


def test_json_round_trip_keeps_the_proof():
    tree = build_tree(leaves=make_leaves(5))
    document = tree.proofs[4].to_json()
    assert document == {"leaf_index": 4, "tree_size": 5, "audit_path": list(tree.proofs[4].audit_path)}
    assert InclusionProof.from_json(json.loads(json.dumps(document))) == tree.proofs[4]


@pytest.mark.parametrize("leaves", [[], [b"short"], [bytes(32), bytes(33)], ["00" * 32]])
def test_build_refuses_empty_or_non_hash_leaves(leaves):
    with pytest.raises(ValueError):
        build_tree(leaves=leaves)


def test_duplicate_leaves_yield_distinct_valid_proofs():
    leaf = bytes(32)
    tree = build_tree(leaves=[leaf, leaf, leaf])
    assert [verify_inclusion(leaf, proof, tree.root) for proof in tree.proofs] == [True, True, True]
    assert tree.root != build_tree(leaves=[leaf, leaf, leaf, leaf]).root


def test_hundred_thousand_leaves_have_proofs_of_at_most_17_hashes():
    result = merkle_benchmark(100_000, repeats=1)
    assert result["leaves"] == 100_000
    assert result["max_proof_length"] == 17
    assert result["proofs_verified"] == "65/65"
