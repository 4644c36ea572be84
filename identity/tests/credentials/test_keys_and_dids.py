from __future__ import annotations

import pytest

from identity.credentials.core import CredentialError, Reason
from identity.credentials.dids import (
    DidResolutionError,
    DidWebKey,
    build_did_web_document,
    did_key_from_public_key,
    did_web_document_url,
    did_web_for_dealer,
    did_web_for_host,
    public_key_for_method,
    public_key_from_did_key,
    resolve_did_key,
    resolve_method_public_key,
)
from identity.credentials.encoding import b64url_encode, multibase_base58btc_decode
from identity.credentials.keys import (
    PrivateKeyDecryptionError,
    decrypt_private_key,
    encrypt_private_key,
    generate_private_key,
    private_key_from_bytes,
    private_key_to_bytes,
    public_key_bytes,
    public_key_from_jwk,
    public_key_to_jwk,
)

KEY_ENCRYPTION_KEY = bytes(range(32))
# An Ed25519 did:key from the did:key method specification.
SPEC_DID_KEY = "did:key:z6MkiTBz1ymuepAQ4HEHYSF1H8quG5GLVVQR3djdX3mDooWp"


def test_private_key_encryption_round_trip_and_refusals():
    private_key = generate_private_key()
    raw = private_key_to_bytes(private_key)
    blob = encrypt_private_key(raw_private_key=raw, key_encryption_key=KEY_ENCRYPTION_KEY, associated_data=b"did#k1")

    assert raw not in blob
    assert len(blob) == 1 + 12 + 32 + 16
    opened = decrypt_private_key(
        encrypted_private_key=blob, key_encryption_key=KEY_ENCRYPTION_KEY, associated_data=b"did#k1"
    )
    assert public_key_bytes(private_key_from_bytes(opened)) == public_key_bytes(private_key)
    with pytest.raises(PrivateKeyDecryptionError):
        decrypt_private_key(encrypted_private_key=blob, key_encryption_key=bytes(32), associated_data=b"did#k1")
    with pytest.raises(PrivateKeyDecryptionError):
        decrypt_private_key(
            encrypted_private_key=blob, key_encryption_key=KEY_ENCRYPTION_KEY, associated_data=b"did#k2"
        )
    altered = blob[:-1] + bytes([blob[-1] ^ 1])
    with pytest.raises(PrivateKeyDecryptionError):
        decrypt_private_key(
            encrypted_private_key=altered, key_encryption_key=KEY_ENCRYPTION_KEY, associated_data=b"did#k1"
        )


def test_each_encryption_uses_a_fresh_nonce():
    raw = private_key_to_bytes(generate_private_key())
    first = encrypt_private_key(raw_private_key=raw, key_encryption_key=KEY_ENCRYPTION_KEY)
    second = encrypt_private_key(raw_private_key=raw, key_encryption_key=KEY_ENCRYPTION_KEY)
    assert first[1:13] != second[1:13]


def test_jwk_round_trip_and_private_jwk_is_refused():
    public_key = public_key_bytes(generate_private_key())
    jwk = public_key_to_jwk(public_key)

    assert jwk == {"kty": "OKP", "crv": "Ed25519", "x": b64url_encode(public_key)}
    assert public_key_from_jwk(jwk) == public_key
    with pytest.raises(ValueError):
        public_key_from_jwk(jwk | {"d": "secret"})


def test_did_key_uses_the_ed25519_multicodec():
    public_key = public_key_bytes(generate_private_key())
    did = did_key_from_public_key(public_key)

    assert did.startswith("did:key:z6Mk")
    assert multibase_base58btc_decode(did.removeprefix("did:key:")) == b"\xed\x01" + public_key
    assert public_key_from_did_key(did) == public_key


def test_specification_did_key_resolves():
    document = resolve_did_key(SPEC_DID_KEY)
    method_id = f"{SPEC_DID_KEY}#z6MkiTBz1ymuepAQ4HEHYSF1H8quG5GLVVQR3djdX3mDooWp"

    assert document["verificationMethod"] == [
        {
            "id": method_id,
            "type": "Multikey",
            "controller": SPEC_DID_KEY,
            "publicKeyMultibase": "z6MkiTBz1ymuepAQ4HEHYSF1H8quG5GLVVQR3djdX3mDooWp",
        }
    ]
    assert document["assertionMethod"] == [method_id]
    jwk_document = resolve_did_key(SPEC_DID_KEY, public_key_format="JsonWebKey2020")
    assert public_key_from_jwk(jwk_document["verificationMethod"][0]["publicKeyJwk"]) == public_key_from_did_key(
        SPEC_DID_KEY
    )


def test_did_web_identifiers_and_urls():
    assert did_web_for_host(host="portal.example") == "did:web:portal.example"
    assert did_web_for_host(host="localhost:8000") == "did:web:localhost%3A8000"
    assert did_web_for_dealer(host="portal.example", dealer_slug="autohaus-nord") == (
        "did:web:portal.example:dealers:autohaus-nord"
    )
    assert did_web_document_url("did:web:portal.example") == "https://portal.example/.well-known/did.json"
    assert did_web_document_url("did:web:localhost%3A8000:dealers:autohaus-nord") == (
        "https://localhost:8000/dealers/autohaus-nord/did.json"
    )
    with pytest.raises(ValueError):
        did_web_for_dealer(host="portal.example", dealer_slug="../admin")


def test_did_web_document_keeps_rotated_keys_resolvable():
    did = "did:web:portal.example"
    old_key, new_key = (public_key_bytes(generate_private_key()) for _ in range(2))
    document = build_did_web_document(did=did, keys=[DidWebKey("key-1", old_key), DidWebKey("key-2", new_key)])

    assert [(method["id"], method["type"]) for method in document["verificationMethod"]] == [
        (f"{did}#key-1", "JsonWebKey2020"),
        (f"{did}#key-1-multikey", "Multikey"),
        (f"{did}#key-2", "JsonWebKey2020"),
        (f"{did}#key-2-multikey", "Multikey"),
    ]
    assert public_key_for_method(did_document=document, method_id=f"{did}#key-1") == old_key
    assert public_key_for_method(did_document=document, method_id=f"{did}#key-1-multikey") == old_key
    assert public_key_for_method(did_document=document, method_id=f"{did}#key-2") == new_key
    with pytest.raises(DidResolutionError):
        public_key_for_method(did_document=document, method_id=f"{did}#key-3")
    with pytest.raises(DidResolutionError):
        public_key_for_method(did_document=document, method_id=f"{did}#key-1", relationship="capabilityDelegation")


def test_unresolvable_method_is_an_unknown_issuer():
    def resolver(did: str):
        raise DidResolutionError(did)

    with pytest.raises(CredentialError) as raised:
        resolve_method_public_key(method_id="did:web:nobody.example#key-1", resolve_did_document=resolver)
    assert raised.value.reason is Reason.UNKNOWN_ISSUER
