"""Statements of QR payment codes, read from the ledger, and their CSV export.

Customers see purchases and spending on their codes, dealers their redemptions and payouts, back office every QR
transfer. Amounts are signed minor units from the statement owner's point of view; open reservations (pending
transfers not yet posted or voided) are listed apart and do not count in the total.
"""

from __future__ import annotations

import csv
import dataclasses
import datetime
import io
from collections.abc import Sequence
from dataclasses import dataclass

from django.utils.translation import gettext
from django.utils.translation import gettext_lazy as _

from accounts.models import DealerOrganisation, User
from core.money import Money
from payments.ledger.registry import QR_RANGE, Purpose, TransferCode
from payments.models import QrCode, QrRedemption, Transfer
from payments.statements import (
    Statement,
    StatementLine,
    account_lines,
    dealer_account_ids,
    statement_build,
)

_REASON_LABELS = {
    TransferCode.QR_PURCHASE: _("Purchase"),
    TransferCode.QR_REDEMPTION: _("Payment at a dealer"),
    TransferCode.QR_SETTLEMENT: _("Payout of a redemption"),
    TransferCode.QR_REFUND: _("Refund"),
    TransferCode.QR_BALANCE_MOVE: _("Balance moved to a new code"),
    TransferCode.QR_INVOICE: _("Invoice paid"),
    TransferCode.MACHINE_TOP_UP: _("Vehicle wallet top-up"),
}


def customer_statement(*, user: User) -> Statement:
    """Purchases, payments, refunds and balance moves on every code the customer owns."""
    account_ids = set(QrCode.objects.filter(owner=user).values_list("account_id", flat=True))
    return statement_build(
        title=gettext("My payment codes"), lines=account_lines(account_ids=account_ids, labels=_REASON_LABELS)
    )


def code_history(*, code: QrCode) -> list[StatementLine]:
    """Every movement of one code, including moves from or to the code that replaced it."""
    return account_lines(account_ids={code.account_id}, labels=_REASON_LABELS)


def dealer_statement(*, organisation: DealerOrganisation) -> Statement:
    """Captured redemptions (into clearing, listed for information) and payouts settled to the dealer's payable
    account, minus refunds; the total is what the dealer has been paid out."""
    account_ids = dealer_account_ids(
        organisation_id=organisation.pk, purposes=(Purpose.QR_DEALER_CLEARING, Purpose.QR_DEALER_PAYABLE)
    )
    payable_ids = dealer_account_ids(organisation_id=organisation.pk, purposes=(Purpose.QR_DEALER_PAYABLE,))
    labels = {
        TransferCode.QR_REDEMPTION: _("Redemption captured"),
        TransferCode.QR_SETTLEMENT: _("Payout settled"),
        TransferCode.QR_INVOICE: _("Invoice payout settled"),
        TransferCode.QR_REFUND: _("Refund to a customer"),
    }
    # Clearing -> payable settlements are internal to the dealer: show them from the payable side only.
    lines = account_lines(account_ids=payable_ids, labels=_REASON_LABELS | labels)
    clearing_ids = account_ids - payable_ids
    lines += [
        dataclasses.replace(line, in_total=False)
        for line in account_lines(account_ids=clearing_ids, labels=_REASON_LABELS | labels)
        if line.code == TransferCode.QR_REDEMPTION
    ]
    lines.sort(key=lambda line: line.booked_at)
    return statement_build(title=gettext("Statement of %(dealer)s") % {"dealer": organisation.name}, lines=lines)


def dealer_redemptions_summary(*, organisation: DealerOrganisation) -> list[QrRedemption]:
    return list(QrRedemption.objects.filter(dealer_organisation=organisation).select_related("code"))


@dataclass(frozen=True, slots=True)
class LedgerLine:
    booked_at: datetime.datetime
    reason: str
    kind: str
    debit: str
    credit: str
    amount: Money
    reference: str
    debit_label: str = ""  # the debited account's kind, for people ("Customer prepaid balance"); `debit` names it
    credit_label: str = ""


def back_office_statement(*, limit: int = 5000) -> list[LedgerLine]:
    """Every QR transfer (purchases, authorizations, captures, voids, payouts, refunds, moves), newest first."""
    transfers = (
        Transfer.objects.filter(code__gte=QR_RANGE.first, code__lte=QR_RANGE.last)
        .select_related("debit_account", "credit_account")
        .order_by("-created_at", "-id")[:limit]
    )
    return [
        LedgerLine(
            booked_at=t.created_at,
            reason=str(_REASON_LABELS.get(t.code, gettext("Transfer"))),
            kind=t.kind,
            debit=f"{t.debit_account.owner_reference} ({t.debit_account.get_code_display()})",
            credit=f"{t.credit_account.owner_reference} ({t.credit_account.get_code_display()})",
            amount=Money(t.amount, t.ledger),
            reference=t.user_data,
            debit_label=t.debit_account.get_code_display(),
            credit_label=t.credit_account.get_code_display(),
        )
        for t in transfers
    ]


def ledger_lines_csv(*, lines: Sequence[LedgerLine]) -> str:
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n")
    writer.writerow(["booked_at", "reason", "kind", "debit", "credit", "amount", "currency", "reference"])
    for line in lines:
        writer.writerow(
            [line.booked_at.isoformat(), line.reason, line.kind, line.debit, line.credit,
             str(line.amount.to_decimal()), line.amount.currency, line.reference]
        )  # fmt: skip
    return buffer.getvalue()
