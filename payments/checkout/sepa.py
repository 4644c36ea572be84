"""SEPA credit transfer checkout: the GiroCode for an order, and the CAMT.053 import that matches payments to orders.

An entry whose RF creditor reference names an unpaid SEPA order and whose amount equals the order's pays it (the code
is issued from the bank account). Everything else waits in the review queue: less than the order (`partial`), more
(`overpaid`), an order already paid (`already_paid`) or no order at all (`unknown`). Nothing is dropped.
"""

from __future__ import annotations

import hashlib
import logging
from dataclasses import dataclass

from django.conf import settings
from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext_lazy

from accounts.models import User
from core.errors import ConflictError
from core.money import Money
from payments.checkout.camt import CamtEntry, camt053_parse
from payments.checkout.services import checkout_order_pay
from payments.codes.epc import CreditTransfer, epc_payload_build
from payments.ledger.client import house_account_get_or_open
from payments.ledger.registry import Purpose
from payments.models import (
    BankStatement,
    BankStatementEntry,
    BankStatementEntryStatus,
    CheckoutOrder,
    CheckoutOrderStatus,
    CheckoutProvider,
)
from payments.models.checkout import REVIEW_STATUSES

logger = logging.getLogger(__name__)


def sepa_order_payload(*, order: CheckoutOrder) -> str:
    """The EPC069-12 payload (GiroCode) asking for the order's amount with its RF creditor reference."""
    return epc_payload_build(
        CreditTransfer(
            beneficiary_name=settings.PAYMENTS_SEPA_BENEFICIARY_NAME,
            iban=settings.PAYMENTS_SEPA_IBAN,
            bic=settings.PAYMENTS_SEPA_BIC or None,
            amount=Money(order.amount, order.currency),
            creditor_reference=order.creditor_reference,
        )
    )


@dataclass(frozen=True, slots=True)
class StatementImportResult:
    statement: BankStatement
    matched: int
    to_review: int
    duplicates: int


@transaction.atomic
def bank_statement_import(*, data: bytes, user: User) -> StatementImportResult:
    """Imports a CAMT.053 file once (by SHA-256); entries already imported from another file are skipped."""
    parsed = camt053_parse(data=data)
    digest = hashlib.sha256(data).hexdigest()
    if BankStatement.objects.filter(file_sha256=digest).exists():
        raise ConflictError(gettext_lazy("This statement was imported before."), code="statement_already_imported")
    statement = BankStatement.objects.create(
        message_id=parsed.message_id, statement_id=parsed.statement_id, file_sha256=digest, imported_by=user
    )
    matched = to_review = duplicates = 0
    for entry in parsed.entries:
        if BankStatementEntry.objects.filter(entry_reference=entry.entry_reference).exists():
            duplicates += 1
            continue
        status = _entry_book(statement=statement, entry=entry)
        matched += status == BankStatementEntryStatus.MATCHED
        to_review += status in REVIEW_STATUSES
    logger.info("statement %s: %d matched, %d to review, %d duplicates", digest[:12], matched, to_review, duplicates)
    return StatementImportResult(statement=statement, matched=matched, to_review=to_review, duplicates=duplicates)


def _entry_book(*, statement: BankStatement, entry: CamtEntry) -> str:
    order = (
        CheckoutOrder.objects.select_for_update()
        .filter(creditor_reference=entry.creditor_reference, provider=CheckoutProvider.SEPA_TRANSFER)
        .first()
        if entry.creditor_reference
        else None
    )
    status = _entry_status(order=order, amount=entry.amount)
    BankStatementEntry.objects.create(
        statement=statement,
        entry_reference=entry.entry_reference,
        amount=entry.amount.amount,
        currency=entry.amount.currency,
        creditor_reference=entry.creditor_reference,
        booking_date=entry.booking_date,
        status=status,
        order=order,
    )
    if status == BankStatementEntryStatus.MATCHED:
        checkout_order_pay(
            order_id=order.pk,
            funding_account=house_account_get_or_open(ledger=order.currency, purpose=Purpose.QR_SEPA_BANK),
        )
    return status


def _entry_status(*, order: CheckoutOrder | None, amount: Money) -> str:
    if order is None or amount.currency != order.currency:
        return BankStatementEntryStatus.UNKNOWN
    if order.status != CheckoutOrderStatus.AWAITING_PAYMENT:
        return BankStatementEntryStatus.ALREADY_PAID
    if amount.amount < order.amount:
        return BankStatementEntryStatus.PARTIAL
    if amount.amount > order.amount:
        return BankStatementEntryStatus.OVERPAID
    return BankStatementEntryStatus.MATCHED


@transaction.atomic
def bank_statement_entry_resolve(*, entry_id: int, user: User, note: str) -> BankStatementEntry:
    """Closes a review item with staff's note (what was done: refunded, booked by hand, contacted the payer)."""
    entry = BankStatementEntry.objects.select_for_update().get(pk=entry_id)
    if entry.status not in REVIEW_STATUSES:
        raise ConflictError(gettext_lazy("This entry is not waiting for review."), code="entry_not_in_review")
    BankStatementEntry.objects.filter(pk=entry.pk).update(
        status=BankStatementEntryStatus.RESOLVED, review_note=note[:200], resolved_by=user, resolved_at=timezone.now()
    )
    entry.refresh_from_db()
    return entry
