"""The ledger's rules in pure Python: evaluate a batch of transfer specifications against locked account state.

No database access happens here. `services.transfers_create` loads and locks the rows, calls `batch_evaluate`, and
inserts the accepted transfers; the database triggers then apply them to the accounts. Evaluation is sequential, as
in TigerBeetle: each transfer sees the effect of the ones accepted before it in the same batch.
"""

from __future__ import annotations

import datetime
import uuid
from collections.abc import Sequence
from dataclasses import dataclass, field

from payments.ledger.types import MAX_AMOUNT, USER_DATA_MAX_LENGTH, ResultCode, TransferFlags, TransferSpec

PHASE = TransferFlags.PENDING | TransferFlags.POST_PENDING | TransferFlags.VOID_PENDING
RESOLUTION = TransferFlags.POST_PENDING | TransferFlags.VOID_PENDING
KNOWN_FLAGS = TransferFlags.LINKED | PHASE
ONE_MICROSECOND = datetime.timedelta(microseconds=1)


@dataclass(slots=True)
class AccountState:
    """A locked account's ledger, flags and running sums (minor units), as evaluation changes them."""

    id: int
    ledger: str
    debits_must_not_exceed_credits: bool
    credits_must_not_exceed_debits: bool
    is_closed: bool
    debits_pending: int
    debits_posted: int
    credits_pending: int
    credits_posted: int

    def sums(self) -> tuple[int, int, int, int]:
        return (self.debits_pending, self.debits_posted, self.credits_pending, self.credits_posted)

    def restore(self, sums: tuple[int, int, int, int]) -> None:
        self.debits_pending, self.debits_posted, self.credits_pending, self.credits_posted = sums


@dataclass(frozen=True, slots=True)
class StoredTransfer:
    """A transfer as stored: one already in the database, or one accepted earlier in the batch being evaluated."""

    id: uuid.UUID
    debit_account_id: int
    credit_account_id: int
    amount: int
    ledger: str
    code: int
    flags: int
    pending_id: uuid.UUID | None
    timeout_seconds: int | None
    expires_at: datetime.datetime | None
    user_data: str
    created_at: datetime.datetime


@dataclass(slots=True)
class BatchState:
    """Everything evaluation reads: locked accounts, known transfers by id, and how each pending transfer resolved.

    `resolutions` maps a pending transfer id to the flag (POST_PENDING or VOID_PENDING) of the transfer resolving it.
    With `may_void_expired`, voids of expired pending transfers are accepted (the expiry service only).
    """

    now: datetime.datetime
    accounts: dict[int, AccountState]
    transfers: dict[uuid.UUID, StoredTransfer]
    resolutions: dict[uuid.UUID, int]
    may_void_expired: bool = False
    accepted: list[StoredTransfer] = field(default_factory=list)


def batch_evaluate(*, specs: Sequence[TransferSpec], state: BatchState) -> list[ResultCode]:
    """One code per spec, in order; accepted transfers are appended to `state.accepted`.

    A chain of LINKED specs (ending at the first spec without LINKED) is accepted or refused as one: the failing member
    keeps its own code, the others get `linked_event_failed`, and the state is rolled back to before the chain.
    """
    codes: list[ResultCode] = []
    chain_start: int | None = None
    undo_log: list[tuple[StoredTransfer, list[tuple[AccountState, tuple[int, int, int, int]]]]] = []
    chain_failed = False
    last = len(specs) - 1
    for index, spec in enumerate(specs):
        is_linked = bool(spec.flags & TransferFlags.LINKED)
        if chain_start is None and is_linked:
            chain_start, chain_failed, undo_log = index, False, []
        if chain_failed:
            code = ResultCode.LINKED_EVENT_FAILED
        elif is_linked and index == last:
            code = ResultCode.LINKED_EVENT_CHAIN_OPEN
        else:
            code = _evaluate_one(spec=spec, state=state, created_at=state.now + index * ONE_MICROSECOND)
            if code is ResultCode.OK and chain_start is not None:
                undo_log.append(_apply_with_undo(state=state))
        codes.append(code)
        if chain_start is not None and code is not ResultCode.OK and not chain_failed:
            chain_failed = True
            _chain_rollback(state=state, undo_log=undo_log)
            for earlier in range(chain_start, index):
                codes[earlier] = ResultCode.LINKED_EVENT_FAILED
        elif chain_start is None and code is ResultCode.OK:
            _apply(state=state, transfer=state.accepted[-1])
        if not is_linked:
            chain_start, chain_failed = None, False
    return codes


def _apply_with_undo(
    *, state: BatchState
) -> tuple[StoredTransfer, list[tuple[AccountState, tuple[int, int, int, int]]]]:
    transfer = state.accepted[-1]
    debit, credit = state.accounts[transfer.debit_account_id], state.accounts[transfer.credit_account_id]
    saved = [(debit, debit.sums()), (credit, credit.sums())]
    _apply(state=state, transfer=transfer)
    return transfer, saved


def _chain_rollback(
    *, state: BatchState, undo_log: list[tuple[StoredTransfer, list[tuple[AccountState, tuple[int, int, int, int]]]]]
) -> None:
    """Undoes the accepted members of a failed chain, newest first."""
    for transfer, saved in reversed(undo_log):
        for account, sums in reversed(saved):
            account.restore(sums)
        del state.transfers[transfer.id]
        if transfer.pending_id is not None:
            del state.resolutions[transfer.pending_id]
        state.accepted.pop()
    undo_log.clear()


def _apply(*, state: BatchState, transfer: StoredTransfer) -> None:
    """Adds an accepted transfer to its two accounts, exactly as the database trigger will."""
    debit, credit = state.accounts[transfer.debit_account_id], state.accounts[transfer.credit_account_id]
    amount = transfer.amount
    if transfer.flags & TransferFlags.PENDING:
        debit.debits_pending += amount
        credit.credits_pending += amount
    elif transfer.flags & RESOLUTION:
        pending = state.transfers[transfer.pending_id]  # type: ignore[index]
        debit.debits_pending -= pending.amount
        credit.credits_pending -= pending.amount
        if transfer.flags & TransferFlags.POST_PENDING:
            debit.debits_posted += amount
            credit.credits_posted += amount
    else:
        debit.debits_posted += amount
        credit.credits_posted += amount


def _evaluate_one(*, spec: TransferSpec, state: BatchState, created_at: datetime.datetime) -> ResultCode:
    """Checks one spec; on success records the transfer in `state` (not yet applied to balances)."""
    code = check_fields(spec)
    if code is not ResultCode.OK:
        return code
    existing = state.transfers.get(spec.id)
    if existing is not None:
        return _exists_code(spec=spec, existing=existing)
    if spec.flags & RESOLUTION:
        code, transfer = _check_resolution(spec=spec, state=state, created_at=created_at)
    else:
        code, transfer = _check_new(spec=spec, state=state, created_at=created_at)
    if transfer is not None:
        state.transfers[transfer.id] = transfer
        if transfer.pending_id is not None:
            state.resolutions[transfer.pending_id] = transfer.flags & RESOLUTION
        state.accepted.append(transfer)
    return code


def check_fields(spec: TransferSpec) -> ResultCode:
    """Checks that need no stored state, in TigerBeetle's order."""
    flags = TransferFlags(int(spec.flags)) if int(spec.flags) & ~int(KNOWN_FLAGS) == 0 else None
    if spec.id.int == 0:
        return ResultCode.ID_MUST_NOT_BE_ZERO
    if flags is None:
        return ResultCode.FLAGS_ARE_UNKNOWN
    if (flags & PHASE) not in (TransferFlags.NONE, TransferFlags.PENDING, *RESOLUTION):
        return ResultCode.FLAGS_ARE_MUTUALLY_EXCLUSIVE
    is_resolution = bool(flags & RESOLUTION)
    if is_resolution and spec.pending_id is None:
        return ResultCode.PENDING_ID_MUST_NOT_BE_ZERO
    if is_resolution and spec.pending_id == spec.id:
        return ResultCode.PENDING_ID_MUST_BE_DIFFERENT
    if not is_resolution and spec.pending_id is not None:
        return ResultCode.PENDING_ID_MUST_BE_ZERO
    if spec.timeout_seconds is not None and not flags & TransferFlags.PENDING:
        return ResultCode.TIMEOUT_RESERVED_FOR_PENDING_TRANSFER
    if spec.timeout_seconds is not None and spec.timeout_seconds < 0:
        return ResultCode.TIMEOUT_MUST_NOT_BE_NEGATIVE
    return _check_amount_and_accounts(spec=spec, is_resolution=is_resolution)


def _check_amount_and_accounts(*, spec: TransferSpec, is_resolution: bool) -> ResultCode:
    if spec.amount < 0:
        return ResultCode.AMOUNT_MUST_NOT_BE_NEGATIVE
    if spec.amount == 0:
        return ResultCode.AMOUNT_MUST_NOT_BE_ZERO
    if spec.amount > MAX_AMOUNT:
        return ResultCode.AMOUNT_TOO_LARGE
    if len(spec.user_data) > USER_DATA_MAX_LENGTH:
        return ResultCode.USER_DATA_TOO_LONG
    if not is_resolution:
        if spec.debit_account_id <= 0:
            return ResultCode.DEBIT_ACCOUNT_ID_MUST_NOT_BE_ZERO
        if spec.credit_account_id <= 0:
            return ResultCode.CREDIT_ACCOUNT_ID_MUST_NOT_BE_ZERO
    if spec.debit_account_id and spec.debit_account_id == spec.credit_account_id:
        return ResultCode.ACCOUNTS_MUST_BE_DIFFERENT
    if not is_resolution and not spec.ledger:
        return ResultCode.LEDGER_MUST_NOT_BE_EMPTY
    if not is_resolution and spec.code <= 0:
        return ResultCode.CODE_MUST_NOT_BE_ZERO
    return ResultCode.OK


def _exists_code(*, spec: TransferSpec, existing: StoredTransfer) -> ResultCode:
    """`exists` for an identical resubmission, else the first differing field (TigerBeetle's order).

    For a post or void, zero accounts, an empty ledger and a zero code mean "as the pending transfer" and match.
    """
    is_resolution = bool(spec.flags & RESOLUTION)
    comparisons = (
        (int(spec.flags) == existing.flags, ResultCode.EXISTS_WITH_DIFFERENT_FLAGS),
        (spec.pending_id == existing.pending_id, ResultCode.EXISTS_WITH_DIFFERENT_PENDING_ID),
        (spec.timeout_seconds == existing.timeout_seconds, ResultCode.EXISTS_WITH_DIFFERENT_TIMEOUT),
        (
            (is_resolution and spec.debit_account_id == 0) or spec.debit_account_id == existing.debit_account_id,
            ResultCode.EXISTS_WITH_DIFFERENT_DEBIT_ACCOUNT_ID,
        ),
        (
            (is_resolution and spec.credit_account_id == 0) or spec.credit_account_id == existing.credit_account_id,
            ResultCode.EXISTS_WITH_DIFFERENT_CREDIT_ACCOUNT_ID,
        ),
        (spec.amount == existing.amount, ResultCode.EXISTS_WITH_DIFFERENT_AMOUNT),
        (spec.user_data == existing.user_data, ResultCode.EXISTS_WITH_DIFFERENT_USER_DATA),
        (
            (is_resolution and not spec.ledger) or spec.ledger == existing.ledger,
            ResultCode.EXISTS_WITH_DIFFERENT_LEDGER,
        ),
        ((is_resolution and spec.code == 0) or spec.code == existing.code, ResultCode.EXISTS_WITH_DIFFERENT_CODE),
    )
    return next((code for is_same, code in comparisons if not is_same), ResultCode.EXISTS)


def _check_new(
    *, spec: TransferSpec, state: BatchState, created_at: datetime.datetime
) -> tuple[ResultCode, StoredTransfer | None]:
    """A single-phase or pending transfer: accounts, ledgers, closed flags, overflow, then the balance flags."""
    debit = state.accounts.get(spec.debit_account_id)
    if debit is None:
        return ResultCode.DEBIT_ACCOUNT_NOT_FOUND, None
    credit = state.accounts.get(spec.credit_account_id)
    if credit is None:
        return ResultCode.CREDIT_ACCOUNT_NOT_FOUND, None
    if debit.ledger != credit.ledger:
        return ResultCode.ACCOUNTS_MUST_HAVE_THE_SAME_LEDGER, None
    if spec.ledger != debit.ledger:
        return ResultCode.LEDGER_MISMATCH, None
    if debit.is_closed:
        return ResultCode.DEBIT_ACCOUNT_CLOSED, None
    if credit.is_closed:
        return ResultCode.CREDIT_ACCOUNT_CLOSED, None
    amount = spec.amount
    if max(debit.debits_pending, debit.debits_posted) + amount > MAX_AMOUNT:
        return ResultCode.OVERFLOWS_DEBITS, None
    if max(credit.credits_pending, credit.credits_posted) + amount > MAX_AMOUNT:
        return ResultCode.OVERFLOWS_CREDITS, None
    if (
        debit.debits_must_not_exceed_credits
        and debit.debits_pending + debit.debits_posted + amount > debit.credits_posted
    ):
        return ResultCode.EXCEEDS_CREDITS, None
    if (
        credit.credits_must_not_exceed_debits
        and credit.credits_pending + credit.credits_posted + amount > credit.debits_posted
    ):
        return ResultCode.EXCEEDS_DEBITS, None
    expires_at = None
    if spec.timeout_seconds is not None:
        expires_at = created_at + datetime.timedelta(seconds=spec.timeout_seconds)
    transfer = StoredTransfer(
        id=spec.id,
        debit_account_id=debit.id,
        credit_account_id=credit.id,
        amount=amount,
        ledger=spec.ledger,
        code=spec.code,
        flags=int(spec.flags),
        pending_id=None,
        timeout_seconds=spec.timeout_seconds,
        expires_at=expires_at,
        user_data=spec.user_data,
        created_at=created_at,
    )
    return ResultCode.OK, transfer


def _check_resolution(
    *, spec: TransferSpec, state: BatchState, created_at: datetime.datetime
) -> tuple[ResultCode, StoredTransfer | None]:
    """A post or void: it must match its pending transfer, which must still be open and not expired."""
    pending = state.transfers.get(spec.pending_id)  # type: ignore[arg-type]
    code = _resolution_code(spec=spec, pending=pending, state=state)
    if code is not ResultCode.OK or pending is None:
        return code, None
    transfer = StoredTransfer(
        id=spec.id,
        debit_account_id=pending.debit_account_id,
        credit_account_id=pending.credit_account_id,
        amount=spec.amount,
        ledger=pending.ledger,
        code=spec.code or pending.code,
        flags=int(spec.flags),
        pending_id=pending.id,
        timeout_seconds=None,
        expires_at=None,
        user_data=spec.user_data,
        created_at=created_at,
    )
    return ResultCode.OK, transfer


def _resolution_code(*, spec: TransferSpec, pending: StoredTransfer | None, state: BatchState) -> ResultCode:
    if pending is None:
        return ResultCode.PENDING_TRANSFER_NOT_FOUND
    if not pending.flags & TransferFlags.PENDING:
        return ResultCode.PENDING_TRANSFER_NOT_PENDING
    if spec.debit_account_id and spec.debit_account_id != pending.debit_account_id:
        return ResultCode.PENDING_TRANSFER_HAS_DIFFERENT_DEBIT_ACCOUNT_ID
    if spec.credit_account_id and spec.credit_account_id != pending.credit_account_id:
        return ResultCode.PENDING_TRANSFER_HAS_DIFFERENT_CREDIT_ACCOUNT_ID
    if spec.ledger and spec.ledger != pending.ledger:
        return ResultCode.PENDING_TRANSFER_HAS_DIFFERENT_LEDGER
    if spec.code and spec.code != pending.code:
        return ResultCode.PENDING_TRANSFER_HAS_DIFFERENT_CODE
    if spec.amount > pending.amount:
        return ResultCode.EXCEEDS_PENDING_TRANSFER_AMOUNT
    is_void = bool(spec.flags & TransferFlags.VOID_PENDING)
    if is_void and spec.amount != pending.amount:
        return ResultCode.PENDING_TRANSFER_HAS_DIFFERENT_AMOUNT
    resolution = state.resolutions.get(pending.id)
    if resolution == TransferFlags.POST_PENDING:
        return ResultCode.PENDING_TRANSFER_ALREADY_POSTED
    if resolution == TransferFlags.VOID_PENDING:
        return ResultCode.PENDING_TRANSFER_ALREADY_VOIDED
    is_expired = pending.expires_at is not None and pending.expires_at <= state.now
    if is_expired and not (is_void and state.may_void_expired):
        return ResultCode.PENDING_TRANSFER_EXPIRED
    if not is_void:
        if state.accounts[pending.debit_account_id].is_closed:
            return ResultCode.DEBIT_ACCOUNT_CLOSED
        if state.accounts[pending.credit_account_id].is_closed:
            return ResultCode.CREDIT_ACCOUNT_CLOSED
    return ResultCode.OK
