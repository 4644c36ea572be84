"""Machine wallets in the payments ledger: opening accounts, top-ups, session holds, settlement and payments.

Every ledger call of the machines app goes through this module, and from here through `payments.ledger`'s one
client. Transfer ids are derived from business keys, so a retried call finds its first result (`exists`) instead of
moving money twice; a refusal raises `payments.ledger.LedgerRefused` with the ledger's named code.

Transfer codes (`payments.ledger.registry.TransferCode`): MACHINE_TOP_UP, MACHINE_CHARGING (hold, post, release),
MACHINE_PAYMENT (to a service point).
"""

from __future__ import annotations

import uuid

from payments.ledger.client import (
    AccountBalance,
    account_balance_get,
    account_get_or_open,
    house_account_get_or_open,
    transfer_id_derive,
    transfer_post,
)
from payments.ledger.registry import Owner, Purpose, TransferCode
from payments.ledger.types import ResultCode, TransferFlags, TransferSpec


def transfer_id_for(*, key: str) -> uuid.UUID:
    """The ledger id of the transfer named by a business key such as "session:12:hold"."""
    return transfer_id_derive(context="machines", key=key)


def wallet_account_open(*, did: str, currency: str) -> int:
    """A vehicle's wallet (named by its did:key): may never be overdrawn (debits must not exceed credits)."""
    return account_get_or_open(ledger=currency, purpose=Purpose.MACHINE_WALLET, owner=Owner.vehicle(did)).pk


def operator_account_open(*, owner_user_id: int, currency: str) -> int:
    """An operator's earnings account, credited by sessions and machine payments."""
    owner = Owner.station_operator(owner_user_id)
    return account_get_or_open(ledger=currency, purpose=Purpose.STATION_OPERATOR_EARNINGS, owner=owner).pk


def wallet_balance_get(*, account_id: int) -> AccountBalance:
    """Posted, held and available amounts of a wallet or an operator account (minor units)."""
    return account_balance_get(account_id=account_id)


def wallet_top_up(*, account_id: int, amount: int, currency: str, key: str) -> uuid.UUID:
    """Credits `amount` minor units to a wallet from the funding account; `key` makes a retry harmless."""
    transfer_id = transfer_id_for(key=f"top-up:{key}")
    funding = house_account_get_or_open(ledger=currency, purpose=Purpose.MACHINE_TOP_UP_FUNDING)
    transfer_post(
        spec=TransferSpec(
            id=transfer_id,
            debit_account_id=funding.pk,
            credit_account_id=account_id,
            amount=amount,
            ledger=currency,
            code=TransferCode.MACHINE_TOP_UP,
            user_data=f"machine-top-up:{key}"[:64],
        ),
        accept_exists=True,
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
    transfer_post(
        spec=TransferSpec(
            id=hold_id,
            debit_account_id=wallet_account_id,
            credit_account_id=operator_account_id,
            amount=amount,
            ledger=currency,
            code=TransferCode.MACHINE_CHARGING,
            flags=TransferFlags.PENDING,
            timeout_seconds=timeout_seconds,
            user_data=reference[:64],
        ),
        accept_exists=True,
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
    return transfer_post(
        spec=TransferSpec(
            id=resolution_id,
            debit_account_id=0,
            credit_account_id=0,
            amount=charged_amount if is_post else hold_amount,
            ledger=currency,
            code=TransferCode.MACHINE_CHARGING,
            flags=TransferFlags.POST_PENDING if is_post else TransferFlags.VOID_PENDING,
            pending_id=hold_id,
            user_data=reference[:64],
        ),
        accept_exists=True,
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
    transfer_post(
        spec=TransferSpec(
            id=transfer_id,
            debit_account_id=wallet_account_id,
            credit_account_id=operator_account_id,
            amount=amount,
            ledger=currency,
            code=TransferCode.MACHINE_PAYMENT,
            user_data=reference[:64],
        ),
        accept_exists=True,
    )
