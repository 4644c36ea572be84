"""Fixtures for the ledger tests: accounts in a few shapes, and a helper reading every balance at once."""

from __future__ import annotations

import uuid
from collections.abc import Callable

import pytest

from payments.ledger.services import account_create
from payments.ledger.types import AccountFlags, TransferFlags, TransferSpec
from payments.models import Account, AccountCode, PendingTransferTimeout, Transfer


@pytest.fixture
def make_account(db: None) -> Callable[..., Account]:
    def make(
        *, ledger: str = "EUR", code: AccountCode = AccountCode.CLEARING, flags: AccountFlags = AccountFlags.NONE
    ) -> Account:
        return account_create(ledger=ledger, code=code, owner_reference="test:1", flags=flags)

    return make


def spec(
    debit: Account | int,
    credit: Account | int,
    amount: int,
    *,
    ledger: str = "EUR",
    code: int = 1,
    flags: TransferFlags = TransferFlags.NONE,
    pending_id: uuid.UUID | None = None,
    timeout_seconds: int | None = None,
    transfer_id: uuid.UUID | None = None,
    user_data: str = "",
) -> TransferSpec:
    """A transfer spec between two accounts (or raw ids) with a fresh id unless one is given."""
    return TransferSpec(
        id=transfer_id or uuid.uuid4(),
        debit_account_id=debit if isinstance(debit, int) else debit.pk,
        credit_account_id=credit if isinstance(credit, int) else credit.pk,
        amount=amount,
        ledger=ledger,
        code=code,
        flags=flags,
        pending_id=pending_id,
        timeout_seconds=timeout_seconds,
        user_data=user_data,
    )


def ledger_snapshot() -> dict[str, object]:
    """Counts and every account's four sums: compare before/after a refused request to prove nothing changed."""
    return {
        "transfers": Transfer.objects.count(),
        "timeouts": PendingTransferTimeout.objects.count(),
        "accounts": list(
            Account.objects.order_by("id").values_list(
                "id", "debits_pending", "debits_posted", "credits_pending", "credits_posted", "is_closed"
            )
        ),
    }
