"""Signing keys of the portal, of dealer organisations and of issuers whose keys the portal hosts."""

from __future__ import annotations

from django.db import models
from django.db.models import Q
from django.utils import timezone
from django.utils.translation import gettext_lazy as _


class SigningKey(models.Model):
    """One Ed25519 key of a controller, its private half encrypted at rest (core.encryption under the field keys,
    bound to ``controller#key_id`` as its context so a blob copied to another row does not open).

    ``controller`` names who owns the key: ``portal``, ``dealer:<slug>`` or ``issuer:<trusted issuer id>``. Exactly one
    key per controller is ``active`` (it signs); rotation moves the old one to ``retired``, which keeps it in the DID
    document so credentials it signed still verify. A ``withdrawn`` key (compromised) leaves the document, and what it
    signed stops verifying.
    """

    class State(models.TextChoices):
        ACTIVE = "active", _("Active (signs)")
        RETIRED = "retired", _("Retired (verifies old credentials)")
        WITHDRAWN = "withdrawn", _("Withdrawn (compromised)")

    controller = models.CharField(max_length=120)
    key_id = models.CharField(max_length=64, help_text="DID URL fragment, e.g. key-20260301-1a2b3c")
    public_key = models.BinaryField(max_length=32)
    encrypted_private_key = models.BinaryField(max_length=256)
    state = models.CharField(max_length=10, choices=State.choices, default=State.ACTIVE)
    created_at = models.DateTimeField(default=timezone.now)
    retired_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["controller", "created_at", "id"]
        constraints = [
            models.UniqueConstraint(fields=["controller", "key_id"], name="identity_signing_key_id_unique"),
            models.UniqueConstraint(
                fields=["controller"], condition=Q(state="active"), name="identity_signing_key_one_active"
            ),
            models.CheckConstraint(
                condition=Q(state__in=["active", "retired", "withdrawn"]), name="identity_signing_key_state_valid"
            ),
            models.CheckConstraint(
                condition=Q(state="active", retired_at__isnull=True) | Q(~Q(state="active"), retired_at__isnull=False),
                name="identity_signing_key_retired_at_matches_state",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.controller}#{self.key_id} ({self.state})"
