"""Notification e-mails survive a Redis restart between commit and delivery, and a repeated delivery sends nothing.

A private `redis-server` (no persistence) is the broker of this process and of a real `celery worker` process, which
sends through Django's SMTP backend to a real SMTP server the test started on loopback. Receipts and expiry reminders
are queued once while Redis holds them (then Redis restarts empty) and once while Redis is down; after the restart the
sweep hands every message over again, each e-mail arrives once, in its recipient's language, also when every message
is delivered a second time.
"""

from __future__ import annotations

import datetime as dt
from collections import Counter
from email import message_from_bytes
from email.header import decode_header, make_header

import pytest
import redis

from accounts.notifications import NOTIFICATION_TOPIC
from accounts.roles import Role
from accounts.services import user_preferences_update
from core.models import OutboxMessage, OutboxState
from core.outbox import outbox_sweep, outbox_task
from payments.notifications import code_expiry_reminders_queue
from payments.tests.qr.factories import paid_code_create
from portal.testing import celery_worker_process, private_redis, smtp_server, wait_for

pytestmark = [pytest.mark.worker, pytest.mark.slow, pytest.mark.django_db(transaction=True)]


def _deliveries_skipped(log) -> int:
    return sum(
        1 for line in log.read_text().splitlines() if "Task core.outbox_deliver[" in line and "'skipped'" in line
    )


def _received(smtp) -> Counter[tuple[str, str]]:
    """(recipient, subject) of every message the server accepted, counted."""
    seen: Counter[tuple[str, str]] = Counter()
    for recipients, raw in smtp.received():
        message = message_from_bytes(raw)
        seen[(recipients[0], str(make_header(decode_header(message["Subject"]))))] += 1
    return seen


def test_notifications_queued_around_a_redis_restart_are_sent_exactly_once(make_user, tmp_path):
    german, english = make_user(Role.CUSTOMER), make_user(Role.CUSTOMER)
    user_preferences_update(user=german, language="de", time_zone="Europe/Berlin")
    user_preferences_update(user=english, language="en", time_zone="Europe/London")

    with smtp_server() as smtp, private_redis(directory=tmp_path) as broker:
        # Queued while Redis is up, no worker yet: the messages sit in Redis, then Redis restarts empty.
        codes_lost = [paid_code_create(owner=person, amount=30_00) for person in (german, english)]
        reminder_day = min(code.expires_at for code in codes_lost) - dt.timedelta(days=7)
        assert code_expiry_reminders_queue(now=reminder_day) == 2
        assert redis.Redis.from_url(broker.url).llen("celery") == 4
        assert set(OutboxMessage.objects.values_list("state", "attempts")) == {(OutboxState.ENQUEUED, 1)}
        broker.stop()
        broker.start()
        assert redis.Redis.from_url(broker.url).dbsize() == 0

        # Queued while Redis is down: the orders commit, the relay leaves the receipts pending.
        broker.stop()
        codes_down = [paid_code_create(owner=person, amount=40_00) for person in (german, english)]
        stranded = OutboxMessage.objects.filter(state=OutboxState.PENDING)
        assert (stranded.count(), set(stranded.values_list("attempts", flat=True))) == (2, {0})
        broker.start()

        worker_log = tmp_path / "worker.log"
        environment = {"CELERY_BROKER_URL": broker.url, "TEST_EMAIL_SMTP_PORT": str(smtp.port)}
        with celery_worker_process(log_path=worker_log, environment=environment):
            assert outbox_sweep(pending_grace_seconds=0, ack_timeout_seconds=0) == 6
            wait_for(
                lambda: not OutboxMessage.objects.exclude(state=OutboxState.DONE).exists(),
                timeout=120,
                interval=0.5,
                message="every notification to be done",
            )
            assert outbox_sweep(pending_grace_seconds=0, ack_timeout_seconds=0) == 0

            # Every message delivered a second time (a broker redelivery): no e-mail leaves twice.
            handled = OutboxMessage.objects.filter(topic=NOTIFICATION_TOPIC)
            for message in handled:
                outbox_task(topic=message.topic).apply_async(kwargs={"outbox_message_id": message.pk})
            wait_for(
                lambda: _deliveries_skipped(worker_log) == handled.count() == 6,
                timeout=60,
                interval=0.5,
                message="the repeated deliveries to run (and find their messages done)",
            )
        received = _received(smtp)

    short = {code.owner_id: [] for code in codes_lost}
    for code in codes_lost + codes_down:
        short[code.owner_id].append(code.short_id)
    assert received == Counter(
        {
            (german.email, f"Zahlung erhalten: Ihr QR-Code {short[german.pk][0]} ist bereit"): 1,
            (german.email, f"Zahlung erhalten: Ihr QR-Code {short[german.pk][1]} ist bereit"): 1,
            (german.email, f"Ihr QR-Code {short[german.pk][0]} läuft bald ab"): 1,
            (english.email, f"Payment received: your QR code {short[english.pk][0]} is ready"): 1,
            (english.email, f"Payment received: your QR code {short[english.pk][1]} is ready"): 1,
            (english.email, f"Your QR code {short[english.pk][0]} expires soon"): 1,
        }
    )
    assert sorted(OutboxMessage.objects.values_list("attempts", flat=True)) == [1, 1, 2, 2, 2, 2]
