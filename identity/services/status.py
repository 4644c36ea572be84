"""Status lists: slots for new credentials, revocation and suspension, and the signed published lists.

Each issuer has its own revocation and suspension lists (at least 131,072 entries each, for herd privacy). The
portal signs every published W3C Bitstring Status List (Data Integrity ``eddsa-jcs-2022`` under its did:web) and
anchors each version. Each revocation list is published a second time as an IETF Status List Token (two bits an
entry: valid, revoked, suspended) signed with the key of the issuer whose credentials it lists, so an SD-JWT VC
carries both a ``credentialStatus`` (W3C) and a ``status.status_list`` (IETF) reference; revoking or suspending a
credential changes both. Checking a credential's status as a verifier lives in :mod:`identity.services.status_check`.
"""

from __future__ import annotations

import hashlib
import logging
import secrets
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from django.conf import settings
from django.db import IntegrityError, transaction
from django.db.models import BinaryField, Q, QuerySet, Value
from django.db.models.functions import Substr
from django.utils import timezone

from core.errors import ConflictError, ValidationFailed
from core.sql import CompiledQuery
from identity.credentials import jose
from identity.credentials.data_integrity import sign_data_integrity
from identity.credentials.status_list import (
    StatusBitstring,
    StatusListError,
    build_status_list_credential,
    build_status_list_entry,
)
from identity.credentials.token_status_list import (
    STATUS_LIST_JWT_TYPE,
    StatusReference,
    TokenStatus,
    TokenStatusList,
    status_list_token_payload,
)
from identity.credentials.verify import anchor_bytes_for
from identity.models import AnchorSource, CredentialRecord, StatusList, StatusListSlot, TrustedIssuer
from identity.openid4vci import certificates
from identity.services import keys, status_check
from identity.services.anchoring import anchor_leaf_add

logger = logging.getLogger(__name__)

Purpose = StatusList.Purpose
TOKEN_LIFETIME = timedelta(days=1)
"""How long a signed Status List Token is valid (``exp`` - ``iat``); it is re-signed once less than half is left."""
TOKEN_TTL_SECONDS = 300
"""``ttl``: how long a verifier may cache the token before fetching it again (a revocation reaches it this late)."""
TOKEN_STATUS_BITS = 2
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

    def status_reference(self) -> StatusReference:
        """The IETF ``status.status_list`` reference: the revocation index in the revocation list's token."""
        return StatusReference(uri=status_list_token_url(self.revocation_list.list_id), index=self.revocation_index)


def status_list_url(list_id: str) -> str:
    """Stable public URL of a status list: ``<PORTAL_BASE_URL>/credentials/status/<list id>``."""
    return f"{settings.PORTAL_BASE_URL.rstrip('/')}/credentials/status/{list_id}"


def status_list_token_url(list_id: str) -> str:
    """Public URL of a revocation list's Status List Token: ``<PORTAL_BASE_URL>/credentials/token-status/<list id>``."""
    return f"{settings.PORTAL_BASE_URL.rstrip('/')}/credentials/token-status/{list_id}"


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
                if purpose == Purpose.REVOCATION:
                    _token_publish(status_list=status_list, now=timezone.now())
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


def _token_signer(issuer_did: str) -> tuple[jose.PrivateKey, dict[str, object]]:
    """The key of the issuer whose credentials the list holds, with the JOSE header members that name it: the portal's
    X.509 issuer key (``x5c``) for the portal's lists, the hosted issuer's did:key (``kid``) for a hosted issuer's."""
    if issuer_did != keys.portal_did():
        issuer = TrustedIssuer.objects.filter(did=issuer_did, is_hosted=True).first()
        if issuer is not None:
            hosted = keys.signer_for(controller=keys.issuer_controller(issuer.pk), did=issuer.did)
            return hosted.private_key, {"kid": hosted.jwk_method}
    signer = certificates.issuer_x509_signer()
    return signer.private_key, {"x5c": signer.x5c}


def _token_entries(*, status_list: StatusList) -> TokenStatusList:
    """Two bits per revocation index: revoked (1) or suspended (2) from the credentials' records, else valid (0)."""
    entries = TokenStatusList(bits=TOKEN_STATUS_BITS, size=status_list.size_in_bits)
    changed = CredentialRecord.objects.filter(revocation_list=status_list).filter(
        Q(revoked_at__isnull=False) | Q(is_suspended=True)
    )
    for index, revoked_at in changed.values_list("revocation_index", "revoked_at"):
        entries.set(index, TokenStatus.INVALID if revoked_at is not None else TokenStatus.SUSPENDED)
    return entries


def _token_publish(*, status_list: StatusList, now: datetime) -> None:
    """Sign the revocation list's current statuses as its Status List Token (call with the list row locked)."""
    moment = keys.whole_seconds(now)
    private_key, members = _token_signer(status_list.issuer_did)
    payload = status_list_token_payload(
        uri=status_list_token_url(status_list.list_id),
        status_list=_token_entries(status_list=status_list),
        issued_at=moment,
        expires_at=moment + TOKEN_LIFETIME,
        ttl_seconds=TOKEN_TTL_SECONDS,
    )
    header = {"alg": jose.algorithm_for(private_key), "typ": STATUS_LIST_JWT_TYPE, **members}
    status_list.status_token = jose.sign_compact(header=header, payload=payload, private_key=private_key)
    status_list.status_token_expires_at = moment + TOKEN_LIFETIME
    status_list.save(update_fields=["status_token", "status_token_expires_at"])


def status_list_token_current(*, status_list: StatusList) -> str:
    """The revocation list's Status List Token, re-signed first when it is missing or has less than half its
    lifetime left (a token a verifier just fetched then stays usable well past its ``ttl``)."""
    now = timezone.now()
    if _token_is_fresh(status_list, now=now):
        return status_list.status_token
    with transaction.atomic():
        locked = StatusList.objects.select_for_update(no_key=True).get(pk=status_list.pk)
        if not _token_is_fresh(locked, now=now):
            _token_publish(status_list=locked, now=now)
    return locked.status_token


def _token_is_fresh(status_list: StatusList, *, now: datetime) -> bool:
    expires_at = status_list.status_token_expires_at
    return bool(status_list.status_token) and expires_at is not None and expires_at - now > TOKEN_LIFETIME / 2


@transaction.atomic
def status_list_publish(*, status_list: StatusList) -> StatusList:
    """Re-sign and publish the list now (for example after the portal's key was rotated)."""
    locked = StatusList.objects.select_for_update(no_key=True).get(pk=status_list.pk)
    _publish(status_list=locked, now=timezone.now())
    if locked.purpose == Purpose.REVOCATION:
        _token_publish(status_list=locked, now=timezone.now())
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


def _token_republish(*, status_list_id: int) -> None:
    """Re-sign the Status List Token of a revocation list after one of its credentials changed status."""
    status_list = StatusList.objects.select_for_update(no_key=True).get(pk=status_list_id)
    _token_publish(status_list=status_list, now=timezone.now())


@transaction.atomic
def credential_revoke(*, record: CredentialRecord) -> CredentialRecord:
    """Revoke for good: the revocation bit is set and the list republished. Revoking twice changes nothing."""
    record = CredentialRecord.objects.select_for_update().get(pk=record.pk)
    if record.revoked_at is None:
        _set_bit(status_list_id=record.revocation_list_id, index=record.revocation_index, is_set=True)
        record.revoked_at = timezone.now()
        record.save(update_fields=["revoked_at"])
        _token_republish(status_list_id=record.revocation_list_id)
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
        _token_republish(status_list_id=record.revocation_list_id)
        logger.info("credential %s suspension set to %s", record.credential_id, is_suspended)
    return record


def _own_status_token(uri: str) -> str | None:
    """The Status List Token of one of the portal's revocation lists (re-signed if stale); None for other URLs."""
    prefix = status_list_token_url("")
    if not uri.startswith(prefix):
        return None
    status_list = StatusList.objects.filter(list_id=uri.removeprefix(prefix), purpose=Purpose.REVOCATION).first()
    return status_list_token_current(status_list=status_list) if status_list is not None else ""


def _own_status_byte_query(*, list_id: str, purpose: str, position: int) -> QuerySet[StatusList]:
    return (
        StatusList.objects.filter(list_id=list_id, purpose=purpose)
        .only("id", "size_in_bits")
        .annotate(status_byte=Substr("bits", Value(position), 1, output_field=BinaryField()))[:1]
    )


# Compiled once per process; the list's one byte that holds the bit, not its 16 KiB (read twice in every check of an
# SD-JWT VC of the portal's: revocation and suspension).
_OWN_STATUS_BYTE = CompiledQuery(_own_status_byte_query, list_id=str, purpose=str, position=int)
_LARGEST_POSITION = 2**31 - 1  # SQL's integer: a larger index is outside every list, as the size check then says


def _own_bit(url: str, purpose: str, index: int) -> bool | None:
    """Whether the bit at ``index`` of one of the portal's W3C lists is set; None for other URLs (an unknown list of
    ours, or an index outside it, is unusable)."""
    prefix = status_list_url("")
    if not url.startswith(prefix):
        return None
    position = min(max(index, 0) // 8 + 1, _LARGEST_POSITION)
    status_list = _OWN_STATUS_BYTE.first(list_id=url.removeprefix(prefix), purpose=purpose, position=position)
    if status_list is None:
        raise StatusListError(f"the portal publishes no {purpose} list at {url}")
    if not 0 <= index < status_list.size_in_bits:
        raise StatusListError(f"status index {index} is outside the list of {status_list.size_in_bits} bits")
    return bool(bytes(status_list.status_byte)[0] & 0x80 >> index % 8)


def sd_jwt_status_reason(claims: Mapping[str, Any], *, now: datetime) -> str | None:
    """Status of a verified SD-JWT VC (its disclosed payload) by every list it names, IETF Token Status List and
    W3C Bitstring Status List alike: None when valid, else ``revoked``, ``suspended`` or ``status_unverifiable``
    (see :mod:`identity.services.status_check`)."""
    reason = status_check.status_reason(
        claims, now=now, own=status_check.OwnLists(token=_own_status_token, bit=_own_bit)
    )
    return None if reason is None else str(reason)
