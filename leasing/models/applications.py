"""Quotes, applications, credit checks and the back office's approvals (four-eyes above a limit)."""

from __future__ import annotations

import uuid

from django.conf import settings
from django.db import models
from django.db.models import F, Q
from django.utils.translation import gettext_lazy as _

from leasing.models.products import LeaseProduct, PaymentTimingChoice, ServicePackage

__all__ = [
    "Application",
    "ApplicationApproval",
    "ApplicationStatus",
    "CreditCheck",
    "CreditCheckStatus",
    "CreditVerdict",
    "CreditVerdictRefusal",
    "CreditVerdictRefusalReason",
    "Quote",
]


class Quote(models.Model):
    """A priced offer, anonymous or a customer's, kept so it can be printed and applied for unchanged.

    Inputs and results are stored as computed (money in minor units of `currency`, APRC in percent rounded half-up to
    one decimal); the schedule is rebuilt from the stored terms, which always gives the same cents. No personal data.
    """

    public_id = models.UUIDField(default=uuid.uuid4, unique=True, editable=False)
    product = models.ForeignKey(LeaseProduct, on_delete=models.PROTECT, related_name="quotes")
    service_packages = models.ManyToManyField(ServicePackage, blank=True, related_name="quotes")
    created_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL)
    currency = models.CharField(max_length=3)
    price = models.BigIntegerField()
    down_payment = models.BigIntegerField(default=0)
    term_months = models.PositiveSmallIntegerField()
    yearly_km = models.PositiveIntegerField(null=True, blank=True)
    residual_value = models.BigIntegerField(default=0)
    timing = models.CharField(max_length=10, choices=PaymentTimingChoice.choices)
    start_date = models.DateField()
    nominal_rate_percent = models.DecimalField(max_digits=6, decimal_places=3)
    financed_amount = models.BigIntegerField()
    arrangement_fee = models.BigIntegerField()
    monthly_instalment = models.BigIntegerField(help_text="Finance part of a regular instalment.")
    monthly_services = models.BigIntegerField(default=0)
    total_interest = models.BigIntegerField()
    total_cost_of_credit = models.BigIntegerField()
    total_amount_payable = models.BigIntegerField()
    aprc_percent = models.DecimalField(max_digits=7, decimal_places=1)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["-created_at"]
        constraints = [
            models.CheckConstraint(condition=Q(price__gt=0), name="leasing_quote_price_positive"),
            models.CheckConstraint(
                condition=Q(down_payment__gte=0, down_payment__lt=F("price")), name="leasing_quote_down_payment_range"
            ),
            models.CheckConstraint(
                condition=Q(residual_value__gte=0, residual_value__lte=F("financed_amount")),
                name="leasing_quote_residual_range",
            ),
            models.CheckConstraint(condition=Q(financed_amount__gt=0), name="leasing_quote_financed_positive"),
        ]

    def __str__(self) -> str:
        return f"quote {self.public_id}"

    @property
    def monthly_total(self) -> int:
        return self.monthly_instalment + self.monthly_services


class ApplicationStatus(models.TextChoices):
    CREDIT_CHECK_PENDING = "credit_check_pending", _("Credit check pending")
    DECISION_PENDING = "decision_pending", _("Decision pending")
    APPROVED = "approved", _("Approved")
    DECLINED = "declined", _("Declined")
    CONTRACTED = "contracted", _("Contract accepted")


class Application(models.Model):
    """A customer's application for a quote; `dealer_organisation` is the dealer who originated it, if any.

    Moves credit_check_pending → decision_pending → approved (a contract is offered) → contracted, or → declined.
    `financed_amount` (minor units) decides whether one or two back-office approvals are needed.
    """

    reference = models.UUIDField(default=uuid.uuid4, unique=True, editable=False)
    quote = models.OneToOneField(Quote, on_delete=models.PROTECT, related_name="application")
    customer = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="lease_applications")
    dealer_organisation = models.ForeignKey(
        "accounts.DealerOrganisation",
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="lease_applications",
    )
    status = models.CharField(
        max_length=24, choices=ApplicationStatus.choices, default=ApplicationStatus.CREDIT_CHECK_PENDING
    )
    financed_amount = models.BigIntegerField()
    currency = models.CharField(max_length=3)
    approvals_required = models.PositiveSmallIntegerField(default=1)
    decided_at = models.DateTimeField(null=True, blank=True)
    decline_reason = models.CharField(max_length=500, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["-created_at"]
        constraints = [
            models.CheckConstraint(condition=Q(status__in=ApplicationStatus.values), name="leasing_application_status"),
            models.CheckConstraint(
                condition=Q(approvals_required__in=[1, 2]), name="leasing_application_approvals_required"
            ),
        ]

    def __str__(self) -> str:
        return f"application {self.reference}"


class CreditCheckStatus(models.TextChoices):
    REQUIRED = "required", _("Required")
    RECORDED = "recorded", _("Verdict recorded")


class CreditVerdict(models.TextChoices):
    APPROVED = "approved", _("Approved")
    DECLINED = "declined", _("Declined")
    REFERRED = "referred", _("Referred")


class CreditCheck(models.Model):
    """The credit check an application needs: required on application, recorded once with its verdict.

    The verdict comes from the dealer credit-check flow (`source="credential"`, `external_reference` naming its
    request) or from a back-office user (`source="manual"`, `recorded_by`, `reason`). Only the verdict is kept.
    """

    application = models.OneToOneField(Application, on_delete=models.CASCADE, related_name="credit_check")
    status = models.CharField(max_length=10, choices=CreditCheckStatus.choices, default=CreditCheckStatus.REQUIRED)
    verdict = models.CharField(max_length=10, choices=CreditVerdict.choices, blank=True)
    source = models.CharField(max_length=20, blank=True)
    external_reference = models.CharField(max_length=100, blank=True)
    reason = models.CharField(max_length=500, blank=True)
    recorded_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    requested_at = models.DateTimeField(auto_now_add=True)
    recorded_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        constraints = [
            models.CheckConstraint(
                condition=Q(status=CreditCheckStatus.REQUIRED, verdict="")
                | Q(status=CreditCheckStatus.RECORDED, verdict__in=CreditVerdict.values, recorded_at__isnull=False),
                name="leasing_credit_check_verdict_iff_recorded",
            ),
        ]

    def __str__(self) -> str:
        return f"credit check of {self.application_id}: {self.status}"


class CreditVerdictRefusalReason(models.TextChoices):
    """Why a credit-check verdict of the application's own dealer and customer was not applied to it."""

    PURPOSE_DIFFERS = "purpose_differs", _("The credit check was opened for another purpose.")
    CURRENCY_DIFFERS = "currency_differs", _("The credit check was opened in another currency.")
    AMOUNT_BELOW_INSTALMENT = "amount_below_instalment", _("The credit check covers less than the monthly instalment.")
    TERM_SHORTER = "term_shorter", _("The credit check covers a shorter term than the application.")
    VERDICT_EXPIRED = "verdict_expired", _("The credit check's verdict is too old to be used.")


class CreditVerdictRefusal(models.Model):
    """A credit-check verdict that named this application, came from its dealer and customer, but was given for terms
    that do not cover it (or is too old), so it was not recorded. Kept so back office sees why the application still
    waits for its credit check. ``external_reference`` names the credit-check request; the checked terms (monthly
    ``checked_amount`` in minor units of ``checked_currency``, ``checked_term_months``) are copied because identity
    deletes its requests after the retention period. One row per application and request."""

    application = models.ForeignKey(Application, on_delete=models.CASCADE, related_name="credit_verdict_refusals")
    external_reference = models.CharField(max_length=100)
    reason = models.CharField(max_length=30, choices=CreditVerdictRefusalReason.choices)
    checked_purpose = models.CharField(max_length=10)
    checked_amount = models.BigIntegerField()
    checked_currency = models.CharField(max_length=3)
    checked_term_months = models.PositiveIntegerField()
    verdict_decided_at = models.DateTimeField()
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["created_at", "id"]
        constraints = [
            models.UniqueConstraint(
                fields=["application", "external_reference"], name="leasing_credit_verdict_refused_once"
            ),
            models.CheckConstraint(
                condition=Q(reason__in=CreditVerdictRefusalReason.values), name="leasing_credit_verdict_refusal_reason"
            ),
        ]

    def __str__(self) -> str:
        return f"credit verdict {self.external_reference} refused for {self.application_id}: {self.reason}"


class ApplicationApproval(models.Model):
    """One back-office user's approval of an application. Two different users are needed above the four-eyes limit;
    the unique constraint keeps one user from counting twice."""

    application = models.ForeignKey(Application, on_delete=models.CASCADE, related_name="approvals")
    approved_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    reason = models.CharField(max_length=500)
    approved_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["approved_at"]
        constraints = [
            models.UniqueConstraint(fields=["application", "approved_by"], name="leasing_approval_once_per_user"),
        ]

    def __str__(self) -> str:
        return f"approval of {self.application_id} by {self.approved_by_id}"
