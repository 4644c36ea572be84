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
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from django.db.models import Q

from accounts.models import DealerOrganisation, User
from payments.ledger.registry import QR_RANGE, OwnerKind, Purpose, TransferCode
from payments.ledger.types import TransferFlags
from payments.models import Account, QrCode, QrRedemption, Transfer
from portal.money import Money

_REASON_LABELS = {
    TransferCode.QR_PURCHASE: "Purchase",
    TransferCode.QR_REDEMPTION: "Payment at a dealer",
    TransferCode.QR_SETTLEMENT: "Payout of a redemption",
    TransferCode.QR_REFUND: "Refund",
    TransferCode.QR_BALANCE_MOVE: "Balance moved to a new code",
    TransferCode.QR_INVOICE: "Invoice paid",
}


@dataclass(frozen=True, slots=True)
class StatementLine:
    """One movement: `amount` signed minor units (+ in, - out); `is_reserved` for an open authorization."""

    booked_at: datetime.datetime
    description: str
    reference: str
    amount: Money
    is_reserved: bool = False
    in_total: bool = True


@dataclass(frozen=True, slots=True)
class Statement:
    title: str
    lines: tuple[StatementLine, ...]
    totals: dict[str, Money]

    @property
    def booked_lines(self) -> tuple[StatementLine, ...]:
        return tuple(line for line in self.lines if not line.is_reserved)

    @property
    def reserved_lines(self) -> tuple[StatementLine, ...]:
        return tuple(line for line in self.lines if line.is_reserved)


def _open_pending_ids(transfers: Sequence[Transfer]) -> set:
    pending_ids = [t.id for t in transfers if t.flags & TransferFlags.PENDING]
    resolved = set(Transfer.objects.filter(pending_id__in=pending_ids).values_list("pending_id", flat=True))
    return set(pending_ids) - resolved


def _lines_for_accounts(*, account_ids: set[int], labels: dict[int, str] | None = None) -> list[StatementLine]:
    """Posted movements and open reservations on `account_ids`, signed from those accounts' side, oldest first."""
    transfers = list(
        Transfer.objects.filter(Q(debit_account_id__in=account_ids) | Q(credit_account_id__in=account_ids))
        .select_related("pending")
        .order_by("created_at", "id")
    )
    open_pending = _open_pending_ids(transfers)
    lines = []
    for transfer in transfers:
        if transfer.flags & TransferFlags.VOID_PENDING:
            continue
        is_pending = bool(transfer.flags & TransferFlags.PENDING)
        if is_pending and transfer.id not in open_pending:
            continue
        if transfer.credit_account_id in account_ids and transfer.debit_account_id in account_ids:
            continue  # a move between the owner's own accounts
        sign = 1 if transfer.credit_account_id in account_ids else -1
        description = (labels or {}).get(transfer.code) or _REASON_LABELS.get(transfer.code, "Transfer")
        lines.append(
            StatementLine(
                booked_at=transfer.created_at,
                description=description + (" (reserved)" if is_pending else ""),
                reference=transfer.user_data,
                amount=Money(sign * transfer.amount, transfer.ledger),
                is_reserved=is_pending,
            )
        )
    return lines


def _statement(*, title: str, lines: Iterable[StatementLine]) -> Statement:
    lines = tuple(lines)
    totals: dict[str, Money] = {}
    for line in lines:
        if line.in_total and not line.is_reserved:
            currency = line.amount.currency
            totals[currency] = totals.get(currency, Money.zero(currency)) + line.amount
    return Statement(title=title, lines=lines, totals=totals)


def customer_statement(*, user: User) -> Statement:
    """Purchases, payments, refunds and balance moves on every code the customer owns."""
    account_ids = set(QrCode.objects.filter(owner=user).values_list("account_id", flat=True))
    return _statement(title="My payment codes", lines=_lines_for_accounts(account_ids=account_ids))


def code_history(*, code: QrCode) -> list[StatementLine]:
    """Every movement of one code, including moves from or to the code that replaced it."""
    return _lines_for_accounts(account_ids={code.account_id})


def dealer_account_ids(*, organisation_id: int, purposes: Iterable[Purpose]) -> set[int]:
    """Ids of the dealer's accounts of `purposes` (every currency): a statement shows one product's money only."""
    return set(
        Account.objects.filter(
            owner_kind=OwnerKind.DEALER, owner_id=str(organisation_id), purpose__in=list(purposes)
        ).values_list("id", flat=True)
    )


def dealer_statement(*, organisation: DealerOrganisation) -> Statement:
    """Captured redemptions (into clearing, listed for information) and payouts settled to the dealer's payable
    account, minus refunds; the total is what the dealer has been paid out."""
    account_ids = dealer_account_ids(
        organisation_id=organisation.pk, purposes=(Purpose.QR_DEALER_CLEARING, Purpose.QR_DEALER_PAYABLE)
    )
    payable_ids = dealer_account_ids(organisation_id=organisation.pk, purposes=(Purpose.QR_DEALER_PAYABLE,))
    labels = {
        TransferCode.QR_REDEMPTION: "Redemption captured",
        TransferCode.QR_SETTLEMENT: "Payout settled",
        TransferCode.QR_INVOICE: "Invoice payout settled",
        TransferCode.QR_REFUND: "Refund to a customer",
    }
    # Clearing -> payable settlements are internal to the dealer: show them from the payable side only.
    lines = _lines_for_accounts(account_ids=payable_ids, labels=labels)
    clearing_ids = account_ids - payable_ids
    lines += [
        dataclasses.replace(line, in_total=False)
        for line in _lines_for_accounts(account_ids=clearing_ids, labels=labels)
        if line.description.startswith("Redemption")
    ]
    lines.sort(key=lambda line: line.booked_at)
    return _statement(title=f"Statement of {organisation.name}", lines=lines)


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
            reason=_REASON_LABELS.get(t.code, str(t.code)),
            kind=t.kind,
            debit=f"{t.debit_account.owner_reference} ({t.debit_account.get_code_display()})",
            credit=f"{t.credit_account.owner_reference} ({t.credit_account.get_code_display()})",
            amount=Money(t.amount, t.ledger),
            reference=t.user_data,
        )
        for t in transfers
    ]


def statement_csv(*, statement: Statement) -> str:
    """CSV with a header row: booked_at (ISO 8601), description, reference, amount (major units), currency, reserved."""
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n")
    writer.writerow(["booked_at", "description", "reference", "amount", "currency", "reserved"])
    for line in statement.lines:
        writer.writerow(
            [line.booked_at.isoformat(), line.description, line.reference, str(line.amount.to_decimal()),
             line.amount.currency, "yes" if line.is_reserved else "no"]
        )  # fmt: skip
    return buffer.getvalue()


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
