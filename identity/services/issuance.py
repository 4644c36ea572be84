"""Issuing credentials: the portal, or a hosted issuer from the trust registry, signs; the holder gets the result.

What is kept is a :class:`CredentialRecord` (id, type, issuer, status slots, validity, salted leaf hash) and a
pending anchor leaf. The credential and its claims leave in the return value and are never stored or logged.
"""

from __future__ import annotations

import logging
import re
import secrets
import uuid
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from django.db import transaction
from django.utils import timezone

from core.errors import ApplicationError, ConflictError, ValidationFailed
from identity.credentials import data_integrity, jwt_vc, sd_jwt
from identity.credentials.core import VC_V2_CONTEXT, CredentialError, format_datetime, parse_datetime
from identity.credentials.dids import DidResolutionError, public_key_from_did_key
from identity.credentials.verify import LEAF_SALT_LENGTH, anchor_bytes_for, credential_leaf_hash
from identity.models import AnchorSource, CredentialRecord, TrustedIssuer
from identity.services import keys
from identity.services.anchoring import anchor_leaf_add
from identity.services.registry import PORTAL_CREDENTIAL_TYPES
from identity.services.status import StatusSlots, status_slots_allocate

logger = logging.getLogger(__name__)

FORMATS = ("vc-jwt", "data-integrity", "sd-jwt")
DEFAULT_VALIDITY = timedelta(days=365)
_URN_UUID = re.compile(r"^urn:uuid:[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$")
_ISSUER_SET_MEMBERS = ("credentialStatus", "proof")


class CredentialTypeNotAllowed(ApplicationError):
    """The issuer is not registered for this credential type: HTTP 403."""

    status = 403
    code = "credential_type_not_allowed"


@dataclass(frozen=True)
class IssuingParty:
    """Who signs: its DID, the key controller, and the credential types it may issue."""

    did: str
    controller: str
    credential_types: tuple[str, ...]
    is_active: bool = True


@dataclass(frozen=True)
class IssuedCredential:
    """The secured credential for the holder (a JWT or SD-JWT string, or a JSON document) and its leaf data, which
    lets the holder ask for the anchor proof later."""

    verifiable_credential: str | dict[str, Any]
    credential_id: str
    leaf_hash: str
    leaf_salt: bytes


def issuing_party_portal() -> IssuingParty:
    return IssuingParty(
        did=keys.portal_did(), controller=keys.PORTAL_CONTROLLER, credential_types=PORTAL_CREDENTIAL_TYPES
    )


def issuing_party_for_issuer(*, issuer: TrustedIssuer) -> IssuingParty:
    """A hosted issuer as a signer; an external issuer signs elsewhere and cannot issue here."""
    if not issuer.is_hosted:
        raise ValidationFailed("This issuer signs its credentials itself.", code="issuer_not_hosted")
    return IssuingParty(
        did=issuer.did,
        controller=keys.issuer_controller(issuer.pk),
        credential_types=tuple(issuer.credential_types),
        is_active=issuer.is_active,
    )


def _invalid(detail: str, field: str) -> ValidationFailed:
    return ValidationFailed(detail, code="invalid_credential", fields={field: [detail]})


def _credential_type(credential: Mapping[str, Any], party: IssuingParty) -> str:
    types = credential.get("type")
    if not isinstance(types, list) or "VerifiableCredential" not in types or len(types) != 2:
        raise _invalid("type must be VerifiableCredential and one credential type", "type")
    credential_type = next(value for value in types if value != "VerifiableCredential")
    if credential_type not in party.credential_types:
        raise CredentialTypeNotAllowed(f"This issuer may not issue {credential_type}.", fields={"type": ["forbidden"]})
    return str(credential_type)


def _period(credential: Mapping[str, Any], now: datetime) -> tuple[datetime, datetime]:
    try:
        valid_from = parse_datetime(credential.get("validFrom", format_datetime(now)), field_name="validFrom")
        default_until = format_datetime(valid_from + DEFAULT_VALIDITY)
        valid_until = parse_datetime(credential.get("validUntil", default_until), field_name="validUntil")
    except CredentialError as error:
        raise _invalid(error.detail, "validFrom") from error
    if valid_until <= valid_from:
        raise _invalid("validUntil must be after validFrom", "validUntil")
    return keys.whole_seconds(valid_from), keys.whole_seconds(valid_until)


def _credential_id(credential: Mapping[str, Any]) -> str:
    credential_id = credential.get("id", f"urn:uuid:{uuid.uuid4()}")
    if not isinstance(credential_id, str) or not _URN_UUID.match(credential_id):
        raise _invalid("id must be a lower-case urn:uuid", "id")
    if CredentialRecord.objects.filter(credential_id=credential_id).exists():
        raise ConflictError("A credential with this id was already issued.", code="credential_exists")
    return credential_id


def _prepared(*, credential: Mapping[str, Any], party: IssuingParty, now: datetime) -> dict[str, Any]:
    """The unsigned credential with id, issuer, validity and defaults filled in, checked against the VC-API rules."""
    context = credential.get("@context")
    if not isinstance(context, list) or not context or context[0] != VC_V2_CONTEXT:
        raise _invalid(f"@context must be a list starting with {VC_V2_CONTEXT}", "@context")
    issuer = credential.get("issuer", party.did)
    issuer = issuer.get("id") if isinstance(issuer, Mapping) else issuer
    if issuer != party.did:
        raise _invalid("issuer must be the authenticated issuer's DID", "issuer")
    subject = credential.get("credentialSubject")
    if not isinstance(subject, Mapping) or not isinstance(subject.get("id"), str) or len(subject) < 2:
        raise _invalid("credentialSubject must be an object with the holder's id and claims", "credentialSubject")
    for member in _ISSUER_SET_MEMBERS:
        if member in credential:
            raise _invalid(f"{member} is set by the portal", member)
    valid_from, valid_until = _period(credential, now)
    prepared = dict(credential)
    prepared.update(
        {
            "id": _credential_id(credential),
            "issuer": party.did,
            "validFrom": format_datetime(valid_from),
            "validUntil": format_datetime(valid_until),
        }
    )
    return prepared


def _secure(*, credential: dict[str, Any], securing_format: str, signer: keys.Signer, now: datetime) -> Any:
    """Sign in the requested format; SD-JWT makes each subject claim selectively disclosable."""
    if securing_format == "vc-jwt":
        return jwt_vc.sign_credential_jwt(
            credential=credential,
            private_key=signer.private_key,
            verification_method_id=signer.jwk_method,
            issued_at=now,
        )
    if securing_format == "data-integrity":
        return data_integrity.sign_data_integrity(
            document=credential,
            private_key=signer.private_key,
            verification_method_id=signer.multikey_method,
            created=now,
        )
    subject = dict(credential["credentialSubject"])
    try:
        holder_key = public_key_from_did_key(subject.pop("id"))
        return sd_jwt.issue_sd_jwt(
            private_key=signer.private_key,
            verification_method_id=signer.jwk_method,
            vct=credential["type"][1],
            always_disclosed={"jti": credential["id"], "credentialStatus": credential["credentialStatus"]},
            selectively_disclosed=subject,
            holder_public_key=holder_key,
            valid_from=parse_datetime(credential["validFrom"], field_name="validFrom"),
            valid_until=parse_datetime(credential["validUntil"], field_name="validUntil"),
        )
    except (DidResolutionError, ValueError) as error:
        raise _invalid(f"cannot issue as SD-JWT VC: {error}", "credentialSubject") from error


@transaction.atomic
def credential_issue(
    *, party: IssuingParty, credential: Mapping[str, Any], securing_format: str, now: datetime | None = None
) -> IssuedCredential:
    """Sign ``credential`` (VC Data Model 2.0, unsigned) as ``party`` in ``securing_format`` (vc-jwt,
    data-integrity, sd-jwt), give it status-list entries, record its salted leaf hash and queue the leaf.

    Data Integrity and SD-JWT credentials get a revocation and a suspension entry; a VC-JWT gets the revocation
    entry only, because its JWT encoding holds a single ``credentialStatus`` object."""
    if not party.is_active:
        raise CredentialTypeNotAllowed("This issuer is suspended.", code="issuer_suspended")
    if securing_format not in FORMATS:
        raise ValidationFailed("Unknown securing format.", code="invalid_format", fields={"format": list(FORMATS)})
    now = keys.whole_seconds(now or timezone.now())
    prepared = _prepared(credential=credential, party=party, now=now)
    credential_type = _credential_type(prepared, party)
    slots = status_slots_allocate(issuer_did=party.did)
    entries = slots.entries()
    # The VC-JWT encoding (VC 1.1, as IOTA Identity reads it) allows one credentialStatus object: revocation only.
    prepared["credentialStatus"] = entries[0] if securing_format == "vc-jwt" else entries
    signer = keys.signer_for(controller=party.controller, did=party.did)
    secured = _secure(credential=prepared, securing_format=securing_format, signer=signer, now=now)
    issued = credential_record_add(
        secured=secured,
        credential_id=prepared["id"],
        credential_type=credential_type,
        issuer_did=party.did,
        securing_format=securing_format,
        valid_from=parse_datetime(prepared["validFrom"], field_name="validFrom"),
        valid_until=parse_datetime(prepared["validUntil"], field_name="validUntil"),
        slots=slots,
        now=now,
    )
    logger.info("credential %s (%s, %s) issued by %s", prepared["id"], credential_type, securing_format, party.did)
    return issued


def credential_record_add(
    *,
    secured: str | dict[str, Any],
    credential_id: str,
    credential_type: str,
    issuer_did: str,
    securing_format: str,
    valid_from: datetime,
    valid_until: datetime,
    slots: StatusSlots,
    now: datetime,
) -> IssuedCredential:
    """Record a credential just secured (inside the issuing transaction): its salted leaf hash, status slots and
    validity, and queue the leaf for anchoring. The credential itself is returned, never stored."""
    salt = secrets.token_bytes(LEAF_SALT_LENGTH)
    leaf_hash = credential_leaf_hash(anchor_bytes_for(secured), salt)
    CredentialRecord.objects.create(
        credential_id=credential_id,
        credential_type=credential_type,
        issuer_did=issuer_did,
        format=securing_format,
        valid_from=valid_from,
        valid_until=valid_until,
        revocation_list=slots.revocation_list,
        revocation_index=slots.revocation_index,
        suspension_list=slots.suspension_list,
        suspension_index=slots.suspension_index,
        leaf_salt=salt,
        leaf_hash=leaf_hash.hex(),
        issued_at=now,
    )
    anchor_leaf_add(leaf_hash=leaf_hash, source=AnchorSource.CREDENTIAL, reference=credential_id)
    return IssuedCredential(secured, credential_id, leaf_hash.hex(), salt)
