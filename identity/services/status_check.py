"""A verifier's status check of an SD-JWT VC: the IETF Token Status List and the W3C Bitstring Status List.

A credential may point at both (the portal's own do): ``status.status_list`` (IETF) and ``credentialStatus``
(W3C entries). Every list it names is read; the worst answer wins: ``revoked`` over ``suspended`` over
``status_unverifiable`` (a list that cannot be fetched, is not signed by the credential's issuer, names another
``sub``, has expired, or does not hold the index) over valid (None).

Lists published by this portal are read from its database (no request to itself). Any other list is fetched
through :mod:`core.outbound` (https only, public addresses only, no redirects, size-capped) and, once its signature
is checked, its decoded bits are cached in the Django cache (Redis) for the list's ``ttl`` (IETF, capped by
``exp``) or :data:`DEFAULT_CACHE_SECONDS` (W3C), under a key that holds only a hash of the list's URL and of whom
it was checked for.

Who may sign a Status List Token: the credential's issuer. With ``x5c`` the chain must lead to a trust anchor
active for the credential's type and the leaf must name the issuer (``iss``) as a SAN URI or DNS name; with
``kid`` the key must be a verification method of the issuer's DID. A W3C list must be issued by the credential's
issuer or by the portal (which signs the lists of the issuers it hosts) and verify under the DID documents the
portal knows.
"""

from __future__ import annotations

import enum
import hashlib
import json
import logging
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any
from urllib.parse import urlsplit

from cryptography import x509 as crypto_x509
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey
from django.core.cache import cache

from core.outbound import OutboundRefused, outbound_get
from identity.credentials import jose
from identity.credentials.core import CredentialError, StatusEntry, status_entries_from
from identity.credentials.data_integrity import verify_data_integrity_credential
from identity.credentials.dids import resolve_method_public_key
from identity.credentials.status_list import StatusBitstring, StatusListError, bitstring_from_status_list_credential
from identity.credentials.token_status_list import (
    MEDIA_TYPE,
    StatusReference,
    TokenStatus,
    TokenStatusList,
    TokenStatusListError,
    status_list_token_check,
    status_reference_from,
)
from identity.credentials.x509 import CertificateChainError, certificate_chain_verify, x5c_decode
from identity.services import keys
from identity.services.did_resolution import did_document_resolve
from identity.services.trust_anchors import trust_anchors_for

logger = logging.getLogger(__name__)

DEFAULT_CACHE_SECONDS = 300
"""How long a fetched list is kept when it names no ``ttl`` (and for W3C lists, which have none)."""
MAXIMUM_CACHE_SECONDS = 3600
FETCH_TIMEOUT_SECONDS = 5.0
MAX_LIST_BYTES = 2 * 1024 * 1024
_OUTBOUND_PURPOSE = "status_list"


class StatusReason(enum.StrEnum):
    """A status refusal; the names match the verifier's refusal reasons."""

    REVOKED = "revoked"
    SUSPENDED = "suspended"
    UNVERIFIABLE = "status_unverifiable"


_SEVERITY = {StatusReason.REVOKED: 3, StatusReason.SUSPENDED: 2, StatusReason.UNVERIFIABLE: 1}


class _Unverifiable(Exception):
    """A list could not be used; the message is for the log only."""


@dataclass(frozen=True)
class OwnLists:
    """How the portal reads the lists it publishes itself (given by :mod:`identity.services.status`)."""

    token: Callable[[str], str | None]
    """Status List Token text for one of the portal's token URLs; None when the URL is not one of them."""
    bit: Callable[[str, str, int], bool | None]
    """(list URL, purpose, index) -> whether that bit of one of the portal's W3C lists is set; None when the URL is
    not one of them. Raises :class:`StatusListError` for a list of the portal's it does not publish or an index outside
    the list."""


def status_reason(claims: Mapping[str, Any], *, now: datetime, own: OwnLists) -> StatusReason | None:
    """The credential's status from every list it names (see the module docstring); None when valid."""
    try:
        reference = status_reference_from(claims)
        entries = status_entries_from(claims.get("credentialStatus"))
    except (TokenStatusListError, CredentialError) as error:
        logger.info("status reference unusable: %s", error)
        return StatusReason.UNVERIFIABLE
    issuer, credential_type = str(claims.get("iss", "")), str(claims.get("vct", ""))
    reasons: list[StatusReason | None] = []
    if reference is not None:
        reasons.append(_token_reason(reference, issuer=issuer, credential_type=credential_type, now=now, own=own))
    reasons += [_bitstring_reason(entry, issuer=issuer, now=now, own=own) for entry in entries]
    found = [reason for reason in reasons if reason is not None]
    return max(found, key=_SEVERITY.__getitem__) if found else None


def _token_reason(
    reference: StatusReference, *, issuer: str, credential_type: str, now: datetime, own: OwnLists
) -> StatusReason | None:
    try:
        entries = _token_list(reference.uri, issuer=issuer, credential_type=credential_type, now=now, own=own)
        value = entries.get(reference.index)
    except (_Unverifiable, TokenStatusListError) as error:
        logger.info("status list token unusable: %s", error)
        return StatusReason.UNVERIFIABLE
    if value == TokenStatus.VALID:
        return None
    if value == TokenStatus.INVALID:
        return StatusReason.REVOKED
    if value == TokenStatus.SUSPENDED:
        return StatusReason.SUSPENDED
    return StatusReason.UNVERIFIABLE


def _cache_key(kind: str, *parts: str) -> str:
    digest = hashlib.sha256("\n".join(parts).encode("utf-8")).hexdigest()
    return f"identity:status:{kind}:{digest}"


def _token_list(uri: str, *, issuer: str, credential_type: str, now: datetime, own: OwnLists) -> TokenStatusList:
    """The checked list at ``uri`` (from the cache while its ttl lasts)."""
    key = _cache_key("token", uri, issuer, credential_type)
    cached = cache.get(key)
    if isinstance(cached, dict) and cached.get("expires", 0) > now.timestamp():
        return TokenStatusList(bits=cached["bits"], packed=cached["packed"])
    token = own.token(uri)
    if token is None:
        token = _fetch(uri, accept=MEDIA_TYPE).decode("ascii", errors="replace").strip()
    try:
        header, payload, signing_input, signature = jose.decode_compact(token)
        public_key = _token_signer_key(header, issuer=issuer, credential_type=credential_type, now=now)
        jose.signature_verify(
            algorithm=header.get("alg"), public_key=public_key, signing_input=signing_input, signature=signature
        )
    except jose.JoseError as error:
        raise _Unverifiable(f"status list token signature: {error}") from error
    checked = status_list_token_check(header=header, payload=payload, uri=uri, now=now)
    seconds = min(
        checked.ttl_seconds if checked.ttl_seconds is not None else DEFAULT_CACHE_SECONDS, MAXIMUM_CACHE_SECONDS
    )
    if checked.expires_at is not None:
        seconds = min(seconds, int((checked.expires_at - now).total_seconds()))
    if seconds > 0:
        entries = checked.status_list
        value = {"bits": entries.bits, "packed": entries.packed, "expires": now.timestamp() + seconds}
        cache.set(key, value, timeout=seconds)
    return checked.status_list


def _token_signer_key(header: Mapping[str, Any], *, issuer: str, credential_type: str, now: datetime) -> jose.PublicKey:
    """The key the token must verify under: the credential issuer's (see the module docstring)."""
    if "x5c" in header:
        try:
            chain = x5c_decode(header["x5c"])
            leaf = certificate_chain_verify(chain=chain, trust_anchors=trust_anchors_for(credential_type), at=now)
        except CertificateChainError as error:
            raise _Unverifiable(f"status list token chain: {error}") from error
        if not _certificate_names(leaf, issuer):
            raise _Unverifiable("the status list token's certificate does not name the credential's issuer")
        public_key = leaf.public_key()
        if not isinstance(public_key, jose.PublicKey):
            raise _Unverifiable("unsupported key in the status list token's certificate")
        return public_key
    kid = header.get("kid")
    if isinstance(kid, str) and kid.split("#", 1)[0] == issuer and issuer.startswith("did:"):
        try:
            raw = resolve_method_public_key(method_id=kid, resolve_did_document=did_document_resolve)
        except CredentialError as error:
            raise _Unverifiable(f"status list token key: {error.detail}") from error
        return Ed25519PublicKey.from_public_bytes(raw)
    raise _Unverifiable("the status list token is not signed by the credential's issuer")


def _certificate_names(certificate: crypto_x509.Certificate, issuer: str) -> bool:
    """True when the certificate's SAN holds the issuer identifier as a URI, or its host as a DNS name."""
    try:
        names = certificate.extensions.get_extension_for_class(crypto_x509.SubjectAlternativeName).value
    except crypto_x509.ExtensionNotFound:
        return False
    host = urlsplit(issuer).hostname if issuer.startswith("https://") or issuer.startswith("http://") else None
    uris = names.get_values_for_type(crypto_x509.UniformResourceIdentifier)
    dns_names = names.get_values_for_type(crypto_x509.DNSName)
    return issuer in uris or (host is not None and host in dns_names)


def _fetch(url: str, *, accept: str) -> bytes:
    try:
        response = outbound_get(
            url, accept=accept, timeout=FETCH_TIMEOUT_SECONDS, max_bytes=MAX_LIST_BYTES, purpose=_OUTBOUND_PURPOSE
        )
    except OutboundRefused as error:
        raise _Unverifiable(f"status list URL refused: {error.code}") from error
    if response.status != 200:
        raise _Unverifiable(f"status list fetch answered {response.status}")
    return response.content


def _bitstring_reason(entry: StatusEntry, *, issuer: str, now: datetime, own: OwnLists) -> StatusReason | None:
    try:
        is_set = own.bit(entry.status_list_credential, entry.status_purpose, entry.status_list_index)
        if is_set is None:
            is_set = _bitstring(entry, issuer=issuer, now=now).get(entry.status_list_index)
    except (_Unverifiable, StatusListError) as error:
        logger.info("bitstring status list unusable: %s", error)
        return StatusReason.UNVERIFIABLE
    if not is_set:
        return None
    if entry.status_purpose == "revocation":
        return StatusReason.REVOKED
    if entry.status_purpose == "suspension":
        return StatusReason.SUSPENDED
    return StatusReason.UNVERIFIABLE


def _bitstring(entry: StatusEntry, *, issuer: str, now: datetime) -> StatusBitstring:
    url, purpose = entry.status_list_credential, entry.status_purpose
    key = _cache_key("bitstring", url, purpose, issuer)
    cached = cache.get(key)
    if isinstance(cached, bytes):
        return StatusBitstring(size_in_bits=len(cached) * 8, bits=cached)
    try:
        document = json.loads(_fetch(url, accept="application/vc+ld+json, application/json"))
        if not isinstance(document, dict) or document.get("id") != url:
            raise _Unverifiable("the fetched status list is not the one at its URL")
        secured = verify_data_integrity_credential(credential=document, resolve_did_document=did_document_resolve)
    except (ValueError, CredentialError) as error:
        raise _Unverifiable(f"status list credential: {error}") from error
    if secured.issuer not in (issuer, keys.portal_did()):
        raise _Unverifiable("the status list is not issued by the credential's issuer")
    if secured.valid_until is not None and secured.valid_until <= now:
        raise _Unverifiable("the status list credential has expired")
    bits = bitstring_from_status_list_credential(document, status_purpose=purpose)
    cache.set(key, bits.to_bytes(), timeout=DEFAULT_CACHE_SECONDS)
    return bits
