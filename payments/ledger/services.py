"""Every write to the ledger: opening and closing accounts, creating transfers in batches, expiring pending ones.

`transfers_create` follows TigerBeetle's `create_transfers`: up to 8,000 specifications per call, one named result
per specification, linked chains atomic, and a refusal changes nothing. It locks the touched accounts once (ascending
id), evaluates the batch in Python, and inserts the accepted transfers in one statement; the database trigger applies
them to the balances in the same transaction.
"""

from __future__ import annotations

import datetime
import logging
import re
import uuid
from collections.abc import Sequence

from django.db import IntegrityError, transaction
from django.utils import timezone

from core.errors import ValidationFailed
from payments.ledger import storage
from payments.ledger.engine import RESOLUTION, BatchState, batch_evaluate
from payments.ledger.types import (
    MAX_BATCH_SIZE,
    AccountFlags,
    ResultCode,
    TransferFlags,
    TransferResult,
    TransferSpec,
)
from payments.models import Account, AccountCode, PendingTransferTimeout

logger = logging.getLogger(__name__)

_LEDGER_PATTERN = re.compile(r"^[A-Z]{3}$")
_OWNER_REFERENCE_PATTERN = re.compile(r"^[a-z_]+:[A-Za-z0-9_.-]+$|^$")
# Namespace of the ids of the voids the expiry service creates: the same pending transfer always yields the same id.
EXPIRY_NAMESPACE = uuid.UUID("8c1f7c9e-4a57-4b43-9a55-1c3e0f6f2b11")
_ATTEMPTS = 3


def account_create(
    *,
    ledger: str,
    code: AccountCode,
    owner_reference: str,
    flags: AccountFlags = AccountFlags.NONE,
    purpose: str = "",
    owner_kind: str = "",
    owner_id: str = "",
) -> Account:
    """Opens an account in `ledger` (ISO 4217 code) with zero balances.

    `owner_reference` is an opaque "kind:id" string ("user:12", "dealer:3") and must not carry personal data.
    Products do not call this: they name accounts by purpose and owner through `payments.ledger.client`, which
    passes `purpose`, `owner_kind` and `owner_id`; blank ones are accounts opened by hand (the ledger API).
    """
    if not _LEDGER_PATTERN.match(ledger):
        raise ValidationFailed("The ledger must be an ISO 4217 code such as EUR.", code="ledger_invalid")
    if code not in AccountCode.values:
        raise ValidationFailed("Unknown account code.", code="account_code_invalid")
    if not _OWNER_REFERENCE_PATTERN.match(owner_reference) or len(owner_reference) > 64:
        raise ValidationFailed("The owner reference must look like 'user:12'.", code="owner_reference_invalid")
    both = AccountFlags.DEBITS_MUST_NOT_EXCEED_CREDITS | AccountFlags.CREDITS_MUST_NOT_EXCEED_DEBITS
    if flags & both == both:
        raise ValidationFailed(
            "An account limits its debits or its credits, not both.", code="flags_are_mutually_exclusive"
        )
    return Account.objects.create(
        ledger=ledger,
        code=code,
        owner_reference=owner_reference,
        purpose=purpose,
        owner_kind=owner_kind,
        owner_id=owner_id,
        debits_must_not_exceed_credits=bool(flags & AccountFlags.DEBITS_MUST_NOT_EXCEED_CREDITS),
        credits_must_not_exceed_debits=bool(flags & AccountFlags.CREDITS_MUST_NOT_EXCEED_DEBITS),
        is_closed=bool(flags & AccountFlags.CLOSED),
    )


@transaction.atomic
def account_closed_set(*, account_id: int, is_closed: bool) -> Account:
    """Closes an account to new transfers (voids of its pending transfers still pass), or reopens it."""
    account = Account.objects.select_for_update().get(id=account_id)
    Account.objects.filter(id=account_id).update(is_closed=is_closed, updated_at=timezone.now())
    account.refresh_from_db()
    return account


def transfers_create(
    *, transfers: Sequence[TransferSpec], now: datetime.datetime | None = None
) -> list[TransferResult]:
    """Creates up to 8,000 transfers atomically per linked chain; returns one result per spec, in order.

    `now` is the clock for timeouts (defaults to the current time). A batch over the limit gets `batch_too_large`
    for every spec and changes nothing. Runs in its own transaction, or a savepoint inside the caller's.
    """
    if len(transfers) > MAX_BATCH_SIZE:
        return [TransferResult(id=spec.id, code=ResultCode.BATCH_TOO_LARGE) for spec in transfers]
    return _transfers_apply(specs=transfers, now=now or timezone.now(), may_void_expired=False)


def _transfers_apply(
    *, specs: Sequence[TransferSpec], now: datetime.datetime, may_void_expired: bool
) -> list[TransferResult]:
    if not specs:
        return []
    for attempt in range(1, _ATTEMPTS + 1):
        try:
            with transaction.atomic():
                codes = _batch_run(specs=specs, now=now, may_void_expired=may_void_expired)
            return [TransferResult(id=spec.id, code=code) for spec, code in zip(specs, codes, strict=True)]
        except IntegrityError:
            # A concurrent batch inserted one of our ids (or resolved our pending transfer) after we read; reading
            # again turns it into `exists` / `pending_transfer_already_*`.
            if attempt == _ATTEMPTS:
                raise
            logger.info("ledger batch collided with a concurrent one; retrying (attempt %s)", attempt)
    raise AssertionError("unreachable")


def _batch_run(*, specs: Sequence[TransferSpec], now: datetime.datetime, may_void_expired: bool) -> list[ResultCode]:
    """Reads and locks what the batch needs, evaluates it, and writes the accepted transfers."""
    pending_ids = {spec.pending_id for spec in specs if spec.pending_id is not None and spec.flags & RESOLUTION}
    pendings = storage.transfers_fetch(transfer_ids=pending_ids)
    storage.pending_timeouts_lock(pending_ids=pendings.keys())
    account_ids = {spec.debit_account_id for spec in specs} | {spec.credit_account_id for spec in specs}
    account_ids |= {p.debit_account_id for p in pendings.values()} | {p.credit_account_id for p in pendings.values()}
    accounts = storage.accounts_lock(account_ids=account_ids)
    known = storage.transfers_fetch(transfer_ids=[spec.id for spec in specs])
    state = BatchState(
        now=now,
        accounts=accounts,
        transfers=pendings | known,
        resolutions=storage.resolutions_fetch(pending_ids=pendings.keys()),
        may_void_expired=may_void_expired,
    )
    codes = batch_evaluate(specs=specs, state=state)
    storage.transfers_insert(transfers=state.accepted)
    storage.pending_timeouts_update(accepted=state.accepted)
    return codes


def pending_transfers_expire(*, now: datetime.datetime | None = None, batch_size: int = 1000) -> int:
    """Voids pending transfers whose timeout has passed; returns how many it voided.

    Works in batches of `batch_size`, each in its own transaction, taking expiry rows with SKIP LOCKED so that two
    runs never wait for each other. The void of a pending transfer has an id derived from it, so running twice (or
    racing a client's post) never resolves a pending transfer twice. Safe to run at any time.
    """
    now = now or timezone.now()
    voided = 0
    while True:
        with transaction.atomic():
            due = list(
                PendingTransferTimeout.objects.select_for_update(skip_locked=True)
                .filter(expires_at__lte=now)
                .order_by("expires_at", "transfer_id")
                .values_list("transfer_id", flat=True)[:batch_size]
            )
            if not due:
                return voided
            results = _transfers_apply(specs=_expiry_voids(pending_ids=due), now=now, may_void_expired=True)
            voided += sum(1 for result in results if result.is_ok)
            # Rows whose pending transfer was resolved meanwhile are stale: drop them so the next pass moves on.
            PendingTransferTimeout.objects.filter(transfer_id__in=due).delete()
        if len(due) < batch_size:
            return voided


def expiry_void_id(*, pending_id: uuid.UUID) -> uuid.UUID:
    """The id of the void that expires `pending_id`: the same whoever expires it (this task or its owner)."""
    return uuid.uuid5(EXPIRY_NAMESPACE, str(pending_id))


def pending_transfer_expire(*, pending_id: uuid.UUID, now: datetime.datetime) -> ResultCode:
    """Voids one pending transfer whose timeout has passed, exactly as `pending_transfers_expire` would (same void
    id), so an owner that must act on the expiry in its own transaction can do it first. Returns `ok`, or `exists`
    when the expiry task voided it already; `pending_transfer_not_pending` when its timeout has not passed."""
    pending = storage.transfers_fetch(transfer_ids=[pending_id]).get(pending_id)
    if pending is None:
        return ResultCode.PENDING_TRANSFER_NOT_FOUND
    if pending.expires_at is None or pending.expires_at > now:
        return ResultCode.PENDING_TRANSFER_NOT_PENDING
    result = _transfers_apply(specs=_expiry_voids(pending_ids=[pending_id]), now=now, may_void_expired=True)[0]
    return result.code


def _expiry_voids(*, pending_ids: Sequence[uuid.UUID]) -> list[TransferSpec]:
    pendings = storage.transfers_fetch(transfer_ids=pending_ids)
    return [
        TransferSpec(
            id=expiry_void_id(pending_id=pending.id),
            debit_account_id=pending.debit_account_id,
            credit_account_id=pending.credit_account_id,
            amount=pending.amount,
            ledger=pending.ledger,
            code=pending.code,
            flags=TransferFlags.VOID_PENDING,
            pending_id=pending.id,
            user_data="expired",
        )
        for pending in (pendings[pending_id] for pending_id in pending_ids)
    ]
