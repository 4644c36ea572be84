"""Models of the shared kernel."""

from __future__ import annotations

from django.db import models
from django.db.models import Q
from django.utils import timezone
from rest_framework.utils.encoders import JSONEncoder


class IdempotencyRecord(models.Model):
    """The first successful answer to a money-moving request, kept under the caller's `Idempotency-Key`.

    `scope` names the caller (`dealer-organisation:<id>`, `user:<id>`, `vehicle:<id>`), `operation` the endpoint
    (`payments.qr_redemption_refund`). The unique constraint on (scope, operation, key) is what makes a retry book
    once: the record is inserted in the same transaction as the booking, so a concurrent request with the same key
    waits for that transaction and then finds the record. `request_fingerprint` is the SHA-256 of the method, path and
    canonical body; the same key with another fingerprint is refused. `response_status` and `response_body` are what
    the first call answered and what every retry gets again (empty only inside the booking's own transaction, so
    never in a committed row).
    """

    scope = models.CharField(max_length=80)
    operation = models.CharField(max_length=80)
    key = models.CharField(max_length=64)
    request_fingerprint = models.CharField(max_length=64)
    response_status = models.PositiveSmallIntegerField(null=True)
    response_body = models.JSONField(encoder=JSONEncoder, null=True)
    created_at = models.DateTimeField(auto_now_add=True, db_index=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["scope", "operation", "key"], name="idempotency_record_unique"),
            models.CheckConstraint(
                condition=models.Q(response_status__gte=200, response_status__lt=300),
                name="idempotency_record_success_only",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.scope} {self.operation} {self.key}"


class OutboxState(models.TextChoices):
    PENDING = "pending", "Pending"  # committed, not yet handed to the broker
    ENQUEUED = "enqueued", "Enqueued"  # handed to the broker at least once, not yet acknowledged by its handler
    DONE = "done", "Done"  # the handler finished its work
    DEAD = "dead", "Dead"  # handed over OUTBOX_MAX_ATTEMPTS times without success: left for the back office


class OutboxMessage(models.Model):
    """One effect after commit (a settlement run, a webhook, an e-mail), recorded in the business transaction.

    `topic` names the effect: a handler registered with `core.outbox.outbox_handler` (run with `payload` as keyword
    arguments) or a Celery task that takes `outbox_message_id` and acknowledges the message itself (settlement).
    `key` is the business key, unique per topic, so the same effect is never queued twice. The relay hands the message
    to the broker after commit; the sweep hands it over again when it was not acknowledged (`done`) in time, backing
    off with every attempt, and marks it `dead` after OUTBOX_MAX_ATTEMPTS hand-overs. `last_error` is the handler's
    last failure, for the back office.
    """

    topic = models.CharField(max_length=100)
    key = models.CharField(max_length=200)
    payload = models.JSONField(default=dict, blank=True)
    state = models.CharField(max_length=10, choices=OutboxState.choices, default=OutboxState.PENDING)
    attempts = models.PositiveIntegerField(default=0, help_text="How many times the message was handed to the broker.")
    created_at = models.DateTimeField(default=timezone.now)
    enqueued_at = models.DateTimeField(null=True, blank=True, help_text="Last time the message was handed over.")
    done_at = models.DateTimeField(null=True, blank=True)
    last_error = models.CharField(max_length=500, blank=True, default="")

    class Meta:
        ordering = ["id"]
        constraints = [
            models.UniqueConstraint(fields=["topic", "key"], name="core_outbox_topic_key_unique"),
            models.CheckConstraint(condition=Q(state__in=OutboxState.values), name="core_outbox_state_valid"),
            models.CheckConstraint(
                condition=~Q(state=OutboxState.DONE) | Q(done_at__isnull=False), name="core_outbox_done_has_time"
            ),
            models.CheckConstraint(
                condition=~Q(state__in=[OutboxState.ENQUEUED, OutboxState.DEAD])
                | Q(enqueued_at__isnull=False, attempts__gte=1),
                name="core_outbox_enqueued_has_time",
            ),
        ]
        indexes = [
            models.Index(
                fields=["state", "created_at"],
                name="core_outbox_backlog",
                condition=Q(state__in=[OutboxState.PENDING, OutboxState.ENQUEUED]),
            ),
        ]

    def __str__(self) -> str:
        return f"outbox {self.pk} {self.topic}:{self.key} ({self.state})"
