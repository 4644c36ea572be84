"""Raw SQL that tries to break each ledger invariant is refused by PostgreSQL itself (constraints and triggers)."""

from __future__ import annotations

import uuid

import pytest
from django.db import IntegrityError, connection, transaction
from django.utils import timezone

from payments.ledger.services import transfers_create
from payments.ledger.types import AccountFlags, TransferFlags
from payments.models import Account, AccountCode
from payments.tests.ledger.conftest import ledger_snapshot, spec

pytestmark = pytest.mark.django_db
INSERT = (
    "INSERT INTO payments_transfer (id, debit_account_id, credit_account_id, amount, ledger, code, flags, pending_id,"
    " timeout_seconds, expires_at, user_data, created_at) VALUES (%s, %s, %s, %s, %s, %s, %s, %s, %s, NULL, '', %s)"
)


@pytest.fixture
def accounts(make_account):
    bank = make_account(code=AccountCode.BANK)
    customer = make_account(code=AccountCode.CUSTOMER_PREPAID, flags=AccountFlags.DEBITS_MUST_NOT_EXCEED_CREDITS)
    merchant = make_account(code=AccountCode.MERCHANT_PAYABLE)
    dollars = make_account(ledger="USD")
    assert [r.code for r in transfers_create(transfers=[spec(bank, customer, 100)])] == ["ok"]
    return bank, customer, merchant, dollars


def raw_insert(
    debit: int, credit: int, amount: int, *, ledger: str = "EUR", flags: int = 0, pending=None, timeout=None
):
    transfer_id = uuid.uuid4()
    with connection.cursor() as cursor:
        cursor.execute(INSERT, [transfer_id, debit, credit, amount, ledger, 1, flags, pending, timeout, timezone.now()])
    return transfer_id


def assert_refused(action) -> None:
    before = ledger_snapshot()
    with pytest.raises(IntegrityError), transaction.atomic():
        action()
    assert ledger_snapshot() == before


def execute(sql: str, params: list | None = None):
    return lambda: connection.cursor().execute(sql, params or [])


def test_raw_insert_applies_both_sides(accounts) -> None:
    _bank, customer, merchant, _ = accounts
    raw_insert(customer.pk, merchant.pk, 40)
    assert Account.objects.get(pk=customer.pk).debits_posted == 40
    assert Account.objects.get(pk=merchant.pk).credits_posted == 40
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT ledger, SUM(debits_posted) - SUM(credits_posted), SUM(debits_pending) - SUM(credits_pending)"
            " FROM payments_account GROUP BY ledger ORDER BY ledger"
        )
        assert cursor.fetchall() == [("EUR", 0, 0), ("USD", 0, 0)]


def test_transfer_row_constraints(accounts) -> None:
    bank, _customer, merchant, _ = accounts
    assert_refused(lambda: raw_insert(bank.pk, merchant.pk, 0))
    assert_refused(lambda: raw_insert(bank.pk, merchant.pk, -1))
    assert_refused(lambda: raw_insert(bank.pk, bank.pk, 1))
    assert_refused(lambda: raw_insert(bank.pk, merchant.pk, 1, flags=2 | 4))
    assert_refused(lambda: raw_insert(bank.pk, merchant.pk, 1, flags=32))
    assert_refused(lambda: raw_insert(bank.pk, merchant.pk, 1, flags=4))  # a post without its pending transfer
    assert_refused(lambda: raw_insert(bank.pk, merchant.pk, 1, timeout=5))  # a timeout on a single-phase transfer


def test_overdraft_by_raw_insert_breaks_the_account_check(accounts) -> None:
    _, customer, merchant, _ = accounts
    assert_refused(lambda: raw_insert(customer.pk, merchant.pk, 101))
    assert_refused(lambda: raw_insert(customer.pk, merchant.pk, 101, flags=int(TransferFlags.PENDING)))


def test_ledger_rules_in_the_trigger(accounts) -> None:
    bank, customer, merchant, dollars = accounts
    assert_refused(lambda: raw_insert(bank.pk, merchant.pk, 1, ledger="USD"))
    assert_refused(lambda: raw_insert(bank.pk, dollars.pk, 1))
    pending = raw_insert(customer.pk, merchant.pk, 50, flags=int(TransferFlags.PENDING))
    post = int(TransferFlags.POST_PENDING)
    assert_refused(lambda: raw_insert(customer.pk, merchant.pk, 51, flags=post, pending=pending))
    assert_refused(lambda: raw_insert(bank.pk, merchant.pk, 50, flags=post, pending=pending))
    assert_refused(
        lambda: raw_insert(customer.pk, merchant.pk, 49, flags=int(TransferFlags.VOID_PENDING), pending=pending)
    )
    single = raw_insert(bank.pk, merchant.pk, 5)
    assert_refused(lambda: raw_insert(bank.pk, merchant.pk, 5, flags=post, pending=single))
    Account.objects.filter(pk=merchant.pk).update(is_closed=True)
    assert_refused(lambda: raw_insert(bank.pk, merchant.pk, 1))


def test_a_pending_transfer_resolves_at_most_once(accounts) -> None:
    _, customer, merchant, _ = accounts
    pending = raw_insert(customer.pk, merchant.pk, 50, flags=int(TransferFlags.PENDING))
    raw_insert(customer.pk, merchant.pk, 20, flags=int(TransferFlags.POST_PENDING), pending=pending)
    assert_refused(
        lambda: raw_insert(customer.pk, merchant.pk, 50, flags=int(TransferFlags.VOID_PENDING), pending=pending)
    )
    assert_refused(
        lambda: raw_insert(customer.pk, merchant.pk, 10, flags=int(TransferFlags.POST_PENDING), pending=pending)
    )


def test_transfers_are_immutable(accounts) -> None:
    assert_refused(execute("UPDATE payments_transfer SET amount = amount + 1"))
    assert_refused(execute("UPDATE payments_transfer SET user_data = 'edited'"))
    assert_refused(execute("DELETE FROM payments_transfer"))


def test_balances_change_only_through_transfers(accounts) -> None:
    bank, _customer, merchant, _ = accounts
    assert_refused(
        execute("UPDATE payments_account SET credits_posted = credits_posted + 1 WHERE id = %s", [merchant.pk])
    )
    assert_refused(execute("UPDATE payments_account SET debits_posted = 0 WHERE id = %s", [bank.pk]))
    assert_refused(
        execute(
            "INSERT INTO payments_account (ledger, code, owner_reference, debits_must_not_exceed_credits,"
            " credits_must_not_exceed_debits, is_closed, debits_pending, debits_posted, credits_pending,"
            " credits_posted, created_at, updated_at) VALUES ('EUR', 3, '', false, false, false, 0, 0, 0, 5, now(), now())"
        )
    )


def test_account_flag_checks(accounts) -> None:
    bank, customer, _, _ = accounts
    # The bank is overdrawn by design (it pays customers in); it cannot be told to stay non-negative now.
    assert_refused(
        execute("UPDATE payments_account SET debits_must_not_exceed_credits = true WHERE id = %s", [bank.pk])
    )
    assert_refused(
        execute("UPDATE payments_account SET credits_must_not_exceed_debits = true WHERE id = %s", [customer.pk])
    )
    assert_refused(execute("UPDATE payments_account SET code = 99 WHERE id = %s", [bank.pk]))
