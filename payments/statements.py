"""Statements read from the ledger: the signed movements of a set of accounts, their totals, and a CSV export.

Each product builds its statements from the accounts of its own purposes (`payments.ledger.registry.Purpose`), so
a dealer's QR statement and their lease payout statement never mix. Amounts are signed minor units from the
statement owner's point of view; open reservations (pending transfers not yet posted or voided) are listed apart
and do not count in the total.
"""

from __future__ import annotations

import csv
import datetime
import io
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass

from django.db.models import Q
from django.utils.translation import gettext

from core.money import Money
from payments.ledger.registry import OwnerKind, Purpose
from payments.ledger.types import TransferFlags
from payments.models import Account, Transfer


@dataclass(frozen=True, slots=True)
class StatementLine:
    """One movement: `amount` signed minor units (+ in, - out); `is_reserved` for an open authorization."""

    booked_at: datetime.datetime
    description: str
    reference: str
    amount: Money
    is_reserved: bool = False
    in_total: bool = True
    code: int = 0  # the transfer code (payments.ledger.registry.TransferCode): what the line is, whatever the language


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


def account_lines(*, account_ids: set[int], labels: Mapping[int, str]) -> list[StatementLine]:
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
        description = str(labels.get(transfer.code, gettext("Transfer")))
        lines.append(
            StatementLine(
                booked_at=transfer.created_at,
                description=gettext("%(description)s (reserved)") % {"description": description}
                if is_pending
                else description,
                reference=transfer.user_data,
                amount=Money(sign * transfer.amount, transfer.ledger),
                is_reserved=is_pending,
                code=transfer.code,
            )
        )
    return lines


def statement_build(*, title: str, lines: Iterable[StatementLine]) -> Statement:
    """A statement of `lines` with one total per currency (booked lines that count in the total)."""
    lines = tuple(lines)
    totals: dict[str, Money] = {}
    for line in lines:
        if line.in_total and not line.is_reserved:
            currency = line.amount.currency
            totals[currency] = totals.get(currency, Money.zero(currency)) + line.amount
    return Statement(title=title, lines=lines, totals=totals)


def dealer_account_ids(*, organisation_id: int, purposes: Iterable[Purpose]) -> set[int]:
    """Ids of the dealer's accounts of `purposes` (every currency): a statement shows one product's money only."""
    return set(
        Account.objects.filter(
            owner_kind=OwnerKind.DEALER, owner_id=str(organisation_id), purpose__in=list(purposes)
        ).values_list("id", flat=True)
    )


def dealer_purpose_statement(
    *, organisation_id: int, purpose: Purpose, title: str, labels: Mapping[int, str]
) -> Statement:
    """The movements of the dealer's accounts of one `purpose` (every currency), with their totals."""
    account_ids = dealer_account_ids(organisation_id=organisation_id, purposes=(purpose,))
    return statement_build(title=title, lines=account_lines(account_ids=account_ids, labels=labels))


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
