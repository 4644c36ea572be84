"""Verification throughput per format, next to raw Ed25519 verification with ``cryptography`` on this machine.

Used by ``make bench`` and by a test that holds VC-JWT verification to at least a quarter of raw Ed25519 speed.
Only the format's own work is measured (parse, resolve from an in-memory DID document, signature); the policy
callables of :mod:`identity.credentials.verify` are not.
"""

import time
from collections.abc import Callable
from datetime import UTC, datetime, timedelta

from identity.credentials.data_integrity import sign_data_integrity, verify_data_integrity_credential
from identity.credentials.dids import DidWebKey, build_did_web_document, jwk_method_id, multikey_method_id
from identity.credentials.jwt_vc import sign_credential_jwt, verify_credential_jwt
from identity.credentials.keys import generate_private_key, public_key_bytes
from identity.credentials.sd_jwt import issue_sd_jwt, parse_sd_jwt, verify_sd_jwt_issuer
from identity.credentials.types import build_credit_history_credential


def credentials_benchmark(*, duration_seconds: float = 0.5) -> dict[str, float]:
    """Verifications per second for ``ed25519_raw``, ``vc_jwt``, ``data_integrity`` and ``sd_jwt`` (issuer part)."""
    issuer = "did:web:portal.example"
    private_key = generate_private_key()
    did_document = build_did_web_document(did=issuer, keys=[DidWebKey("key-1", public_key_bytes(private_key))])
    resolver = {issuer: did_document}.__getitem__
    valid_from = datetime(2026, 1, 1, tzinfo=UTC)
    credential = build_credit_history_credential(
        credential_id="urn:uuid:00000000-0000-4000-8000-000000000001",
        issuer=issuer,
        subject_did="did:key:z6MkhaXgBZDvotDkL5257faiztiGiC2QtKLGpbnnEGta2doK",
        score_band="B",
        affordability_ceiling_minor=65_000,
        currency="EUR",
        negative_record_band="none",
        as_of=valid_from.date(),
        issuer_policy="https://portal.example/policies/credit-bands/v1",
        valid_from=valid_from,
        valid_until=valid_from + timedelta(days=90),
    )
    token = sign_credential_jwt(
        credential=credential,
        private_key=private_key,
        verification_method_id=jwk_method_id(did=issuer, key_id="key-1"),
        issued_at=valid_from,
    )
    secured_document = sign_data_integrity(
        document=credential,
        private_key=private_key,
        verification_method_id=multikey_method_id(did=issuer, key_id="key-1"),
        created=valid_from,
    )
    sd_jwt_text = issue_sd_jwt(
        private_key=private_key,
        verification_method_id=jwk_method_id(did=issuer, key_id="key-1"),
        vct="https://portal.example/credentials/CreditHistoryCredential",
        always_disclosed={},
        selectively_disclosed=credential["credentialSubject"],
        holder_public_key=public_key_bytes(generate_private_key()),
        valid_from=valid_from,
        valid_until=valid_from + timedelta(days=90),
    )
    raw_message = token.rsplit(".", 1)[0].encode("ascii")
    raw_signature = private_key.sign(raw_message)
    public_key = private_key.public_key()
    return {
        "ed25519_raw": _rate(lambda: public_key.verify(raw_signature, raw_message), duration_seconds),
        "vc_jwt": _rate(lambda: verify_credential_jwt(token=token, resolve_did_document=resolver), duration_seconds),
        "data_integrity": _rate(
            lambda: verify_data_integrity_credential(credential=secured_document, resolve_did_document=resolver),
            duration_seconds,
        ),
        "sd_jwt": _rate(
            lambda: verify_sd_jwt_issuer(parsed=parse_sd_jwt(sd_jwt_text), resolve_did_document=resolver),
            duration_seconds,
        ),
    }


def _rate(operation: Callable[[], object], duration_seconds: float) -> float:
    """Operations per second over at least ``duration_seconds`` of wall-clock time (after a short warm-up)."""
    for _ in range(50):
        operation()
    count, started = 0, time.perf_counter()
    while (elapsed := time.perf_counter() - started) < duration_seconds:
        for _ in range(100):
            operation()
        count += 100
    return count / elapsed
