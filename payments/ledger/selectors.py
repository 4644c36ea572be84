"""Reads of the ledger for the back office: account lists, statements with a running balance, transfer search,
and the reconciliation report."""

from __future__ import annotations

import datetime
import uuid
from collections.abc import Sequence
from dataclasses import dataclass

from django.db.models import Count, Q, QuerySet, Sum
from django.db.models.functions import Coalesce
from django.shortcuts import get_object_or_404

from payments.models import Account, PendingTransferTimeout, Transfer

_PENDING, _VOID_PENDING = 2, 8
# flags values that post nothing: pending (with or without LINKED) and void (with or without LINKED)
_UNPOSTED_FLAGS = [2, 3, 8, 9]


def account_list(*, ledger: str = "", code: int | None = None, owner_reference: str = "") -> QuerySet[Account]:
    """Accounts filtered by ledger, code and exact owner reference, in id order."""
    accounts = Account.objects.order_by("id")
    if ledger:
        accounts = accounts.filter(ledger=ledger)
    if code is not None:
        accounts = accounts.filter(code=code)
    if owner_reference:
        accounts = accounts.filter(owner_reference=owner_reference)
    return accounts


def account_get(*, account_id: int) -> Account:
    """The account, or 404."""
    return get_object_or_404(Account, pk=account_id)


def account_transfers(*, account: Account) -> QuerySet[Transfer]:
    """Every transfer touching the account, oldest first (the order of its statement)."""
    return Transfer.objects.filter(Q(debit_account=account) | Q(credit_account=account)).order_by("created_at", "id")


@dataclass(frozen=True)
class StatementEntry:
    """One statement line. Amounts in minor units; `balance_posted` is credits minus debits posted after this line."""

    transfer: Transfer
    debit_posted: int
    credit_posted: int
    debit_pending: int
    credit_pending: int
    balance_posted: int


def _posted_delta(*, transfer: Transfer, account_id: int) -> int:
    """Credits minus debits posted on `account_id` by this transfer (pending transfers and voids post nothing)."""
    if transfer.flags & (_PENDING | _VOID_PENDING):
        return 0
    return transfer.amount if transfer.credit_account_id == account_id else -transfer.amount


def _posted_before(*, account: Account, first: Transfer) -> int:
    """Posted balance from every transfer listed before `first` on the statement."""
    earlier = account_transfers(account=account).filter(
        Q(created_at__lt=first.created_at) | Q(created_at=first.created_at, id__lt=first.id)
    )
    posted = ~Q(flags__in=_UNPOSTED_FLAGS)
    totals = earlier.aggregate(
        credits=Coalesce(Sum("amount", filter=posted & Q(credit_account=account)), 0),
        debits=Coalesce(Sum("amount", filter=posted & Q(debit_account=account)), 0),
    )
    return int(totals["credits"]) - int(totals["debits"])


def account_statement(*, account: Account, transfers: Sequence[Transfer]) -> list[StatementEntry]:
    """Statement lines for one page of `account_transfers` (in statement order) with the running posted balance."""
    if not transfers:
        return []
    balance = _posted_before(account=account, first=transfers[0])
    entries = []
    for transfer in transfers:
        delta = _posted_delta(transfer=transfer, account_id=account.pk)
        balance += delta
        is_debit = transfer.debit_account_id == account.pk
        pending = transfer.amount if transfer.flags & _PENDING else 0
        entries.append(
            StatementEntry(
                transfer=transfer,
                debit_posted=-delta if delta < 0 else 0,
                credit_posted=delta if delta > 0 else 0,
                debit_pending=pending if is_debit else 0,
                credit_pending=0 if is_debit else pending,
                balance_posted=balance,
            )
        )
    return entries


def transfer_search(
    *,
    transfer_id: uuid.UUID | None = None,
    account_id: int | None = None,
    code: int | None = None,
    created_from: datetime.datetime | None = None,
    created_to: datetime.datetime | None = None,
) -> QuerySet[Transfer]:
    """Transfers matching every given filter, oldest first. `created_to` is exclusive."""
    transfers = Transfer.objects.order_by("created_at", "id")
    if transfer_id is not None:
        transfers = transfers.filter(id=transfer_id)
    if account_id is not None:
        transfers = transfers.filter(Q(debit_account_id=account_id) | Q(credit_account_id=account_id))
    if code is not None:
        transfers = transfers.filter(code=code)
    if created_from is not None:
        transfers = transfers.filter(created_at__gte=created_from)
    if created_to is not None:
        transfers = transfers.filter(created_at__lt=created_to)
    return transfers


@dataclass(frozen=True)
class LedgerTotals:
    """Sums over every account of one ledger, in minor units; balanced when debits equal credits on both sides."""

    ledger: str
    accounts: int
    debits_pending: int
    debits_posted: int
    credits_pending: int
    credits_posted: int
    pending_with_timeout: int

    @property
    def is_balanced(self) -> bool:
        return self.debits_pending == self.credits_pending and self.debits_posted == self.credits_posted


def reconciliation_report() -> list[LedgerTotals]:
    """Per ledger: the four account sums and the number of open pending transfers awaiting expiry."""
    timeouts = dict(
        PendingTransferTimeout.objects.order_by()
        .values("transfer__ledger")
        .annotate(open=Count("transfer_id"))
        .values_list("transfer__ledger", "open")
    )
    rows = (
        Account.objects.order_by()
        .values("ledger")
        .annotate(
            accounts=Count("id"),
            dp=Sum("debits_pending"),
            dpo=Sum("debits_posted"),
            cp=Sum("credits_pending"),
            cpo=Sum("credits_posted"),
        )
        .order_by("ledger")
    )
    return [
        LedgerTotals(
            ledger=row["ledger"],
            accounts=row["accounts"],
            debits_pending=row["dp"],
            debits_posted=row["dpo"],
            credits_pending=row["cp"],
            credits_posted=row["cpo"],
            pending_with_timeout=timeouts.get(row["ledger"], 0),
        )
        for row in rows
    ]


__all__ = [
    "LedgerTotals",
    "StatementEntry",
    "account_get",
    "account_list",
    "account_statement",
    "account_transfers",
    "reconciliation_report",
    "transfer_search",
]
