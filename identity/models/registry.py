"""The trust registry: external issuers the portal accepts credentials from, their API credentials, and the X.509
trust anchors that vouch for issuers by certificate chain."""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.utils import timezone
from django.utils.translation import gettext_lazy as _


class IssuerKind(models.TextChoices):
    CREDIT_BUREAU = "credit_bureau", _("Credit bureau")
    KYC_PROVIDER = "kyc_provider", _("KYC provider")
    OTHER = "other", _("Other issuer")


class TrustedIssuer(models.Model):
    """An issuer that back-office staff registered, with the credential types it may issue.

    ``did`` is a ``did:key`` or a ``did:web``. A ``did:web`` issuer's DID document is pinned here when it is registered
    (``did_document``) so verification never depends on reaching the issuer's web server; staff re-pin it when the
    issuer rotates keys. A hosted issuer (``is_hosted``) has its signing key in :class:`SigningKey` (controller
    ``issuer:<id>``) and issues through the VC-API or the ``issue_credential`` command. A suspended issuer's
    credentials fail verification with ``untrusted_issuer`` and its API keys stop working.
    """

    class State(models.TextChoices):
        ACTIVE = "active", _("Active")
        SUSPENDED = "suspended", _("Suspended")

    name = models.CharField(max_length=200)
    kind = models.CharField(max_length=20, choices=IssuerKind.choices)
    did = models.CharField(max_length=300, unique=True)
    did_document = models.JSONField(null=True, blank=True)
    credential_types = models.JSONField(default=list, help_text="Credential type names this issuer may issue.")
    is_hosted = models.BooleanField(default=False)
    state = models.CharField(max_length=10, choices=State.choices, default=State.ACTIVE)
    created_at = models.DateTimeField(default=timezone.now)
    suspended_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["name", "id"]
        constraints = [
            models.CheckConstraint(condition=Q(state__in=["active", "suspended"]), name="identity_issuer_state_valid"),
            models.CheckConstraint(
                condition=Q(did__startswith="did:key:") | Q(did__startswith="did:web:"),
                name="identity_issuer_did_method_supported",
            ),
            models.CheckConstraint(
                condition=Q(state="active", suspended_at__isnull=True)
                | Q(state="suspended", suspended_at__isnull=False),
                name="identity_issuer_suspended_at_matches_state",
            ),
        ]

    def __str__(self) -> str:
        return self.name

    @property
    def is_active(self) -> bool:
        return self.state == self.State.ACTIVE


class IssuerClient(models.Model):
    """A bearer key with which an issuer's own systems call the VC-API (``Authorization: Bearer fli_...``).

    Issuers are organisations, not people: they get no portal login, role or second factor, only this key, which can
    do nothing but issue and update the status of the issuer's own credentials. Only the SHA-256 of the key is kept.
    """

    issuer = models.ForeignKey(TrustedIssuer, on_delete=models.CASCADE, related_name="clients")
    name = models.CharField(max_length=100)
    prefix = models.CharField(max_length=12)
    key_hash = models.CharField(max_length=64, unique=True)
    created_at = models.DateTimeField(default=timezone.now)
    last_used_at = models.DateTimeField(null=True, blank=True)
    revoked_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at", "-id"]

    def __str__(self) -> str:
        return f"{self.name} ({self.prefix}…)"

    @property
    def is_active(self) -> bool:
        return self.revoked_at is None


class TrustAnchor(models.Model):
    """An X.509 root (or intermediate) certificate that back-office staff trust to vouch for issuers of some
    credential types: an SD-JWT VC whose ``x5c`` chain leads to an active anchor listed for its type is from a
    trusted issuer.

    Only the public certificate is kept (``certificate_pem``), with its SHA-256 fingerprint (hex of the DER) as the
    identity of the anchor. A suspended anchor vouches for nothing: credentials chained to it verify as
    ``untrusted_issuer`` until it is reactivated. Who added and who last suspended it are kept for the audit trail;
    a null ``added_by`` is the portal itself (its own issuing CA, seeded at first use).
    """

    class State(models.TextChoices):
        ACTIVE = "active", _("Active")
        SUSPENDED = "suspended", _("Suspended")

    name = models.CharField(max_length=200)
    certificate_pem = models.TextField()
    fingerprint_sha256 = models.CharField(max_length=64, unique=True)
    subject = models.CharField(max_length=500)
    not_valid_after = models.DateTimeField()
    credential_types = models.JSONField(default=list, help_text="Credential type names this anchor may vouch for.")
    state = models.CharField(max_length=10, choices=State.choices, default=State.ACTIVE)
    added_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    added_at = models.DateTimeField(default=timezone.now)
    suspended_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    suspended_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["name", "id"]
        constraints = [
            models.CheckConstraint(condition=Q(state__in=["active", "suspended"]), name="identity_anchor_state_valid"),
            models.CheckConstraint(
                condition=Q(fingerprint_sha256__regex=r"^[0-9a-f]{64}$"), name="identity_anchor_fingerprint_hex"
            ),
            models.CheckConstraint(
                condition=Q(state="active", suspended_at__isnull=True)
                | Q(state="suspended", suspended_at__isnull=False),
                name="identity_anchor_suspended_at_matches_state",
            ),
        ]

    def __str__(self) -> str:
        return self.name

    @property
    def is_active(self) -> bool:
        return self.state == self.State.ACTIVE
