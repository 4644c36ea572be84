"""Arrears: days past due, configurable buckets, one late fee per instalment, one letter per level, the pause."""

from __future__ import annotations

import datetime

import pytest
from django.core import mail
from django.utils import timezone

from leasing import ledger
from leasing.models import ContractStatus, DunningLetter, ScheduleItem
from leasing.services import arrears
from leasing.tests import factories

pytestmark = pytest.mark.django_db


@pytest.fixture
def contract(customer, back_office, loan_product):
    return factories.contract_active(customer=customer, back_office=back_office, product=loan_product)


def _first_due(contract) -> datetime.date:
    return ScheduleItem.objects.get(contract=contract, number=1).due_date


def test_buckets_follow_the_setting(settings):
    settings.LEASING_DELINQUENCY_BUCKETS = "1-10,11-"

    assert [(b.level, b.first_day, b.last_day) for b in arrears.delinquency_buckets()] == [(1, 1, 10), (2, 11, None)]
    assert arrears.bucket_for(days_past_due=10).level == 1
    assert arrears.bucket_for(days_past_due=400).level == 2
    assert arrears.bucket_for(days_past_due=0) is None


def test_days_past_due_count_from_the_oldest_unpaid_row(contract):
    # The arrangement fee fell due on the start date and is unpaid.
    on = _first_due(contract) + datetime.timedelta(days=4)

    assert arrears.days_past_due(contract=contract, on=on) == (on - contract.start_date).days
    assert arrears.days_past_due(contract=contract, on=contract.start_date) == 0


def test_the_arrears_run_charges_one_late_fee_and_sends_one_letter(
    settings, contract, customer, django_capture_on_commit_callbacks
):
    settings.LEASING_LATE_FEE, settings.LEASING_LATE_FEE_GRACE_DAYS = 7_50, 5
    on = _first_due(contract) + datetime.timedelta(days=6)
    receivable_before = ledger.receivable_balance_get(account_id=contract.receivable_account_id)

    with django_capture_on_commit_callbacks(execute=True):
        assert arrears.arrears_run(on=on) == 1
    with django_capture_on_commit_callbacks(execute=True):
        assert arrears.arrears_run(on=on) == 1

    contract.refresh_from_db()
    assert contract.status == ContractStatus.IN_ARREARS
    fees = ScheduleItem.objects.filter(contract=contract, kind="late_fee")
    assert list(fees.values_list("fee", "origin__number")) == [(7_50, 1)]
    assert ledger.receivable_balance_get(account_id=contract.receivable_account_id) == receivable_before + 7_50
    letter = DunningLetter.objects.get()
    dpd = (on - contract.start_date).days
    assert (letter.level, letter.days_past_due, letter.emailed_at is not None) == (
        arrears.bucket_for(days_past_due=dpd).level,
        dpd,
        True,
    )
    assert [message.to for message in mail.outbox] == [[customer.email]]
    assert mail.outbox[0].attachments[0][2] == "application/pdf"


def test_a_pause_stops_letters_but_not_the_arrears_status(contract, back_office):
    arrears.contract_dunning_pause(
        contract_id=contract.pk,
        until=timezone.localdate() + datetime.timedelta(days=90),
        actor=back_office,
        reason="Customer in hospital",
    )

    arrears.arrears_run(on=_first_due(contract) + datetime.timedelta(days=6))

    contract.refresh_from_db()
    assert contract.status == ContractStatus.IN_ARREARS
    assert DunningLetter.objects.count() == 0


def test_paying_the_overdue_rows_brings_the_contract_back(contract, customer):
    on = _first_due(contract) + datetime.timedelta(days=2)
    arrears.arrears_run(on=on)
    factories.balance_fund(user=customer, amount=5_000_00)
    from leasing.services.collections import collections_run

    collections_run(on=on)
    arrears.arrears_run(on=on)

    contract.refresh_from_db()
    assert contract.status == ContractStatus.ACTIVE
