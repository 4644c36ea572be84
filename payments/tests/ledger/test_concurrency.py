"""50 threads, each with its own PostgreSQL connection, hammer one hot customer account."""

from __future__ import annotations

import threading
import uuid
from collections import Counter

import pytest
from django.db import connection

from payments.ledger.services import account_create, transfers_create
from payments.ledger.types import AccountFlags, TransferSpec
from payments.models import Account, AccountCode, Transfer

THREADS = 50
ROUNDS = 10
AMOUNT = 30
FUNDING = 10_000


@pytest.mark.django_db(transaction=True)
@pytest.mark.slow
def test_hot_account_never_passes_its_flag_and_ends_exact() -> None:
    bank = account_create(ledger="EUR", code=AccountCode.BANK, owner_reference="bank:1")
    customer = account_create(
        ledger="EUR",
        code=AccountCode.CUSTOMER_PREPAID,
        owner_reference="user:1",
        flags=AccountFlags.DEBITS_MUST_NOT_EXCEED_CREDITS,
    )
    merchants = [
        account_create(ledger="EUR", code=AccountCode.MERCHANT_PAYABLE, owner_reference=f"dealer:{n}") for n in range(5)
    ]
    assert transfers_create(transfers=[TransferSpec(uuid.uuid4(), bank.pk, customer.pk, FUNDING, "EUR", 1)])[0].is_ok
    shared = TransferSpec(uuid.uuid4(), customer.pk, merchants[0].pk, AMOUNT, "EUR", 1)
    barrier = threading.Barrier(THREADS)
    outcomes: Counter[str] = Counter()
    lock = threading.Lock()
    errors: list[BaseException] = []

    def worker(number: int) -> None:
        try:
            barrier.wait()
            for round_number in range(ROUNDS):
                merchant = merchants[(number + round_number) % len(merchants)]
                batch = [
                    TransferSpec(uuid.uuid4(), customer.pk, merchant.pk, AMOUNT, "EUR", 1),
                    TransferSpec(uuid.uuid4(), customer.pk, merchant.pk, FUNDING + 1, "EUR", 1),
                ]
                if round_number == 0:
                    batch.append(shared)
                results = transfers_create(transfers=batch)
                with lock:
                    outcomes.update(str(result.code) for result in results)
        except BaseException as error:  # noqa: BLE001 - reported to the main thread below
            errors.append(error)
        finally:
            connection.close()

    threads = [threading.Thread(target=worker, args=(n,)) for n in range(THREADS)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()

    assert errors == []
    accepted = FUNDING // AMOUNT  # 333 transfers of 30 fit into 10,000; the shared one is among them
    assert outcomes == {
        "ok": accepted,
        # every overdraft attempt, and every ordinary transfer once the 333 have used the funds
        "exceeds_credits": THREADS * ROUNDS * 2 + THREADS - accepted - (THREADS - 1),
        "exists": THREADS - 1,
    }
    customer.refresh_from_db()
    assert (customer.debits_pending, customer.debits_posted, customer.credits_posted) == (0, accepted * AMOUNT, FUNDING)
    merchant_credits = sum(
        Account.objects.filter(pk__in=[m.pk for m in merchants]).values_list("credits_posted", flat=True)
    )
    assert merchant_credits == accepted * AMOUNT
    assert Transfer.objects.filter(debit_account=customer).count() == accepted
    assert sum(Account.objects.values_list("debits_posted", flat=True)) == sum(
        Account.objects.values_list("credits_posted", flat=True)
    )
