"""OpenID4VP state of the portal's verifier: one transaction per authorization request.

A transaction keeps what checking the answer needs and what proves it was checked: the nonce and state it was
bound to, the DCQL query, the expiry, the ephemeral ECDH-ES key the wallet encrypts its answer to (private half
encrypted at rest, wiped when the transaction ends), the status with a refusal reason code, and SHA-256 hashes of
the response and of the presentation. Never a credential, a presentation or a claim value: the app that asked
(credit checks) receives the verified claims in memory and keeps only what its own models allow.
"""

from __future__ import annotations

from django.db import models
from django.db.models import Q
from django.utils import timezone


class PresentationTransaction(models.Model):
    """One OpenID4VP authorization request and its answer.

    ``purpose`` names the app that handles the verified answer (see identity.openid4vp.handlers). ``response_hash``
    is the SHA-256 of the response exactly as posted and ``presentation_hash`` that of the presentation inside it;
    both are unique, so one answer is never accepted twice, by this or any other transaction."""

    class Status(models.TextChoices):
        PENDING = "pending", "Waiting for the wallet"
        VERIFIED = "verified", "Answer verified"
        REFUSED = "refused", "Answer refused"
        EXPIRED = "expired", "Expired"

    class ResponseMode(models.TextChoices):
        DIRECT_POST = "direct_post", "direct_post"
        DIRECT_POST_JWT = "direct_post.jwt", "direct_post.jwt"

    public_id = models.UUIDField(unique=True)
    purpose = models.CharField(max_length=40)
    client_id = models.CharField(max_length=300)
    nonce = models.CharField(max_length=64, unique=True)
    state = models.CharField(max_length=64, unique=True)
    response_mode = models.CharField(max_length=20, choices=ResponseMode.choices)
    dcql_query = models.JSONField()
    encryption_jwk = models.JSONField(help_text="Public ECDH-ES key the wallet encrypts its answer to.")
    encrypted_private_key = models.BinaryField(max_length=512, blank=True)
    status = models.CharField(max_length=10, choices=Status.choices, default=Status.PENDING)
    refusal_reason = models.CharField(max_length=40, blank=True)
    response_hash = models.CharField(max_length=64, null=True, blank=True, unique=True)
    presentation_hash = models.CharField(max_length=64, null=True, blank=True, unique=True)
    created_at = models.DateTimeField(default=timezone.now)
    expires_at = models.DateTimeField()
    request_fetched_at = models.DateTimeField(null=True, blank=True)
    completed_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at", "-id"]
        constraints = [
            models.CheckConstraint(
                condition=Q(status__in=["pending", "verified", "refused", "expired"]),
                name="identity_oid4vp_status_valid",
            ),
            models.CheckConstraint(
                condition=Q(response_mode__in=["direct_post", "direct_post.jwt"]),
                name="identity_oid4vp_response_mode_valid",
            ),
            models.CheckConstraint(
                condition=Q(status="refused") | Q(refusal_reason=""), name="identity_oid4vp_reason_if_refused"
            ),
        ]

    def __str__(self) -> str:
        return f"OpenID4VP transaction {self.public_id} ({self.status})"

    def encryption_context(self) -> bytes:
        return f"openid4vp:{self.public_id}".encode()
