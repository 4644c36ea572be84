"""The one ledger client: accounts named by (ledger, purpose, owner), transfers with declared codes, one error."""

from __future__ import annotations

import threading
import time
import uuid

import pytest
from django.db import connection, connections, transaction

from payments.ledger import (
    LedgerRefused,
    Owner,
    Purpose,
    TransferCode,
    account_balance_get,
    account_get_or_open,
    house_account_get_or_open,
    transfer_id_derive,
    transfer_post,
    transfers_post_linked,
)
from payments.ledger.types import ResultCode, TransferSpec
from payments.models import Account, AccountCode, Transfer

THREADS = 20


def _funded_code(amount: int) -> tuple[Account, Account]:
    bank = house_account_get_or_open(ledger="EUR", purpose=Purpose.QR_SEPA_BANK)
    code = account_get_or_open(ledger="EUR", purpose=Purpose.QR_CODE_BALANCE, owner=Owner.qr_code("ab12"))
    transfer_post(spec=TransferSpec(uuid.uuid4(), bank.pk, code.pk, amount, "EUR", TransferCode.QR_PURCHASE))
    return bank, code


def _funded_code_and_payable(amount: int) -> tuple[Account, Account]:
    _bank, code = _funded_code(amount)
    return code, account_get_or_open(ledger="EUR", purpose=Purpose.QR_DEALER_PAYABLE, owner=Owner.dealer(1))


@pytest.mark.django_db
def test_an_account_is_opened_once_per_name_with_its_purposes_chart_code_and_flags() -> None:
    first = account_get_or_open(ledger="EUR", purpose=Purpose.QR_DEALER_CLEARING, owner=Owner.dealer(3))
    again = account_get_or_open(ledger="EUR", purpose=Purpose.QR_DEALER_CLEARING, owner=Owner.dealer(3))
    lease_payable = account_get_or_open(ledger="EUR", purpose=Purpose.LEASE_DEALER_PAYABLE, owner=Owner.dealer(3))
    qr_payable = account_get_or_open(ledger="EUR", purpose=Purpose.QR_DEALER_PAYABLE, owner=Owner.dealer(3))
    in_chf = account_get_or_open(ledger="CHF", purpose=Purpose.QR_DEALER_CLEARING, owner=Owner.dealer(3))

    assert again.pk == first.pk
    assert len({first.pk, lease_payable.pk, qr_payable.pk, in_chf.pk}) == 4
    assert (first.code, first.debits_must_not_exceed_credits) == (AccountCode.CLEARING, True)
    assert (qr_payable.code, qr_payable.debits_must_not_exceed_credits) == (AccountCode.MERCHANT_PAYABLE, False)
    assert (first.owner_reference, first.owner_kind, first.owner_id) == ("dealer:3", "dealer", "3")
    assert (lease_payable.purpose, lease_payable.owner_reference) == ("lease_dealer_payable", "dealer:3")
    assert Account.objects.count() == 4


@pytest.mark.django_db
def test_an_owner_of_the_wrong_kind_opens_nothing() -> None:
    with pytest.raises(ValueError, match="dealer owners"):
        account_get_or_open(ledger="EUR", purpose=Purpose.QR_DEALER_PAYABLE, owner=Owner.customer(3))
    with pytest.raises(ValueError):
        Owner.customer(0).__class__(Owner.dealer(1).kind, "1:2")

    assert Account.objects.count() == 0


@pytest.mark.django_db
def test_the_database_refuses_a_second_account_of_the_same_name() -> None:
    from django.db import IntegrityError

    from payments.ledger.services import account_create

    account_get_or_open(ledger="EUR", purpose=Purpose.CUSTOMER_BALANCE, owner=Owner.customer(7))
    with pytest.raises(IntegrityError), transaction.atomic():
        account_create(
            ledger="EUR", code=AccountCode.CUSTOMER_PREPAID, owner_reference="user:7",
            purpose=Purpose.CUSTOMER_BALANCE, owner_kind="user", owner_id="7",
        )  # fmt: skip

    assert Account.objects.filter(owner_reference="user:7").count() == 1


@pytest.mark.django_db(transaction=True)
@pytest.mark.slow
def test_concurrent_first_uses_converge_on_one_account() -> None:
    barrier = threading.Barrier(THREADS)
    ids: list[int] = []
    errors: list[BaseException] = []
    lock = threading.Lock()

    def worker() -> None:
        try:
            barrier.wait()
            account = account_get_or_open(ledger="EUR", purpose=Purpose.CUSTOMER_BALANCE, owner=Owner.customer(42))
            with lock:
                ids.append(account.pk)
        except BaseException as error:  # noqa: BLE001 - reported to the main thread below
            errors.append(error)
        finally:
            connection.close()

    threads = [threading.Thread(target=worker) for _ in range(THREADS)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=120)

    assert errors == []
    assert len(ids) == THREADS
    assert set(ids) == set(Account.objects.filter(purpose=Purpose.CUSTOMER_BALANCE).values_list("id", flat=True))
    assert len(set(ids)) == 1


def _waiting_on_a_lock(*, backend_pid: int) -> bool:
    with connections["default"].cursor() as cursor:
        cursor.execute("SELECT wait_event_type FROM pg_stat_activity WHERE pid = %s", [backend_pid])
        row = cursor.fetchone()
    return row is not None and row[0] == "Lock"


@pytest.mark.django_db(transaction=True)
def test_the_loser_of_a_race_reads_the_winners_account() -> None:
    """A opens the account and holds its transaction open; B, finding nothing yet, inserts and waits on the unique
    index; A commits; B's insert fails and B answers with A's account."""
    opened = threading.Event()
    release = threading.Event()
    loser_pid: list[int] = []
    results: dict[str, int] = {}
    errors: list[BaseException] = []
    owner = Owner.vehicle("did:key:z6MkfirstVehicleKeyForTheRace")

    def winner() -> None:
        try:
            with transaction.atomic():
                results["winner"] = account_get_or_open(ledger="EUR", purpose=Purpose.MACHINE_WALLET, owner=owner).pk
                opened.set()
                assert release.wait(timeout=120)
        except BaseException as error:  # noqa: BLE001
            errors.append(error)
        finally:
            connection.close()

    def loser() -> None:
        try:
            assert opened.wait(timeout=120)
            with connection.cursor() as cursor:
                cursor.execute("SELECT pg_backend_pid()")
                loser_pid.append(cursor.fetchone()[0])
            results["loser"] = account_get_or_open(ledger="EUR", purpose=Purpose.MACHINE_WALLET, owner=owner).pk
        except BaseException as error:  # noqa: BLE001
            errors.append(error)
        finally:
            connection.close()

    threads = [threading.Thread(target=winner), threading.Thread(target=loser)]
    for thread in threads:
        thread.start()
    for _ in range(1200):  # the loser blocks on the unique index within milliseconds; poll, do not time it
        if loser_pid and _waiting_on_a_lock(backend_pid=loser_pid[0]):
            break
        time.sleep(0.1)
    is_blocked = bool(loser_pid) and _waiting_on_a_lock(backend_pid=loser_pid[0])
    release.set()
    for thread in threads:
        thread.join(timeout=120)

    assert errors == []
    assert is_blocked
    assert results["loser"] == results["winner"]
    assert Account.objects.filter(purpose=Purpose.MACHINE_WALLET).count() == 1


@pytest.mark.django_db
def test_a_refused_transfer_raises_the_ledgers_named_code_and_books_nothing() -> None:
    code, payable = _funded_code_and_payable(500)
    transfers_before = Transfer.objects.count()

    with pytest.raises(LedgerRefused) as raised:
        transfer_post(spec=TransferSpec(uuid.uuid4(), code.pk, payable.pk, 501, "EUR", TransferCode.QR_INVOICE))

    assert (raised.value.code, raised.value.ledger_code, raised.value.status) == (
        "exceeds_credits",
        ResultCode.EXCEEDS_CREDITS,
        409,
    )
    assert Transfer.objects.count() == transfers_before
    assert account_balance_get(account_id=code.pk).posted == 500


@pytest.mark.django_db
def test_a_retry_is_exists_only_when_the_caller_accepts_it() -> None:
    code, payable = _funded_code_and_payable(500)
    spec = TransferSpec(uuid.uuid4(), code.pk, payable.pk, 200, "EUR", TransferCode.QR_INVOICE)

    assert transfer_post(spec=spec) is ResultCode.OK
    assert transfer_post(spec=spec, accept_exists=True) is ResultCode.EXISTS
    with pytest.raises(LedgerRefused) as raised:
        transfer_post(spec=spec)

    assert raised.value.code == "exists"
    assert account_balance_get(account_id=code.pk).posted == 300


@pytest.mark.django_db
def test_a_linked_chain_is_all_or_nothing_and_a_retry_books_nothing() -> None:
    code, payable = _funded_code_and_payable(500)
    good = TransferSpec(uuid.uuid4(), code.pk, payable.pk, 300, "EUR", TransferCode.QR_INVOICE)
    too_much = TransferSpec(uuid.uuid4(), code.pk, payable.pk, 300, "EUR", TransferCode.QR_INVOICE)
    transfers_before = Transfer.objects.count()

    with pytest.raises(LedgerRefused) as raised:
        transfers_post_linked(specs=[good, too_much], context="invoice:1")

    assert raised.value.code == "exceeds_credits"
    assert Transfer.objects.count() == transfers_before
    smaller = TransferSpec(too_much.id, code.pk, payable.pk, 200, "EUR", TransferCode.QR_INVOICE)
    assert transfers_post_linked(specs=[good, smaller]) == [ResultCode.OK, ResultCode.OK]
    assert transfers_post_linked(specs=[good, smaller]) == [ResultCode.EXISTS, ResultCode.EXISTS]
    assert account_balance_get(account_id=code.pk).posted == 0
    assert account_balance_get(account_id=payable.pk).posted == 500


@pytest.mark.django_db
def test_an_undeclared_transfer_code_is_refused_before_the_ledger() -> None:
    bank, code = _funded_code(500)
    transfers_before = Transfer.objects.count()

    with pytest.raises(ValueError, match="not declared"):
        transfer_post(spec=TransferSpec(uuid.uuid4(), code.pk, bank.pk, 1, "EUR", 9))

    assert Transfer.objects.count() == transfers_before


def test_transfer_ids_are_deterministic_and_separated_by_context() -> None:
    assert transfer_id_derive(context="qr", key="capture:1") == transfer_id_derive(context="qr", key="capture:1")
    assert transfer_id_derive(context="qr", key="capture:1") != transfer_id_derive(context="machines", key="capture:1")
    assert transfer_id_derive(context="qr", key="capture:1") == uuid.uuid5(
        uuid.UUID("0f6c3a8e-7d21-4b9a-9e34-2a51c8d0b7f3"), "qr:capture:1"
    )
