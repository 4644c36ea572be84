"""Models of the shared kernel."""

from __future__ import annotations

from django.db import models
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
