"""Values exchanged with the ledger: transfer specifications, flags, and the named result of every transfer.

The shapes follow TigerBeetle's `create_transfers`: a batch of specifications goes in, one result per
specification comes out, in order. A refusal is a value (`ResultCode`), never an exception, and changes nothing.
"""

from __future__ import annotations

import enum
import uuid
from dataclasses import dataclass

MAX_BATCH_SIZE = 8000
# Largest value of a BigInteger column: no amount or running sum may pass it.
MAX_AMOUNT = 2**63 - 1
USER_DATA_MAX_LENGTH = 64


class TransferFlags(enum.IntFlag):
    """Bits of a transfer's `flags`, numbered as in TigerBeetle and stored as one integer column."""

    NONE = 0
    LINKED = 1
    PENDING = 2
    POST_PENDING = 4
    VOID_PENDING = 8


class AccountFlags(enum.Flag):
    """Account options: a balance that must not go negative on one side, or an account closed to new transfers."""

    NONE = 0
    DEBITS_MUST_NOT_EXCEED_CREDITS = enum.auto()
    CREDITS_MUST_NOT_EXCEED_DEBITS = enum.auto()
    CLOSED = enum.auto()


class ResultCode(enum.StrEnum):
    """The named outcome of one transfer. Only `OK` created a transfer; every other code changed nothing."""

    OK = "ok"
    LINKED_EVENT_FAILED = "linked_event_failed"
    LINKED_EVENT_CHAIN_OPEN = "linked_event_chain_open"
    BATCH_TOO_LARGE = "batch_too_large"
    ID_MUST_NOT_BE_ZERO = "id_must_not_be_zero"
    FLAGS_ARE_MUTUALLY_EXCLUSIVE = "flags_are_mutually_exclusive"
    FLAGS_ARE_UNKNOWN = "flags_are_unknown"
    DEBIT_ACCOUNT_ID_MUST_NOT_BE_ZERO = "debit_account_id_must_not_be_zero"
    CREDIT_ACCOUNT_ID_MUST_NOT_BE_ZERO = "credit_account_id_must_not_be_zero"
    ACCOUNTS_MUST_BE_DIFFERENT = "accounts_must_be_different"
    PENDING_ID_MUST_BE_ZERO = "pending_id_must_be_zero"
    PENDING_ID_MUST_NOT_BE_ZERO = "pending_id_must_not_be_zero"
    PENDING_ID_MUST_BE_DIFFERENT = "pending_id_must_be_different"
    TIMEOUT_RESERVED_FOR_PENDING_TRANSFER = "timeout_reserved_for_pending_transfer"
    TIMEOUT_MUST_NOT_BE_NEGATIVE = "timeout_must_not_be_negative"
    AMOUNT_MUST_NOT_BE_ZERO = "amount_must_not_be_zero"
    AMOUNT_MUST_NOT_BE_NEGATIVE = "amount_must_not_be_negative"
    AMOUNT_TOO_LARGE = "amount_too_large"
    LEDGER_MUST_NOT_BE_EMPTY = "ledger_must_not_be_empty"
    CODE_MUST_NOT_BE_ZERO = "code_must_not_be_zero"
    USER_DATA_TOO_LONG = "user_data_too_long"
    DEBIT_ACCOUNT_NOT_FOUND = "debit_account_not_found"
    CREDIT_ACCOUNT_NOT_FOUND = "credit_account_not_found"
    ACCOUNTS_MUST_HAVE_THE_SAME_LEDGER = "accounts_must_have_the_same_ledger"
    LEDGER_MISMATCH = "ledger_mismatch"
    DEBIT_ACCOUNT_CLOSED = "debit_account_closed"
    CREDIT_ACCOUNT_CLOSED = "credit_account_closed"
    PENDING_TRANSFER_NOT_FOUND = "pending_transfer_not_found"
    PENDING_TRANSFER_NOT_PENDING = "pending_transfer_not_pending"
    PENDING_TRANSFER_HAS_DIFFERENT_DEBIT_ACCOUNT_ID = "pending_transfer_has_different_debit_account_id"
    PENDING_TRANSFER_HAS_DIFFERENT_CREDIT_ACCOUNT_ID = "pending_transfer_has_different_credit_account_id"
    PENDING_TRANSFER_HAS_DIFFERENT_LEDGER = "pending_transfer_has_different_ledger"
    PENDING_TRANSFER_HAS_DIFFERENT_CODE = "pending_transfer_has_different_code"
    PENDING_TRANSFER_HAS_DIFFERENT_AMOUNT = "pending_transfer_has_different_amount"
    EXCEEDS_PENDING_TRANSFER_AMOUNT = "exceeds_pending_transfer_amount"
    PENDING_TRANSFER_ALREADY_POSTED = "pending_transfer_already_posted"
    PENDING_TRANSFER_ALREADY_VOIDED = "pending_transfer_already_voided"
    PENDING_TRANSFER_EXPIRED = "pending_transfer_expired"
    EXISTS_WITH_DIFFERENT_FLAGS = "exists_with_different_flags"
    EXISTS_WITH_DIFFERENT_PENDING_ID = "exists_with_different_pending_id"
    EXISTS_WITH_DIFFERENT_TIMEOUT = "exists_with_different_timeout"
    EXISTS_WITH_DIFFERENT_DEBIT_ACCOUNT_ID = "exists_with_different_debit_account_id"
    EXISTS_WITH_DIFFERENT_CREDIT_ACCOUNT_ID = "exists_with_different_credit_account_id"
    EXISTS_WITH_DIFFERENT_AMOUNT = "exists_with_different_amount"
    EXISTS_WITH_DIFFERENT_USER_DATA = "exists_with_different_user_data"
    EXISTS_WITH_DIFFERENT_LEDGER = "exists_with_different_ledger"
    EXISTS_WITH_DIFFERENT_CODE = "exists_with_different_code"
    EXISTS = "exists"
    OVERFLOWS_DEBITS = "overflows_debits"
    OVERFLOWS_CREDITS = "overflows_credits"
    EXCEEDS_CREDITS = "exceeds_credits"
    EXCEEDS_DEBITS = "exceeds_debits"


@dataclass(frozen=True, slots=True)
class TransferSpec:
    """One requested transfer. Amounts are integer minor units of `ledger` (an ISO 4217 code such as "EUR").

    For POST_PENDING / VOID_PENDING, `pending_id` names the pending transfer; the debit and credit account ids may be 0
    (taken from the pending transfer) or must equal its accounts. A post may be partial (amount <= pending amount); a
    void must carry the pending amount.
    """

    id: uuid.UUID
    debit_account_id: int
    credit_account_id: int
    amount: int
    ledger: str
    code: int
    flags: TransferFlags = TransferFlags.NONE
    pending_id: uuid.UUID | None = None
    timeout_seconds: int | None = None
    user_data: str = ""


@dataclass(frozen=True, slots=True)
class TransferResult:
    """The outcome of one `TransferSpec`: its id and the named code (`ResultCode.OK` when the transfer was created)."""

    id: uuid.UUID
    code: ResultCode

    @property
    def is_ok(self) -> bool:
        return self.code is ResultCode.OK
