"""The outbox: written with the business change, relayed after commit, re-sent by the sweep."""

from __future__ import annotations

from datetime import timedelta

import pytest
import redis
from django.conf import settings
from django.db import transaction
from django.utils import timezone

from core import outbox
from payments.models import OutboxMessage, OutboxState, SettlementItem, Transfer
from payments.settlement.services import SETTLEMENT_TOPIC
from payments.tests.settlement.helpers import redemptions_create, settlement_ledger_create
from portal.celery import app
from portal.testing import broker_flush

TOPIC = SETTLEMENT_TOPIC


@pytest.mark.django_db
def test_writing_the_same_message_twice_is_a_no_op(django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=False) as callbacks:
        first = outbox.outbox_write(topic=TOPIC, key="order:1", payload={"a": 1})
        second = outbox.outbox_write(topic=TOPIC, key="order:1", payload={"a": 2})

    assert first == second
    assert (OutboxMessage.objects.count(), second.payload, second.state, second.attempts) == (1, {"a": 1}, "pending", 0)
    assert len(callbacks) == 1


@pytest.mark.django_db
def test_an_unknown_topic_is_refused():
    with pytest.raises(ValueError, match=r"no Celery task named 'payments\.nothing'"):
        outbox.outbox_write(topic="payments.nothing", key="k")
    assert OutboxMessage.objects.count() == 0


@pytest.mark.django_db(transaction=True)
def test_a_write_outside_a_transaction_is_refused():
    with pytest.raises(RuntimeError, match=r"transaction\.atomic"):
        outbox.outbox_write(topic=TOPIC, key="k")
    assert OutboxMessage.objects.count() == 0


@pytest.fixture
def real_broker():
    previous = app.conf["CELERY_TASK_ALWAYS_EAGER"]
    app.conf["CELERY_TASK_ALWAYS_EAGER"] = False
    broker_flush()
    yield redis.Redis.from_url(settings.CELERY_BROKER_URL)
    app.conf["CELERY_TASK_ALWAYS_EAGER"] = previous
    broker_flush()


@pytest.mark.django_db(transaction=True)
def test_a_rolled_back_change_leaves_no_message_and_no_task(real_broker):
    ledger = settlement_ledger_create()
    pending_before = Transfer.objects.count()

    class Refused(Exception):
        pass

    with pytest.raises(Refused), transaction.atomic():
        redemptions_create(ledger=ledger, count=3, per_transaction=3)
        assert OutboxMessage.objects.count() == 1
        raise Refused

    assert (Transfer.objects.count(), SettlementItem.objects.count(), OutboxMessage.objects.count()) == (
        pending_before,
        0,
        0,
    )
    assert real_broker.llen("celery") == 0

    redemptions_create(ledger=ledger, count=3, per_transaction=3)  # the committed case does reach the broker

    assert real_broker.llen("celery") == 1
    message = OutboxMessage.objects.get()
    assert (message.state, message.attempts) == (OutboxState.ENQUEUED, 1)


@pytest.mark.django_db
def test_the_sweep_selects_unrelayed_and_unacknowledged_messages(django_capture_on_commit_callbacks):
    now = timezone.now()
    with django_capture_on_commit_callbacks(execute=False):
        fresh = outbox.outbox_write(topic=TOPIC, key="fresh")
        stale = outbox.outbox_write(topic=TOPIC, key="stale")
        recently_sent = outbox.outbox_write(topic=TOPIC, key="recently-sent")
        long_sent = outbox.outbox_write(topic=TOPIC, key="long-sent")
        done = outbox.outbox_write(topic=TOPIC, key="done")
    OutboxMessage.objects.filter(pk=stale.pk).update(created_at=now - timedelta(seconds=11))
    OutboxMessage.objects.filter(pk=recently_sent.pk).update(
        state="enqueued", attempts=1, created_at=now - timedelta(hours=1), enqueued_at=now - timedelta(seconds=100)
    )
    OutboxMessage.objects.filter(pk=long_sent.pk).update(
        state="enqueued", attempts=1, created_at=now - timedelta(hours=1), enqueued_at=now - timedelta(seconds=121)
    )
    OutboxMessage.objects.filter(pk=done.pk).update(state="done", done_at=now, created_at=now - timedelta(hours=1))

    overdue = outbox.outbox_overdue_ids(pending_grace_seconds=10, ack_timeout_seconds=120)

    assert overdue == [stale.pk, long_sent.pk]
    assert fresh.pk not in overdue


@pytest.mark.django_db
def test_the_sweep_hands_an_overdue_message_over_and_counts_the_attempt(django_capture_on_commit_callbacks):
    ledger = settlement_ledger_create()
    with django_capture_on_commit_callbacks(execute=False):
        redemptions_create(ledger=ledger, count=2, per_transaction=2)
    OutboxMessage.objects.update(state="enqueued", attempts=1, enqueued_at=timezone.now() - timedelta(seconds=500))

    assert outbox.outbox_sweep() == 1  # eager mode: the task runs inside the hand-over

    message = OutboxMessage.objects.get()
    assert (message.state, message.attempts) == (OutboxState.DONE, 2)
    assert SettlementItem.objects.filter(state="settled").count() == 2
    assert outbox.outbox_sweep() == 0
