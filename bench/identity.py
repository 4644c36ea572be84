"""Identity benchmarks: credential verifications per format against raw Ed25519, and Merkle build plus proofs."""

from __future__ import annotations

from bench.credentials import credentials_benchmark
from bench.merkle import merkle_benchmark

VC_JWT_SHARE_TARGET = 0.25


def run() -> str:
    credentials = credentials_benchmark(duration_seconds=2.0)
    raw = credentials["ed25519_raw"]
    rows = [
        f"| {name} | {credentials[key]:,.0f} | {credentials[key] / raw:.0%} |"
        for name, key in (
            ("raw Ed25519 (`cryptography`), baseline", "ed25519_raw"),
            ("VC-JWT (EdDSA)", "vc_jwt"),
            ("Data Integrity eddsa-jcs-2022", "data_integrity"),
            ("SD-JWT VC (issuer signature + disclosures)", "sd_jwt"),
        )
    ]
    share = credentials["vc_jwt"] / raw
    merkle = merkle_benchmark(100_000, repeats=3)
    return "\n".join(
        [
            "## Credential verification (issue 5)",
            "",
            "| format | verifications/s | share of raw |",
            "|---|---:|---:|",
            *rows,
            "",
            f"VC-JWT at {share:.0%} of raw Ed25519 (target at least {VC_JWT_SHARE_TARGET:.0%}): "
            f"**{'met' if share >= VC_JWT_SHARE_TARGET else 'NOT met'}**.",
            "",
            "## Merkle tree with inclusion proofs (issue 5)",
            "",
            f"- 100,000 leaves built with every proof in {merkle['seconds']} s: "
            f"**{merkle['leaves_per_second']:,} leaves/s** (target at least 50,000: "
            f"{'met' if merkle['meets_target'] else 'NOT met'}).",
            f"- Longest proof: {merkle['max_proof_length']} hashes (target at most 17); spot checks verified "
            f"{merkle['proofs_verified']}.",
        ]
    )
