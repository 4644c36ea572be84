"""A customer's payment record as leasing's selectors give it to the payment-history credential: instalments paid on
time and late, built through the contract and collection services."""

from __future__ import annotations

import datetime

import pytest
from django.utils import timezone

from leasing import selectors
from leasing.models import ScheduleItem
from leasing.services import collections
from leasing.tests import factories

pytestmark = pytest.mark.django_db


def test_instalments_collected_after_their_due_date_are_paid_late_with_the_days(
    customer, back_office, loan_product, monkeypatch
):
    start = timezone.localdate()
    contract = factories.contract_active(
        customer=customer, back_office=back_office, product=loan_product, timing="in_advance", start_date=start
    )
    factories.balance_fund(user=customer, amount=100_000_00)
    later = timezone.now() + datetime.timedelta(days=35)
    on = start + datetime.timedelta(days=35)
    monkeypatch.setattr(timezone, "now", lambda: later)  # 35 days pass before the customer's balance is collected
    due_dates = list(
        ScheduleItem.objects.filter(contract=contract, kind="instalment", due_date__lte=on)
        .order_by("due_date")
        .values_list("due_date", flat=True)
    )
    assert due_dates[0] == start and len(due_dates) == 2  # monthly: the second falls due inside the 35 days
    assert selectors.instalments_missed(customer_id=customer.pk, due_from=start, on=on) == [
        selectors.InstalmentMissed(due_date=start, days_past_due=35),
        selectors.InstalmentMissed(due_date=due_dates[1], days_past_due=(on - due_dates[1]).days),
    ]
    assert selectors.contract_arrears_for_customer(customer_id=customer.pk, on=on)[0].days_past_due == 35

    collections.collections_run(on=on)

    assert selectors.instalments_paid_late(customer_id=customer.pk, due_from=start, due_to=on) == [
        selectors.InstalmentPaidLate(due_date=start, paid_on=on, days_late=35),
        selectors.InstalmentPaidLate(due_date=due_dates[1], paid_on=on, days_late=(on - due_dates[1]).days),
    ]
    assert selectors.instalments_paid_on_time_count(customer_id=customer.pk, due_from=start, due_to=on) == 0
    assert selectors.instalments_missed(customer_id=customer.pk, due_from=start, on=on) == []
    assert selectors.contract_arrears_for_customer(customer_id=customer.pk, on=on) == [
        selectors.ContractArrears(contract_number=contract.number, days_past_due=0, bucket=None)
    ]
    assert selectors.instalments_paid_late(customer_id=back_office.pk, due_from=start, due_to=on) == []


def test_an_instalment_collected_on_its_due_date_is_on_time(customer, back_office, loan_product):
    today = timezone.localdate()
    factories.contract_active(
        customer=customer, back_office=back_office, product=loan_product, timing="in_advance", start_date=today
    )
    factories.balance_fund(user=customer, amount=100_000_00)

    collections.collections_run(on=today)

    assert selectors.instalments_paid_on_time_count(customer_id=customer.pk, due_from=today, due_to=today) == 1
    assert selectors.instalments_paid_late(customer_id=customer.pk, due_from=today, due_to=today) == []
