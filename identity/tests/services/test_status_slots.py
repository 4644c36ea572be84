"""Status-list indexes are drawn at random behind a unique (list, index) constraint: concurrent issuers get distinct
slots without queueing on the list's row, and the indexes do not reveal the order of issuance."""

from __future__ import annotations

import threading
from concurrent.futures import ThreadPoolExecutor

import pytest
from django.db import connection, transaction

from identity.models import StatusList, StatusListSlot
from identity.services.status import status_slots_allocate

pytestmark = pytest.mark.django_db(transaction=True)

ISSUER = "did:key:z6MkslotIssuer"
THREADS = 12
SLOTS_PER_THREAD = 10
LOCK_TIMEOUT = "20s"
"""A cap on any lock wait, not a measurement: an allocation that queues behind another transaction fails with it."""


def _allocate_in_own_transaction(count: int, barrier: threading.Barrier) -> list[tuple[int, int, int, int]]:
    taken = []
    try:
        barrier.wait(timeout=60)
        for _ in range(count):
            with transaction.atomic():
                slots = status_slots_allocate(issuer_did=ISSUER)
            taken.append(
                (slots.revocation_list.pk, slots.revocation_index, slots.suspension_list.pk, slots.suspension_index)
            )
    finally:
        connection.close()
    return taken


def test_concurrent_issuers_get_distinct_random_slots():
    status_slots_allocate(issuer_did=ISSUER)  # opens (and publishes) the two lists before the race
    barrier = threading.Barrier(THREADS)
    with ThreadPoolExecutor(max_workers=THREADS) as pool:
        futures = [pool.submit(_allocate_in_own_transaction, SLOTS_PER_THREAD, barrier) for _ in range(THREADS)]
        taken = [slot for future in futures for slot in future.result(timeout=300)]

    assert len(taken) == THREADS * SLOTS_PER_THREAD
    revocations = [(list_id, index) for list_id, index, _, _ in taken]
    suspensions = [(list_id, index) for _, _, list_id, index in taken]
    assert len(set(revocations)) == len(revocations)
    assert len(set(suspensions)) == len(suspensions)
    assert StatusListSlot.objects.count() == 2 * (THREADS * SLOTS_PER_THREAD + 1)
    assert StatusList.objects.filter(issuer_did=ISSUER).count() == 2
    assert StatusList.objects.filter(issuer_did=ISSUER, is_open=True).count() == 2


def test_an_issuer_does_not_wait_for_another_issuers_open_transaction():
    status_slots_allocate(issuer_did=ISSUER)
    first_holds_slots = threading.Event()
    second_is_done = threading.Event()
    outcome: dict[str, object] = {}

    def first_issuer() -> None:
        try:
            with transaction.atomic():
                outcome["first"] = status_slots_allocate(issuer_did=ISSUER).revocation_index
                first_holds_slots.set()
                second_is_done.wait(timeout=120)
        finally:
            connection.close()

    def second_issuer() -> None:
        try:
            first_holds_slots.wait(timeout=60)
            with transaction.atomic():
                with connection.cursor() as cursor:
                    cursor.execute(f"SET LOCAL lock_timeout = '{LOCK_TIMEOUT}'")
                outcome["second"] = status_slots_allocate(issuer_did=ISSUER).revocation_index
        except Exception as error:  # noqa: BLE001 - the assertion below names it
            outcome["second"] = error
        finally:
            second_is_done.set()
            connection.close()

    threads = [threading.Thread(target=first_issuer), threading.Thread(target=second_issuer)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=180)

    assert isinstance(outcome["second"], int), outcome["second"]
    assert outcome["first"] != outcome["second"]
    assert StatusListSlot.objects.count() == 6


def test_indexes_are_not_handed_out_in_issuance_order():
    indexes = [status_slots_allocate(issuer_did=ISSUER).revocation_index for _ in range(40)]

    assert len(set(indexes)) == 40
    assert indexes != sorted(indexes)
    assert indexes != list(range(40))
    size = StatusList.objects.get(issuer_did=ISSUER, purpose="revocation").size_in_bits
    assert all(0 <= index < size for index in indexes)
    # 40 uniform draws from 131,072 all below 40 * 64 would have a probability below 1e-60.
    assert max(indexes) >= 40 * 64


def test_a_list_at_capacity_is_closed_and_a_new_one_opened(monkeypatch):
    first = status_slots_allocate(issuer_did=ISSUER).revocation_list
    StatusListSlot.objects.all().delete()
    for index in (5, 9, 11):
        StatusListSlot.objects.create(status_list=first, index=index)
    monkeypatch.setattr(StatusList, "slot_capacity", property(lambda self: 3))
    # The revocation draw hits taken index 5: the list holds its capacity, so it closes and the draw moves on.
    draws = iter([5, 9, 20])
    monkeypatch.setattr("identity.services.status.secrets.randbelow", lambda _bound: next(draws))

    slots = status_slots_allocate(issuer_did=ISSUER)

    first.refresh_from_db()
    assert first.is_open is False
    assert slots.revocation_list.pk != first.pk
    assert (slots.revocation_index, slots.suspension_index) == (9, 20)
    assert StatusList.objects.get(issuer_did=ISSUER, purpose="revocation", is_open=True) == slots.revocation_list
    assert sorted(StatusListSlot.objects.filter(status_list=first).values_list("index", flat=True)) == [5, 9, 11]
