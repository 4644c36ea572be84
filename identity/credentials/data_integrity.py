"""Data Integrity proofs with the ``eddsa-jcs-2022`` cryptosuite (W3C Data Integrity EdDSA Cryptosuites v1.0).

The proof configuration carries the document's ``@context`` (Digital Bazaar's verifier requires it). The signed
message is ``sha256(JCS(proof configuration)) || sha256(JCS(document without proof))`` and the signature is an
Ed25519 signature over those 64 bytes, written as multibase base58btc in ``proofValue``.
"""

import copy
import hashlib
from collections.abc import Mapping
from datetime import datetime
from typing import Any

import rfc8785
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from identity.credentials.core import (
    CredentialError,
    DidDocumentResolver,
    Reason,
    SecuredCredential,
    format_datetime,
    issuer_id_of,
    parse_datetime,
    status_entries_from,
    subject_id_of,
    types_of,
)
from identity.credentials.dids import resolve_method_public_key
from identity.credentials.encoding import EncodingError, multibase_base58btc_decode, multibase_base58btc_encode
from identity.credentials.jws import is_valid_ed25519_signature

FORMAT = "data-integrity"
CRYPTOSUITE = "eddsa-jcs-2022"
PROOF_TYPE = "DataIntegrityProof"


def sign_data_integrity(
    *,
    document: Mapping[str, Any],
    private_key: Ed25519PrivateKey,
    verification_method_id: str,
    created: datetime,
    proof_purpose: str = "assertionMethod",
    challenge: str | None = None,
    domain: str | None = None,
) -> dict[str, Any]:
    """Return a copy of ``document`` with an ``eddsa-jcs-2022`` proof; ``challenge``/``domain`` are for
    presentations (proof purpose ``authentication``)."""
    if "proof" in document:
        raise ValueError("the document already has a proof")
    proof_config: dict[str, Any] = {
        "@context": copy.deepcopy(document["@context"]),
        "type": PROOF_TYPE,
        "cryptosuite": CRYPTOSUITE,
        "created": format_datetime(created),
        "verificationMethod": verification_method_id,
        "proofPurpose": proof_purpose,
    }
    if challenge is not None:
        proof_config["challenge"] = challenge
    if domain is not None:
        proof_config["domain"] = domain
    signature = private_key.sign(_hash_data(document=document, proof_config=proof_config))
    secured = copy.deepcopy(dict(document))
    secured["proof"] = proof_config | {"proofValue": multibase_base58btc_encode(signature)}
    return secured


def verify_data_integrity_proof(
    *, document: Mapping[str, Any], resolve_did_document: DidDocumentResolver, expected_proof_purpose: str
) -> dict[str, Any]:
    """Check the single ``eddsa-jcs-2022`` proof of ``document`` and return that proof (for challenge/domain)."""
    proof = document.get("proof")
    if not isinstance(proof, Mapping):
        raise CredentialError(Reason.MALFORMED, "document has no single proof object")
    if proof.get("type") != PROOF_TYPE or proof.get("cryptosuite") != CRYPTOSUITE:
        raise CredentialError(Reason.MALFORMED, "proof is not a DataIntegrityProof with eddsa-jcs-2022")
    if proof.get("proofPurpose") != expected_proof_purpose:
        raise CredentialError(Reason.MALFORMED, f"proof purpose must be {expected_proof_purpose}")
    if "@context" in proof and proof["@context"] != document.get("@context"):
        raise CredentialError(Reason.MALFORMED, "proof @context differs from the document's")
    method_id = proof.get("verificationMethod")
    if not isinstance(method_id, str) or not isinstance(proof.get("proofValue"), str):
        raise CredentialError(Reason.MALFORMED, "proof needs verificationMethod and proofValue")
    parse_datetime(proof.get("created"), field_name="proof.created")
    try:
        signature = multibase_base58btc_decode(proof["proofValue"])
    except EncodingError as error:
        raise CredentialError(Reason.MALFORMED, f"proofValue: {error}") from error
    relationship = expected_proof_purpose
    failure = Reason.UNKNOWN_ISSUER if relationship == "assertionMethod" else Reason.WRONG_HOLDER
    public_key = resolve_method_public_key(
        method_id=method_id,
        resolve_did_document=resolve_did_document,
        relationship=relationship,
        failure_reason=failure,
    )
    proof_config = {key: value for key, value in proof.items() if key != "proofValue"}
    unsecured = {key: value for key, value in document.items() if key != "proof"}
    message = _hash_data(document=unsecured, proof_config=proof_config)
    if not is_valid_ed25519_signature(public_key=public_key, signature=signature, message=message):
        raise CredentialError(Reason.BAD_SIGNATURE, "Data Integrity proof does not verify")
    return dict(proof)


def verify_data_integrity_credential(
    *, credential: Mapping[str, Any], resolve_did_document: DidDocumentResolver
) -> SecuredCredential:
    """Check an issuer's ``eddsa-jcs-2022`` proof on a credential and return it in the format-neutral shape."""
    issuer = issuer_id_of(credential)
    types = types_of(credential)
    proof = verify_data_integrity_proof(
        document=credential, resolve_did_document=resolve_did_document, expected_proof_purpose="assertionMethod"
    )
    if proof["verificationMethod"].split("#", 1)[0] != issuer:
        raise CredentialError(Reason.BAD_SIGNATURE, "the proof's key does not belong to the issuer")
    valid_from, valid_until = credential.get("validFrom"), credential.get("validUntil")
    return SecuredCredential(
        format=FORMAT,
        issuer=issuer,
        subject=subject_id_of(credential),
        types=types,
        valid_from=None if valid_from is None else parse_datetime(valid_from, field_name="validFrom"),
        valid_until=None if valid_until is None else parse_datetime(valid_until, field_name="validUntil"),
        claims=dict(credential),
        anchor_bytes=rfc8785.dumps(credential),
        status_entries=status_entries_from(credential.get("credentialStatus")),
    )


def _hash_data(*, document: Mapping[str, Any], proof_config: Mapping[str, Any]) -> bytes:
    """The 64-byte message an ``eddsa-jcs-2022`` signature covers."""
    try:
        config_hash = hashlib.sha256(rfc8785.dumps(proof_config)).digest()
        document_hash = hashlib.sha256(rfc8785.dumps(document)).digest()
    except (rfc8785.CanonicalizationError, TypeError) as error:
        raise CredentialError(Reason.MALFORMED, f"document cannot be canonicalized: {error}") from error
    return config_hash + document_hash
