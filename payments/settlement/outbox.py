"""The transactional outbox: Celery work recorded with the business change, handed to the broker after commit.

A message exists exactly when the change that caused it committed. The relay hands it over in `on_commit`; if the
broker is down or loses it (Redis restarted without persistence, a worker killed before acknowledging), the sweep hands
it over again once it is overdue. Handlers are idempotent, so a message handed over twice does its work once.
"""

from __future__ import annotations

import functools
import importlib
import logging
from collections.abc import Sequence
from datetime import timedelta
from typing import Any

import kombu.exceptions
import redis.exceptions
from celery import Task, current_app
from django.conf import settings
from django.db import transaction
from django.db.models import Case, F, Q, Value, When
from django.utils import timezone

from payments.models import OutboxMessage, OutboxState

logger = logging.getLogger(__name__)

# Errors of a broker that is down or unreachable; the message stays in the outbox for the sweep.
BROKER_ERRORS: tuple[type[BaseException], ...] = (
    kombu.exceptions.OperationalError,
    redis.exceptions.ConnectionError,
    redis.exceptions.TimeoutError,
    ConnectionError,
    TimeoutError,
)


def outbox_pending_grace_seconds() -> float:
    """Seconds a committed message may wait for its relay before the sweep sends it (the relay normally takes ms)."""
    return float(getattr(settings, "OUTBOX_PENDING_GRACE_SECONDS", 10))


def outbox_ack_timeout_seconds() -> float:
    """Seconds after a hand-over without `done` before the sweep hands a message over again."""
    return float(getattr(settings, "OUTBOX_ACK_TIMEOUT_SECONDS", 120))


def outbox_task(*, topic: str) -> Task:
    """The registered Celery task that handles `topic` ("<app>.<task>", defined in `<app>.tasks`).

    A worker imports every tasks module at start; a web process imports the topic's module on first use.
    """
    if topic not in current_app.tasks:
        app_label = topic.partition(".")[0]
        try:
            importlib.import_module(f"{app_label}.tasks")
        except ModuleNotFoundError as missing:
            if missing.name not in (app_label, f"{app_label}.tasks"):
                raise
    try:
        return current_app.tasks[topic]
    except KeyError:
        raise ValueError(f"no Celery task named {topic!r} handles outbox messages") from None


def outbox_write(*, topic: str, key: str, payload: dict[str, Any] | None = None) -> OutboxMessage:
    """Records a message in the caller's transaction and relays it after commit; the same (topic, key) is a no-op.

    `topic` is the name of a registered Celery task that accepts `outbox_message_id`; `key` is the business key that
    makes the write idempotent. Must run inside the transaction of the business change (`transaction.atomic`): if that
    transaction rolls back, the message and its task never exist.
    """
    if not transaction.get_connection().in_atomic_block:
        raise RuntimeError("outbox_write must run inside the business change's transaction.atomic block")
    outbox_task(topic=topic)
    message, created = OutboxMessage.objects.get_or_create(topic=topic, key=key, defaults={"payload": payload or {}})
    if created:
        transaction.on_commit(functools.partial(outbox_relay, message_ids=[message.pk]), robust=True)
    return message


def outbox_relay(*, message_ids: Sequence[int]) -> int:
    """Hands committed, unfinished messages to the broker; returns how many were handed over.

    Stops at the first broker error and leaves the rest for the sweep. A message whose task already finished (fast
    worker, eager mode) keeps its `done` state; its attempt is still counted.
    """
    messages = list(
        OutboxMessage.objects.filter(pk__in=message_ids).exclude(state=OutboxState.DONE).only("id", "topic")
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


def outbox_overdue_ids(
    *, pending_grace_seconds: float | None = None, ack_timeout_seconds: float | None = None, limit: int = 1000
) -> list[int]:
    """Ids of messages the sweep must hand over: never relayed within the grace, or not done within the timeout."""
    now = timezone.now()
    grace = outbox_pending_grace_seconds() if pending_grace_seconds is None else pending_grace_seconds
    timeout = outbox_ack_timeout_seconds() if ack_timeout_seconds is None else ack_timeout_seconds
    overdue = Q(state=OutboxState.PENDING, created_at__lte=now - timedelta(seconds=grace)) | Q(
        state=OutboxState.ENQUEUED, enqueued_at__lte=now - timedelta(seconds=timeout)
    )
    return list(OutboxMessage.objects.filter(overdue).order_by("id").values_list("id", flat=True)[:limit])


def outbox_sweep(
    *, pending_grace_seconds: float | None = None, ack_timeout_seconds: float | None = None, limit: int = 1000
) -> int:
    """Hands overdue messages to the broker again (run by beat); returns how many were handed over.

    This is what makes a lost broker message harmless: the message stays `enqueued` until its task marks it done.
    """
    overdue = outbox_overdue_ids(
        pending_grace_seconds=pending_grace_seconds, ack_timeout_seconds=ack_timeout_seconds, limit=limit
    )
    if not overdue:
        return 0
    handed_over = outbox_relay(message_ids=overdue)
    logger.info("outbox sweep: %d overdue, %d handed over", len(overdue), handed_over)
    return handed_over


def outbox_message_mark_done(*, message_id: int) -> bool:
    """Acknowledges a message once its work is committed; returns False if it was already done."""
    return bool(
        OutboxMessage.objects.filter(pk=message_id)
        .exclude(state=OutboxState.DONE)
        .update(state=OutboxState.DONE, done_at=timezone.now())
    )
