"""The one outbox: every effect after commit is recorded with the business change and handed to the broker after it.

A message exists exactly when the change that caused it committed (`outbox_write` inside the change's
`transaction.atomic`). Its `topic` names the effect, its `key` is the business key (the same effect is never queued
twice), its `payload` holds primitive arguments. Two kinds of topic:

- a handler registered with `@outbox_handler("<app>.<name>")`: a plain function called with the payload as keyword
  arguments by the kernel's task `core.outbox_deliver`, which holds the message's row lock while it runs and marks it
  done in the same transaction, so two deliveries of one message (relay and sweep, a redelivered broker message) run
  the effect once;
- a Celery task that takes `outbox_message_id` and acknowledges the message itself with `outbox_message_mark_done`
  (settlement: one message per batch request, the task posts in batches of its own transactions).

The relay hands a message over in `on_commit`. If the broker is down or loses it (Redis restarted without persistence,
a worker killed before acknowledging), the one periodic sweep (`core.outbox_sweep`, beat) hands it over again once it
is overdue: never relayed within OUTBOX_PENDING_GRACE_SECONDS, or not done OUTBOX_ACK_TIMEOUT_SECONDS after its last
hand-over, doubling with every attempt up to OUTBOX_BACKOFF_MAX_SECONDS. A message handed over OUTBOX_MAX_ATTEMPTS
times without being done is marked `dead`; the back office sees the count (settlement page) and `last_error`.
"""

from __future__ import annotations

import importlib
import logging
from collections.abc import Callable, Sequence
from datetime import timedelta
from typing import Any

import kombu.exceptions
import redis.exceptions
from celery import Task, current_app
from django.conf import settings
from django.db import DatabaseError, transaction
from django.db.models import Case, F, Q, Value, When
from django.utils import timezone

from core.models import OutboxMessage, OutboxState

logger = logging.getLogger(__name__)

DELIVER_TASK = "core.outbox_deliver"
_BACKOFF_DOUBLINGS_MAX = 16

# Errors of a broker that is down or unreachable; the message stays in the outbox for the sweep.
BROKER_ERRORS: tuple[type[BaseException], ...] = (
    kombu.exceptions.OperationalError,
    redis.exceptions.ConnectionError,
    redis.exceptions.TimeoutError,
    ConnectionError,
    TimeoutError,
)

_HANDLERS: dict[str, Callable[..., Any]] = {}


def outbox_pending_grace_seconds() -> float:
    """Seconds a committed message may wait for its relay before the sweep sends it (the relay normally takes ms)."""
    return float(getattr(settings, "OUTBOX_PENDING_GRACE_SECONDS", 10))


def outbox_ack_timeout_seconds() -> float:
    """Seconds after the first hand-over without `done` before the sweep hands a message over again."""
    return float(getattr(settings, "OUTBOX_ACK_TIMEOUT_SECONDS", 120))


def outbox_backoff_max_seconds() -> float:
    """The longest wait between two hand-overs of one message."""
    return float(getattr(settings, "OUTBOX_BACKOFF_MAX_SECONDS", 3600))


def outbox_max_attempts() -> int:
    """Hand-overs after which a message that is still not done is marked dead."""
    return int(getattr(settings, "OUTBOX_MAX_ATTEMPTS", 10))


def outbox_handler(topic: str) -> Callable[[Callable[..., Any]], Callable[..., Any]]:
    """Registers `function` as the handler of `topic`; it is called with the message's payload as keyword arguments.

    A handler must be safe to run again after a crash between its effect and the commit (check the effect's own
    record: `delivered_at`, `sent_at`, a settled status); the kernel guarantees that two deliveries of one message
    never run it at the same time and that a done message is not run again. An exception leaves the message for the
    sweep, which retries it with backoff.
    """

    def register(function: Callable[..., Any]) -> Callable[..., Any]:
        if _HANDLERS.get(topic, function) is not function:
            raise ValueError(f"outbox topic {topic!r} has a handler already")
        _HANDLERS[topic] = function
        return function

    return register


def _app_tasks_import(topic: str) -> None:
    """Imports `<app>.tasks` of the topic, where handlers and tasks are defined (a worker imports them at start)."""
    app_label = topic.partition(".")[0]
    try:
        importlib.import_module(f"{app_label}.tasks")
    except ModuleNotFoundError as missing:
        if missing.name not in (app_label, f"{app_label}.tasks"):
            raise


def outbox_task(*, topic: str) -> Task:
    """The Celery task that delivers `topic`: the kernel's task for a registered handler, else the task so named."""
    if topic not in _HANDLERS and topic not in current_app.tasks:
        _app_tasks_import(topic)
    if topic in _HANDLERS:
        if DELIVER_TASK not in current_app.tasks:
            _app_tasks_import(DELIVER_TASK)
        return current_app.tasks[DELIVER_TASK]
    try:
        return current_app.tasks[topic]
    except KeyError:
        raise ValueError(f"no Celery task named {topic!r} handles outbox messages") from None


def outbox_write(*, topic: str, key: str, payload: dict[str, Any] | None = None) -> OutboxMessage:
    """Records a message in the caller's transaction and relays it after commit; the same (topic, key) is a no-op.

    Must run inside the transaction of the business change (`transaction.atomic`): if that transaction rolls back,
    the message and its task never exist. `payload` holds primitive values only (ids, strings, numbers).
    """
    if not transaction.get_connection().in_atomic_block:
        raise RuntimeError("outbox_write must run inside the business change's transaction.atomic block")
    outbox_task(topic=topic)
    message = _outbox_insert(topic=topic, key=key, payload=payload or {})
    if message is None:
        return OutboxMessage.objects.get(topic=topic, key=key)

    def outbox_relay_after_commit() -> None:  # a named function: robust on_commit logs failures by name
        outbox_relay(message_ids=[message.pk])

    transaction.on_commit(outbox_relay_after_commit, robust=True)
    return message


_INSERTED_COLUMNS = ("topic", "key", "payload", "state", "attempts", "created_at", "last_error")


def _outbox_insert(*, topic: str, key: str, payload: dict[str, Any]) -> OutboxMessage | None:
    """The message as a new row, or None when its (topic, key) exists: one `INSERT ... ON CONFLICT DO NOTHING
    RETURNING` (PostgreSQL and SQLite), where `get_or_create` took a SELECT, a savepoint, the INSERT and the
    savepoint's release. A concurrent writer of the same key makes it wait for that writer's commit, then do nothing.
    """
    message = OutboxMessage(topic=topic, key=key, payload=payload)
    connection = transaction.get_connection()
    quote = connection.ops.quote_name
    fields = [field for field in OutboxMessage._meta.concrete_fields if field.name in _INSERTED_COLUMNS]
    values = [field.get_db_prep_save(getattr(message, field.attname), connection) for field in fields]
    sql = (
        f"INSERT INTO {quote(OutboxMessage._meta.db_table)} ({', '.join(quote(field.column) for field in fields)})"  # noqa: S608 - names from the model's metadata; every value is a parameter
        f" VALUES ({', '.join(['%s'] * len(fields))})"
        f" ON CONFLICT ({quote('topic')}, {quote('key')}) DO NOTHING RETURNING {quote('id')}"
    )
    with connection.cursor() as cursor:
        cursor.execute(sql, values)
        row = cursor.fetchone()
    if row is None:
        return None
    message.pk = row[0]
    message._state.adding, message._state.db = False, connection.alias
    return message


def outbox_relay(*, message_ids: Sequence[int]) -> int:
    """Hands committed, unfinished messages to the broker; returns how many were handed over.

    Stops at the first broker error and leaves the rest for the sweep. A message whose task already finished (fast
    worker, eager mode) keeps its `done` state; its attempt is still counted.
    """
    messages = list(
        OutboxMessage.objects.filter(pk__in=message_ids, state__in=[OutboxState.PENDING, OutboxState.ENQUEUED]).only(
            "id", "topic"
        )
    )
    handed_over: list[int] = []
    for message in messages:
        try:
            outbox_task(topic=message.topic).apply_async(kwargs={"outbox_message_id": message.pk})
        except BROKER_ERRORS as error:
            logger.warning(
                "outbox relay: broker unavailable, %d message(s) left for the sweep: %s", len(messages), error
            )
            break
        handed_over.append(message.pk)
    if handed_over:
        OutboxMessage.objects.filter(pk__in=handed_over).update(
            attempts=F("attempts") + 1,
            enqueued_at=timezone.now(),
            state=Case(When(state=OutboxState.DONE, then=Value(OutboxState.DONE)), default=Value(OutboxState.ENQUEUED)),
        )
    return len(handed_over)


def _overdue(*, pending_grace_seconds: float, ack_timeout_seconds: float) -> Q:
    """Never relayed within the grace, or not done within the timeout doubled for every earlier hand-over."""
    now = timezone.now()
    backoff_max = outbox_backoff_max_seconds()
    enqueued = Q()
    for attempts in range(1, _BACKOFF_DOUBLINGS_MAX + 1):
        wait = min(ack_timeout_seconds * 2 ** (attempts - 1), backoff_max)
        condition = Q(attempts=attempts) if attempts < _BACKOFF_DOUBLINGS_MAX else Q(attempts__gte=attempts)
        enqueued |= condition & Q(enqueued_at__lte=now - timedelta(seconds=wait))
    return Q(state=OutboxState.PENDING, created_at__lte=now - timedelta(seconds=pending_grace_seconds)) | (
        Q(state=OutboxState.ENQUEUED) & enqueued
    )


def outbox_overdue_ids(
    *, pending_grace_seconds: float | None = None, ack_timeout_seconds: float | None = None, limit: int = 1000
) -> list[int]:
    """Ids of messages the sweep must hand over again (or mark dead), oldest first."""
    grace = outbox_pending_grace_seconds() if pending_grace_seconds is None else pending_grace_seconds
    timeout = outbox_ack_timeout_seconds() if ack_timeout_seconds is None else ack_timeout_seconds
    overdue = _overdue(pending_grace_seconds=grace, ack_timeout_seconds=timeout)
    return list(OutboxMessage.objects.filter(overdue).order_by("id").values_list("id", flat=True)[:limit])


def outbox_sweep(
    *, pending_grace_seconds: float | None = None, ack_timeout_seconds: float | None = None, limit: int = 1000
) -> int:
    """Hands overdue messages to the broker again (run by beat); returns how many were handed over.

    This is what makes a lost broker message harmless: a message stays `enqueued` until its handler marks it done.
    An overdue message already handed over OUTBOX_MAX_ATTEMPTS times is marked `dead` instead.
    """
    overdue = outbox_overdue_ids(
        pending_grace_seconds=pending_grace_seconds, ack_timeout_seconds=ack_timeout_seconds, limit=limit
    )
    if not overdue:
        return 0
    died = OutboxMessage.objects.filter(
        pk__in=overdue, state=OutboxState.ENQUEUED, attempts__gte=outbox_max_attempts()
    ).update(state=OutboxState.DEAD)
    if died:
        logger.error("outbox sweep: %d message(s) dead after %d attempts", died, outbox_max_attempts())
    handed_over = outbox_relay(message_ids=overdue)
    logger.info("outbox sweep: %d overdue, %d handed over, %d dead", len(overdue), handed_over, died)
    return handed_over


def outbox_message_mark_done(*, message_id: int) -> bool:
    """Acknowledges a message once its work is committed; returns False if it was already done."""
    return bool(
        OutboxMessage.objects.filter(pk=message_id)
        .exclude(state=OutboxState.DONE)
        .update(state=OutboxState.DONE, done_at=timezone.now(), last_error="")
    )


def outbox_message_deliver(*, message_id: int) -> str:
    """Runs a registered handler for its message once; the kernel task `core.outbox_deliver` calls it.

    Returns `done`, `skipped` (done or dead already, or another delivery of it finished first) or `failed` (the
    handler raised: the error is recorded and the sweep retries with backoff).

    The row lock is waited for, not skipped: the relay's own bookkeeping (`attempts`, `enqueued_at`) locks the row for
    a moment right after it hands the message to the broker, and a delivery that skipped then would leave the message
    to the sweep's backoff. A second delivery of the same message waits for the first and then finds it done.
    """
    failure: Exception | None = None
    with transaction.atomic():
        message = (
            OutboxMessage.objects.select_for_update()
            .filter(pk=message_id, state__in=[OutboxState.PENDING, OutboxState.ENQUEUED])
            .first()
        )
        if message is None:
            return "skipped"
        if message.topic not in _HANDLERS:
            _app_tasks_import(message.topic)
        handler = _HANDLERS[message.topic]
        savepoint = transaction.savepoint()
        try:
            handler(**message.payload)
        except DatabaseError as error:
            transaction.savepoint_rollback(savepoint)
            failure = error
        except Exception as error:  # noqa: BLE001 - any failure of the effect is recorded and retried by the sweep
            transaction.savepoint_commit(savepoint)  # what the handler recorded of its attempt (a status code) stays
            failure = error
        else:
            transaction.savepoint_commit(savepoint)
            outbox_message_mark_done(message_id=message_id)
        if failure is not None:
            OutboxMessage.objects.filter(pk=message_id).update(last_error=f"{type(failure).__name__}: {failure}"[:500])
    if failure is not None:
        logger.warning("outbox message %s (%s) failed: %s", message_id, message.topic, failure)
        return "failed"
    return "done"
