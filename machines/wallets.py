"""Machine wallets in the payments ledger: opening accounts, top-ups, session holds, settlement and payments.

Every ledger call of the machines app goes through this module. Transfer ids are derived from business keys with
UUIDv5, so a retried call finds its first result (`exists`) instead of moving money twice.

Business codes of machine transfers: 601 wallet top-up, 602 charging session (hold, post, release), 603 machine
payment to a service point.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass

from django.db import IntegrityError, transaction

from payments.ledger.selectors import account_get
from payments.ledger.services import account_create, transfers_create
from payments.ledger.types import AccountFlags, ResultCode, TransferFlags, TransferSpec
from payments.models import AccountCode

TOP_UP_CODE = 601
CHARGING_CODE = 602
MACHINE_PAYMENT_CODE = 603
TRANSFER_NAMESPACE = uuid.UUID("5b0c2f7e-93d1-4c36-8a0f-4f3d2c9e71a4")
FUNDING_ACCOUNT_NAME = "machines:top-up-funding"
# Results that mean "this exact transfer is already there": a retry, not a failure.
IDEMPOTENT_CODES = frozenset({ResultCode.OK, ResultCode.EXISTS})


class WalletError(Exception):
    """The ledger refused a machine transfer; `code` is the ledger's result code."""

    def __init__(self, code: ResultCode) -> None:
        super().__init__(str(code))
        self.code = code


@dataclass(frozen=True)
class WalletBalance:
    """Minor units: `posted` is settled money, `held` is reserved by open sessions, `available` may be spent."""

    posted: int
    held: int
    available: int
    currency: str


def transfer_id_for(*, key: str) -> uuid.UUID:
    """The ledger id of the transfer named by a business key such as "session:12:hold"."""
    return uuid.uuid5(TRANSFER_NAMESPACE, key)


def wallet_account_open(*, vehicle_reference: str, currency: str) -> int:
    """A vehicle's wallet: may never be overdrawn (debits must not exceed credits)."""
    account = account_create(
        ledger=currency,
        code=AccountCode.MACHINE_WALLET,
        owner_reference=vehicle_reference,
        flags=AccountFlags.DEBITS_MUST_NOT_EXCEED_CREDITS,
    )
    return account.pk


def operator_account_open(*, operator_reference: str, currency: str) -> int:
    """An operator's earnings account, credited by sessions and machine payments."""
    return account_create(ledger=currency, code=AccountCode.OPERATOR, owner_reference=operator_reference).pk


def funding_account_id(*, currency: str) -> int:
    """The cash-at-bank account that top-ups are paid from (card or bank transfer received by the portal)."""
    from machines.models import SystemAccount

    name = f"{FUNDING_ACCOUNT_NAME}:{currency}"
    existing = SystemAccount.objects.filter(name=name).values_list("account_id", flat=True).first()
    if existing is not None:
        return existing
    try:
        with transaction.atomic():
            account = account_create(ledger=currency, code=AccountCode.BANK, owner_reference="machines:funding")
            return SystemAccount.objects.create(name=name, account_id=account.pk).account_id
    except IntegrityError:
        return SystemAccount.objects.get(name=name).account_id


def wallet_balance_get(*, account_id: int) -> WalletBalance:
    """Posted, held and available amounts of a wallet (minor units)."""
    account = account_get(account_id=account_id)
    posted = account.credits_posted - account.debits_posted
    return WalletBalance(
        posted=posted,
        held=account.debits_pending,
        available=posted - account.debits_pending,
        currency=account.ledger,
    )


def _submit(spec: TransferSpec) -> ResultCode:
    (result,) = transfers_create(transfers=[spec])
    if result.code not in IDEMPOTENT_CODES:
        raise WalletError(result.code)
    return result.code


def wallet_top_up(*, account_id: int, amount: int, currency: str, key: str) -> uuid.UUID:
    """Credits `amount` minor units to a wallet from the funding account; `key` makes a retry harmless."""
    transfer_id = transfer_id_for(key=f"top-up:{key}")
    _submit(
        TransferSpec(
            id=transfer_id,
            debit_account_id=funding_account_id(currency=currency),
            credit_account_id=account_id,
            amount=amount,
            ledger=currency,
            code=TOP_UP_CODE,
            user_data=f"machine-top-up:{key}"[:64],
        )
    )
    return transfer_id


def session_hold_place(
    *,
    hold_id: uuid.UUID,
    wallet_account_id: int,
    operator_account_id: int,
    amount: int,
    currency: str,
    timeout_seconds: int,
    reference: str,
) -> None:
    """Reserves `amount` minor units of the wallet for a session (pending transfer towards the operator)."""
    _submit(
        TransferSpec(
            id=hold_id,
            debit_account_id=wallet_account_id,
            credit_account_id=operator_account_id,
            amount=amount,
            ledger=currency,
            code=CHARGING_CODE,
            flags=TransferFlags.PENDING,
            timeout_seconds=timeout_seconds,
            user_data=reference[:64],
        )
    )


def session_hold_resolve(
    *,
    hold_id: uuid.UUID,
    resolution_id: uuid.UUID,
    hold_amount: int,
    charged_amount: int,
    currency: str,
    reference: str,
) -> ResultCode:
    """Posts `charged_amount` of the hold (the rest is released) or voids it all when nothing is owed.

    Returns `ok` the first time and `exists` on a retry with the same resolution id.
    """
    is_post = charged_amount > 0
    return _submit(
        TransferSpec(
            id=resolution_id,
            debit_account_id=0,
            credit_account_id=0,
            amount=charged_amount if is_post else hold_amount,
            ledger=currency,
            code=CHARGING_CODE,
            flags=TransferFlags.POST_PENDING if is_post else TransferFlags.VOID_PENDING,
            pending_id=hold_id,
            user_data=reference[:64],
        )
    )


def machine_payment_transfer(
    *,
    transfer_id: uuid.UUID,
    wallet_account_id: int,
    operator_account_id: int,
    amount: int,
    currency: str,
    reference: str,
) -> None:
    """Moves `amount` minor units from a wallet to an operator in one posted transfer."""
    _submit(
        TransferSpec(
            id=transfer_id,
            debit_account_id=wallet_account_id,
            credit_account_id=operator_account_id,
            amount=amount,
            ledger=currency,
            code=MACHINE_PAYMENT_CODE,
            user_data=reference[:64],
        )
    )
