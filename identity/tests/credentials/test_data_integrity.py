from __future__ import annotations

import copy
import hashlib
from datetime import UTC, datetime, timedelta

import pytest
import rfc8785
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey

from identity.credentials.core import CredentialError, Reason
from identity.credentials.data_integrity import sign_data_integrity, verify_data_integrity_credential
from identity.credentials.encoding import multibase_base58btc_decode
from identity.credentials.keys import public_key_bytes
from identity.credentials.status_list import StatusBitstring, build_status_list_credential, build_status_list_entry
from identity.tests.credentials.conftest import NOW, REVOCATION_LIST_URL
from identity.tests.credentials.node_harness import run_node_verifier


def _sign(issuer, document, created=NOW):
    return sign_data_integrity(
        document=document,
        private_key=issuer.private_key,
        verification_method_id=issuer.multikey_method,
        created=created,
    )


def test_proof_follows_eddsa_jcs_2022(issuer, credit_credential):
    credential = credit_credential()
    secured = _sign(issuer, credential)
    proof = secured["proof"]
    proof_config = {key: value for key, value in proof.items() if key != "proofValue"}
    message = hashlib.sha256(rfc8785.dumps(proof_config)).digest() + hashlib.sha256(rfc8785.dumps(credential)).digest()

    assert proof_config == {
        "@context": credential["@context"],
        "type": "DataIntegrityProof",
        "cryptosuite": "eddsa-jcs-2022",
        "created": "2026-03-01T12:00:00Z",
        "verificationMethod": f"{issuer.did}#key-1-multikey",
        "proofPurpose": "assertionMethod",
    }
    assert proof["proofValue"].startswith("z")
    public_key = Ed25519PublicKey.from_public_bytes(public_key_bytes(issuer.private_key))
    public_key.verify(multibase_base58btc_decode(proof["proofValue"]), message)
    assert {key: value for key, value in secured.items() if key != "proof"} == credential


def test_round_trip(issuer, world, credit_credential):
    secured = _sign(issuer, credit_credential())

    verified = verify_data_integrity_credential(credential=secured, resolve_did_document=world.resolve)

    assert verified.claims == secured
    assert verified.types == ("VerifiableCredential", "CreditHistoryCredential")
    assert verified.anchor_bytes == rfc8785.dumps(secured)


@pytest.mark.parametrize(
    ("path", "value"),
    [
        (("credentialSubject", "scoreBand"), "A"),
        (("validUntil",), "2030-01-01T00:00:00Z"),
        (("proof", "created"), "2026-03-01T12:00:01Z"),
    ],
)
def test_tampering_is_a_bad_signature(issuer, world, credit_credential, path, value):
    tampered = copy.deepcopy(_sign(issuer, credit_credential()))
    target = tampered
    for key in path[:-1]:
        target = target[key]
    target[path[-1]] = value

    with pytest.raises(CredentialError) as raised:
        verify_data_integrity_credential(credential=tampered, resolve_did_document=world.resolve)
    assert raised.value.reason is Reason.BAD_SIGNATURE


def test_proof_context_must_match_the_document(issuer, world, credit_credential):
    secured = _sign(issuer, credit_credential())
    secured["proof"]["@context"] = ["https://www.w3.org/ns/credentials/v2", "https://example.org/other"]

    with pytest.raises(CredentialError) as raised:
        verify_data_integrity_credential(credential=secured, resolve_did_document=world.resolve)
    assert raised.value.reason is Reason.MALFORMED


def test_digital_bazaar_accepts_the_portal_credential_and_rejects_tampered_copies(issuer, credit_credential):
    now = datetime.now(UTC).replace(microsecond=0)
    revocation = StatusBitstring()
    revocation.set(7)
    status_list = build_status_list_credential(
        list_url=REVOCATION_LIST_URL,
        issuer=issuer.did,
        status_purpose="revocation",
        bitstring=revocation,
        valid_from=now,
    )
    documents = {issuer.did: issuer.document(), REVOCATION_LIST_URL: status_list}

    def credential_at(index):
        entry = build_status_list_entry(list_url=REVOCATION_LIST_URL, index=index, status_purpose="revocation")
        document = credit_credential(
            valid_from=now - timedelta(hours=1), valid_until=now + timedelta(days=30), credential_status=[entry]
        )
        return _sign(issuer, document, created=now)

    secured = credential_at(3)
    tampered = copy.deepcopy(secured)
    tampered["credentialSubject"]["negativeRecordBand"] = "minor"
    other_key_proof = copy.deepcopy(secured)
    other_key_proof["proof"]["verificationMethod"] = f"{issuer.did}#key-9-multikey"

    accepted = run_node_verifier("verify_data_integrity.mjs", {"credential": secured, "documents": documents})
    changed = run_node_verifier("verify_data_integrity.mjs", {"credential": tampered, "documents": documents})
    unknown_key = run_node_verifier(
        "verify_data_integrity.mjs", {"credential": other_key_proof, "documents": documents}
    )
    revoked = run_node_verifier("verify_data_integrity.mjs", {"credential": credential_at(7), "documents": documents})

    assert accepted == {"verified": True, "error": ""}
    assert changed["verified"] is False
    assert unknown_key["verified"] is False
    assert revoked["verified"] is False
    assert "revocation bit 7 is set" in revoked["error"]
