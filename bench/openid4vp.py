"""OpenID4VP answer verification throughput, next to raw ES256 verification with ``cryptography`` on this machine.

A complete answer as the verifier receives it: a ``direct_post.jwt`` JWE (ECDH-ES, A128GCM) around a ``vp_token``
holding one SD-JWT VC (the bureau's score band and affordability ceiling disclosed, three claims withheld) with its
key-binding JWT. Verified with the library code the response endpoint runs (identity.openid4vp.jwe, .dcql and
identity.credentials.verify.verify_sd_jwt_vc_presentation): decryption, DCQL fit, issuer signature (ES256 with an
``x5c`` chain to the issuing CA, or EdDSA under a did:key), disclosures, validity, both Bitstring Status List entries
(lists cached in memory, as a verifier caches fetched lists), key binding (ES256 by the holder's P-256 key, nonce,
audience, age, ``sd_hash``) and the anchor (its answer cached). The database work of the transaction (row lock,
hashes, verdict) is not measured.
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Any

from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from cryptography.hazmat.primitives.serialization import Encoding, PublicFormat

from identity.credentials import jose, x509
from identity.credentials.dids import did_key_from_public_key, resolve_did_key
from identity.credentials.encoding import b64url_encode
from identity.credentials.sd_jwt import _digest, _disclosure
from identity.credentials.status_list import StatusBitstring, build_status_list_entry
from identity.credentials.verify import (
    AnchorStatus,
    TrustDecision,
    VerificationPolicy,
    verify_sd_jwt_vc_presentation,
)
from identity.openid4vp import dcql, jwe

SHARE_TARGET = 0.25
ROUNDS = 5
CLIENT_ID = "x509_san_dns:portal.example"
ISSUER_URL = "https://portal.example"
VCT = f"{ISSUER_URL}/credentials/types/credit-history"
STATUS_URL = f"{ISSUER_URL}/credentials/status/"
CLAIMS = ("scoreBand", "affordabilityCeilingPerMonth")


def _rate(operation: Callable[[], object], duration_seconds: float) -> float:
    for _ in range(20):
        operation()
    count, started = 0, time.perf_counter()
    while (elapsed := time.perf_counter() - started) < duration_seconds:
        for _ in range(20):
            operation()
        count += 20
    return count / elapsed


def _issuer_jwt(
    *,
    private_key: jose.PrivateKey,
    header: dict[str, Any],
    issuer: str,
    holder: ec.EllipticCurvePrivateKey,
    now: datetime,
) -> tuple[str, list[str]]:
    claims = {
        "scoreBand": "B",
        "affordabilityCeilingPerMonth": {"amountMinor": 65_000, "currency": "EUR"},
        "negativeRecordBand": "none",
        "asOf": now.date().isoformat(),
        "issuerPolicy": "https://bureau.example/policy",
    }
    disclosures = [_disclosure(name, value) for name, value in claims.items()]
    payload = {
        "iss": issuer,
        "iat": int(now.timestamp()),
        "nbf": int(now.timestamp()),
        "exp": int((now + timedelta(days=90)).timestamp()),
        "vct": VCT,
        "jti": "urn:uuid:00000000-0000-4000-8000-000000000042",
        "cnf": {"jwk": jose.public_jwk(holder.public_key())},
        "credentialStatus": [
            build_status_list_entry(list_url=STATUS_URL + "r", index=4711, status_purpose="revocation"),
            build_status_list_entry(list_url=STATUS_URL + "s", index=815, status_purpose="suspension"),
        ],
        "_sd": sorted(_digest(disclosure) for disclosure in disclosures),
        "_sd_alg": "sha-256",
    }
    header = {"alg": jose.algorithm_for(private_key), "typ": "dc+sd-jwt", **header}
    return jose.sign_compact(header=header, payload=payload, private_key=private_key), disclosures


def _presentation(
    issuer_jwt: str, disclosures: list[str], holder: ec.EllipticCurvePrivateKey, *, nonce: str, now: datetime
) -> str:
    import hashlib

    kept = [item for item in disclosures if json.loads(jose.b64url_decode(item))[1] in CLAIMS]
    presented = "".join(f"{part}~" for part in (issuer_jwt, *kept))
    key_binding = {
        "iat": int(now.timestamp()),
        "aud": CLIENT_ID,
        "nonce": nonce,
        "sd_hash": b64url_encode(hashlib.sha256(presented.encode("ascii")).digest()),
    }
    return presented + jose.sign_compact(
        header={"alg": "ES256", "typ": "kb+jwt"}, payload=key_binding, private_key=holder
    )


def openid4vp_benchmark(*, duration_seconds: float = 0.5) -> dict[str, float]:
    """Verifications per second: ``es256_raw``, ``answer_x5c`` / ``answer_did`` (the whole encrypted answer) and
    ``presentation_x5c`` (the SD-JWT VC with key binding, without the JWE)."""
    now = datetime.now(UTC).replace(microsecond=0)
    ca_key, leaf_key, holder = (x509.generate_p256_key() for _ in range(3))
    not_before, not_after = x509.validity_period(now=now - timedelta(days=1), days=365)
    ca = x509.ca_certificate_create(
        private_key=ca_key, common_name="Bench CA", organisation="Bench", not_before=not_before, not_after=not_after
    )
    leaf = x509.leaf_certificate_issue(
        ca_private_key=ca_key,
        ca_certificate=ca,
        subject_public_key=leaf_key.public_key(),
        common_name="Bench issuer",
        organisation="Bench",
        san_uris=[ISSUER_URL],
        san_dns_names=["portal.example"],
        not_before=not_before,
        not_after=not_after,
    )
    eddsa_key = Ed25519PrivateKey.generate()
    did = did_key_from_public_key(eddsa_key.public_key().public_bytes(Encoding.Raw, PublicFormat.Raw))
    method = f"{did}#{did.removeprefix('did:key:')}"
    lists = {(STATUS_URL + "r", "revocation"): StatusBitstring(), (STATUS_URL + "s", "suspension"): StatusBitstring()}
    policy = VerificationPolicy(
        resolve_did_document=resolve_did_key,
        issuer_trust=lambda issuer, types: TrustDecision.TRUSTED,
        status_list=lambda url, purpose: lists[(url, purpose)],
        anchor_check=lambda anchor_bytes: AnchorStatus.ANCHORED,
        credential_type_for_vct=lambda vct: "CreditHistoryCredential" if vct == VCT else None,
        x509_anchors_for_type=lambda credential_type: [ca],
    )
    query = dcql.dcql_query(dcql.CredentialQuery("credit", (VCT,), CLAIMS))
    [credential_query] = dcql.credential_queries(query)
    verifier_key = x509.generate_p256_key()
    nonce, state = "bench-nonce-" + "n" * 32, "bench-state-" + "s" * 32
    answers = {}
    for name, signer, header, issuer in (
        ("x5c", leaf_key, {"x5c": x509.x5c_encode([leaf])}, ISSUER_URL),
        ("did", eddsa_key, {"kid": method}, did),
    ):
        issuer_jwt, disclosures = _issuer_jwt(private_key=signer, header=header, issuer=issuer, holder=holder, now=now)
        vp = _presentation(issuer_jwt, disclosures, holder, nonce=nonce, now=now)
        body = json.dumps({"vp_token": {"credit": [vp]}, "state": state}).encode()
        answers[name] = (vp, jwe.encrypt(body, recipient=verifier_key.public_key()))

    def verify_presentation(vp: str) -> None:
        verified = verify_sd_jwt_vc_presentation(
            vp, policy=policy, now=now, expected_nonce=nonce, expected_audience=CLIENT_ID
        )
        dcql.disclosure_check(query=credential_query, vct=verified.credential.types[0], disclosed=verified.disclosed)

    def verify_answer(token: str) -> None:
        payload = json.loads(jwe.decrypt(token, private_key=verifier_key))
        if payload["state"] != state:
            raise AssertionError("state")
        for vp in dcql.vp_token_presentations(payload["vp_token"], query).values():
            verify_presentation(vp)

    message = b"x" * 200
    raw_signature = leaf_key.sign(message, ec.ECDSA(hashes.SHA256()))
    raw_public = leaf_key.public_key()
    operations: dict[str, Callable[[], object]] = {
        "es256_raw": lambda: raw_public.verify(raw_signature, message, ec.ECDSA(hashes.SHA256())),
        "presentation_x5c": lambda: verify_presentation(answers["x5c"][0]),
        "answer_x5c": lambda: verify_answer(answers["x5c"][1]),
        "answer_did": lambda: verify_answer(answers["did"][1]),
    }
    # Interleaved rounds, best round of each kept: on a shared machine the load changes from second to second, and
    # measuring the baseline and the answers side by side, several times, compares them under the same load.
    best = dict.fromkeys(operations, 0.0)
    for _round in range(ROUNDS):
        for name, operation in operations.items():
            best[name] = max(best[name], _rate(operation, duration_seconds / ROUNDS))
    return best


def run() -> str:
    rates = openid4vp_benchmark(duration_seconds=2.0)
    raw = rates["es256_raw"]
    rows = [
        f"| {label} | {rates[key]:,.0f} | {rates[key] / raw:.0%} |"
        for label, key in (
            ("raw ES256 verify (`cryptography`), baseline", "es256_raw"),
            ("SD-JWT VC + key binding, ES256 issuer with x5c (no JWE)", "presentation_x5c"),
            ("complete answer: JWE + DCQL + SD-JWT VC + KB, ES256/x5c issuer", "answer_x5c"),
            ("complete answer: JWE + DCQL + SD-JWT VC + KB, EdDSA/did:key issuer", "answer_did"),
        )
    ]
    share = rates["answer_x5c"] / raw
    return "\n".join(
        [
            "## OpenID4VP answer verification (issue 17)",
            "",
            "| what | verifications/s | share of raw ES256 |",
            "|---|---:|---:|",
            *rows,
            "",
            f"Complete ES256 answer at {share:.0%} of raw ES256 (target at least {SHARE_TARGET:.0%}): "
            f"**{'met' if share >= SHARE_TARGET else 'NOT met'}**. Status lists and the anchor answer are cached; the "
            "x5c chain is checked once per chain and remembered, its validity dates on every answer. Each rate is the "
            f"best of {ROUNDS} interleaved rounds. A complete answer costs three public-key operations (ECDH for the "
            "JWE, ES256 for the issuer, ES256 for the key binding), so about a third of raw ES256 is its ceiling.",
        ]
    )
