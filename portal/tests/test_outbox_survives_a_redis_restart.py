"""Every effect after commit goes through the outbox: a Redis restart without persistence loses nothing.

A private `redis-server` (its own loopback port, no persistence) is the broker of this process and of a real
`celery worker` process. Credit-check webhooks, confirmation e-mails and a settlement are queued once while Redis holds
them (then Redis restarts empty) and once while Redis is down; after the restart the sweep hands every one over again
and each webhook reaches the loopback receiver once, each e-mail leaves once, each pending transfer is posted once,
also when every message is delivered a second time.
"""

from __future__ import annotations

import json
import threading
from collections import Counter
from email import message_from_string
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest
import redis
from django.db import transaction

from accounts import services as accounts_services
from core.models import OutboxMessage, OutboxState
from core.outbox import outbox_sweep, outbox_task
from credit_checks.models import WebhookDelivery
from credit_checks.services import credit_check_request_create
from credit_checks.tasks import WEBHOOK_TOPIC
from credit_checks.webhooks import dealer_webhook_configure, webhook_event_create
from payments.models import SettlementItem, SettlementItemState
from payments.tests.settlement.helpers import (
    assert_posted_exactly_once,
    expected_total,
    redemptions_create,
    settlement_ledger_create,
)
from portal.testing import celery_worker_process, private_redis, wait_for

pytestmark = [pytest.mark.worker, pytest.mark.slow, pytest.mark.django_db(transaction=True)]


class _Receiver:
    """A loopback HTTP receiver that answers 200 and counts the event ids it was sent."""

    def __init__(self) -> None:
        self.event_ids: list[str] = []
        lock = threading.Lock()
        received = self.event_ids

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                self.rfile.read(int(self.headers["Content-Length"]))
                with lock:
                    received.append(self.headers["X-FinLab-Event-Id"])
                self.send_response(200)
                self.end_headers()

            def log_message(self, *args: object) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/hooks"


@pytest.fixture
def receiver(settings):
    settings.OUTBOUND_HTTP_ALLOW_PLAIN_HTTP = True
    settings.OUTBOUND_HTTP_ALLOWED_NETWORKS = ["127.0.0.1/32"]
    started = _Receiver()
    thread = threading.Thread(target=started.server.serve_forever, daemon=True)
    thread.start()
    yield started
    started.server.shutdown()
    started.server.server_close()


def _effects_queue(*, dealer, tag: str) -> tuple[list[str], list[str]]:
    """Two registrations (a confirmation e-mail each) and two credit-check webhook events."""
    emails = [f"{tag}-{n}@example.test" for n in range(2)]
    for email in emails:
        accounts_services.customer_register(email=email, password="a-long-passphrase-42")
    events = []
    for _ in range(2):
        request = credit_check_request_create(
            dealer_user=dealer, purpose="financing", amount=399_00, currency="EUR", term_months=48
        )
        with transaction.atomic():
            events.append(str(webhook_event_create(request=request).event_id))
    return emails, events


def _mails_sent(directory: Path) -> Counter[str]:
    sent: Counter[str] = Counter()
    for path in directory.glob("*.log"):
        for raw in path.read_text().split("-" * 79):
            if raw.strip():
                sent[message_from_string(raw.strip())["To"]] += 1
    return sent


def _deliveries_skipped(log: Path) -> int:
    """Deliveries the worker ran that found their message done already (the task's result is logged)."""
    return sum(
        1 for line in log.read_text().splitlines() if "Task core.outbox_deliver[" in line and "'skipped'" in line
    )


def test_effects_queued_around_a_redis_restart_are_delivered_exactly_once(dealer, receiver, tmp_path):
    mails = tmp_path / "mails"
    mails.mkdir()
    dealer_webhook_configure(dealer_organisation=dealer.dealer_organisation, url=receiver.url)
    ledger = settlement_ledger_create(customers=3)

    with private_redis(directory=tmp_path) as broker:
        # Queued while Redis is up, no worker yet: the messages sit in Redis, then Redis restarts empty.
        emails_lost, events_lost = _effects_queue(dealer=dealer, tag="lost")
        pending_lost = redemptions_create(ledger=ledger, count=40, per_transaction=40)
        assert redis.Redis.from_url(broker.url).llen("celery") == 5
        assert set(OutboxMessage.objects.values_list("state", "attempts")) == {(OutboxState.ENQUEUED, 1)}
        broker.stop()
        broker.start()
        assert redis.Redis.from_url(broker.url).dbsize() == 0

        # Queued while Redis is down: the business changes commit, the relay leaves the messages pending.
        broker.stop()
        emails_down, events_down = _effects_queue(dealer=dealer, tag="down")
        pending_down = redemptions_create(ledger=ledger, count=40, per_transaction=40, start=40)
        stranded = OutboxMessage.objects.filter(state=OutboxState.PENDING)
        assert (stranded.count(), set(stranded.values_list("attempts", flat=True))) == (5, {0})
        broker.start()

        worker_log = tmp_path / "worker.log"
        environment = {
            "CELERY_BROKER_URL": broker.url,
            "TEST_EMAIL_FILE_PATH": str(mails),
            "TEST_OUTBOUND_HTTP_ALLOW_PLAIN_HTTP": "true",
            "OUTBOUND_HTTP_ALLOWED_NETWORKS": "127.0.0.1/32",
        }
        with celery_worker_process(log_path=worker_log, environment=environment):
            assert outbox_sweep(pending_grace_seconds=0, ack_timeout_seconds=0) == 10
            wait_for(
                lambda: not OutboxMessage.objects.exclude(state=OutboxState.DONE).exists(),
                timeout=120,
                interval=0.5,
                message="every outbox message to be done",
            )
            assert outbox_sweep(pending_grace_seconds=0, ack_timeout_seconds=0) == 0  # nothing left to re-send

            # Every message delivered a second time (a broker redelivery): nothing happens twice.
            handled = OutboxMessage.objects.filter(topic__in=["accounts.email_confirmation_send", WEBHOOK_TOPIC])
            for message in handled:
                outbox_task(topic=message.topic).apply_async(kwargs={"outbox_message_id": message.pk})
            wait_for(
                lambda: _deliveries_skipped(worker_log) == handled.count() == 8,
                timeout=60,
                interval=0.5,
                message="the repeated deliveries to run (and find their messages done)",
            )

    all_events = events_lost + events_down
    assert sorted(receiver.event_ids) == sorted(all_events)  # each webhook once
    assert set(WebhookDelivery.objects.values_list("attempts", "last_status_code")) == {(1, 200)}
    assert _mails_sent(mails) == Counter(dict.fromkeys(emails_lost + emails_down, 1))  # each e-mail once
    assert SettlementItem.objects.filter(state=SettlementItemState.SETTLED).count() == 80
    assert_posted_exactly_once(
        ledger=ledger, pending_ids=pending_lost + pending_down, total=expected_total(start=0, count=80)
    )
    assert set(OutboxMessage.objects.values_list("state", flat=True)) == {OutboxState.DONE}
    assert json.dumps(sorted(OutboxMessage.objects.values_list("attempts", flat=True))) == json.dumps([1] * 5 + [2] * 5)
