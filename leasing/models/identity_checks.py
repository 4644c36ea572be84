"""The identity check of a lease application: one OpenID4VP request for ``age_over_18`` and its verdict."""

from __future__ import annotations

from django.db import models
from django.db.models import Q
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from leasing.models.applications import Application

__all__ = ["IdentityCheck", "IdentityCheckStatus"]


class IdentityCheckStatus(models.TextChoices):
    OPEN = "open", _("Waiting for the wallet")
    VERIFIED = "verified", _("Checked")
    REFUSED = "refused", _("Refused")


class IdentityCheck(models.Model):
    """The lease policy's one identity question, whether the applicant is over 18, answered by a wallet over
    OpenID4VP from a PID (``urn:eudi:pid:1``) or the demo KYC provider's identity credential.

    Only ``age_over_18`` is asked for and only the verdict is kept (``is_over_18``), with the SHA-256 of the
    presentation and a consent receipt naming what was asked and disclosed (claim names and time, never values): no
    name, birth date or address reaches the portal. A refused answer keeps its reason code; the customer can start a
    new check after a refusal. A verified "not over 18" is final for the application: a lease needs the holder to be
    of age, so no new check is started and the application can only be declined.
    """

    application = models.ForeignKey(Application, on_delete=models.CASCADE, related_name="identity_checks")
    presentation_transaction = models.OneToOneField(
        "identity.PresentationTransaction", on_delete=models.PROTECT, related_name="+"
    )
    status = models.CharField(max_length=10, choices=IdentityCheckStatus.choices, default=IdentityCheckStatus.OPEN)
    is_over_18 = models.BooleanField(null=True, blank=True)
    refusal_reason = models.CharField(max_length=40, blank=True)
    presentation_hash = models.CharField(max_length=64, blank=True)
    consent_receipt = models.JSONField(
        null=True, blank=True, help_text="What was asked and disclosed (claim names) and when; never claim values."
    )
    created_at = models.DateTimeField(default=timezone.now)
    completed_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at", "-id"]
        constraints = [
            models.CheckConstraint(
                condition=Q(status__in=IdentityCheckStatus.values), name="leasing_identity_check_status"
            ),
            models.CheckConstraint(
                condition=Q(status="open", is_over_18__isnull=True, completed_at__isnull=True)
                | Q(status="verified", is_over_18__isnull=False, completed_at__isnull=False)
                | Q(status="refused", is_over_18__isnull=True, completed_at__isnull=False),
                name="leasing_identity_check_verdict_matches_status",
            ),
            models.UniqueConstraint(
                fields=["application"], condition=Q(status="open"), name="leasing_identity_check_one_open"
            ),
        ]

    def __str__(self) -> str:
        return f"identity check of {self.application_id}: {self.status}"
