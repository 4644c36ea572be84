"""Collection dates on the TARGET2 calendar: 2027's closing days, due dates moved to the next business day, and each
batch built by the D-1 deadline of its date."""

from __future__ import annotations

import datetime

import pytest
from django.db.models import F
from django.utils import timezone

from leasing import target2
from leasing.models import Collection, DirectDebitBatch, DirectDebitPreNotification, ScheduleItem
from leasing.services import collections, sepa
from leasing.tests import sepa_support

D = datetime.date
CLOSING_DAYS_2027 = [D(2027, 1, 1), D(2027, 3, 26), D(2027, 3, 29), D(2027, 5, 1), D(2027, 12, 25), D(2027, 12, 26)]


def test_target2_is_closed_on_2027s_closing_days_and_open_around_them():
    assert [day for day in CLOSING_DAYS_2027 if target2.is_business_day(day)] == []
    open_days = [D(2026, 12, 31), D(2027, 1, 4), D(2027, 3, 25), D(2027, 3, 30), D(2027, 4, 30), D(2027, 5, 3)]
    assert [day for day in open_days if not target2.is_business_day(day)] == []
    assert [target2.is_business_day(day) for day in (D(2027, 12, 24), D(2027, 12, 27), D(2027, 12, 28))] == [
        True,
        True,
        True,
    ]
    assert target2.is_business_day(D(2027, 5, 2)) is False  # a Sunday


@pytest.mark.parametrize(
    ("due", "collection_date", "deadline"),
    [
        (D(2027, 1, 1), D(2027, 1, 4), D(2026, 12, 31)),  # New Year (Friday) → Monday; file by Thursday
        (D(2027, 3, 26), D(2027, 3, 30), D(2027, 3, 25)),  # Good Friday → Tuesday after Easter Monday
        (D(2027, 3, 29), D(2027, 3, 30), D(2027, 3, 25)),  # Easter Monday → Tuesday; file by Maundy Thursday
        (D(2027, 5, 1), D(2027, 5, 3), D(2027, 4, 30)),  # 1 May, a Saturday → Monday
        (D(2027, 12, 25), D(2027, 12, 27), D(2027, 12, 24)),  # Christmas Day, a Saturday
        (D(2027, 12, 26), D(2027, 12, 27), D(2027, 12, 24)),  # 26 December, a Sunday
    ],
)
def test_a_due_date_on_a_closing_day_moves_to_the_next_business_day(due, collection_date, deadline):
    notified = due - datetime.timedelta(days=19)

    assert target2.collection_date_for(due_date=due, on=notified, notice_days=14) == collection_date
    assert target2.submission_deadline(collection_date) == deadline


def _contract_due_from(*, start: datetime.date, notified_on: datetime.date, capture, **people):
    """A SEPA contract whose rows all fall due `start - today` days later than written (its first rows, fee and
    instalment 1, on `start`), notified on `notified_on`; the e-mails' send time is put on that day too, so the test
    means the same whatever today is."""
    contract = sepa_support.sepa_contract(**people)
    ScheduleItem.objects.filter(contract=contract).update(due_date=F("due_date") + (start - timezone.localdate()))
    sepa_support.notices_sent(on=notified_on, capture=capture)
    sent = timezone.make_aware(datetime.datetime.combine(notified_on, datetime.time(9)))
    DirectDebitPreNotification.objects.filter(contract=contract).update(sent_at=sent)
    return contract


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("start", "collection_date", "deadline"),
    [
        (D(2027, 1, 1), D(2027, 1, 4), D(2026, 12, 31)),
        (D(2027, 3, 26), D(2027, 3, 30), D(2027, 3, 25)),
        (D(2027, 3, 29), D(2027, 3, 30), D(2027, 3, 25)),
        (D(2027, 5, 1), D(2027, 5, 3), D(2027, 4, 30)),
        (D(2027, 12, 25), D(2027, 12, 27), D(2027, 12, 24)),
        (D(2027, 12, 26), D(2027, 12, 27), D(2027, 12, 24)),
    ],
)
def test_the_batch_of_a_closing_day_debit_is_built_by_d_minus_1(
    customer, back_office, loan_product, django_capture_on_commit_callbacks, start, collection_date, deadline
):
    contract = _contract_due_from(
        start=start,
        notified_on=start - datetime.timedelta(days=19),
        capture=django_capture_on_commit_callbacks,
        customer=customer,
        back_office=back_office,
        product=loan_product,
    )
    notices = DirectDebitPreNotification.objects.filter(contract=contract)
    assert [(notice.collection_date, notice.sent_at is not None) for notice in notices] == [(collection_date, True)] * 2

    too_early = collections.collections_run(on=deadline - datetime.timedelta(days=collections.BATCH_WINDOW_DAYS + 1))
    on_deadline = collections.collections_run(on=deadline)

    assert (too_early.submitted, on_deadline.submitted) == (0, 2)
    batch = DirectDebitBatch.objects.get()
    assert batch.collection_date == collection_date
    exported = sepa.direct_debit_batch_export(batch_id=batch.pk, on=deadline)
    assert f"<ReqdColltnDt>{collection_date:%Y-%m-%d}</ReqdColltnDt>".encode() in bytes(exported.file_xml)


@pytest.mark.django_db
def test_a_debit_whose_deadline_passed_is_moved_not_collected(
    customer, back_office, loan_product, django_capture_on_commit_callbacks
):
    contract = _contract_due_from(
        start=D(2027, 3, 26),
        notified_on=D(2027, 3, 7),
        capture=django_capture_on_commit_callbacks,
        customer=customer,
        back_office=back_office,
        product=loan_product,
    )

    with django_capture_on_commit_callbacks(execute=True):
        result = collections.collections_run(on=D(2027, 3, 26))  # the D-1 deadline (25 March) has passed

    assert (result.submitted, result.moved) == (0, 2)
    assert Collection.objects.count() == 0
    assert DirectDebitBatch.objects.count() == 0
    notices = DirectDebitPreNotification.objects.filter(contract=contract).order_by("id")
    assert [(notice.status, notice.collection_date) for notice in notices] == [
        ("moved", D(2027, 3, 30)),
        ("moved", D(2027, 3, 30)),
        ("scheduled", D(2027, 4, 9)),  # 26 March + 14 days, a Friday
        ("scheduled", D(2027, 4, 9)),
    ]
