"""DIDs: ``did:key`` for wallets, external issuers and machines; ``did:web`` for the portal and its dealers.

A ``did:web`` document lists every key that has signed credentials still in circulation. Rotation adds a key and
moves signing to it; the old key stays as a verification method (and in ``assertionMethod``) so credentials it
signed keep verifying. A compromised key is removed from the document instead, which makes its credentials fail.
Each key appears twice: as ``JsonWebKey2020`` (fragment ``#<key id>``, used as the JWT ``kid``) and as ``Multikey``
(fragment ``#<key id>-multikey``, used by Data Integrity proofs).
"""

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any
from urllib.parse import quote, unquote

from identity.credentials.core import CredentialError, DidDocumentResolver, Reason
from identity.credentials.encoding import (
    EncodingError,
    ed25519_public_key_from_multibase,
    ed25519_public_key_to_multibase,
)
from identity.credentials.keys import public_key_from_jwk, public_key_to_jwk

DID_CONTEXT = "https://www.w3.org/ns/did/v1"
JWS_2020_CONTEXT = "https://w3id.org/security/suites/jws-2020/v1"
MULTIKEY_CONTEXT = "https://w3id.org/security/multikey/v1"
VERIFICATION_RELATIONSHIPS = ("authentication", "assertionMethod", "capabilityInvocation", "capabilityDelegation")
MULTIKEY_SUFFIX = "-multikey"
_HOST_PATTERN = re.compile(r"^[a-z0-9]([a-z0-9.-]*[a-z0-9])?(:[0-9]{1,5})?$")
_SEGMENT_PATTERN = re.compile(r"^[a-z0-9][a-z0-9-]*$")


class DidResolutionError(ValueError):
    """Raised when a DID or DID URL cannot be resolved to a usable Ed25519 verification method."""


@dataclass(frozen=True)
class DidWebKey:
    """One Ed25519 key of a ``did:web`` controller; ``key_id`` is the fragment, e.g. ``key-2026-01``."""

    key_id: str
    public_key: bytes


def did_key_from_public_key(public_key: bytes) -> str:
    """``did:key`` for a raw Ed25519 public key (multicodec 0xed01, multibase base58btc)."""
    return "did:key:" + ed25519_public_key_to_multibase(public_key)


def public_key_from_did_key(did: str) -> bytes:
    """Raw Ed25519 public key encoded in a ``did:key`` (a DID URL fragment is ignored)."""
    identifier = did.split("#", 1)[0]
    if not identifier.startswith("did:key:"):
        raise DidResolutionError(f"not a did:key: {identifier!r}")
    try:
        return ed25519_public_key_from_multibase(identifier.removeprefix("did:key:"))
    except EncodingError as error:
        raise DidResolutionError(f"invalid did:key: {error}") from error


def resolve_did_key(did: str, *, public_key_format: str = "Multikey") -> dict[str, Any]:
    """DID document for a ``did:key`` per the did:key method, with ``Multikey`` or ``JsonWebKey2020`` encoding."""
    public_key = public_key_from_did_key(did)
    fingerprint = did.removeprefix("did:key:")
    method_id = f"{did}#{fingerprint}"
    method = _verification_method(method_id=method_id, controller=did, public_key=public_key, kind=public_key_format)
    return {
        "@context": [DID_CONTEXT, MULTIKEY_CONTEXT if public_key_format == "Multikey" else JWS_2020_CONTEXT],
        "id": did,
        "verificationMethod": [method],
        **{relationship: [method_id] for relationship in VERIFICATION_RELATIONSHIPS},
    }


def did_web_for_host(*, host: str, path_segments: Sequence[str] = ()) -> str:
    """``did:web`` for a host (``portal.example`` or ``localhost:8000``) and optional path segments."""
    if not _HOST_PATTERN.match(host):
        raise ValueError(f"not a lower-case host name: {host!r}")
    for segment in path_segments:
        if not _SEGMENT_PATTERN.match(segment):
            raise ValueError(f"not a lower-case path segment: {segment!r}")
    return ":".join(["did:web", quote(host, safe=""), *path_segments])


def did_web_for_dealer(*, host: str, dealer_slug: str) -> str:
    """A dealer's DID under the portal's host: ``did:web:<host>:dealers:<slug>``."""
    return did_web_for_host(host=host, path_segments=("dealers", dealer_slug))


def did_web_document_url(did: str) -> str:
    """HTTPS URL where a ``did:web`` document is published (``/.well-known/did.json`` for a bare host)."""
    if not did.startswith("did:web:"):
        raise DidResolutionError(f"not a did:web: {did!r}")
    host, *path_segments = did.removeprefix("did:web:").split(":")
    path = "/".join(path_segments) if path_segments else ".well-known"
    return f"https://{unquote(host)}/{path}/did.json"


def jwk_method_id(*, did: str, key_id: str) -> str:
    """DID URL of a key's ``JsonWebKey2020`` method (the ``kid`` of VC-JWTs and SD-JWTs)."""
    return f"{did}#{key_id}"


def multikey_method_id(*, did: str, key_id: str) -> str:
    """DID URL of a key's ``Multikey`` method (the ``verificationMethod`` of Data Integrity proofs)."""
    return f"{did}#{key_id}{MULTIKEY_SUFFIX}"


def build_did_web_document(*, did: str, keys: Sequence[DidWebKey]) -> dict[str, Any]:
    """DID document for a ``did:web`` controller with every key that still has to verify (newest last)."""
    if not did.startswith("did:web:"):
        raise ValueError(f"not a did:web: {did!r}")
    if not keys:
        raise ValueError("a DID document needs at least one key")
    if len({key.key_id for key in keys}) != len(keys):
        raise ValueError("key ids must be unique")
    methods = []
    for key in keys:
        if not _SEGMENT_PATTERN.match(key.key_id):
            raise ValueError(f"key id must be a lower-case fragment: {key.key_id!r}")
        jwk_id, multikey_id = jwk_method_id(did=did, key_id=key.key_id), multikey_method_id(did=did, key_id=key.key_id)
        methods.append(
            _verification_method(method_id=jwk_id, controller=did, public_key=key.public_key, kind="JsonWebKey2020")
        )
        methods.append(
            _verification_method(method_id=multikey_id, controller=did, public_key=key.public_key, kind="Multikey")
        )
    method_ids = [method["id"] for method in methods]
    return {
        "@context": [DID_CONTEXT, JWS_2020_CONTEXT, MULTIKEY_CONTEXT],
        "id": did,
        "verificationMethod": methods,
        "authentication": list(method_ids),
        "assertionMethod": list(method_ids),
    }


def public_key_for_method(
    *, did_document: Mapping[str, Any], method_id: str, relationship: str = "assertionMethod"
) -> bytes:
    """Raw Ed25519 key of ``method_id`` if the document lists it under ``relationship``; else DidResolutionError."""
    did = method_id.split("#", 1)[0]
    if did_document.get("id") != did:
        raise DidResolutionError(f"{method_id!r} does not belong to {did_document.get('id')!r}")
    allowed = {entry if isinstance(entry, str) else entry.get("id") for entry in did_document.get(relationship, [])}
    if method_id not in allowed:
        raise DidResolutionError(f"{method_id!r} is not authorised for {relationship}")
    embedded = [entry for entry in did_document.get(relationship, []) if isinstance(entry, Mapping)]
    for method in [*did_document.get("verificationMethod", []), *embedded]:
        if method.get("id") == method_id:
            return _method_public_key(method)
    raise DidResolutionError(f"{method_id!r} is not in the DID document")


def resolve_did_document(did: str, *, did_web_documents: Mapping[str, Mapping[str, Any]]) -> Mapping[str, Any]:
    """DID document for ``did``: ``did:key`` is derived, ``did:web`` comes from the caller's documents."""
    if did.startswith("did:key:"):
        return resolve_did_key(did)
    document = did_web_documents.get(did)
    if document is None:
        raise DidResolutionError(f"unknown DID: {did!r}")
    return document


def _verification_method(*, method_id: str, controller: str, public_key: bytes, kind: str) -> dict[str, Any]:
    """One verification method in the requested encoding."""
    if kind == "Multikey":
        return {
            "id": method_id,
            "type": "Multikey",
            "controller": controller,
            "publicKeyMultibase": ed25519_public_key_to_multibase(public_key),
        }
    if kind == "JsonWebKey2020":
        return {
            "id": method_id,
            "type": "JsonWebKey2020",
            "controller": controller,
            "publicKeyJwk": public_key_to_jwk(public_key),
        }
    raise ValueError(f"unsupported verification method type: {kind!r}")


def _method_public_key(method: Mapping[str, Any]) -> bytes:
    """Raw Ed25519 key from a ``Multikey`` or ``JsonWebKey2020``/``JsonWebKey`` method."""
    try:
        if method.get("type") == "Multikey":
            return ed25519_public_key_from_multibase(method["publicKeyMultibase"])
        if method.get("type") in {"JsonWebKey2020", "JsonWebKey"}:
            return public_key_from_jwk(method["publicKeyJwk"])
    except (KeyError, TypeError, EncodingError) as error:
        raise DidResolutionError(f"unusable verification method {method.get('id')!r}: {error}") from error
    raise DidResolutionError(f"unsupported verification method type {method.get('type')!r}")


def resolve_method_public_key(
    *,
    method_id: str,
    resolve_did_document: DidDocumentResolver,
    relationship: str = "assertionMethod",
    failure_reason: Reason = Reason.UNKNOWN_ISSUER,
) -> bytes:
    """Raw key of a DID URL through the caller's resolver; an unresolvable DID or key raises ``failure_reason``."""
    try:
        did_document = resolve_did_document(method_id.split("#", 1)[0])
        return public_key_for_method(did_document=did_document, method_id=method_id, relationship=relationship)
    except DidResolutionError as error:
        raise CredentialError(failure_reason, str(error)) from error
