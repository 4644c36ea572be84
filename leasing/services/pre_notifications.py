"""Pre-notification of SEPA direct debits: the debtor is told the amount and date of each debit ahead of it.

SEPA Core asks for the notice 14 calendar days before the collection date unless the contract agrees on another
period (`Contract.pre_notification_days`). `pre_notifications_run(on=...)` (Celery beat, daily) writes one notice per
direct-debit row coming due within that period plus `NOTICE_LEAD_DAYS`, with its collection date on the TARGET2
calendar, and sends every notice not sent yet. Each e-mail goes out through Celery after the commit, as every
notification does (accounts.notifications); the send stamps `sent_at` under a row lock, so a notice is e-mailed once
however often the task runs. A notice whose e-mail did not leave in time is moved (a new notice with a later date), and its row is not debited.
"""

from __future__ import annotations

import datetime
import logging

from django.conf import settings
from django.db import IntegrityError, transaction
from django.db.models import Exists, OuterRef
from django.urls import reverse
from django.utils import timezone

from accounts.notifications import day, link, money, notification_deliver
from core.money import Money
from core.outbox import outbox_write
from leasing import target2
from leasing.models import (
    Collection,
    CollectionMethod,
    CollectionStatus,
    ContractStatus,
    DirectDebitPreNotification,
    PreNotificationStatus,
    ScheduleItem,
    ScheduleItemStatus,
)
from leasing.notifications import DIRECT_DEBIT_COMING

logger = logging.getLogger(__name__)
COLLECTIBLE_CONTRACT_STATES = (ContractStatus.ACTIVE, ContractStatus.IN_ARREARS, ContractStatus.ENDED)
NOTICE_LEAD_DAYS = 5  # notices are written this many days before the notice period starts, so e-mail has time
LONGEST_NOTICE_DAYS = 60


def _rows_to_notify(*, on: datetime.date):
    scheduled = DirectDebitPreNotification.objects.filter(
        schedule_item=OuterRef("pk"), status=PreNotificationStatus.SCHEDULED
    )
    live = Collection.objects.filter(schedule_item=OuterRef("pk")).exclude(status=CollectionStatus.RETURNED)
    return (
        ScheduleItem.objects.filter(
            status=ScheduleItemStatus.DUE,
            due_date__lte=on + datetime.timedelta(days=LONGEST_NOTICE_DAYS + NOTICE_LEAD_DAYS),
            contract__status__in=COLLECTIBLE_CONTRACT_STATES,
            contract__collection_method=CollectionMethod.SEPA_DIRECT_DEBIT,
        )
        .exclude(Exists(scheduled))
        .exclude(Exists(live))
        .select_related("contract")
        .order_by("due_date", "id")
    )


def pre_notifications_run(*, on: datetime.date) -> int:
    """Writes the notices of direct debits coming due and queues every unsent one; returns how many it wrote."""
    written = 0
    for item in _rows_to_notify(on=on):
        if item.due_date <= on + datetime.timedelta(days=item.contract.pre_notification_days + NOTICE_LEAD_DAYS):
            written += pre_notification_schedule(schedule_item_id=item.pk, on=on) is not None
    unsent = DirectDebitPreNotification.objects.filter(status=PreNotificationStatus.SCHEDULED, sent_at__isnull=True)
    for notice_id in unsent.values_list("id", flat=True):
        _send_after_commit(pre_notification_id=notice_id)
    return written


def _send_after_commit(*, pre_notification_id: int) -> None:
    """Queues the notice's e-mail through the outbox (once per notice, whatever calls it again)."""
    from leasing.tasks import PRE_NOTIFICATION_TOPIC

    with transaction.atomic():
        outbox_write(
            topic=PRE_NOTIFICATION_TOPIC,
            key=f"pre_notification:{pre_notification_id}",
            payload={"pre_notification_id": pre_notification_id},
        )


@transaction.atomic
def pre_notification_schedule(*, schedule_item_id: int, on: datetime.date) -> DirectDebitPreNotification | None:
    """Writes the notice of one direct-debit row, dated on the TARGET2 calendar no earlier than the notice period
    allows, and queues its e-mail; None when the row has a scheduled notice already."""
    item = ScheduleItem.objects.select_for_update(of=("self",)).select_related("contract").get(pk=schedule_item_id)
    contract = item.contract
    try:
        with transaction.atomic():
            notice = DirectDebitPreNotification.objects.create(
                contract=contract,
                schedule_item=item,
                amount=item.amount,
                currency=contract.currency,
                notice_days=contract.pre_notification_days,
                collection_date=target2.collection_date_for(
                    due_date=item.due_date, on=on, notice_days=contract.pre_notification_days
                ),
            )
    except IntegrityError:
        return None
    _send_after_commit(pre_notification_id=notice.pk)
    return notice


def pre_notification_move(
    *, notice: DirectDebitPreNotification, item: ScheduleItem, on: datetime.date
) -> DirectDebitPreNotification | None:
    """The notice could not be honoured (not sent in time, or its D-1 deadline passed): it is marked moved and a new
    notice with the next possible date takes its place. The caller holds the row's lock."""
    DirectDebitPreNotification.objects.filter(pk=notice.pk).update(status=PreNotificationStatus.MOVED)
    logger.info("direct debit of row %s moved from %s", item.pk, notice.collection_date)
    return pre_notification_schedule(schedule_item_id=item.pk, on=on)


def notice_sent_in_time(*, notice: DirectDebitPreNotification) -> bool:
    """True when the e-mail left at least `notice_days` calendar days before the collection date."""
    if notice.sent_at is None:
        return False
    latest = notice.collection_date - datetime.timedelta(days=notice.notice_days)
    return timezone.localdate(notice.sent_at) <= latest


def notice_still_applies(*, notice: DirectDebitPreNotification, item: ScheduleItem) -> bool:
    """A notice announces one amount of one due row under a running direct-debit contract."""
    contract = item.contract
    return (
        item.status == ScheduleItemStatus.DUE
        and notice.amount == item.amount
        and contract.status in COLLECTIBLE_CONTRACT_STATES
        and contract.collection_method == CollectionMethod.SEPA_DIRECT_DEBIT
    )


@transaction.atomic
def pre_notification_deliver(*, pre_notification_id: int) -> bool:
    """E-mails one notice (accounts' notification "direct debit coming", always sent) and stamps `sent_at`; False
    (and no e-mail) when it was sent already, no longer applies, or the customer's account is closed.

    The row lock makes a second, concurrent delivery wait and then find `sent_at` set. A failed send raises, the
    stamp is rolled back, and the task retries.
    """
    notice = (
        DirectDebitPreNotification.objects.select_for_update(of=("self",))
        .select_related("contract__customer", "contract__mandate")
        .filter(pk=pre_notification_id, status=PreNotificationStatus.SCHEDULED, sent_at__isnull=True)
        .first()
    )
    if notice is None:
        return False
    contract = notice.contract
    delivered = notification_deliver(
        kind=DIRECT_DEBIT_COMING,
        user_id=contract.customer_id,
        event_key=f"pre_notification:{notice.pk}",
        context={
            "number": contract.number,
            "amount": money(Money(notice.amount, notice.currency)),
            "collection_date": day(notice.collection_date),
            "mandate_reference": contract.mandate.reference,
            "creditor_id": settings.LEASING_SEPA_CREDITOR_ID,
            "creditor_name": settings.LEASING_SEPA_CREDITOR_NAME,
            "contract_link": link(reverse("leasing:contract-detail", kwargs={"contract_id": contract.pk})),
        },
    )
    if delivered:
        DirectDebitPreNotification.objects.filter(pk=notice.pk).update(sent_at=timezone.now())
    return delivered
