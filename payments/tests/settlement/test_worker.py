"""Settlement through real components: PostgreSQL, Redis and `celery worker` processes.

Each test turns eager mode off for its own process, flushes the test broker, and starts workers with
`portal.testing.celery_worker_process`. The sweep is called from the test process the way beat calls it.
"""

from __future__ import annotations

import os
import signal
import subprocess
import time
from collections.abc import Iterator

import pytest

from core.outbox import outbox_sweep
from payments.models import OutboxMessage, OutboxState, SettlementBatch, SettlementBatchState, SettlementItem
from payments.models import SettlementItemState as ItemState
from payments.tests.settlement.helpers import (
    assert_posted_exactly_once,
    expected_total,
    redemptions_create,
    settlement_ledger_create,
)
from portal.celery import app
from portal.testing import broker_flush, celery_worker_process, private_redis, wait_for

# Waits are upper bounds for a busy shared machine (a worker on two loaded cores settles thousands of items slowly);
# on an idle machine each test finishes in well under a minute.
pytestmark = [
    pytest.mark.worker,
    pytest.mark.slow,
    pytest.mark.django_db(transaction=True),
    pytest.mark.timeout(900),
]


@pytest.fixture
def real_broker() -> Iterator[None]:
    """Tasks go through Redis to worker processes, starting from an empty broker."""
    # With the "CELERY" settings namespace the prefixed key wins over `app.conf.task_always_eager`; set that one.
    previous = app.conf["CELERY_TASK_ALWAYS_EAGER"]
    app.conf["CELERY_TASK_ALWAYS_EAGER"] = False
    assert app.conf.task_always_eager is False
    broker_flush()
    try:
        yield
    finally:
        app.conf["CELERY_TASK_ALWAYS_EAGER"] = previous


def _settled() -> int:
    return SettlementItem.objects.filter(state=ItemState.SETTLED).count()


def _unfinished_messages() -> int:
    return OutboxMessage.objects.exclude(state=OutboxState.DONE).count()


def test_a_worker_settles_every_request_exactly_once(real_broker, tmp_path):
    ledger = settlement_ledger_create(customers=20)
    with celery_worker_process(concurrency=2, log_path=tmp_path / "worker.log"):
        pending_ids = redemptions_create(ledger=ledger, count=3000, per_transaction=500)
        wait_for(lambda: _settled() == 3000 and _unfinished_messages() == 0, timeout=300, message="settlement")

    assert_posted_exactly_once(ledger=ledger, pending_ids=pending_ids, total=expected_total(start=0, count=3000))
    batches = SettlementBatch.objects.all()
    assert {batch.state for batch in batches} == {SettlementBatchState.CLOSED}
    assert sum(batch.settled_count for batch in batches) == 3000
    assert sum(batch.totals["EUR"] for batch in batches) == expected_total(start=0, count=3000)
    assert OutboxMessage.objects.filter(state=OutboxState.DONE).count() == 6


def _kill_during_open_batch(process: subprocess.Popen[bytes]) -> bool:
    """SIGKILLs the worker while a batch is open after at least one closed; True if it died with a batch open."""
    wait_for(
        lambda: SettlementBatch.objects.filter(state=SettlementBatchState.CLOSED).exists()
        and SettlementBatch.objects.filter(state=SettlementBatchState.OPEN).exists(),
        timeout=120,
        interval=0.002,
        message="a batch in progress",
    )
    os.kill(process.pid, signal.SIGKILL)
    process.wait(timeout=10)
    return SettlementBatch.objects.filter(state=SettlementBatchState.OPEN).exists()


def test_a_worker_killed_in_the_middle_of_a_batch_loses_and_duplicates_nothing(real_broker, tmp_path):
    ledger = settlement_ledger_create(customers=20)
    pending_ids = redemptions_create(ledger=ledger, count=12_000, per_transaction=12_000)  # one outbox message
    killed_mid_batch = False
    for attempt in range(3):
        with celery_worker_process(pool="solo", log_path=tmp_path / f"killed-{attempt}.log") as worker:
            killed_mid_batch = _kill_during_open_batch(worker)
        if killed_mid_batch:
            break
        outbox_sweep(ack_timeout_seconds=0)
    assert killed_mid_batch
    open_batch = SettlementBatch.objects.get(state=SettlementBatchState.OPEN)
    settled_before = _settled()
    assert 0 < settled_before < 12_000
    assert SettlementItem.objects.filter(batch=open_batch, state=ItemState.CLAIMED).count() == open_batch.item_count

    with celery_worker_process(pool="solo", log_path=tmp_path / "replacement.log"):
        time.sleep(2)  # the killed task's message is unacknowledged in Redis until the visibility timeout
        assert _settled() == settled_before
        assert outbox_sweep(ack_timeout_seconds=0) == 1
        wait_for(lambda: _settled() == 12_000 and _unfinished_messages() == 0, timeout=400, message="settlement")

    assert_posted_exactly_once(ledger=ledger, pending_ids=pending_ids, total=expected_total(start=0, count=12_000))
    open_batch.refresh_from_db()
    assert (open_batch.state, open_batch.settled_count) == (SettlementBatchState.CLOSED, open_batch.item_count)
    assert not SettlementBatch.objects.filter(state=SettlementBatchState.OPEN).exists()
    assert OutboxMessage.objects.get().attempts >= 2


def test_nothing_is_lost_when_redis_restarts_mid_run(tmp_path):
    """On a private Redis of the test's own (no persistence): stopping it loses what it held, and no other run's
    broker is touched."""
    ledger = settlement_ledger_create(customers=20)
    with private_redis(directory=tmp_path) as broker:
        environment = {"CELERY_BROKER_URL": broker.url}
        with celery_worker_process(concurrency=1, log_path=tmp_path / "worker.log", environment=environment):
            first = redemptions_create(ledger=ledger, count=6000, per_transaction=500)
            wait_for(lambda: SettlementBatch.objects.exists(), timeout=120, interval=0.01, message="a first batch")
            broker.stop()
            # Written while the broker is down: the business change commits, the relay leaves the message pending.
            second = redemptions_create(ledger=ledger, count=1000, per_transaction=500, start=6000)
            stranded = OutboxMessage.objects.order_by("-id")[:2]
            assert [(message.state, message.attempts) for message in stranded] == [("pending", 0), ("pending", 0)]
            broker.start()

            def swept_until_settled() -> bool:
                outbox_sweep(pending_grace_seconds=0, ack_timeout_seconds=5)
                return _settled() == 7000 and _unfinished_messages() == 0

            wait_for(swept_until_settled, timeout=400, interval=1.0, message="settlement after the restart")

    assert_posted_exactly_once(ledger=ledger, pending_ids=first + second, total=expected_total(start=0, count=7000))
    assert not SettlementBatch.objects.filter(state=SettlementBatchState.OPEN).exists()
    assert all(message.attempts >= 1 for message in OutboxMessage.objects.all())
