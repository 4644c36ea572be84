"""Verification with the portal's own trust registry, status lists and anchor records.

The checks and their order live in :mod:`identity.credentials.verify`; this module supplies what they consult:
DID documents (derived ``did:key``, the portal's and dealers' ``did:web``, pinned documents of registered issuers),
the trust registry, the portal's status lists and the anchor proofs of credentials issued through the portal.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import replace
from datetime import datetime
from typing import Any

from django.utils import timezone

from core.sql import CompiledQuery
from identity.credentials.core import CredentialError, Reason
from identity.credentials.encoding import EncodingError, b64url_decode
from identity.credentials.status_list import StatusBitstring, StatusListError
from identity.credentials.verify import (
    AnchorStatus,
    SdJwtVcPresentation,
    TrustDecision,
    VerificationPolicy,
    VerificationResult,
    credential_leaf_hash,
    verify_credential,
    verify_presentation,
    verify_sd_jwt_vc_presentation,
)
from identity.merkle import verify_inclusion
from identity.models import AnchorBatch, AnchorLeaf, CredentialRecord, StatusList, TrustedIssuer
from identity.openid4vci.certificates import credential_issuer_url
from identity.services import keys
from identity.services.anchor_confirmation import RootConfirmation, anchored_root_confirm
from identity.services.did_resolution import did_document_resolve
from identity.services.registry import PORTAL_CREDENTIAL_TYPES
from identity.services.status import sd_jwt_status_reason, status_list_url
from identity.services.trust_anchors import credential_type_for_vct, trust_anchors_for

_STATUS_LIST_TYPE = "BitstringStatusListCredential"


class TrustedIssuerLookup:
    """Registry rows by DID, each read at most once: one verification asks about its issuer twice (trust, then
    whether the portal hosts it for the anchor step). Make one per verification, never keep one across requests:
    a suspended issuer must be refused by the next verification."""

    def __init__(self) -> None:
        self._rows: dict[str, TrustedIssuer | None] = {}

    def __call__(self, did: str) -> TrustedIssuer | None:
        if did not in self._rows:
            self._rows[did] = _TRUSTED_ISSUER.first(did=did)
        return self._rows[did]


# The reads of every verification, compiled once per process: Django's building and compiling of each took longer
# than PostgreSQL's answer (a wallet's answer to a credit check makes all three).
_TRUSTED_ISSUER = CompiledQuery(lambda *, did: TrustedIssuer.objects.filter(did=did)[:1], did=str)
_CREDENTIAL_RECORD = CompiledQuery(
    lambda *, credential_id: CredentialRecord.objects.filter(credential_id=credential_id)[:1], credential_id=str
)
_ANCHOR_LEAF = CompiledQuery(
    lambda *, leaf_hash: AnchorLeaf.objects.select_related("batch").filter(leaf_hash=leaf_hash)[:1], leaf_hash=str
)


def issuer_trust(
    issuer_did: str, types: tuple[str, ...], *, lookup: TrustedIssuerLookup | None = None
) -> TrustDecision:
    """The trust registry's answer: the portal for its own types, registered issuers for theirs while active."""
    specific = [value for value in types if value != "VerifiableCredential"]
    if issuer_did == keys.portal_did():
        allowed = {*PORTAL_CREDENTIAL_TYPES, _STATUS_LIST_TYPE}
        return TrustDecision.TRUSTED if specific and set(specific) <= allowed else TrustDecision.UNTRUSTED
    issuer = (lookup or TrustedIssuerLookup())(issuer_did)
    if issuer is None:
        return TrustDecision.UNKNOWN
    if not issuer.is_active or not specific or not set(specific) <= set(issuer.credential_types):
        return TrustDecision.UNTRUSTED
    return TrustDecision.TRUSTED


def status_bitstring_for(url: str, purpose: str) -> StatusBitstring:
    """The current bits of one of the portal's status lists; a list the portal does not publish is unusable."""
    prefix = status_list_url("")
    status_list = None
    if url.startswith(prefix):
        status_list = StatusList.objects.filter(list_id=url.removeprefix(prefix)).first()
    if status_list is None or status_list.purpose != purpose:
        raise StatusListError(f"no {purpose} list is published at {url}")
    return StatusBitstring(size_in_bits=status_list.size_in_bits, bits=bytes(status_list.bits))


def _credential_id_of(anchor_bytes: bytes) -> str | None:
    """The credential id inside the anchored bytes: ``id`` of a JSON document, ``jti`` of a (SD-)JWT."""
    try:
        if anchor_bytes.startswith(b"{"):
            value = json.loads(anchor_bytes).get("id")
        else:
            value = json.loads(b64url_decode(anchor_bytes.split(b".")[1].decode("ascii"))).get("jti")
    except (IndexError, ValueError, EncodingError, AttributeError):
        return None
    return value if isinstance(value, str) else None


def anchor_status_for(anchor_bytes: bytes, *, allow_pending: bool = False) -> AnchorStatus:
    """Whether the credential's salted leaf is anchored: its stored proof leads to its batch's root, and the Tangle
    node confirms the batch's block carries that root (``unverifiable`` when the node cannot be asked)."""
    credential_id = _credential_id_of(anchor_bytes)
    record = _CREDENTIAL_RECORD.first(credential_id=credential_id) if credential_id else None
    if record is None:
        return AnchorStatus.MISSING
    leaf_hash = credential_leaf_hash(anchor_bytes, bytes(record.leaf_salt))
    if leaf_hash.hex() != record.leaf_hash:
        return AnchorStatus.INVALID
    leaf = _ANCHOR_LEAF.first(leaf_hash=record.leaf_hash)
    if leaf is None:
        return AnchorStatus.MISSING
    if leaf.state != AnchorLeaf.State.ANCHORED or leaf.batch is None:
        return AnchorStatus.ANCHORED if allow_pending else AnchorStatus.MISSING
    if leaf.batch.state != AnchorBatch.State.ANCHORED:
        return AnchorStatus.INVALID
    root = bytes.fromhex(leaf.batch.root)
    if not isinstance(leaf.proof, dict) or not verify_inclusion(leaf_hash, leaf.proof, root):
        return AnchorStatus.INVALID
    confirmation = anchored_root_confirm(block_id=leaf.batch.block_id, root=root)
    return _ANCHOR_STATUS[confirmation]


_ANCHOR_STATUS = {
    RootConfirmation.CONFIRMED: AnchorStatus.ANCHORED,
    RootConfirmation.NOT_ON_TANGLE: AnchorStatus.INVALID,
    RootConfirmation.UNVERIFIABLE: AnchorStatus.UNVERIFIABLE,
}


def verification_policy(*, allow_pending_anchor: bool = False) -> VerificationPolicy:
    """The portal's policy. ``allow_pending_anchor`` accepts a credential issued here whose leaf waits for the next
    anchoring run (at most TANGLE_ANCHOR_INTERVAL_SECONDS); a wrong leaf is refused either way."""
    return VerificationPolicy(
        resolve_did_document=did_document_resolve,
        issuer_trust=issuer_trust,
        status_list=status_bitstring_for,
        anchor_check=lambda anchor_bytes: anchor_status_for(anchor_bytes, allow_pending=allow_pending_anchor),
    )


def credential_verify(
    *,
    credential: str | Mapping[str, Any],
    expected_holder: str | None = None,
    allow_pending_anchor: bool = False,
    now: datetime | None = None,
) -> VerificationResult:
    """Verify one credential (VC-JWT, SD-JWT VC or Data Integrity) with every check; the result has the reason."""
    return _safely(
        lambda: verify_credential(
            credential,
            policy=verification_policy(allow_pending_anchor=allow_pending_anchor),
            now=now or timezone.now(),
            expected_holder=expected_holder,
        )
    )


def presentation_verify(
    *,
    presentation: str | Mapping[str, Any],
    challenge: str,
    domain: str,
    allow_pending_anchor: bool = False,
    now: datetime | None = None,
) -> VerificationResult:
    """Verify a presentation (SD-JWT VC with key binding, VP-JWT or Data Integrity VP) for ``challenge``/``domain``;
    the result's claims are only what the holder disclosed."""
    return _safely(
        lambda: verify_presentation(
            presentation,
            policy=verification_policy(allow_pending_anchor=allow_pending_anchor),
            now=now or timezone.now(),
            expected_challenge=challenge,
            expected_domain=domain,
        )
    )


def _safely(run: Any) -> VerificationResult:
    """Input that is not even shaped like a credential is ``malformed``, never a server error."""
    try:
        return run()
    except CredentialError as error:
        return VerificationResult(is_valid=False, reason=error.reason, detail=error.detail)
    except (ValueError, TypeError, KeyError, AttributeError, IndexError, UnicodeError) as error:
        return VerificationResult(is_valid=False, reason=Reason.MALFORMED, detail=type(error).__name__)


def _issued_here(anchor_bytes: bytes, *, lookup: TrustedIssuerLookup) -> bool:
    """Whether an SD-JWT VC's ``iss`` is the portal (its credential issuer URL or did:web) or an issuer it hosts."""
    try:
        issuer = json.loads(b64url_decode(anchor_bytes.split(b".")[1].decode("ascii"))).get("iss")
    except (IndexError, ValueError, EncodingError, AttributeError):
        return True  # unreadable: the anchor check then says what is wrong
    if not isinstance(issuer, str) or issuer in (credential_issuer_url(), keys.portal_did()):
        return True
    row = lookup(issuer)
    return row is not None and row.is_hosted


def sd_jwt_anchor_status(
    anchor_bytes: bytes, *, allow_pending: bool, lookup: TrustedIssuerLookup | None = None
) -> AnchorStatus:
    """The anchor step for an SD-JWT VC: the portal's own and its hosted issuers' credentials must be anchored;
    an outside issuer's (trusted by an X.509 anchor) are ``issued_elsewhere``."""
    if not _issued_here(anchor_bytes, lookup=lookup or TrustedIssuerLookup()):
        return AnchorStatus.ISSUED_ELSEWHERE
    return anchor_status_for(anchor_bytes, allow_pending=allow_pending)


def sd_jwt_vc_policy(*, allow_pending_anchor: bool = True) -> VerificationPolicy:
    """The portal's policy for SD-JWT VCs presented over OpenID4VP: the registry for DID issuers, X.509 anchors for
    ``x5c`` issuers, the status of each credential through :func:`identity.services.status.sd_jwt_status_reason`.
    One policy serves one verification: it reads each issuer's registry row once (:class:`TrustedIssuerLookup`)."""
    lookup = TrustedIssuerLookup()
    return replace(
        verification_policy(allow_pending_anchor=allow_pending_anchor),
        issuer_trust=lambda issuer_did, types: issuer_trust(issuer_did, types, lookup=lookup),
        anchor_check=lambda anchor_bytes: sd_jwt_anchor_status(
            anchor_bytes, allow_pending=allow_pending_anchor, lookup=lookup
        ),
        credential_type_for_vct=credential_type_for_vct,
        x509_anchors_for_type=trust_anchors_for,
        sd_jwt_status=lambda claims, now: sd_jwt_status_reason(claims, now=now),
    )


def sd_jwt_vc_presentation_verify(
    *, presentation: str, nonce: str, audience: str, now: datetime | None = None, allow_pending_anchor: bool = True
) -> SdJwtVcPresentation:
    """Verify one SD-JWT VC presentation answering an OpenID4VP request with ``nonce`` from the verifier
    ``audience`` (its client id); raises CredentialError with the reason. A credential issued here whose anchor
    leaf waits for the next anchoring run is accepted by default (a wrong leaf never is)."""
    try:
        return verify_sd_jwt_vc_presentation(
            presentation,
            policy=sd_jwt_vc_policy(allow_pending_anchor=allow_pending_anchor),
            now=now or timezone.now(),
            expected_nonce=nonce,
            expected_audience=audience,
        )
    except CredentialError:
        raise
    except (ValueError, TypeError, KeyError, AttributeError, IndexError, UnicodeError) as error:
        raise CredentialError(Reason.MALFORMED, type(error).__name__) from error
