"""The kernel's outbox: handlers run once, failures back off, hopeless messages die, and no app bypasses it."""

from __future__ import annotations

import re
import threading
import time
from datetime import timedelta
from pathlib import Path

import pytest
from django.db import connection, transaction
from django.db.models import F
from django.utils import timezone

from core import outbox
from core.models import OutboxMessage, OutboxState

REPOSITORY = Path(__file__).resolve().parents[2]
APPS = ("accounts", "core", "credit_checks", "identity", "leasing", "machines", "payments", "portal")
TOPIC = "core.tests.effect"
calls: list[int] = []


@outbox.outbox_handler(TOPIC)
def _effect(*, n: int) -> None:
    if n < 0:
        raise ConnectionError("receiver down")
    calls.append(n)


def _write(capture, *, key: str, n: int) -> OutboxMessage:
    """Writes a message in a business transaction and runs its relay as the commit would (tasks run in place)."""
    with capture(execute=True), transaction.atomic():
        return outbox.outbox_write(topic=TOPIC, key=key, payload={"n": n})


@pytest.fixture(autouse=True)
def _no_calls():
    calls.clear()


@pytest.mark.django_db
def test_a_handler_runs_once_however_often_its_message_is_delivered(django_capture_on_commit_callbacks):
    message = _write(django_capture_on_commit_callbacks, key="a", n=7)  # eager: the relay ran the handler after commit
    assert outbox.outbox_message_deliver(message_id=message.pk) == "skipped"
    message.refresh_from_db()
    assert (calls, message.state, message.attempts, message.last_error) == ([7], OutboxState.DONE, 1, "")
    assert (
        _write(django_capture_on_commit_callbacks, key="a", n=8).pk == message.pk
    )  # the same business key queues nothing
    assert calls == [7]


@pytest.mark.django_db
def test_a_new_message_is_one_statement_and_a_repeated_key_returns_the_first_without_a_second_relay(
    django_assert_num_queries, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks() as relays, transaction.atomic():
        with django_assert_num_queries(1):  # INSERT ... ON CONFLICT DO NOTHING RETURNING
            first = outbox.outbox_write(topic=TOPIC, key="once", payload={"n": 1})
        again = outbox.outbox_write(topic=TOPIC, key="once", payload={"n": 2})

    stored = OutboxMessage.objects.get(topic=TOPIC, key="once")
    assert (first.pk, again.pk, again.payload, len(relays)) == (stored.pk, stored.pk, {"n": 1}, 1)
    assert (first.state, first.attempts, first.payload, stored.payload) == (OutboxState.PENDING, 0, {"n": 1}, {"n": 1})


@pytest.mark.django_db(transaction=True)
def test_a_writer_of_a_key_another_transaction_is_writing_waits_for_its_commit_and_queues_nothing():
    """Two business changes with one key at once (a stop resent to a second web host): the second INSERT waits for
    the first transaction, then does nothing; one message, relayed once."""
    written = threading.Event()
    outcome: dict[str, object] = {}

    def second() -> None:
        from django.db import connection as other

        try:
            written.wait(10)
            with transaction.atomic():
                outcome["message"] = outbox.outbox_write(topic=TOPIC, key="race", payload={"n": 2})
                outcome["relays"] = len(other.run_on_commit)
        finally:
            other.close()

    thread = threading.Thread(target=second)
    thread.start()
    with transaction.atomic():
        first = outbox.outbox_write(topic=TOPIC, key="race", payload={"n": 1})
        written.set()
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline and not _waiting_on_a_lock():
            time.sleep(0.05)
    thread.join(10)

    assert OutboxMessage.objects.filter(topic=TOPIC, key="race").count() == 1
    assert (outcome["message"].pk, outcome["relays"]) == (first.pk, 0)  # type: ignore[attr-defined]


def _waiting_on_a_lock() -> bool:
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT count(*) FROM pg_stat_activity WHERE wait_event_type = 'Lock' AND datname = current_database()"
        )
        return bool(cursor.fetchone()[0])


@pytest.mark.django_db(transaction=True)
def test_a_delivery_that_meets_the_relays_row_lock_waits_for_it_and_runs_the_handler():
    """Found under load: the relay updates `attempts` and `enqueued_at` right after handing the message to the broker;
    a worker that took the task at that instant skipped the locked row, and the message waited for the sweep's backoff.
    """
    # A committed message whose relay has not run yet (written directly: outbox_write would relay it at commit).
    message = OutboxMessage.objects.create(topic=TOPIC, key="locked-by-the-relay", payload={"n": 5})
    row_locked = threading.Event()
    release = threading.Event()

    def relay_bookkeeping() -> None:
        with transaction.atomic():
            list(OutboxMessage.objects.select_for_update().filter(pk=message.pk))
            OutboxMessage.objects.filter(pk=message.pk).update(
                state=OutboxState.ENQUEUED, attempts=F("attempts") + 1, enqueued_at=timezone.now()
            )
            row_locked.set()
            release.wait(timeout=60)
        connection.close()

    holder = threading.Thread(target=relay_bookkeeping)
    holder.start()
    assert row_locked.wait(timeout=60)
    results: list[str] = []

    def deliver() -> None:
        results.append(outbox.outbox_message_deliver(message_id=message.pk))
        connection.close()

    worker = threading.Thread(target=deliver)
    worker.start()
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline and not _a_session_waits_for_a_row_lock():
        time.sleep(0.05)
    assert results == []  # the delivery waits for the relay instead of skipping the message
    release.set()
    holder.join(timeout=60)
    worker.join(timeout=60)
    message.refresh_from_db()
    assert (results, calls, message.state) == (["done"], [5], OutboxState.DONE)


def _a_session_waits_for_a_row_lock() -> bool:
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT count(*) FROM pg_stat_activity WHERE wait_event_type = 'Lock' AND datname = current_database()"
        )
        return cursor.fetchone()[0] > 0


@pytest.mark.django_db
def test_a_failing_handler_is_retried_with_doubling_waits_then_dead(settings, django_capture_on_commit_callbacks):
    settings.OUTBOX_MAX_ATTEMPTS = 3
    message = _write(django_capture_on_commit_callbacks, key="b", n=-1)
    message.refresh_from_db()
    assert (message.state, message.attempts, message.last_error) == (
        OutboxState.ENQUEUED,
        1,
        "ConnectionError: receiver down",
    )
    now = timezone.now()
    # Waits of 100 s, 200 s, then dead: one second short of each wait, the sweep leaves the message alone.
    for attempts, wait in ((1, 100), (2, 200)):
        OutboxMessage.objects.filter(pk=message.pk).update(enqueued_at=now - timedelta(seconds=wait - 1))
        assert outbox.outbox_sweep(ack_timeout_seconds=100) == 0
        OutboxMessage.objects.filter(pk=message.pk).update(enqueued_at=now - timedelta(seconds=wait + 1))
        assert outbox.outbox_sweep(ack_timeout_seconds=100) == 1
        message.refresh_from_db()
        assert (message.state, message.attempts) == (OutboxState.ENQUEUED, attempts + 1)
    OutboxMessage.objects.filter(pk=message.pk).update(enqueued_at=now - timedelta(seconds=401))
    assert outbox.outbox_sweep(ack_timeout_seconds=100) == 0
    message.refresh_from_db()
    assert (message.state, message.attempts, calls) == (OutboxState.DEAD, 3, [])
    assert outbox.outbox_message_deliver(message_id=message.pk) == "skipped"  # dead messages are not run again


# Ways an app could hand work to the broker after commit without the outbox.
_BYPASS = re.compile(r"\bdelay_on_commit\(|\bon_commit\(|\.delay\(|\.apply_async\(")
_ALLOWED = {Path("core/outbox.py")}  # the relay itself


def test_no_app_enqueues_after_commit_work_except_through_the_outbox():
    offenders = []
    for app in APPS:
        for path in (REPOSITORY / app).rglob("*.py"):
            relative = path.relative_to(REPOSITORY)
            if "tests" in relative.parts or "migrations" in relative.parts or relative in _ALLOWED:
                continue
            for number, line in enumerate(path.read_text().splitlines(), start=1):
                if _BYPASS.search(line) and not line.lstrip().startswith("#"):
                    offenders.append(f"{relative}:{number}: {line.strip()}")
    assert offenders == []
