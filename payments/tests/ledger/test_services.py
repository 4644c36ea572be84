"""transfers_create, account_create and pending_transfers_expire on PostgreSQL: outcomes, exact balances, and that
every refusal changes nothing."""

from __future__ import annotations

import dataclasses
import datetime
import uuid

import pytest
from django.utils import timezone

from core.errors import ValidationFailed
from payments.ledger.services import (
    EXPIRY_NAMESPACE,
    account_closed_set,
    account_create,
    pending_transfers_expire,
    transfers_create,
)
from payments.ledger.types import AccountFlags, ResultCode, TransferFlags, TransferSpec
from payments.models import Account, AccountCode, PendingTransferTimeout, Transfer
from payments.tests.ledger.conftest import ledger_snapshot, spec

pytestmark = pytest.mark.django_db
LIMITED = AccountFlags.DEBITS_MUST_NOT_EXCEED_CREDITS
CAPPED = AccountFlags.CREDITS_MUST_NOT_EXCEED_DEBITS


def codes(specs: list[TransferSpec], **kwargs: object) -> list[str]:
    return [str(result.code) for result in transfers_create(transfers=specs, **kwargs)]


def sums(account: Account) -> tuple[int, int, int, int]:
    account.refresh_from_db()
    return (account.debits_pending, account.debits_posted, account.credits_pending, account.credits_posted)


@pytest.fixture
def book(make_account):
    """bank -> customer (funded with 1,000, must not go negative) -> merchant; a capped account; a USD account."""
    bank = make_account(code=AccountCode.BANK)
    customer = make_account(code=AccountCode.CUSTOMER_PREPAID, flags=LIMITED)
    merchant = make_account(code=AccountCode.MERCHANT_PAYABLE)
    capped = make_account(code=AccountCode.MACHINE_WALLET, flags=CAPPED)
    dollars = make_account(ledger="USD")
    assert codes([spec(bank, customer, 1_000)]) == ["ok"]
    return dataclasses.make_dataclass("Book", ["bank", "customer", "merchant", "capped", "dollars"])(
        bank, customer, merchant, capped, dollars
    )


def test_single_transfer_moves_posted_sums_on_both_sides(book) -> None:
    assert codes([spec(book.customer, book.merchant, 250, user_data="qr-redemption:7")]) == ["ok"]
    assert sums(book.customer) == (0, 250, 0, 1_000)
    assert sums(book.merchant) == (0, 0, 0, 250)
    transfer = Transfer.objects.get(debit_account=book.customer)
    assert (transfer.amount, transfer.ledger, transfer.code, transfer.flags, transfer.user_data) == (
        250,
        "EUR",
        1,
        0,
        "qr-redemption:7",
    )


def test_pending_then_partial_post_releases_the_reservation(book) -> None:
    pending = spec(book.customer, book.merchant, 600, flags=TransferFlags.PENDING, timeout_seconds=60)
    assert codes([pending]) == ["ok"]
    assert sums(book.customer) == (600, 0, 0, 1_000)
    assert PendingTransferTimeout.objects.filter(transfer_id=pending.id).count() == 1
    post = spec(0, 0, 450, flags=TransferFlags.POST_PENDING, pending_id=pending.id, ledger="", code=0)
    assert codes([post]) == ["ok"]
    assert sums(book.customer) == (0, 450, 0, 1_000)
    assert sums(book.merchant) == (0, 0, 0, 450)
    assert PendingTransferTimeout.objects.count() == 0
    stored = Transfer.objects.get(id=post.id)
    assert (stored.debit_account_id, stored.credit_account_id, stored.code, stored.pending_id) == (
        book.customer.pk,
        book.merchant.pk,
        1,
        pending.id,
    )
    again = spec(0, 0, 100, flags=TransferFlags.POST_PENDING, pending_id=pending.id, ledger="", code=0)
    void = spec(0, 0, 600, flags=TransferFlags.VOID_PENDING, pending_id=pending.id, ledger="", code=0)
    before = ledger_snapshot()
    assert codes([again]) == ["pending_transfer_already_posted"]
    assert codes([void]) == ["pending_transfer_already_posted"]
    assert ledger_snapshot() == before


def test_void_returns_the_reserved_funds(book) -> None:
    pending = spec(book.customer, book.merchant, 1_000, flags=TransferFlags.PENDING)
    void = spec(book.customer, book.merchant, 1_000, flags=TransferFlags.VOID_PENDING, pending_id=pending.id)
    assert codes([pending]) == ["ok"]
    assert codes([spec(book.customer, book.merchant, 1)]) == ["exceeds_credits"]
    assert codes([void]) == ["ok"]
    assert sums(book.customer) == (0, 0, 0, 1_000)
    post = spec(0, 0, 1_000, flags=TransferFlags.POST_PENDING, pending_id=pending.id, ledger="", code=0)
    assert codes([post]) == ["pending_transfer_already_voided"]


def test_pending_and_its_post_in_one_batch(book) -> None:
    pending = spec(book.customer, book.merchant, 700, flags=TransferFlags.PENDING)
    post = spec(0, 0, 700, flags=TransferFlags.POST_PENDING, pending_id=pending.id, ledger="", code=0)
    assert codes([pending, post, spec(book.customer, book.merchant, 301)]) == ["ok", "ok", "exceeds_credits"]
    assert sums(book.customer) == (0, 700, 0, 1_000)


def test_expiry_voids_overdue_pending_transfers_once(book) -> None:
    start = timezone.now()
    due = spec(book.customer, book.merchant, 300, flags=TransferFlags.PENDING, timeout_seconds=10)
    later = spec(book.customer, book.merchant, 200, flags=TransferFlags.PENDING, timeout_seconds=100)
    assert codes([due, later], now=start) == ["ok", "ok"]
    post = spec(0, 0, 300, flags=TransferFlags.POST_PENDING, pending_id=due.id, ledger="", code=0)
    assert codes([post], now=start + datetime.timedelta(seconds=11)) == ["pending_transfer_expired"]
    assert pending_transfers_expire(now=start + datetime.timedelta(seconds=11)) == 1
    assert pending_transfers_expire(now=start + datetime.timedelta(seconds=11)) == 0
    assert sums(book.customer) == (200, 0, 0, 1_000)
    void = Transfer.objects.get(pending_id=due.id)
    assert (void.id, void.flags, void.amount) == (uuid.uuid5(EXPIRY_NAMESPACE, str(due.id)), 8, 300)
    assert list(PendingTransferTimeout.objects.values_list("transfer_id", flat=True)) == [later.id]


def test_expiry_works_in_batches(book) -> None:
    start = timezone.now()
    pendings = [
        spec(book.customer, book.merchant, 10, flags=TransferFlags.PENDING, timeout_seconds=1) for _ in range(7)
    ]
    assert set(codes(pendings, now=start)) == {"ok"}
    assert pending_transfers_expire(now=start + datetime.timedelta(seconds=5), batch_size=3) == 7
    assert sums(book.customer) == (0, 0, 0, 1_000)
    assert PendingTransferTimeout.objects.count() == 0


def test_linked_chain_fails_as_one(book) -> None:
    chain = [
        spec(book.customer, book.merchant, 400, flags=TransferFlags.LINKED),
        spec(book.customer, book.merchant, 400, flags=TransferFlags.LINKED),
        spec(book.customer, book.merchant, 400),
    ]
    alone = spec(book.customer, book.merchant, 100)
    before = ledger_snapshot()
    assert codes([*chain, alone]) == ["linked_event_failed", "linked_event_failed", "exceeds_credits", "ok"]
    assert sums(book.customer) == (0, 100, 0, 1_000)
    assert ledger_snapshot()["transfers"] == before["transfers"] + 1


def test_linked_chain_succeeds_as_one(book) -> None:
    chain = [spec(book.customer, book.merchant, 300, flags=TransferFlags.LINKED), spec(book.merchant, book.bank, 300)]
    assert codes(chain) == ["ok", "ok"]
    assert sums(book.merchant) == (0, 300, 0, 300)


def test_open_chain_at_the_end_of_a_batch_is_refused(book) -> None:
    before = ledger_snapshot()
    chain = [spec(book.customer, book.merchant, 1, flags=TransferFlags.LINKED) for _ in range(2)]
    assert codes(chain) == ["linked_event_failed", "linked_event_chain_open"]
    assert ledger_snapshot() == before


def test_resubmission_returns_exists_or_the_first_different_field(book) -> None:
    original = spec(book.customer, book.merchant, 50, code=7, user_data="ref")
    assert codes([original]) == ["ok"]
    before = ledger_snapshot()
    variants = {
        "exists": {},
        "exists_with_different_debit_account_id": {"debit_account_id": book.bank.pk},
        "exists_with_different_credit_account_id": {"credit_account_id": book.bank.pk},
        "exists_with_different_amount": {"amount": 51},
        "exists_with_different_flags": {"flags": TransferFlags.PENDING},
        "exists_with_different_code": {"code": 8},
        "exists_with_different_ledger": {"ledger": "USD"},
        "exists_with_different_user_data": {"user_data": "other"},
    }
    for expected, changes in variants.items():
        assert codes([dataclasses.replace(original, **changes)]) == [expected], expected
    assert ledger_snapshot() == before


def test_resubmitted_post_with_another_pending_id(book) -> None:
    first = spec(book.customer, book.merchant, 10, flags=TransferFlags.PENDING)
    second = spec(book.customer, book.merchant, 10, flags=TransferFlags.PENDING)
    post = spec(0, 0, 10, flags=TransferFlags.POST_PENDING, pending_id=first.id, ledger="", code=0)
    assert codes([first, second, post]) == ["ok", "ok", "ok"]
    before = ledger_snapshot()
    assert codes([dataclasses.replace(post, pending_id=second.id)]) == ["exists_with_different_pending_id"]
    assert codes([post]) == ["exists"]
    assert ledger_snapshot() == before


def test_same_id_twice_in_one_batch(book) -> None:
    first = spec(book.customer, book.merchant, 5)
    assert codes([first, first, dataclasses.replace(first, amount=6)]) == [
        "ok",
        "exists",
        "exists_with_different_amount",
    ]
    assert sums(book.merchant) == (0, 0, 0, 5)


def bad_specs(book) -> dict[str, TransferSpec]:
    """One refused spec per result code that needs no earlier state."""
    pending = spec(book.customer, book.merchant, 100, flags=TransferFlags.PENDING)
    assert codes([pending]) == ["ok"]
    single = spec(book.bank, book.merchant, 10)
    resolution = {
        "flags": TransferFlags.POST_PENDING,
        "pending_id": pending.id,
        "debit_account_id": 0,
        "credit_account_id": 0,
        "ledger": "",
        "code": 0,
    }
    single_phase_id = Transfer.objects.filter(flags=0).values_list("id", flat=True)[0]
    return {
        "amount_must_not_be_zero": dataclasses.replace(single, amount=0),
        "amount_must_not_be_negative": dataclasses.replace(single, amount=-5),
        "amount_too_large": dataclasses.replace(single, amount=2**63),
        "accounts_must_be_different": dataclasses.replace(single, credit_account_id=book.bank.pk),
        "debit_account_not_found": dataclasses.replace(single, debit_account_id=10**9),
        "credit_account_not_found": dataclasses.replace(single, credit_account_id=10**9),
        "debit_account_id_must_not_be_zero": dataclasses.replace(single, debit_account_id=0),
        "credit_account_id_must_not_be_zero": dataclasses.replace(single, credit_account_id=0),
        "accounts_must_have_the_same_ledger": dataclasses.replace(single, credit_account_id=book.dollars.pk),
        "ledger_mismatch": dataclasses.replace(single, ledger="USD"),
        "ledger_must_not_be_empty": dataclasses.replace(single, ledger=""),
        "code_must_not_be_zero": dataclasses.replace(single, code=0),
        "user_data_too_long": dataclasses.replace(single, user_data="x" * 65),
        "id_must_not_be_zero": dataclasses.replace(single, id=uuid.UUID(int=0)),
        "flags_are_unknown": dataclasses.replace(single, flags=16),  # type: ignore[arg-type]
        "flags_are_mutually_exclusive": dataclasses.replace(
            single, flags=TransferFlags.PENDING | TransferFlags.VOID_PENDING
        ),
        "pending_id_must_be_zero": dataclasses.replace(single, pending_id=pending.id),
        "pending_id_must_not_be_zero": dataclasses.replace(single, flags=TransferFlags.POST_PENDING),
        "pending_id_must_be_different": dataclasses.replace(single, **resolution | {"pending_id": single.id}),
        "timeout_reserved_for_pending_transfer": dataclasses.replace(single, timeout_seconds=5),
        "timeout_must_not_be_negative": dataclasses.replace(single, flags=TransferFlags.PENDING, timeout_seconds=-1),
        "exceeds_credits": spec(book.customer, book.merchant, 901),
        "exceeds_debits": spec(book.bank, book.capped, 1),
        "pending_transfer_not_found": dataclasses.replace(single, **resolution | {"pending_id": uuid.uuid4()}),
        "pending_transfer_not_pending": dataclasses.replace(single, **resolution | {"pending_id": single_phase_id}),
        "exceeds_pending_transfer_amount": dataclasses.replace(single, **resolution | {"amount": 101}),
        "pending_transfer_has_different_amount": dataclasses.replace(
            single, **resolution | {"amount": 99, "flags": TransferFlags.VOID_PENDING}
        ),
        "pending_transfer_has_different_debit_account_id": dataclasses.replace(
            single, **resolution | {"debit_account_id": book.bank.pk}
        ),
        "pending_transfer_has_different_credit_account_id": dataclasses.replace(
            single, **resolution | {"credit_account_id": book.bank.pk}
        ),
        "pending_transfer_has_different_ledger": dataclasses.replace(single, **resolution | {"ledger": "USD"}),
        "pending_transfer_has_different_code": dataclasses.replace(single, **resolution | {"code": 9}),
    }


def test_every_refusal_has_its_code_and_changes_nothing(book) -> None:
    cases = bad_specs(book)
    before = ledger_snapshot()
    for expected, bad in cases.items():
        assert codes([bad]) == [expected], expected
    assert ledger_snapshot() == before


def test_closed_accounts_refuse_transfers_but_release_reservations(book) -> None:
    pending = spec(book.customer, book.merchant, 100, flags=TransferFlags.PENDING)
    assert codes([pending]) == ["ok"]
    account_closed_set(account_id=book.merchant.pk, is_closed=True)
    before = ledger_snapshot()
    assert codes([spec(book.customer, book.merchant, 1)]) == ["credit_account_closed"]
    assert codes([spec(book.merchant, book.customer, 1)]) == ["debit_account_closed"]
    post = spec(0, 0, 100, flags=TransferFlags.POST_PENDING, pending_id=pending.id, ledger="", code=0)
    assert codes([post]) == ["credit_account_closed"]
    assert ledger_snapshot() == before
    void = dataclasses.replace(post, id=uuid.uuid4(), flags=TransferFlags.VOID_PENDING)
    assert codes([void]) == ["ok"]
    assert sums(book.customer) == (0, 0, 0, 1_000)


def test_batch_over_the_limit_is_refused_whole(book) -> None:
    before = ledger_snapshot()
    results = transfers_create(transfers=[spec(book.bank, book.merchant, 1) for _ in range(8_001)])
    assert {result.code for result in results} == {ResultCode.BATCH_TOO_LARGE}
    assert len(results) == 8_001
    assert ledger_snapshot() == before


def test_full_batch_of_8000_is_accepted(book) -> None:
    results = transfers_create(transfers=[spec(book.bank, book.merchant, 1) for _ in range(8_000)])
    assert [result.code for result in results] == [ResultCode.OK] * 8_000
    assert sums(book.merchant) == (0, 0, 0, 8_000)


def test_account_create_validates_its_input(db: None) -> None:
    for kwargs, code in [
        ({"ledger": "eur"}, "ledger_invalid"),
        ({"owner_reference": "Jane Doe"}, "owner_reference_invalid"),
        ({"flags": LIMITED | CAPPED}, "flags_are_mutually_exclusive"),
    ]:
        arguments = {"ledger": "EUR", "code": AccountCode.CLEARING, "owner_reference": "user:1"} | kwargs
        with pytest.raises(ValidationFailed) as error:
            account_create(**arguments)
        assert error.value.code == code
    assert Account.objects.count() == 0
