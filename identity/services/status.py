"""Bitstring Status Lists: slots for new credentials, revocation and suspension, and the signed published list.

Each issuer has its own revocation and suspension lists (at least 131,072 entries each, for herd privacy). The
portal signs every published list (Data Integrity ``eddsa-jcs-2022`` under its did:web) and anchors each version.
"""

from __future__ import annotations

import hashlib
import logging
import secrets
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from django.conf import settings
from django.db import IntegrityError, transaction
from django.utils import timezone

from core.errors import ConflictError, ValidationFailed
from identity.credentials.core import CredentialError, status_entries_from
from identity.credentials.data_integrity import sign_data_integrity
from identity.credentials.status_list import (
    StatusBitstring,
    StatusListError,
    build_status_list_credential,
    build_status_list_entry,
)
from identity.credentials.verify import anchor_bytes_for
from identity.models import AnchorSource, CredentialRecord, StatusList, StatusListSlot
from identity.services import keys
from identity.services.anchoring import anchor_leaf_add

logger = logging.getLogger(__name__)

Purpose = StatusList.Purpose
SLOT_DRAW_ATTEMPTS = 64
"""Random draws before giving up; a list is closed at 3/4 full, so 64 taken draws in a row (0.75**64) do not happen."""


@dataclass(frozen=True)
class StatusSlots:
    """Where a new credential's two status bits live."""

    revocation_list: StatusList
    revocation_index: int
    suspension_list: StatusList
    suspension_index: int

    def entries(self) -> list[dict[str, str]]:
        """The ``credentialStatus`` entries that point the credential at its bits."""
        return [
            build_status_list_entry(
                list_url=status_list_url(self.revocation_list.list_id),
                index=self.revocation_index,
                status_purpose=Purpose.REVOCATION,
            ),
            build_status_list_entry(
                list_url=status_list_url(self.suspension_list.list_id),
                index=self.suspension_index,
                status_purpose=Purpose.SUSPENSION,
            ),
        ]


def status_list_url(list_id: str) -> str:
    """Stable public URL of a status list: ``<PORTAL_BASE_URL>/credentials/status/<list id>``."""
    return f"{settings.PORTAL_BASE_URL.rstrip('/')}/credentials/status/{list_id}"


def _open_list(*, issuer_did: str, purpose: str) -> StatusList:
    """The issuer's open list for ``purpose`` (not locked); a new, published one when there is none.

    Two issuers opening a list at once meet at the one-open-list constraint: the second takes the first's list."""
    for _ in range(2):
        current = StatusList.objects.filter(issuer_did=issuer_did, purpose=purpose, is_open=True).first()
        if current is not None:
            return current
        status_list = StatusList(list_id=secrets.token_hex(12), issuer_did=issuer_did, purpose=purpose)
        status_list.bits = bytes(status_list.size_in_bits // 8)
        try:
            with transaction.atomic():
                status_list.save()
                _publish(status_list=status_list, now=timezone.now())
        except IntegrityError:
            continue
        return status_list
    raise ConflictError("No status list could be opened; try again.", code="status_list_busy")


def _list_close_if_full(*, status_list: StatusList) -> bool:
    """Close the list once its slots reach its capacity; True when it is (now) closed."""
    if StatusListSlot.objects.filter(status_list=status_list).count() < status_list.slot_capacity:
        return False
    StatusList.objects.filter(pk=status_list.pk, is_open=True).update(is_open=False)
    logger.info("status list %s closed at capacity", status_list.list_id)
    return True


def _slot_take(*, issuer_did: str, purpose: str) -> tuple[StatusList, int]:
    """A random free index of the issuer's open list, taken by inserting its (list, index) row.

    No lock on the list: a drawn index that is already taken fails the unique constraint inside a savepoint and
    another is drawn. Only on such a collision are the list's slots counted, to close it when it is full."""
    status_list = _open_list(issuer_did=issuer_did, purpose=purpose)
    for _ in range(SLOT_DRAW_ATTEMPTS):
        index = secrets.randbelow(status_list.size_in_bits)
        try:
            with transaction.atomic():
                StatusListSlot.objects.create(status_list=status_list, index=index)
        except IntegrityError:
            if _list_close_if_full(status_list=status_list):
                status_list = _open_list(issuer_did=issuer_did, purpose=purpose)
            continue
        return status_list, index
    raise ConflictError("No free status-list slot was found; try again.", code="status_list_busy")


def status_slots_allocate(*, issuer_did: str) -> StatusSlots:
    """Reserve a random revocation bit and a random suspension bit in the issuer's open lists; call inside the
    issuing transaction (the slots are given back if it rolls back)."""
    revocation_list, revocation_index = _slot_take(issuer_did=issuer_did, purpose=Purpose.REVOCATION)
    suspension_list, suspension_index = _slot_take(issuer_did=issuer_did, purpose=Purpose.SUSPENSION)
    return StatusSlots(revocation_list, revocation_index, suspension_list, suspension_index)


def _publish(*, status_list: StatusList, now: datetime) -> None:
    """Sign the list's current bits as a new version and queue that version's hash for anchoring."""
    moment = keys.whole_seconds(now)
    signer = keys.signer_for(controller=keys.PORTAL_CONTROLLER, did=keys.portal_did())
    unsigned = build_status_list_credential(
        list_url=status_list_url(status_list.list_id),
        issuer=signer.did,
        status_purpose=status_list.purpose,
        bitstring=StatusBitstring(size_in_bits=status_list.size_in_bits, bits=bytes(status_list.bits)),
        valid_from=moment,
    )
    published = sign_data_integrity(
        document=unsigned, private_key=signer.private_key, verification_method_id=signer.multikey_method, created=moment
    )
    status_list.version += 1
    status_list.published_credential = published
    status_list.published_at = moment
    status_list.save(update_fields=["version", "published_credential", "published_at"])
    anchor_leaf_add(
        leaf_hash=hashlib.sha256(anchor_bytes_for(published)).digest(),
        source=AnchorSource.STATUS_LIST,
        reference=f"{status_list.list_id}@{status_list.version}",
    )


@transaction.atomic
def status_list_publish(*, status_list: StatusList) -> StatusList:
    """Re-sign and publish the list now (for example after the portal's key was rotated)."""
    locked = StatusList.objects.select_for_update(no_key=True).get(pk=status_list.pk)
    _publish(status_list=locked, now=timezone.now())
    return locked


def _set_bit(*, status_list_id: int, index: int, is_set: bool) -> None:
    # FOR NO KEY UPDATE: changing the bits must not wait for, or hold up, issuers taking slots of the same list.
    status_list = StatusList.objects.select_for_update(no_key=True).get(pk=status_list_id)
    bitstring = StatusBitstring(size_in_bits=status_list.size_in_bits, bits=bytes(status_list.bits))
    if bitstring.get(index) == is_set:
        return
    if is_set:
        bitstring.set(index)
    else:
        bitstring.clear(index)
    status_list.bits = bitstring.to_bytes()
    status_list.save(update_fields=["bits"])
    _publish(status_list=status_list, now=timezone.now())


@transaction.atomic
def credential_revoke(*, record: CredentialRecord) -> CredentialRecord:
    """Revoke for good: the revocation bit is set and the list republished. Revoking twice changes nothing."""
    record = CredentialRecord.objects.select_for_update().get(pk=record.pk)
    if record.revoked_at is None:
        _set_bit(status_list_id=record.revocation_list_id, index=record.revocation_index, is_set=True)
        record.revoked_at = timezone.now()
        record.save(update_fields=["revoked_at"])
        logger.info("credential %s revoked", record.credential_id)
    return record


@transaction.atomic
def credential_suspension_set(*, record: CredentialRecord, is_suspended: bool) -> CredentialRecord:
    """Suspend or lift a suspension; a revoked credential's suspension can no longer change."""
    record = CredentialRecord.objects.select_for_update().get(pk=record.pk)
    if record.revoked_at is not None:
        raise ConflictError("The credential is revoked; revocation is final.", code="credential_revoked")
    if record.format == CredentialRecord.Format.VC_JWT:
        raise ValidationFailed(
            "A VC-JWT credential carries no suspension entry; revoke it.", code="suspension_unsupported"
        )
    if record.is_suspended != is_suspended:
        _set_bit(status_list_id=record.suspension_list_id, index=record.suspension_index, is_set=is_suspended)
        record.is_suspended = is_suspended
        record.save(update_fields=["is_suspended"])
        logger.info("credential %s suspension set to %s", record.credential_id, is_suspended)
    return record


def sd_jwt_status_reason(claims: Mapping[str, Any], *, now: datetime) -> str | None:
    """None when the SD-JWT VC's status is valid, else ``revoked``, ``suspended`` or ``status_unverifiable``.

    Reads the ``credentialStatus`` Bitstring Status List entries the portal puts on the SD-JWT VCs it issues; a list
    the portal does not publish cannot be read (``status_unverifiable``)."""
    from identity.services.verification import status_bitstring_for

    try:
        entries = status_entries_from(claims.get("credentialStatus"))
    except CredentialError:
        return "status_unverifiable"
    for entry in entries:
        try:
            is_set = status_bitstring_for(entry.status_list_credential, entry.status_purpose).get(
                entry.status_list_index
            )
        except StatusListError:
            return "status_unverifiable"
        if is_set and entry.status_purpose == Purpose.REVOCATION:
            return "revoked"
        if is_set and entry.status_purpose == Purpose.SUSPENSION:
            return "suspended"
    return None
