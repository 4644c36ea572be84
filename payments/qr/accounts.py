"""The ledger accounts QR payment codes move money between, and the business reason codes of their transfers.

Chart used here (one account per currency):

    acquirer:sandbox  CLEARING          card money the acquirer owes the portal (debited when a card order is paid)
    bank:sepa         BANK              the portal's bank account (debited when a SEPA order is paid)
    qr_code:<hex id>  CUSTOMER_PREPAID  one per code, must not go negative
    dealer:<id>       CLEARING          captured redemptions waiting for settlement, must not go negative
    dealer:<id>       MERCHANT_PAYABLE  what the portal owes the dealer once settled (payouts)
"""

from __future__ import annotations

import enum
import hashlib

from django.db import connection, transaction

from payments.ledger.services import account_create
from payments.ledger.types import AccountFlags
from payments.models import Account, AccountCode


class TransferReason(enum.IntEnum):
    """`Transfer.code` values of QR payment code transfers."""

    QR_PURCHASE = 1
    QR_REDEMPTION = 2
    QR_SETTLEMENT = 3
    QR_REFUND = 4
    QR_BALANCE_MOVE = 5
    QR_INVOICE = 6


CARD_ACQUIRER_REFERENCE = "acquirer:sandbox"
SEPA_BANK_REFERENCE = "bank:sepa"


def dealer_reference(*, dealer_organisation_id: int) -> str:
    return f"dealer:{dealer_organisation_id}"


def _advisory_lock(*, key: str) -> None:
    """Serialises creation of one account on PostgreSQL (SQLite's IMMEDIATE transactions serialise all writers)."""
    if connection.vendor == "postgresql":
        number = int.from_bytes(hashlib.sha256(key.encode()).digest()[:8], "big", signed=True)
        with connection.cursor() as cursor:
            cursor.execute("SELECT pg_advisory_xact_lock(%s)", [number])


def ledger_account_get_or_create(
    *, code: AccountCode, owner_reference: str, currency: str, flags: AccountFlags = AccountFlags.NONE
) -> Account:
    """The one account of `code` for `owner_reference` in `currency`, opened on first use.

    Accounts are never deleted, so an existing one is read without a lock (one query on every redemption and
    capture); only opening one takes the advisory lock, and looks again under it."""
    account = Account.objects.filter(code=code, owner_reference=owner_reference, ledger=currency).first()
    return (
        account
        if account is not None
        else _ledger_account_open(code=code, owner_reference=owner_reference, currency=currency, flags=flags)
    )


@transaction.atomic
def _ledger_account_open(*, code: AccountCode, owner_reference: str, currency: str, flags: AccountFlags) -> Account:
    _advisory_lock(key=f"{code}:{owner_reference}:{currency}")
    account = Account.objects.filter(code=code, owner_reference=owner_reference, ledger=currency).first()
    if account is None:
        account = account_create(ledger=currency, code=code, owner_reference=owner_reference, flags=flags)
    return account


def card_acquirer_account(*, currency: str) -> Account:
    return ledger_account_get_or_create(
        code=AccountCode.CLEARING, owner_reference=CARD_ACQUIRER_REFERENCE, currency=currency
    )


def sepa_bank_account(*, currency: str) -> Account:
    return ledger_account_get_or_create(code=AccountCode.BANK, owner_reference=SEPA_BANK_REFERENCE, currency=currency)


def dealer_clearing_account(*, dealer_organisation_id: int, currency: str) -> Account:
    return ledger_account_get_or_create(
        code=AccountCode.CLEARING,
        owner_reference=dealer_reference(dealer_organisation_id=dealer_organisation_id),
        currency=currency,
        flags=AccountFlags.DEBITS_MUST_NOT_EXCEED_CREDITS,
    )


def dealer_payable_account(*, dealer_organisation_id: int, currency: str) -> Account:
    return ledger_account_get_or_create(
        code=AccountCode.MERCHANT_PAYABLE,
        owner_reference=dealer_reference(dealer_organisation_id=dealer_organisation_id),
        currency=currency,
    )
