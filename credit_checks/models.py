"""Credit checks: a dealer's presentation request, the customer's consent receipt, the verdict under a versioned
credit policy, human review and contest, and webhook deliveries.

No row holds a credential or a presentation: only the request terms, hashes, reason codes, the two disclosed result
claims (score band and affordability ceiling) and who did what when.
"""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.utils import timezone

__all__ = [
    "ConsentReceipt",
    "CreditCheckContest",
    "CreditCheckPurpose",
    "CreditCheckRequest",
    "CreditCheckReview",
    "CreditCheckStatus",
    "CreditCheckVerdict",
    "CreditPolicy",
    "DealerWebhook",
    "WebhookDelivery",
]

SCORE_BAND_CHOICES = [(band, band) for band in ("A", "B", "C", "D", "E")]


class CreditCheckPurpose(models.TextChoices):
    LEASE = "lease", "Lease"
    FINANCING = "financing", "Financing"


class CreditPolicy(models.Model):
    """One immutable version of a dealer's credit rules for one purpose.

    A change never edits a row: it inserts the next ``version``. Each verdict points at the version it applied, so
    recorded verdicts keep their meaning. Rules: the disclosed score band must be ``minimum_score_band`` or better
    (A best), bands down to ``referral_score_band`` go to a person; the affordability ceiling (minor units per month)
    must cover the requested instalment; a credential older than ``max_credential_age_days`` is referred.
    """

    dealer_organisation = models.ForeignKey(
        "accounts.DealerOrganisation", on_delete=models.CASCADE, related_name="credit_policies"
    )
    purpose = models.CharField(max_length=10, choices=CreditCheckPurpose.choices)
    version = models.PositiveIntegerField()
    minimum_score_band = models.CharField(max_length=1, choices=SCORE_BAND_CHOICES)
    referral_score_band = models.CharField(max_length=1, choices=SCORE_BAND_CHOICES)
    max_credential_age_days = models.PositiveIntegerField()
    created_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL)
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        db_table = "identity_creditpolicy"  # kept from when credit checks lived in identity
        ordering = ["dealer_organisation", "purpose", "-version"]
        constraints = [
            models.UniqueConstraint(
                fields=["dealer_organisation", "purpose", "version"], name="identity_credit_policy_version_unique"
            ),
            models.CheckConstraint(
                condition=Q(purpose__in=["lease", "financing"]), name="identity_credit_policy_purpose_valid"
            ),
            models.CheckConstraint(
                condition=Q(referral_score_band__gte=models.F("minimum_score_band")),
                name="identity_credit_policy_referral_not_better",
            ),
            models.CheckConstraint(condition=Q(version__gte=1), name="identity_credit_policy_version_positive"),
        ]

    def __str__(self) -> str:
        return f"{self.purpose} policy v{self.version}"

    def save(self, *args: object, **kwargs: object) -> None:
        """Versions are immutable: saving an existing row is a programming error."""
        if self.pk is not None and not self._state.adding:
            raise ValueError("A credit policy version is immutable; create the next version instead.")
        super().save(*args, **kwargs)  # type: ignore[arg-type]


class CreditCheckStatus(models.TextChoices):
    OPEN = "open", "Waiting for the customer"
    DECLINED = "declined", "Customer declined"
    REFUSED = "refused", "Presentation refused"
    DECIDED = "decided", "Verdict given"
    EXPIRED = "expired", "Expired"


class CreditCheckRequest(models.Model):
    """A dealer's request to learn a customer's score band and affordability ceiling for one offer.

    ``amount`` is the requested monthly instalment in minor units of ``currency``; ``term_months`` the offer's term.
    ``challenge`` (random, unique) and ``domain`` (the dealer's did:web) bind the portal wallet's presentation to this
    request; the customer reaches it through ``link_token``. ``presentation_transaction`` is the OpenID4VP
    authorization request any wallet answers (its own nonce, state and client id; see identity.openid4vp). The first customer who opens the link becomes ``customer``; nobody
    else can see it. ``presentation_hash`` (SHA-256 hex of the presentation received) is unique across all
    requests, so one presentation is never accepted twice. ``lease_application_id`` is the dealer's opaque
    reference to a leasing application: no foreign key (the tables live in different apps) and never checked here;
    leasing collects the verdict and applies it only to an application of the same organisation and customer.
    """

    public_id = models.UUIDField(unique=True)
    link_token = models.CharField(max_length=64, unique=True)
    dealer_organisation = models.ForeignKey(
        "accounts.DealerOrganisation", on_delete=models.CASCADE, related_name="credit_check_requests"
    )
    created_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    customer = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.CASCADE, related_name="credit_checks"
    )
    purpose = models.CharField(max_length=10, choices=CreditCheckPurpose.choices)
    amount = models.BigIntegerField(help_text="Requested monthly instalment, minor units.")
    currency = models.CharField(max_length=3)
    term_months = models.PositiveIntegerField()
    lease_application_id = models.PositiveIntegerField(null=True, blank=True)
    requested_claims = models.JSONField(default=list)
    retention_days = models.PositiveIntegerField()
    challenge = models.CharField(max_length=64, unique=True)
    domain = models.CharField(max_length=300)
    status = models.CharField(max_length=10, choices=CreditCheckStatus.choices, default=CreditCheckStatus.OPEN)
    refusal_reason = models.CharField(max_length=40, blank=True)
    presentation_hash = models.CharField(max_length=64, null=True, blank=True, unique=True)
    presentation_transaction = models.OneToOneField(
        "identity.PresentationTransaction", null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    created_at = models.DateTimeField(default=timezone.now)
    expires_at = models.DateTimeField()
    completed_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        db_table = "identity_creditcheckrequest"  # kept from when credit checks lived in identity
        ordering = ["-created_at", "-id"]
        constraints = [
            models.CheckConstraint(
                condition=Q(status__in=["open", "declined", "refused", "decided", "expired"]),
                name="identity_credit_check_status_valid",
            ),
            models.CheckConstraint(condition=Q(amount__gt=0), name="identity_credit_check_amount_positive"),
            models.CheckConstraint(condition=Q(term_months__gt=0), name="identity_credit_check_term_positive"),
            models.CheckConstraint(
                condition=Q(purpose__in=["lease", "financing"]), name="identity_credit_check_purpose_valid"
            ),
            models.CheckConstraint(
                condition=Q(status="refused") | Q(refusal_reason=""), name="identity_credit_check_reason_if_refused"
            ),
        ]

    def __str__(self) -> str:
        return f"credit check {self.public_id}"


class CreditCheckVerdict(models.Model):
    """The automated verdict for one request under one policy version.

    ``disclosed_score_band`` and ``disclosed_ceiling`` (minor units per month, ``disclosed_ceiling_currency``) are the
    two result claims the customer agreed to disclose and the only inputs of the verdict. They are kept so the dealer
    (and a reviewer) can see why the verdict fell as it did; they are bureau results, not identity data, and nothing
    else from the presentation is kept. ``rule_results`` lists the rule codes that decided it.
    """

    class Outcome(models.TextChoices):
        APPROVED = "approved", "Approved"
        DECLINED = "declined", "Declined"
        REFERRED = "referred", "Referred to a person"

    request = models.OneToOneField(CreditCheckRequest, on_delete=models.CASCADE, related_name="verdict")
    outcome = models.CharField(max_length=10, choices=Outcome.choices)
    rule_results = models.JSONField(default=list)
    policy = models.ForeignKey(CreditPolicy, on_delete=models.PROTECT, related_name="verdicts")
    disclosed_score_band = models.CharField(max_length=1, choices=SCORE_BAND_CHOICES)
    disclosed_ceiling = models.BigIntegerField()
    disclosed_ceiling_currency = models.CharField(max_length=3)
    decided_at = models.DateTimeField(default=timezone.now)

    class Meta:
        db_table = "identity_creditcheckverdict"  # kept from when credit checks lived in identity
        ordering = ["-decided_at", "-id"]
        constraints = [
            models.CheckConstraint(
                condition=Q(outcome__in=["approved", "declined", "referred"]), name="identity_credit_verdict_valid"
            )
        ]

    def __str__(self) -> str:
        return f"{self.outcome} ({self.request_id})"


class ConsentReceipt(models.Model):
    """What the customer agreed to (or declined): who (user id), which claims, for which dealer DID and purpose, how
    long it is kept, when, and the SHA-256 of the presentation sent. Downloadable by the customer as JSON."""

    class Decision(models.TextChoices):
        CONSENTED = "consented", "Consented"
        DECLINED = "declined", "Declined"

    request = models.OneToOneField(CreditCheckRequest, on_delete=models.CASCADE, related_name="consent_receipt")
    receipt_id = models.UUIDField(unique=True)
    user_id_at_consent = models.PositiveIntegerField(
        null=True, blank=True, help_text="None when a wallet answered cross-device without the customer signing in."
    )
    decision = models.CharField(max_length=10, choices=Decision.choices)
    claims = models.JSONField(default=list)
    purpose = models.CharField(max_length=10, choices=CreditCheckPurpose.choices)
    retention_days = models.PositiveIntegerField()
    dealer_did = models.CharField(max_length=300)
    presentation_hash = models.CharField(max_length=64, blank=True)
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        db_table = "identity_consentreceipt"  # kept from when credit checks lived in identity
        ordering = ["-created_at", "-id"]
        constraints = [
            models.CheckConstraint(
                condition=Q(decision__in=["consented", "declined"]), name="identity_consent_decision_valid"
            )
        ]

    def __str__(self) -> str:
        return f"consent receipt {self.receipt_id}"


class CreditCheckReview(models.Model):
    """A back-office person's decision on a referred or declined verdict, with the reason; the verdict stays."""

    class Outcome(models.TextChoices):
        APPROVED = "approved", "Approved after review"
        DECLINED = "declined", "Declined after review"

    verdict = models.ForeignKey(CreditCheckVerdict, on_delete=models.CASCADE, related_name="reviews")
    reviewer = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    outcome = models.CharField(max_length=10, choices=Outcome.choices)
    reason = models.TextField()
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        db_table = "identity_creditcheckreview"  # kept from when credit checks lived in identity
        ordering = ["created_at", "id"]
        constraints = [
            models.CheckConstraint(
                condition=Q(outcome__in=["approved", "declined"]), name="identity_credit_review_outcome_valid"
            ),
            models.CheckConstraint(condition=~Q(reason=""), name="identity_credit_review_reason_required"),
        ]

    def __str__(self) -> str:
        return f"review {self.pk} ({self.outcome})"


class CreditCheckContest(models.Model):
    """The customer's objection to a verdict, in their own words; back office answers it with a review."""

    verdict = models.ForeignKey(CreditCheckVerdict, on_delete=models.CASCADE, related_name="contests")
    customer = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="+")
    message = models.TextField()
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        db_table = "identity_creditcheckcontest"  # kept from when credit checks lived in identity
        ordering = ["created_at", "id"]
        constraints = [models.CheckConstraint(condition=~Q(message=""), name="identity_credit_contest_message")]

    def __str__(self) -> str:
        return f"contest {self.pk}"


class DealerWebhook(models.Model):
    """Where a dealer organisation's systems receive credit-check events. The signing secret is stored encrypted
    (core.encryption under the field keys) because the portal must sign with it; it is shown once on creation."""

    dealer_organisation = models.OneToOneField(
        "accounts.DealerOrganisation", on_delete=models.CASCADE, related_name="credit_check_webhook"
    )
    url = models.URLField(max_length=500)
    encrypted_secret = models.BinaryField(max_length=256)
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        db_table = "identity_dealerwebhook"  # kept from when credit checks lived in identity

    def __str__(self) -> str:
        return f"webhook of {self.dealer_organisation_id}"


class WebhookDelivery(models.Model):
    """One event for a dealer's webhook. ``event_id`` is sent as a header on every attempt so the receiver can drop
    repeats; ``payload`` holds the request id, status, verdict and policy version only."""

    event_id = models.UUIDField(unique=True)
    request = models.ForeignKey(CreditCheckRequest, on_delete=models.CASCADE, related_name="webhook_deliveries")
    payload = models.JSONField()
    attempts = models.PositiveIntegerField(default=0)
    last_status_code = models.PositiveIntegerField(null=True, blank=True)
    delivered_at = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        db_table = "identity_webhookdelivery"  # kept from when credit checks lived in identity
        ordering = ["created_at", "id"]

    def __str__(self) -> str:
        return f"webhook event {self.event_id}"
