"""The collection run collects each due row exactly once: twice in a row, after a crash, and with no money."""

from __future__ import annotations

import datetime
from unittest import mock

import pytest
from django.utils import timezone

from leasing import ledger
from leasing.models import Collection, ScheduleItem
from leasing.services import collections
from leasing.tests import factories
from payments.ledger.client import LedgerRefused
from payments.ledger.registry import TransferCode
from payments.ledger.selectors import transfer_search

pytestmark = pytest.mark.django_db


def _contract(customer, back_office, product, **overrides):
    return factories.contract_active(customer=customer, back_office=back_office, product=product, **overrides)


def test_running_twice_on_the_same_day_collects_each_row_once(customer, back_office, loan_product):
    contract = _contract(customer, back_office, loan_product, timing="in_advance")
    factories.balance_fund(user=customer, amount=5_000_00)
    today = timezone.localdate()

    first = collections.collections_run(on=today)
    transfers_after_first = transfer_search().count()
    second = collections.collections_run(on=today)

    assert (first.collected, second.collected) == (2, 0)  # the arrangement fee and instalment 1
    assert transfer_search().count() == transfers_after_first
    fee, instalment = ScheduleItem.objects.filter(contract=contract, number__in=[0, 1]).order_by("number")
    assert [fee.status, instalment.status] == ["paid", "paid"]
    assert ledger.customer_balance_get(user_id=customer.pk, currency="EUR") == 5_000_00 - 250_00 - instalment.amount
    receivable = ledger.receivable_balance_get(account_id=contract.receivable_account_id)
    assert receivable == 27_000_00 - instalment.principal


def test_a_crash_mid_run_leaves_the_rest_for_the_next_run(customer, back_office, loan_product):
    contract = _contract(customer, back_office, loan_product)
    factories.balance_fund(user=customer, amount=10_000_00)
    on = contract.start_date + datetime.timedelta(days=95)  # fee + instalments 1-3 due
    real_post = collections._collection_post
    calls = []

    def crash_on_third(*, collection, item):
        calls.append(item.pk)
        if len(calls) == 3:
            raise RuntimeError("worker killed")
        real_post(collection=collection, item=item)

    with mock.patch.object(collections, "_collection_post", crash_on_third), pytest.raises(RuntimeError):
        collections.collections_run(on=on)
    assert Collection.objects.count() == 2

    result = collections.collections_run(on=on)

    assert result.collected == 2
    rows = ScheduleItem.objects.filter(contract=contract, due_date__lte=on)
    assert set(rows.values_list("status", flat=True)) == {"paid"}
    assert Collection.objects.count() == rows.count() == 4
    payment_transfers = transfer_search(code=TransferCode.LEASE_INSTALMENT_PAYMENT)
    assert payment_transfers.count() == 4


def test_a_row_already_collected_is_not_collected_again_by_a_direct_call(customer, back_office, loan_product):
    contract = _contract(customer, back_office, loan_product, timing="in_advance")
    factories.balance_fund(user=customer, amount=5_000_00)
    row = ScheduleItem.objects.get(contract=contract, number=1)

    assert collections.schedule_item_collect(schedule_item_id=row.pk, on=timezone.localdate()) == "collected"
    assert collections.schedule_item_collect(schedule_item_id=row.pk, on=timezone.localdate()) is None
    assert Collection.objects.filter(schedule_item=row).count() == 1


def test_without_money_the_row_stays_due_and_nothing_is_booked(customer, back_office, loan_product):
    contract = _contract(customer, back_office, loan_product, timing="in_advance")
    transfers_before = transfer_search().count()

    result = collections.collections_run(on=timezone.localdate())

    assert (result.collected, result.refused) == (0, 2)
    assert transfer_search().count() == transfers_before
    assert set(ScheduleItem.objects.filter(contract=contract, number__in=[0, 1]).values_list("status", flat=True)) == {
        "due"
    }
    assert Collection.objects.count() == 0


def test_the_ledger_refusal_names_its_code(customer, back_office, loan_product):
    contract = _contract(customer, back_office, loan_product, timing="in_advance")
    row = ScheduleItem.objects.get(contract=contract, number=1)

    with pytest.raises(LedgerRefused) as raised:
        collections.schedule_item_collect(schedule_item_id=row.pk, on=timezone.localdate())

    assert raised.value.code == "exceeds_credits"
