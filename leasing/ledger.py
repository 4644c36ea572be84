"""How the lease book posts to the double-entry ledger, through `payments.ledger`'s one client.

Accounts (purposes of `payments.ledger.registry`): one receivable per contract (what the customer owes: principal,
then accrued interest and fees), the customer's portal balance, the originating dealer's lease payable, and the
book's interest, service and fee revenue, SEPA clearing and supplier bank accounts. Every transfer id is derived
from the business event, so posting an event twice returns `exists` from the ledger instead of booking it again.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from payments.ledger.client import (
    account_balance_get,
    account_find,
    account_get_or_open,
    house_account_get_or_open,
    transfer_id_derive,
    transfers_post_linked,
)
from payments.ledger.registry import Owner, Purpose, TransferCode
from payments.ledger.types import ResultCode, TransferSpec


def book_account_id(*, purpose: Purpose, currency: str) -> int:
    """One of the book-wide accounts (revenue, fees, clearing, supplier bank)."""
    return house_account_get_or_open(ledger=currency, purpose=purpose).pk


def customer_balance_account_id(*, user_id: int, currency: str) -> int:
    """The customer's portal (prepaid) balance account, which may not go negative; opened on first use."""
    return account_get_or_open(ledger=currency, purpose=Purpose.CUSTOMER_BALANCE, owner=Owner.customer(user_id)).pk


def customer_balance_get(*, user_id: int, currency: str) -> int:
    """The customer's posted portal balance in minor units (0 when they have no account yet)."""
    account = account_find(ledger=currency, purpose=Purpose.CUSTOMER_BALANCE, owner=Owner.customer(user_id))
    return account.balance_posted if account else 0


def receivable_balance_get(*, account_id: int) -> int:
    """What the lessee owes on a receivable: debits minus credits posted, in minor units."""
    return -account_balance_get(account_id=account_id).posted


@dataclass(frozen=True)
class Leg:
    """One movement of a posting: `amount` minor units from `debit` to `credit` for `code`."""

    key: str
    debit: int
    credit: int
    amount: int
    code: TransferCode


def posting_book(*, event: str, legs: Sequence[Leg], currency: str) -> list[ResultCode]:
    """Posts the non-zero legs of one business event as a linked chain (all or nothing).

    `event` names the event uniquely ("collection:41:1"); a second call books nothing and returns `exists` codes.
    Raises `LedgerRefused` with the ledger's code when the chain is refused (e.g. `exceeds_credits`).
    """
    specs = [
        TransferSpec(
            id=transfer_id_derive(context=f"leasing:{event}", key=leg.key),
            debit_account_id=leg.debit,
            credit_account_id=leg.credit,
            amount=leg.amount,
            ledger=currency,
            code=leg.code,
            user_data=event[:64],
        )
        for leg in legs
        if leg.amount > 0
    ]
    return transfers_post_linked(specs=specs, context=event)
