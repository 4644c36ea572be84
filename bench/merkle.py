"""Throughput benchmark for building Merkle trees with all inclusion proofs (the anchoring batch step).

Run: ``python -m bench.merkle --leaves 100000``; prints one JSON object. The target for 100,000 leaves on a
2-core machine is at least 50,000 leaves per second with proofs of at most 17 hashes.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import time
from typing import Any

from identity.merkle import build_tree, verify_inclusion

TARGET_LEAVES_PER_SECOND = 50_000
SPOT_CHECKS = 64
"""How many proofs (spread over the tree) are verified after timing, outside the measured interval."""


def merkle_benchmark(n: int = 100_000, *, repeats: int = 3) -> dict[str, Any]:
    """Build a tree with proofs over ``n`` distinct leaves ``repeats`` times and report the best run.

    Returns ``leaves``, ``seconds`` (best wall time), ``leaves_per_second``, ``max_proof_length`` (hashes),
    ``meets_target`` and ``proofs_verified`` (spot checks that passed, out of ``SPOT_CHECKS`` or ``n``).
    """
    if n < 1 or repeats < 1:
        raise ValueError("n and repeats must be positive")
    leaves = [hashlib.sha256(index.to_bytes(8, "big")).digest() for index in range(n)]
    best_seconds = float("inf")
    tree = None
    for _ in range(repeats):
        started = time.perf_counter()
        tree = build_tree(leaves=leaves)
        best_seconds = min(best_seconds, time.perf_counter() - started)
    assert tree is not None
    step = max(1, n // SPOT_CHECKS)
    checked = range(0, n, step)
    verified = sum(verify_inclusion(leaves[index], tree.proofs[index], tree.root) for index in checked)
    leaves_per_second = n / best_seconds
    return {
        "leaves": n,
        "seconds": round(best_seconds, 4),
        "leaves_per_second": round(leaves_per_second),
        "max_proof_length": max(len(proof.audit_path) for proof in tree.proofs),
        "meets_target": leaves_per_second >= TARGET_LEAVES_PER_SECOND,
        "proofs_verified": f"{verified}/{len(checked)}",
    }


def main(argv: list[str] | None = None) -> None:
    """Print the benchmark result as JSON."""
    parser = argparse.ArgumentParser(description="Merkle tree + inclusion proofs throughput.")
    parser.add_argument("--leaves", type=int, default=100_000)
    parser.add_argument("--repeats", type=int, default=3)
    arguments = parser.parse_args(argv)
    print(json.dumps(merkle_benchmark(arguments.leaves, repeats=arguments.repeats)))


if __name__ == "__main__":
    main()
