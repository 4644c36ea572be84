"""Shared vocabulary of the credential formats: reason codes, the error that carries them, and the checked form.

Every format's verifier turns its input into a :class:`SecuredCredential` after the signature check, so the ordered
checks in :mod:`identity.credentials.verify` (trust, validity, status, holder, anchor) are written once.
"""

import enum
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

VC_V2_CONTEXT = "https://www.w3.org/ns/credentials/v2"
VC_V1_CONTEXT = "https://www.w3.org/2018/credentials/v1"

DidDocumentResolver = Callable[[str], Mapping[str, Any]]
"""Returns the DID document of a DID; raises identity.credentials.dids.DidResolutionError when it has none."""


class Reason(enum.StrEnum):
    """Why a credential or presentation was refused; each check in the verification order has its own codes."""

    MALFORMED = "malformed"
    BAD_SIGNATURE = "bad_signature"
    UNKNOWN_ISSUER = "unknown_issuer"
    UNTRUSTED_ISSUER = "untrusted_issuer"
    NOT_YET_VALID = "not_yet_valid"
    EXPIRED = "expired"
    REVOKED = "revoked"
    SUSPENDED = "suspended"
    WRONG_HOLDER = "wrong_holder"
    WRONG_CHALLENGE = "wrong_challenge"
    WRONG_DOMAIN = "wrong_domain"
    ANCHOR_MISSING = "anchor_missing"
    ANCHOR_INVALID = "anchor_invalid"
    ANCHOR_UNVERIFIABLE = "anchor_unverifiable"
    DISCLOSURE_INVALID = "disclosure_invalid"
    KEY_BINDING_MISSING = "key_binding_missing"
    KEY_BINDING_INVALID = "key_binding_invalid"
    STATUS_UNVERIFIABLE = "status_unverifiable"


class CredentialError(Exception):
    """A refusal with its reason code; ``detail`` is for logs and support staff, never shown to the subject."""

    def __init__(self, reason: Reason, detail: str) -> None:
        super().__init__(f"{reason}: {detail}")
        self.reason = reason
        self.detail = detail


@dataclass(frozen=True)
class StatusEntry:
    """One status reference of a credential: which list, which bit, and what a set bit means."""

    status_list_credential: str
    status_list_index: int
    status_purpose: str


@dataclass(frozen=True)
class SecuredCredential:
    """A credential whose issuer signature has been checked, in a format-neutral shape.

    ``claims`` is the W3C credential for VC-JWT and Data Integrity, and only the disclosed claims for SD-JWT VC.
    ``anchor_bytes`` are the exact bytes whose salted hash was anchored when the credential was issued.
    """

    format: str
    issuer: str
    subject: str | None
    types: tuple[str, ...]
    valid_from: datetime | None
    valid_until: datetime | None
    claims: dict[str, Any]
    anchor_bytes: bytes
    status_entries: tuple[StatusEntry, ...] = field(default=())


def parse_datetime(value: object, *, field_name: str) -> datetime:
    """Parse an XML Schema dateTimeStamp (``2026-01-31T12:00:00Z``); a value without a time zone is malformed."""
    if not isinstance(value, str):
        raise CredentialError(Reason.MALFORMED, f"{field_name} must be a date-time string")
    try:
        parsed = datetime.fromisoformat(value)
    except ValueError as error:
        raise CredentialError(Reason.MALFORMED, f"{field_name} is not an ISO 8601 date-time") from error
    if parsed.tzinfo is None:
        raise CredentialError(Reason.MALFORMED, f"{field_name} has no time zone")
    return parsed


def format_datetime(value: datetime) -> str:
    """Whole-second UTC date-time with a ``Z`` suffix, the form every credential built here uses."""
    if value.tzinfo is None:
        raise ValueError("date-times must be timezone-aware")
    return value.astimezone(UTC).replace(microsecond=0).strftime("%Y-%m-%dT%H:%M:%SZ")


def status_entries_from(credential_status: object) -> tuple[StatusEntry, ...]:
    """BitstringStatusListEntry objects of a ``credentialStatus`` value (absent, one object, or a list)."""
    if credential_status is None:
        return ()
    entries = credential_status if isinstance(credential_status, list) else [credential_status]
    parsed = []
    for entry in entries:
        if not isinstance(entry, Mapping) or entry.get("type") != "BitstringStatusListEntry":
            raise CredentialError(Reason.MALFORMED, "credentialStatus must be BitstringStatusListEntry objects")
        try:
            index = int(entry["statusListIndex"])
            parsed.append(StatusEntry(str(entry["statusListCredential"]), index, str(entry["statusPurpose"])))
        except (KeyError, ValueError) as error:
            raise CredentialError(Reason.MALFORMED, f"incomplete BitstringStatusListEntry: {error}") from error
        if index < 0:
            raise CredentialError(Reason.MALFORMED, "statusListIndex must not be negative")
    return tuple(parsed)


def subject_id_of(credential: Mapping[str, Any]) -> str | None:
    """The ``id`` of the (first) credential subject, which is the holder the credential is bound to."""
    subject = credential.get("credentialSubject")
    if isinstance(subject, list):
        subject = subject[0] if subject else None
    if not isinstance(subject, Mapping):
        return None
    subject_id = subject.get("id")
    return subject_id if isinstance(subject_id, str) else None


def issuer_id_of(credential: Mapping[str, Any]) -> str:
    """The issuer's DID, from a string or an object ``issuer``."""
    issuer = credential.get("issuer")
    if isinstance(issuer, Mapping):
        issuer = issuer.get("id")
    if not isinstance(issuer, str) or not issuer:
        raise CredentialError(Reason.MALFORMED, "credential has no issuer")
    return issuer


def types_of(credential: Mapping[str, Any]) -> tuple[str, ...]:
    """The credential's ``type`` values; ``VerifiableCredential`` must be among them."""
    types = credential.get("type")
    types = [types] if isinstance(types, str) else types
    if not isinstance(types, list) or "VerifiableCredential" not in types:
        raise CredentialError(Reason.MALFORMED, "credential type must include VerifiableCredential")
    return tuple(str(value) for value in types)
