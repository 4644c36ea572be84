from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta

import pytest

from identity.credentials.core import VC_V1_CONTEXT, CredentialError, Reason
from identity.credentials.dids import DidWebKey, build_did_web_document, jwk_method_id
from identity.credentials.encoding import b64url_decode, b64url_encode
from identity.credentials.jwt_vc import sign_credential_jwt, verify_credential_jwt
from identity.credentials.keys import generate_private_key, public_key_bytes
from identity.tests.credentials.conftest import NOW
from identity.tests.credentials.node_harness import run_node_verifier


def _real_now() -> datetime:
    return datetime.now(UTC).replace(microsecond=0)


def test_round_trip_restores_the_data_model_2_credential(issuer, world, credit_credential):
    credential = credit_credential()
    token = sign_credential_jwt(
        credential=credential, private_key=issuer.private_key, verification_method_id=issuer.jwk_method, issued_at=NOW
    )

    secured = verify_credential_jwt(token=token, resolve_did_document=world.resolve)

    assert secured.claims == credential
    assert secured.issuer == issuer.did
    assert secured.valid_from == NOW - timedelta(days=1)
    assert secured.valid_until == NOW + timedelta(days=90)
    assert secured.anchor_bytes == token.encode("ascii")


def test_jwt_carries_registered_claims_and_the_vc_claim(issuer, holder, credit_credential):
    credential = credit_credential()
    token = sign_credential_jwt(
        credential=credential, private_key=issuer.private_key, verification_method_id=issuer.jwk_method, issued_at=NOW
    )
    header, payload = (json.loads(b64url_decode(part)) for part in token.split(".")[:2])

    assert header == {"alg": "EdDSA", "typ": "JWT", "kid": f"{issuer.did}#key-1"}
    assert payload["iss"] == issuer.did
    assert payload["sub"] == holder.did
    assert payload["jti"] == credential["id"]
    assert payload["nbf"] == int((NOW - timedelta(days=1)).timestamp())
    assert payload["exp"] == int((NOW + timedelta(days=90)).timestamp())
    assert payload["vc"]["@context"] == [VC_V1_CONTEXT]
    assert set(payload["vc"]) == {"@context", "type", "credentialSubject"}


def test_tampered_payload_is_a_bad_signature(issuer, world, credit_credential):
    token = sign_credential_jwt(
        credential=credit_credential(),
        private_key=issuer.private_key,
        verification_method_id=issuer.jwk_method,
        issued_at=NOW,
    )
    header, payload, signature = token.split(".")
    claims = json.loads(b64url_decode(payload))
    claims["vc"]["credentialSubject"]["scoreBand"] = "A"
    tampered = ".".join([header, b64url_encode(json.dumps(claims).encode()), signature])

    with pytest.raises(CredentialError) as raised:
        verify_credential_jwt(token=tampered, resolve_did_document=world.resolve)
    assert raised.value.reason is Reason.BAD_SIGNATURE


def test_key_of_another_did_is_a_bad_signature(issuer, world, credit_credential):
    attacker = generate_private_key()
    attacker_did = "did:web:attacker.example"
    world.did_web_documents[attacker_did] = build_did_web_document(
        did=attacker_did, keys=[DidWebKey("key-1", public_key_bytes(attacker))]
    )
    token = sign_credential_jwt(
        credential=credit_credential(issuer=attacker_did),
        private_key=attacker,
        verification_method_id=jwk_method_id(did=attacker_did, key_id="key-1"),
        issued_at=NOW,
    )
    header, payload, signature = token.split(".")
    claims = json.loads(b64url_decode(payload)) | {"iss": issuer.did}
    forged = ".".join([header, b64url_encode(json.dumps(claims).encode()), signature])

    with pytest.raises(CredentialError) as raised:
        verify_credential_jwt(token=forged, resolve_did_document=world.resolve)
    assert raised.value.reason is Reason.BAD_SIGNATURE


def test_signing_refuses_a_key_of_another_issuer(issuer, credit_credential):
    with pytest.raises(ValueError, match="belong"):
        sign_credential_jwt(
            credential=credit_credential(),
            private_key=issuer.private_key,
            verification_method_id="did:web:other.example#key-1",
            issued_at=NOW,
        )


def test_iota_identity_accepts_the_portal_vc_jwt_and_rejects_a_tampered_copy(issuer, credit_credential):
    now = _real_now()
    credential = credit_credential(valid_from=now - timedelta(hours=1), valid_until=now + timedelta(days=30))
    token = sign_credential_jwt(
        credential=credential, private_key=issuer.private_key, verification_method_id=issuer.jwk_method, issued_at=now
    )
    header, payload, signature = token.split(".")
    claims = json.loads(b64url_decode(payload))
    claims["vc"]["credentialSubject"]["affordabilityCeilingPerMonth"]["amountMinor"] = 99_000
    tampered = ".".join([header, b64url_encode(json.dumps(claims).encode()), signature])

    accepted = run_node_verifier("verify_vc_jwt.mjs", {"jwt": token, "issuerDocument": issuer.document()})
    rejected = run_node_verifier("verify_vc_jwt.mjs", {"jwt": tampered, "issuerDocument": issuer.document()})

    assert accepted["verified"] is True, accepted
    assert accepted["credential"]["credentialSubject"]["scoreBand"] == "B"
    assert accepted["credential"]["issuer"] == issuer.did
    assert rejected["verified"] is False
    assert "signature" in rejected["error"].lower()


def test_iota_identity_verifies_a_credential_signed_before_key_rotation(issuer, credit_credential):
    now = _real_now()
    credential = credit_credential(valid_from=now - timedelta(hours=1), valid_until=now + timedelta(days=30))
    old_token = sign_credential_jwt(
        credential=credential, private_key=issuer.private_key, verification_method_id=issuer.jwk_method, issued_at=now
    )
    new_key = generate_private_key()
    rotated_document = build_did_web_document(
        did=issuer.did,
        keys=[
            DidWebKey("key-1", public_key_bytes(issuer.private_key)),
            DidWebKey("key-2", public_key_bytes(new_key)),
        ],
    )
    retired_document = build_did_web_document(did=issuer.did, keys=[DidWebKey("key-2", public_key_bytes(new_key))])

    kept = run_node_verifier("verify_vc_jwt.mjs", {"jwt": old_token, "issuerDocument": rotated_document})
    removed = run_node_verifier("verify_vc_jwt.mjs", {"jwt": old_token, "issuerDocument": retired_document})

    assert kept["verified"] is True, kept
    assert removed["verified"] is False
