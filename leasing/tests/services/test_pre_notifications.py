"""Pre-notification of direct debits: amount and date e-mailed once, 14 days ahead (or the contract's period), the
send time recorded; a debit whose notice did not leave in time is moved, not collected."""

from __future__ import annotations

import datetime
import threading
import time

import pytest
from django.core import mail
from django.db import connection
from django.utils import timezone

from accounts import notifications as accounts_notifications
from accounts.models import SentNotification
from leasing import target2
from leasing.models import Collection, Contract, ContractStatus, DirectDebitBatch, DirectDebitPreNotification
from leasing.services import arrears, collections, pre_notifications
from leasing.tests import sepa_support

pytestmark = pytest.mark.django_db


def test_each_debit_is_announced_once_with_amount_and_date_and_the_send_time_recorded(
    customer, back_office, loan_product, django_capture_on_commit_callbacks
):
    contract = sepa_support.sepa_contract(customer=customer, back_office=back_office, product=loan_product)
    today = timezone.localdate()
    before = timezone.now()

    sepa_support.notices_sent(on=today, capture=django_capture_on_commit_callbacks)
    sepa_support.notices_sent(on=today, capture=django_capture_on_commit_callbacks)  # beat runs again
    pre_notifications.pre_notification_deliver(pre_notification_id=DirectDebitPreNotification.objects.first().pk)

    notices = list(DirectDebitPreNotification.objects.filter(contract=contract).order_by("amount"))
    expected_date = target2.business_day_on_or_after(today + datetime.timedelta(days=14))
    assert [(notice.amount, notice.collection_date, notice.status) for notice in notices] == [
        (250_00, expected_date, "scheduled"),
        (contract.schedule_items.get(number=1).amount, expected_date, "scheduled"),
    ]
    assert all(notice.sent_at is not None and notice.sent_at >= before for notice in notices)
    assert len(mail.outbox) == 2
    fee_mail = next(message for message in mail.outbox if "€250.00" in message.body)
    assert fee_mail.to == [customer.email]
    assert fee_mail.subject == f"Direct debit announcement for contract {contract.number}"
    assert f"On {expected_date.day} {expected_date:%b %Y} we will collect €250.00" in fee_mail.body
    assert contract.mandate.reference in fee_mail.body


def test_a_debit_whose_notice_was_not_sent_is_moved_not_collected(customer, back_office, loan_product):
    contract = sepa_support.sepa_contract(customer=customer, back_office=back_office, product=loan_product)
    pre_notifications.pre_notifications_run(on=timezone.localdate())  # the e-mail task never ran (no commit)
    first = DirectDebitPreNotification.objects.filter(contract=contract).first()
    deadline = target2.submission_deadline(first.collection_date)

    result = collections.collections_run(on=deadline)

    assert (result.submitted, result.moved) == (0, 2)
    assert Collection.objects.count() == 0
    assert DirectDebitBatch.objects.count() == 0
    assert len(mail.outbox) == 0
    new_date = target2.business_day_on_or_after(deadline + datetime.timedelta(days=14))
    assert sorted(DirectDebitPreNotification.objects.values_list("status", "collection_date")) == [
        ("moved", first.collection_date),
        ("moved", first.collection_date),
        ("scheduled", new_date),
        ("scheduled", new_date),
    ]


def test_a_notice_sent_too_late_moves_the_debit(
    customer, back_office, loan_product, django_capture_on_commit_callbacks
):
    contract = sepa_support.sepa_contract(customer=customer, back_office=back_office, product=loan_product)
    sepa_support.notices_sent(on=timezone.localdate(), capture=django_capture_on_commit_callbacks)
    notice = DirectDebitPreNotification.objects.filter(contract=contract).first()
    late = timezone.make_aware(
        datetime.datetime.combine(notice.collection_date - datetime.timedelta(days=13), datetime.time(8))
    )
    DirectDebitPreNotification.objects.filter(contract=contract).update(sent_at=late)  # the mail left a day late

    with django_capture_on_commit_callbacks(execute=True):
        result = collections.collections_run(
            on=target2.submission_deadline(notice.collection_date) - datetime.timedelta(days=3)
        )

    assert (result.submitted, result.moved) == (0, 2)
    assert Collection.objects.count() == 0
    assert DirectDebitPreNotification.objects.filter(status="scheduled", sent_at__isnull=False).count() == 2


def test_a_shorter_notice_period_agreed_in_the_contract_is_honoured(
    customer, back_office, loan_product, django_capture_on_commit_callbacks
):
    contract = sepa_support.sepa_contract(customer=customer, back_office=back_office, product=loan_product)
    Contract.objects.filter(pk=contract.pk).update(pre_notification_days=2)
    today = timezone.localdate()

    sepa_support.notices_sent(on=today, capture=django_capture_on_commit_callbacks)

    expected = target2.business_day_on_or_after(
        max(today + datetime.timedelta(days=2), target2.earliest_collection_date(submitted_on=today))
    )
    assert set(DirectDebitPreNotification.objects.values_list("collection_date", "notice_days")) == {(expected, 2)}
    result = collections.collections_run(on=target2.submission_deadline(expected))
    assert result.submitted == 2


def test_a_debit_the_lessor_moved_does_not_put_the_customer_into_arrears(
    customer, back_office, loan_product, django_capture_on_commit_callbacks
):
    contract = sepa_support.sepa_contract(customer=customer, back_office=back_office, product=loan_product)
    sepa_support.notices_sent(on=timezone.localdate(), capture=django_capture_on_commit_callbacks)
    later = timezone.localdate() + datetime.timedelta(days=5)  # rows due today, debit announced for two weeks later

    assert arrears.days_past_due(contract=contract, on=later) == 0
    assert arrears.arrears_run(on=later) == 0
    contract.refresh_from_db()
    assert contract.status == ContractStatus.ACTIVE


def _wait_until_another_session_waits_for_a_lock(timeout_seconds: float = 60.0) -> None:
    """Polls PostgreSQL until some session of this database waits on a row lock (the second delivery)."""
    deadline = time.monotonic() + timeout_seconds
    with connection.cursor() as cursor:
        while time.monotonic() < deadline:
            cursor.execute("SELECT pg_stat_clear_snapshot()")
            cursor.execute(
                "SELECT count(*) FROM pg_stat_activity WHERE wait_event_type = 'Lock' AND datname = current_database()"
            )
            if cursor.fetchone()[0] > 0:
                return
            time.sleep(0.02)


@pytest.mark.django_db(transaction=True)
def test_two_deliveries_of_one_notice_at_the_same_time_send_one_e_mail(
    customer, back_office, loan_product, monkeypatch
):
    contract = sepa_support.sepa_contract(customer=customer, back_office=back_office, product=loan_product)
    pre_notifications.pre_notifications_run(on=timezone.localdate())
    notice = DirectDebitPreNotification.objects.filter(contract=contract).first()
    DirectDebitPreNotification.objects.filter(pk=notice.pk).update(sent_at=None)  # its e-mail not out yet
    SentNotification.objects.filter(event_key=f"pre_notification:{notice.pk}").delete()
    sent = []

    def send_mail_while_the_other_waits(*, user, kind, event_key, context):
        sent.append([user.email])
        _wait_until_another_session_waits_for_a_lock()

    monkeypatch.setattr(accounts_notifications, "_email_send", send_mail_while_the_other_waits)
    results = []

    def deliver():
        try:
            results.append(pre_notifications.pre_notification_deliver(pre_notification_id=notice.pk))
        finally:
            connection.close()

    threads = [threading.Thread(target=deliver) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=120)

    assert sorted(results) == [False, True]
    assert sent == [[customer.email]]
    notice.refresh_from_db()
    assert notice.sent_at is not None
