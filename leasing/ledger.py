"""How the lease book posts to the double-entry ledger (payments.ledger services only).

Accounts: one receivable per contract (what the customer owes: principal, then accrued interest and fees), the
customer's portal balance, the originating dealer's payable, and the book's interest, service and fee revenue and
SEPA clearing accounts. Every transfer id is derived (uuid5) from the business event, so posting an event twice
returns `exists` from the ledger instead of booking it again.
"""

from __future__ import annotations

import enum
import uuid
from collections.abc import Sequence
from dataclasses import dataclass

from django.db import IntegrityError, transaction

from leasing.errors import LedgerRefusedError
from leasing.models import LeaseLedgerAccount
from payments.ledger.services import account_create, transfers_create
from payments.ledger.types import AccountFlags, ResultCode, TransferFlags, TransferSpec
from payments.models import Account, AccountCode

LEASING_NAMESPACE = uuid.UUID("2d7f4b0e-91c3-4a6e-8f52-6b1e0c9d3a77")
BOOKED = frozenset({ResultCode.OK, ResultCode.EXISTS})


class LeaseTransferCode(enum.IntEnum):
    """Business reason codes of lease transfers in the ledger."""

    DEALER_PAYOUT = 71
    INSTALMENT_PAYMENT = 72
    INTEREST_ACCRUAL = 73
    SERVICE_CHARGE = 74
    FEE_CHARGE = 75
    DIRECT_DEBIT_RETURN = 76
    SETTLEMENT_CREDIT = 77


class Purpose(enum.StrEnum):
    RECEIVABLE = "receivable"
    DEALER_PAYABLE = "dealer_payable"
    INTEREST_REVENUE = "interest_revenue"
    SERVICE_REVENUE = "service_revenue"
    FEE_REVENUE = "fee_revenue"
    SEPA_CLEARING = "sepa_clearing"
    SUPPLIER_BANK = "supplier_bank"


_ACCOUNT_CODES = {
    Purpose.RECEIVABLE: AccountCode.LEASE_RECEIVABLE,
    Purpose.DEALER_PAYABLE: AccountCode.MERCHANT_PAYABLE,
    Purpose.INTEREST_REVENUE: AccountCode.REVENUE,
    Purpose.SERVICE_REVENUE: AccountCode.REVENUE,
    Purpose.FEE_REVENUE: AccountCode.FEES,
    Purpose.SEPA_CLEARING: AccountCode.CLEARING,
    Purpose.SUPPLIER_BANK: AccountCode.BANK,
}


def lease_account_id(*, purpose: Purpose, owner_reference: str, currency: str) -> int:
    """The ledger account id for `purpose` of `owner_reference` ("lease:12", "dealer:3", "book:leasing"), opened on
    first use. Concurrent first uses converge on one account through the registry's unique constraint."""
    found = LeaseLedgerAccount.objects.filter(purpose=purpose, owner_reference=owner_reference, currency=currency)
    existing = found.values_list("account_id", flat=True).first()
    if existing is not None:
        return existing
    try:
        with transaction.atomic():
            account = account_create(ledger=currency, code=_ACCOUNT_CODES[purpose], owner_reference=owner_reference)
            LeaseLedgerAccount.objects.create(
                purpose=purpose, owner_reference=owner_reference, currency=currency, account_id=account.pk
            )
            return account.pk
    except IntegrityError:
        return found.values_list("account_id", flat=True).get()


def book_account_id(*, purpose: Purpose, currency: str) -> int:
    """One of the book-wide accounts (revenue, fees, clearing, supplier bank)."""
    return lease_account_id(purpose=purpose, owner_reference="book:leasing", currency=currency)


def customer_balance_account_id(*, user_id: int, currency: str) -> int:
    """The customer's portal (prepaid) balance account: the existing one, or a new one that may not go negative."""
    reference = f"user:{user_id}"
    existing = (
        Account.objects.filter(code=AccountCode.CUSTOMER_PREPAID, owner_reference=reference, ledger=currency)
        .order_by("id")
        .values_list("id", flat=True)
        .first()
    )
    if existing is not None:
        return existing
    account = account_create(
        ledger=currency,
        code=AccountCode.CUSTOMER_PREPAID,
        owner_reference=reference,
        flags=AccountFlags.DEBITS_MUST_NOT_EXCEED_CREDITS,
    )
    return account.pk


def customer_balance_get(*, user_id: int, currency: str) -> int:
    """The customer's posted portal balance in minor units (0 when they have no account yet)."""
    account = (
        Account.objects.filter(code=AccountCode.CUSTOMER_PREPAID, owner_reference=f"user:{user_id}", ledger=currency)
        .order_by("id")
        .first()
    )
    return account.balance_posted if account else 0


def account_balance_get(*, account_id: int) -> int:
    """Debits minus credits posted on an asset-like account (a receivable), in minor units."""
    account = Account.objects.get(pk=account_id)
    return account.debits_posted - account.credits_posted


@dataclass(frozen=True)
class Leg:
    """One movement of a posting: `amount` minor units from `debit` to `credit` for `code`."""

    key: str
    debit: int
    credit: int
    amount: int
    code: LeaseTransferCode


def transfer_id(*, event: str, key: str) -> uuid.UUID:
    return uuid.uuid5(LEASING_NAMESPACE, f"{event}:{key}")


def posting_book(*, event: str, legs: Sequence[Leg], currency: str) -> list[ResultCode]:
    """Posts the non-zero legs of one business event as a linked chain (all or nothing).

    `event` names the event uniquely ("collection:41:1"); a second call books nothing and returns `exists` codes.
    Raises `LedgerRefusedError` with the ledger's code when the chain is refused (e.g. `exceeds_credits`).
    """
    legs = [leg for leg in legs if leg.amount > 0]
    specs = [
        TransferSpec(
            id=transfer_id(event=event, key=leg.key),
            debit_account_id=leg.debit,
            credit_account_id=leg.credit,
            amount=leg.amount,
            ledger=currency,
            code=int(leg.code),
            flags=TransferFlags.LINKED if index < len(legs) - 1 else TransferFlags.NONE,
            user_data=event[:64],
        )
        for index, leg in enumerate(legs)
    ]
    codes = [result.code for result in transfers_create(transfers=specs)]
    refused = [code for code in codes if code not in BOOKED and code is not ResultCode.LINKED_EVENT_FAILED]
    if refused:
        raise LedgerRefusedError(f"The ledger refused {event}: {refused[0]}.", code=f"ledger_{refused[0]}")
    if ResultCode.LINKED_EVENT_FAILED in codes:
        raise LedgerRefusedError(f"The ledger refused {event}.", code="ledger_linked_event_failed")
    return codes
