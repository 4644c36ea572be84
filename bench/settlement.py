"""Benchmark of settlement end to end: pending transfers posted through the outbox, Redis, Celery and PostgreSQL.

Run by `make bench` (bench/__main__.py) with `DJANGO_SETTINGS_MODULE=bench.settings` on a fresh, migrated PostgreSQL
database. A real `celery worker` process (prefork, two children) consumes the broker of the settings. The baseline is
Celery itself: a no-op task drained by the same worker in the same run, which bounds any one-task-per-transfer design.

Figures: transfers settled per second, from the first pending transfer's `created_at` to the last post's; and the
p99 of (post `created_at` - pending `created_at`) per transfer.
"""

from __future__ import annotations

import time
import uuid
from pathlib import Path

import redis
from celery import shared_task

SETTLED_TRANSFERS = 20_000
PER_TRANSACTION = 500  # pending transfers per business transaction (one outbox message each)
CUSTOMERS = 400
NOOP_TASKS = 5_000
WORKER_CONCURRENCY = 2
TARGET_PER_SECOND = 2_000
TARGET_P99_SECONDS = 2.0
LOG_PATH = Path("/tmp/finlab-bench-settlement-worker.log")  # noqa: S108 - a log for whoever investigates a slow run


@shared_task(name="bench.noop")
def noop() -> None:
    """The Celery baseline: a task that does nothing."""


def run() -> str:
    """Measures the Celery baseline and end-to-end settlement; returns the markdown section for docs/benchmarks.md."""
    from portal.celery import app
    from portal.testing import broker_flush, celery_worker_process

    previous_eager = app.conf["CELERY_TASK_ALWAYS_EAGER"]
    app.conf["CELERY_TASK_ALWAYS_EAGER"] = False  # the prefixed key is the one Celery reads (namespace "CELERY")
    broker_flush()
    try:
        with celery_worker_process(
            concurrency=WORKER_CONCURRENCY, log_path=LOG_PATH, extra_args=("--include", "bench.settlement")
        ):
            _wait_until_worker_ready()
            noop_rate = _noop_measure()
            creation_seconds, settle_seconds = _settlement_measure()
    finally:
        app.conf["CELERY_TASK_ALWAYS_EAGER"] = previous_eager
    return _report(noop_rate=noop_rate, creation_seconds=creation_seconds, settle_seconds=settle_seconds)


def _broker() -> redis.Redis:
    from django.conf import settings

    return redis.Redis.from_url(settings.CELERY_BROKER_URL)


def _broker_drained() -> bool:
    broker = _broker()
    return broker.llen("celery") == 0 and broker.hlen("unacked") == 0


def _wait_until_worker_ready() -> None:
    """A worker is ready once it has taken a task: send one and wait for the queue to drain."""
    from portal.testing import wait_for

    noop.delay()
    wait_for(_broker_drained, timeout=60, interval=0.05, message="the benchmark worker to start")


def _noop_measure() -> float:
    """No-op tasks per second: publish NOOP_TASKS and time until the broker holds none, queued or unacknowledged."""
    from portal.testing import wait_for

    started = time.monotonic()
    for _ in range(NOOP_TASKS):
        noop.delay()
    wait_for(_broker_drained, timeout=300, interval=0.01, message="the no-op tasks to drain")
    return NOOP_TASKS / (time.monotonic() - started)


def _settlement_measure() -> tuple[float, float]:
    """Creates the pending transfers with their requests while the worker settles; returns (creation s, total s)."""
    from core.models import OutboxMessage, OutboxState
    from payments.models import SettlementItem, SettlementItemState
    from portal.testing import wait_for

    accounts = _accounts_create()
    started = time.monotonic()
    for first in range(0, SETTLED_TRANSFERS, PER_TRANSACTION):
        _redemptions_create(accounts=accounts, first=first, count=min(PER_TRANSACTION, SETTLED_TRANSFERS - first))
    creation_seconds = time.monotonic() - started

    def settled() -> bool:
        due = SettlementItem.objects.exclude(state=SettlementItemState.SETTLED).exists()
        return not due and not OutboxMessage.objects.exclude(state=OutboxState.DONE).exists()

    wait_for(settled, timeout=600, interval=0.05, message="every pending transfer to be settled")
    return creation_seconds, time.monotonic() - started


def _accounts_create() -> tuple[int, list[int]]:
    """A merchant payable account and CUSTOMERS funded prepaid accounts (EUR); returns (merchant id, customer ids)."""
    from payments.ledger import Owner, OwnerKind, Purpose, TransferCode, account_get_or_open, house_account_get_or_open
    from payments.ledger.services import transfers_create
    from payments.ledger.types import ResultCode, TransferSpec

    bank = house_account_get_or_open(ledger="EUR", purpose=Purpose.QR_SEPA_BANK)
    merchant = account_get_or_open(
        ledger="EUR", purpose=Purpose.QR_DEALER_PAYABLE, owner=Owner(OwnerKind.DEALER, f"bench-{uuid.uuid4().hex}")
    )
    customers = [
        account_get_or_open(ledger="EUR", purpose=Purpose.QR_CODE_BALANCE, owner=Owner.qr_code(uuid.uuid4().hex)).pk
        for _ in range(CUSTOMERS)
    ]
    funding = [
        TransferSpec(
            id=uuid.uuid4(), debit_account_id=bank.pk, credit_account_id=c, amount=10**9, ledger="EUR",
            code=TransferCode.QR_PURCHASE,
        )
        for c in customers
    ]  # fmt: skip
    if {result.code for result in transfers_create(transfers=funding)} != {ResultCode.OK}:
        raise RuntimeError("funding the benchmark customers failed")
    return merchant.pk, customers


def _redemptions_create(*, accounts: tuple[int, list[int]], first: int, count: int) -> None:
    """One business transaction: `count` pending redemptions and their settlement requests (one outbox message)."""
    from django.db import transaction

    from payments.ledger import TransferCode
    from payments.ledger.services import transfers_create
    from payments.ledger.types import ResultCode, TransferFlags, TransferSpec
    from payments.settlement.services import settlement_request_many

    merchant, customers = accounts
    specs = [
        TransferSpec(
            id=uuid.uuid4(),
            debit_account_id=customers[index % len(customers)],
            credit_account_id=merchant,
            amount=100 + index % 997,
            ledger="EUR",
            code=TransferCode.QR_REDEMPTION,
            flags=TransferFlags.PENDING,
            user_data=f"qr-redemption:{index}",
        )
        for index in range(first, first + count)
    ]
    with transaction.atomic():
        if {result.code for result in transfers_create(transfers=specs)} != {ResultCode.OK}:
            raise RuntimeError("creating the benchmark pending transfers failed")
        settlement_request_many(pending_transfer_ids=[spec.id for spec in specs])


def _latencies() -> tuple[float, float, float, int]:
    """(settled per second over first pending -> last post, p50 s, p99 s, posts) from the database's timestamps."""
    from django.db import connection

    with connection.cursor() as cursor:
        cursor.execute(
            """
            SELECT count(*),
                   EXTRACT(EPOCH FROM max(post.created_at) - min(pending.created_at)),
                   percentile_cont(0.5) WITHIN GROUP (ORDER BY EXTRACT(EPOCH FROM post.created_at - pending.created_at)),
                   percentile_cont(0.99) WITHIN GROUP (ORDER BY EXTRACT(EPOCH FROM post.created_at - pending.created_at))
            FROM payments_transfer post JOIN payments_transfer pending ON pending.id = post.pending_id
            WHERE post.flags = 4 AND post.user_data LIKE %s
            """,
            ["settlement-batch:%"],
        )
        posts, span, p50, p99 = cursor.fetchone()
    return posts / float(span), float(p50), float(p99), posts


def _report(*, noop_rate: float, creation_seconds: float, settle_seconds: float) -> str:
    from payments.models import SettlementBatch
    from payments.settlement.services import settlement_batch_size

    rate, p50, p99, posts = _latencies()
    batches = SettlementBatch.objects.count()
    rate_result = "pass" if rate >= TARGET_PER_SECOND and posts == SETTLED_TRANSFERS else "FAIL"
    p99_result = "pass" if p99 < TARGET_P99_SECONDS else "FAIL"
    return "\n".join(
        [
            "## Settlement: pending transfers posted through the outbox, Redis and a Celery worker",
            "",
            f"{SETTLED_TRANSFERS:,} pending redemptions ({CUSTOMERS} customer accounts -> one merchant account) created "
            f"through the services, {PER_TRANSACTION} per business transaction with their settlement requests and one "
            f"outbox message each, while one `celery worker` process (prefork, concurrency {WORKER_CONCURRENCY}) "
            f"settles them in batches of up to {settlement_batch_size():,} (`SELECT ... FOR UPDATE SKIP LOCKED`, "
            "POST_PENDING through `transfers_create`). Redis broker, PostgreSQL, one machine.",
            "",
            "| measure | value | target | result |",
            "|---|---|---|---|",
            f"| posts (exactly one per pending transfer) | {posts:,} in {batches} batches | {SETTLED_TRANSFERS:,} | "
            f"{'pass' if posts == SETTLED_TRANSFERS else 'FAIL'} |",
            f"| settled per second (first pending -> last post) | {rate:,.0f}/s | >= {TARGET_PER_SECOND:,}/s | "
            f"{rate_result} |",
            f"| creation -> posted, p50 / p99 | {p50:.3f} s / {p99:.3f} s | p99 < {TARGET_P99_SECONDS:.0f} s | "
            f"{p99_result} |",
            f"| creation of the pending transfers (producer) | {creation_seconds:.2f} s; all settled after "
            f"{settle_seconds:.2f} s | | |",
            f"| baseline: Celery no-op task, same worker and broker ({NOOP_TASKS:,} published, time to drain) | {noop_rate:,.0f} tasks/s | | |",
            f"| ratio settled transfers / no-op tasks per second | {rate / noop_rate:.1f} | | |",
            "",
            "A design with one Celery task per transfer could not exceed the no-op baseline; batching makes PostgreSQL, "
            "not Celery's per-task overhead, the bound.",
        ]
    )
