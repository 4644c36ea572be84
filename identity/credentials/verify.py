"""One verifier for every format, running the checks in a fixed order so each refusal has one reason code:

1. signature (``malformed``, ``bad_signature``, ``unknown_issuer`` when the issuer's DID or key cannot be resolved)
2. issuer trusted (``untrusted_issuer``, ``unknown_issuer``) through the caller's trust registry
3. validity period (``not_yet_valid``, ``expired``)
4. status list (``revoked``, ``suspended``)
5. holder binding, presentation challenge and domain (``wrong_holder``, ``wrong_challenge``, ``wrong_domain``)
6. anchor proof (``anchor_missing``, ``anchor_invalid``; ``anchor_unverifiable`` when the Tangle cannot be asked)

Each step runs over every credential before the next step starts. Trust registry, status lists and anchors are
reached through callables on :class:`VerificationPolicy`, so this module needs no database or network.
"""

import enum
import hashlib
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

import rfc8785
from cryptography.x509 import Certificate

from identity.credentials import data_integrity, jwt_vc, sd_jwt
from identity.credentials.core import (
    CredentialError,
    DidDocumentResolver,
    Reason,
    SecuredCredential,
    StatusEntry,
    status_entries_from,
)
from identity.credentials.dids import resolve_method_public_key
from identity.credentials.jws import decode_jws, is_valid_ed25519_signature
from identity.credentials.status_list import StatusBitstring, StatusListError

LEAF_SALT_LENGTH = 32


class TrustDecision(enum.StrEnum):
    """The trust registry's answer for an issuer and credential type."""

    TRUSTED = "trusted"
    UNTRUSTED = "untrusted"
    UNKNOWN = "unknown"


class AnchorStatus(enum.StrEnum):
    """Whether a credential's salted leaf hash is proven to be on the Tangle."""

    ANCHORED = "anchored"
    MISSING = "missing"
    INVALID = "invalid"
    UNVERIFIABLE = "unverifiable"
    """The proof may be right, but the Tangle node could not be asked whether the root is really there."""
    ISSUED_ELSEWHERE = "issued_elsewhere"
    """From an outside issuer (trusted through an X.509 anchor) that anchors nothing on the portal's Tangle: the
    anchor step does not apply; its trust rests on the trust registry alone."""


IssuerTrust = Callable[[str, tuple[str, ...]], TrustDecision]
"""(issuer DID, credential types) -> decision; the trust registry implements it."""
StatusListLookup = Callable[[str, str], StatusBitstring]
"""(statusListCredential URL, status purpose) -> the decoded list, fetched and verified by the caller."""
AnchorCheck = Callable[[bytes], AnchorStatus]
"""(anchor bytes of a credential) -> whether its leaf hash and inclusion proof check out against the Tangle."""


@dataclass(frozen=True)
class VerificationPolicy:
    """Everything a verification needs from outside this library."""

    resolve_did_document: DidDocumentResolver
    issuer_trust: IssuerTrust
    status_list: StatusListLookup
    anchor_check: AnchorCheck
    clock_skew: timedelta = timedelta(seconds=60)
    presentation_max_age: timedelta = timedelta(minutes=10)
    credential_type_for_vct: Callable[[str], str | None] = field(default=lambda vct: None)
    """(SD-JWT VC ``vct``) -> the credential type the trust registry knows it by (None: unknown type)."""
    x509_anchors_for_type: Callable[[str], Sequence[Certificate]] = field(default=lambda credential_type: [])
    """(credential type) -> X.509 trust anchors for issuers that sign that type with an ``x5c`` chain."""
    sd_jwt_status: Callable[[Mapping[str, Any], datetime], str | None] | None = None
    """(SD-JWT VC claims, now) -> None when its status is valid, else a reason code (``revoked``, ``suspended``,
    ``status_unverifiable``); when None, the ``credentialStatus`` entries are read through ``status_list``."""


@dataclass(frozen=True)
class VerificationResult:
    """Outcome of a verification; ``claims`` lists, per credential, only what the verifier was shown."""

    is_valid: bool
    reason: Reason | None = None
    detail: str = ""
    credentials: tuple[SecuredCredential, ...] = field(default=())

    @property
    def claims(self) -> list[dict[str, Any]]:
        """The verified claims of each credential (for SD-JWT VC, the disclosed claims only)."""
        return [credential.claims for credential in self.credentials]


def verify_credential(
    credential: str | Mapping[str, Any],
    *,
    policy: VerificationPolicy,
    now: datetime,
    expected_holder: str | None = None,
) -> VerificationResult:
    """Verify one credential (VC-JWT string, SD-JWT VC string, or Data Integrity document) in the fixed order;
    ``expected_holder`` is the DID the credential must be about, when the caller knows it."""
    try:
        secured = _secure_credential(credential, policy=policy)
        _check_issuer_validity_status([secured], policy=policy, now=now)
        if expected_holder is not None and secured.subject != expected_holder:
            raise CredentialError(Reason.WRONG_HOLDER, "credential subject is not the expected holder")
        _check_anchors([secured], policy=policy)
    except CredentialError as error:
        return VerificationResult(is_valid=False, reason=error.reason, detail=error.detail)
    return VerificationResult(is_valid=True, credentials=(secured,))


def verify_presentation(
    presentation: str | Mapping[str, Any],
    *,
    policy: VerificationPolicy,
    now: datetime,
    expected_challenge: str,
    expected_domain: str,
) -> VerificationResult:
    """Verify a presentation: SD-JWT VC with KB-JWT, VP-JWT, or a Data Integrity presentation
    (proof purpose ``authentication``), against the challenge and domain the verifier issued."""
    try:
        if isinstance(presentation, str) and "~" in presentation:
            binding, secured = _verify_sd_jwt_presentation(presentation, policy=policy, now=now)
        elif isinstance(presentation, str):
            binding, secured = _verify_vp_jwt(presentation, policy=policy, now=now)
        else:
            binding, secured = _verify_data_integrity_presentation(presentation, policy=policy, now=now)
        _check_binding(
            binding, expected_challenge=expected_challenge, expected_domain=expected_domain, policy=policy, now=now
        )
        _check_anchors(secured, policy=policy)
    except CredentialError as error:
        return VerificationResult(is_valid=False, reason=error.reason, detail=error.detail)
    return VerificationResult(is_valid=True, credentials=tuple(secured))


def credential_leaf_hash(credential_bytes: bytes, salt: bytes) -> bytes:
    """SHA-256 of a 32-byte random salt followed by the credential's anchor bytes: the Merkle leaf that is anchored.

    The salt keeps the leaf from confirming a guessed credential; it is stored with the leaf, never published.
    """
    if len(salt) != LEAF_SALT_LENGTH:
        raise ValueError("the leaf salt is 32 random bytes")
    return hashlib.sha256(salt + credential_bytes).digest()


def anchor_bytes_for(credential: str | Mapping[str, Any]) -> bytes:
    """The bytes an issuer anchors for a credential it just secured (the same bytes the verifier recomputes):
    the VC-JWT, the issuer-signed JWT of an SD-JWT VC, or the JCS of a Data Integrity document with its proof."""
    if isinstance(credential, str):
        return credential.split("~", 1)[0].encode("ascii")
    return rfc8785.dumps(credential)


@dataclass(frozen=True)
class _Binding:
    """What ties a presentation to the verifier's request, collected during the signature step."""

    holder_errors: tuple[CredentialError, ...]
    challenge: str | None
    domain: str | None
    issued_at: datetime | None


def _secure_credential(credential: object, *, policy: VerificationPolicy) -> SecuredCredential:
    """Step 1 for one credential: dispatch on the format and check the issuer's signature."""
    resolver = policy.resolve_did_document
    if isinstance(credential, str) and "~" in credential:
        return sd_jwt.verify_sd_jwt_issuer(parsed=sd_jwt.parse_sd_jwt(credential), resolve_did_document=resolver)
    if isinstance(credential, str):
        return jwt_vc.verify_credential_jwt(token=credential, resolve_did_document=resolver)
    if isinstance(credential, Mapping):
        return data_integrity.verify_data_integrity_credential(credential=credential, resolve_did_document=resolver)
    raise CredentialError(Reason.MALFORMED, "a credential is a JWT string, an SD-JWT string or a JSON object")


def _check_issuer_validity_status(
    credentials: Sequence[SecuredCredential], *, policy: VerificationPolicy, now: datetime
) -> None:
    """Steps 2-4, each over every credential before the next."""
    for secured in credentials:
        decision = policy.issuer_trust(secured.issuer, secured.types)
        if decision is TrustDecision.UNKNOWN:
            raise CredentialError(Reason.UNKNOWN_ISSUER, f"{secured.issuer} is not in the trust registry")
        if decision is not TrustDecision.TRUSTED:
            raise CredentialError(Reason.UNTRUSTED_ISSUER, f"{secured.issuer} is not trusted for {secured.types}")
    for secured in credentials:
        if secured.valid_from is not None and now + policy.clock_skew < secured.valid_from:
            raise CredentialError(Reason.NOT_YET_VALID, f"valid from {secured.valid_from.isoformat()}")
        if secured.valid_until is not None and now - policy.clock_skew >= secured.valid_until:
            raise CredentialError(Reason.EXPIRED, f"expired at {secured.valid_until.isoformat()}")
    _check_status_entries(credentials, policy=policy)


def _check_status_entries(credentials: Sequence[SecuredCredential], *, policy: VerificationPolicy) -> None:
    """Step 4 through the Bitstring Status List entries of each credential."""
    for secured in credentials:
        _check_status_of(secured.status_entries, policy=policy)


def _check_status_of(entries: Sequence[StatusEntry], *, policy: VerificationPolicy) -> None:
    """Step 4 for one credential's Bitstring Status List entries."""
    for entry in entries:
        try:
            is_set = policy.status_list(entry.status_list_credential, entry.status_purpose).get(entry.status_list_index)
        except StatusListError as error:
            raise CredentialError(Reason.MALFORMED, f"status entry unusable: {error}") from error
        if is_set and entry.status_purpose == "revocation":
            raise CredentialError(Reason.REVOKED, f"revoked in {entry.status_list_credential}")
        if is_set and entry.status_purpose == "suspension":
            raise CredentialError(Reason.SUSPENDED, f"suspended in {entry.status_list_credential}")


def _check_binding(
    binding: _Binding, *, expected_challenge: str, expected_domain: str, policy: VerificationPolicy, now: datetime
) -> None:
    """Step 5: holder, then challenge (including the presentation's age), then domain."""
    if binding.holder_errors:
        raise binding.holder_errors[0]
    if binding.challenge != expected_challenge:
        raise CredentialError(Reason.WRONG_CHALLENGE, "presentation answers a different challenge")
    if binding.issued_at is not None and not (
        now - policy.presentation_max_age <= binding.issued_at <= now + policy.clock_skew
    ):
        raise CredentialError(Reason.WRONG_CHALLENGE, "presentation was not made for this request (stale)")
    if binding.domain != expected_domain:
        raise CredentialError(Reason.WRONG_DOMAIN, "presentation is meant for a different verifier")


def _check_anchors(credentials: Sequence[SecuredCredential], *, policy: VerificationPolicy) -> None:
    """Step 6."""
    for secured in credentials:
        status = policy.anchor_check(secured.anchor_bytes)
        if status is AnchorStatus.ISSUED_ELSEWHERE:
            continue
        if status is AnchorStatus.MISSING:
            raise CredentialError(Reason.ANCHOR_MISSING, "credential hash has not been anchored")
        if status is AnchorStatus.UNVERIFIABLE:
            raise CredentialError(Reason.ANCHOR_UNVERIFIABLE, "the Tangle node could not confirm the anchored root")
        if status is not AnchorStatus.ANCHORED:
            raise CredentialError(Reason.ANCHOR_INVALID, "credential anchor proof does not check out")


def _verify_sd_jwt_presentation(
    presentation: str, *, policy: VerificationPolicy, now: datetime
) -> tuple[_Binding, list[SecuredCredential]]:
    parsed = sd_jwt.parse_sd_jwt(presentation)
    secured = sd_jwt.verify_sd_jwt_issuer(parsed=parsed, resolve_did_document=policy.resolve_did_document)
    _check_issuer_validity_status([secured], policy=policy, now=now)
    try:
        key_binding = sd_jwt.verify_key_binding(parsed=parsed, holder_public_key=sd_jwt.holder_public_key_of(secured))
    except CredentialError as error:
        if error.reason is not Reason.WRONG_HOLDER:
            raise
        return _Binding((error,), None, None, None), [secured]
    return _Binding((), key_binding.nonce, key_binding.audience, key_binding.issued_at), [secured]


def _verify_vp_jwt(
    token: str, *, policy: VerificationPolicy, now: datetime
) -> tuple[_Binding, list[SecuredCredential]]:
    decoded = decode_jws(token)
    holder, method_id, vp = decoded.payload.get("iss"), decoded.header.get("kid"), decoded.payload.get("vp")
    if not isinstance(holder, str) or not isinstance(method_id, str) or not isinstance(vp, dict):
        raise CredentialError(Reason.MALFORMED, "a VP-JWT needs iss, kid and a vp object")
    holder_key_error = _holder_signature_error(
        holder=holder, method_id=method_id, signature=decoded.signature, message=decoded.signing_input, policy=policy
    )
    if holder_key_error is not None and holder_key_error.reason is Reason.BAD_SIGNATURE:
        raise holder_key_error
    secured = _secure_all(vp.get("verifiableCredential"), policy=policy)
    _check_issuer_validity_status(secured, policy=policy, now=now)
    expires_at = decoded.payload.get("exp")
    if isinstance(expires_at, int) and now.timestamp() - policy.clock_skew.total_seconds() >= expires_at:
        raise CredentialError(Reason.EXPIRED, "presentation has expired")
    errors = [holder_key_error] if holder_key_error else []
    errors += _subject_errors(secured, holder=holder)
    issued_at = decoded.payload.get("iat")
    when = datetime.fromtimestamp(issued_at, now.tzinfo) if isinstance(issued_at, int) else None
    return _Binding(tuple(errors), decoded.payload.get("nonce"), decoded.payload.get("aud"), when), secured


def _verify_data_integrity_presentation(
    presentation: Mapping[str, Any], *, policy: VerificationPolicy, now: datetime
) -> tuple[_Binding, list[SecuredCredential]]:
    if "VerifiablePresentation" not in (presentation.get("type") or []):
        raise CredentialError(Reason.MALFORMED, "not a VerifiablePresentation")
    holder = presentation.get("holder")
    try:
        proof = data_integrity.verify_data_integrity_proof(
            document=presentation,
            resolve_did_document=policy.resolve_did_document,
            expected_proof_purpose="authentication",
        )
        holder_error = None
        if proof["verificationMethod"].split("#", 1)[0] != holder:
            holder_error = CredentialError(Reason.WRONG_HOLDER, "presentation is not signed by its holder")
    except CredentialError as error:
        if error.reason is not Reason.WRONG_HOLDER:
            raise
        holder_error, proof = error, {}
    secured = _secure_all(presentation.get("verifiableCredential"), policy=policy)
    _check_issuer_validity_status(secured, policy=policy, now=now)
    errors = ([holder_error] if holder_error else []) + _subject_errors(secured, holder=str(holder))
    created = proof.get("created")
    when = datetime.fromisoformat(created) if isinstance(created, str) else None
    return _Binding(tuple(errors), proof.get("challenge"), proof.get("domain"), when), secured


def _secure_all(credentials: object, *, policy: VerificationPolicy) -> list[SecuredCredential]:
    credentials = [credentials] if isinstance(credentials, str | Mapping) else credentials
    if not isinstance(credentials, list) or not credentials:
        raise CredentialError(Reason.MALFORMED, "presentation carries no credentials")
    return [_secure_credential(credential, policy=policy) for credential in credentials]


def _holder_signature_error(
    *, holder: str, method_id: str, signature: bytes, message: bytes, policy: VerificationPolicy
) -> CredentialError | None:
    """A presentation signed by a key its holder does not control is a wrong holder; a broken signature by the
    holder's own key is a bad signature."""
    if method_id.split("#", 1)[0] != holder:
        return CredentialError(Reason.WRONG_HOLDER, "presentation is not signed by its holder")
    try:
        public_key = resolve_method_public_key(
            method_id=method_id,
            resolve_did_document=policy.resolve_did_document,
            relationship="authentication",
            failure_reason=Reason.WRONG_HOLDER,
        )
    except CredentialError as error:
        return error
    if not is_valid_ed25519_signature(public_key=public_key, signature=signature, message=message):
        return CredentialError(Reason.BAD_SIGNATURE, "presentation signature does not verify")
    return None


def _subject_errors(credentials: Sequence[SecuredCredential], *, holder: str) -> list[CredentialError]:
    return [
        CredentialError(Reason.WRONG_HOLDER, f"credential is about {secured.subject}, presented by {holder}")
        for secured in credentials
        if secured.subject != holder
    ]


@dataclass(frozen=True)
class SdJwtVcPresentation:
    """A verified SD-JWT VC presentation: the credential (disclosed claims only), its type, what was disclosed."""

    credential: SecuredCredential
    credential_type: str | None
    disclosed: tuple[str, ...]
    key_binding: sd_jwt.KeyBinding


def verify_sd_jwt_vc_presentation(
    presentation: str,
    *,
    policy: VerificationPolicy,
    now: datetime,
    expected_nonce: str,
    expected_audience: str,
) -> SdJwtVcPresentation:
    """Verify an SD-JWT VC with key binding as sent over OpenID4VP, in the fixed order of this module; raises
    :class:`CredentialError` with the first failing check's reason.

    1. issuer signature and disclosures (``malformed``, ``bad_signature``, ``disclosure_invalid``; an ``x5c`` chain
       that does not reach an anchor for the type is ``untrusted_issuer``)
    2. issuer trusted: DID issuers through the trust registry (``unknown_issuer``, ``untrusted_issuer``)
    3. validity period (``not_yet_valid``, ``expired``)
    4. status (``revoked``, ``suspended``, ``status_unverifiable``)
    5. key binding: present and signed by ``cnf.jwk`` over the presented disclosures (``key_binding_missing``,
       ``key_binding_invalid``), nonce (``wrong_challenge``), age (``wrong_challenge``), audience (``wrong_domain``)
    6. anchor proof
    """
    parsed = sd_jwt.parse_sd_jwt(presentation)

    def anchors_for_vct(vct: str) -> Sequence[Certificate]:
        credential_type = policy.credential_type_for_vct(vct)
        return policy.x509_anchors_for_type(credential_type) if credential_type else []

    checked = sd_jwt.sd_jwt_vc_issuer_check(
        parsed=parsed, resolve_did_document=policy.resolve_did_document, x509_anchors_for_vct=anchors_for_vct, now=now
    )
    secured = checked.credential
    vct = secured.types[0]
    credential_type = policy.credential_type_for_vct(vct)
    if secured.issuer.startswith("did:"):
        decision = policy.issuer_trust(secured.issuer, (credential_type or vct,))
        if decision is TrustDecision.UNKNOWN:
            raise CredentialError(Reason.UNKNOWN_ISSUER, f"{secured.issuer} is not in the trust registry")
        if decision is not TrustDecision.TRUSTED:
            raise CredentialError(Reason.UNTRUSTED_ISSUER, f"{secured.issuer} is not trusted for {vct}")
    if secured.valid_from is not None and now + policy.clock_skew < secured.valid_from:
        raise CredentialError(Reason.NOT_YET_VALID, f"valid from {secured.valid_from.isoformat()}")
    if secured.valid_until is not None and now - policy.clock_skew >= secured.valid_until:
        raise CredentialError(Reason.EXPIRED, f"expired at {secured.valid_until.isoformat()}")
    if policy.sd_jwt_status is not None:
        status_reason = policy.sd_jwt_status(secured.claims, now)
        if status_reason is not None:
            raise CredentialError(Reason(status_reason), "status list")
    else:
        _check_status_of(status_entries_from(secured.claims.get("credentialStatus")), policy=policy)
    key_binding = sd_jwt.key_binding_check(parsed=parsed, holder_public_key=checked.holder_public_key)
    binding = _Binding((), key_binding.nonce, key_binding.audience, key_binding.issued_at)
    _check_binding(
        binding, expected_challenge=expected_nonce, expected_domain=expected_audience, policy=policy, now=now
    )
    _check_anchors([secured], policy=policy)
    return SdJwtVcPresentation(
        credential=secured,
        credential_type=credential_type,
        disclosed=checked.disclosed,
        key_binding=key_binding,
    )
