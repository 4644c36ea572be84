"""QR payment codes: the catalogue, the codes customers own, dealers' redemptions and refunds, and dealer invoices.

Money lives in the ledger; these rows only name ledger accounts and transfers. A code's balance is the balance of its
own `Account` (flag "debits must not exceed credits", so it can never go negative). Every amount here is an integer of
minor units of `currency` (ISO 4217).
"""

from __future__ import annotations

import uuid

from django.conf import settings
from django.db import models
from django.db.models import F, Q
from django.utils.translation import gettext
from django.utils.translation import gettext_lazy as _

from core.money import Money

__all__ = [
    "DealerInvoice",
    "DealerInvoiceStatus",
    "QrCode",
    "QrCodeStatus",
    "QrProduct",
    "QrRedemption",
    "QrRedemptionStatus",
    "QrRefund",
]


class QrProduct(models.Model):
    """A payment code on sale: a fixed value, or a value the customer chooses between `min_amount` and `max_amount`.

    `accepted_by` lists the dealers and service points that take the code; `accepted_for` says what for
    (workshop visits, charging, car wash...). Amounts in minor units of `currency`.
    """

    slug = models.SlugField(max_length=80, unique=True)
    name = models.CharField(max_length=120)
    description = models.TextField(blank=True)
    currency = models.CharField(max_length=3, default="EUR")
    fixed_amount = models.BigIntegerField(null=True, blank=True)
    min_amount = models.BigIntegerField(null=True, blank=True)
    max_amount = models.BigIntegerField(null=True, blank=True)
    validity_days = models.PositiveIntegerField(default=3 * 365, help_text="Days a code stays valid after purchase.")
    accepted_for = models.CharField(max_length=200, blank=True)
    accepted_by = models.ManyToManyField("accounts.DealerOrganisation", blank=True, related_name="qr_products")
    is_active = models.BooleanField(default=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ("name",)
        constraints = [
            models.CheckConstraint(
                condition=Q(fixed_amount__gt=0, min_amount__isnull=True, max_amount__isnull=True)
                | Q(fixed_amount__isnull=True, min_amount__gt=0, max_amount__gte=F("min_amount")),
                name="qr_product_fixed_or_range",
            ),
        ]

    def __str__(self) -> str:
        return self.name

    @property
    def price_label(self) -> str:
        """ "50.00 EUR" for a fixed value, "10.00 EUR to 500.00 EUR" for a range."""
        if self.fixed_amount is not None:
            return str(Money(self.fixed_amount, self.currency))
        return gettext("%(minimum)s to %(maximum)s") % {
            "minimum": Money(self.min_amount or 0, self.currency),
            "maximum": Money(self.max_amount or 0, self.currency),
        }


class QrCodeStatus(models.TextChoices):
    ACTIVE = "active", _("Active")
    BLOCKED = "blocked", _("Blocked")


class QrCode(models.Model):
    """A prepaid payment code owned by a customer; its signed token carries only `public_id`, `version` and expiry.

    Blocking a code raises `version` (old prints stop working) and moves the balance to `replaced_by`.
    """

    public_id = models.UUIDField(default=uuid.uuid4, unique=True, editable=False)
    owner = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="qr_codes")
    product = models.ForeignKey(QrProduct, on_delete=models.PROTECT, related_name="codes")
    account = models.OneToOneField("payments.Account", on_delete=models.PROTECT, related_name="qr_code")
    currency = models.CharField(max_length=3)
    status = models.CharField(max_length=10, choices=QrCodeStatus.choices, default=QrCodeStatus.ACTIVE)
    version = models.PositiveIntegerField(default=1)
    expires_at = models.DateTimeField()
    replaced_by = models.OneToOneField("self", null=True, blank=True, on_delete=models.PROTECT, related_name="replaces")
    created_at = models.DateTimeField(auto_now_add=True)
    blocked_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ("-created_at", "-id")
        constraints = [
            models.CheckConstraint(condition=Q(status__in=QrCodeStatus.values), name="qr_code_status_valid"),
            models.CheckConstraint(
                condition=Q(status=QrCodeStatus.ACTIVE, blocked_at__isnull=True)
                | Q(status=QrCodeStatus.BLOCKED, blocked_at__isnull=False),
                name="qr_code_blocked_has_time",
            ),
        ]

    def __str__(self) -> str:
        return f"QR code {self.short_id}"

    @property
    def short_id(self) -> str:
        """Eight characters that tell a customer's codes apart on pages and statements."""
        return self.public_id.hex[:8].upper()


class QrRedemptionStatus(models.TextChoices):
    AUTHORIZED = "authorized", _("Authorized")
    CAPTURED = "captured", _("Captured")
    VOIDED = "voided", _("Voided")
    EXPIRED = "expired", _("Expired")


class QrRedemption(models.Model):
    """A dealer's authorization on a code: a PENDING ledger transfer from the code to the dealer's clearing account.

    Capturing posts `captured_amount` (the rest is released) and requests settlement of a pending transfer from the
    dealer's clearing to its payable account, which a settlement batch posts. `idempotency_key` is unique per dealer
    organisation: a retried request returns this row. `request_fingerprint` is the SHA-256 of the request fields.
    An authorization neither captured nor voided within its timeout is `expired`: the ledger's expiry void (its id in
    `void_transfer_id`) returned the amount to the code, or on to the code that replaced it.
    """

    public_id = models.UUIDField(default=uuid.uuid4, unique=True, editable=False)
    dealer_organisation = models.ForeignKey(
        "accounts.DealerOrganisation", on_delete=models.PROTECT, related_name="qr_redemptions"
    )
    created_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    code = models.ForeignKey(QrCode, on_delete=models.PROTECT, related_name="redemptions")
    idempotency_key = models.CharField(max_length=100)
    request_fingerprint = models.CharField(max_length=64)
    amount = models.BigIntegerField(help_text="Authorized minor units.")
    currency = models.CharField(max_length=3)
    status = models.CharField(max_length=10, choices=QrRedemptionStatus.choices, default=QrRedemptionStatus.AUTHORIZED)
    authorization_transfer_id = models.UUIDField(unique=True)
    captured_amount = models.BigIntegerField(default=0)
    capture_transfer_id = models.UUIDField(null=True, blank=True, unique=True)
    settlement_transfer_id = models.UUIDField(null=True, blank=True, unique=True)
    void_transfer_id = models.UUIDField(null=True, blank=True, unique=True)
    refunded_amount = models.BigIntegerField(default=0)
    reference = models.CharField(max_length=64, blank=True, help_text="The dealer's own reference, no personal data.")
    created_at = models.DateTimeField(auto_now_add=True)
    resolved_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ("-created_at", "-id")
        indexes = [
            # The expiry pass reads open authorizations every minute; they are few among all redemptions.
            models.Index(fields=["id"], condition=Q(status="authorized"), name="qr_redemption_authorized"),
        ]
        constraints = [
            models.UniqueConstraint(
                fields=["dealer_organisation", "idempotency_key"], name="qr_redemption_idempotency_key_unique"
            ),
            models.CheckConstraint(condition=Q(amount__gt=0), name="qr_redemption_amount_positive"),
            models.CheckConstraint(
                condition=Q(status__in=QrRedemptionStatus.values), name="qr_redemption_status_valid"
            ),
            models.CheckConstraint(
                condition=Q(captured_amount__gte=0, captured_amount__lte=F("amount")),
                name="qr_redemption_capture_within_authorization",
            ),
            models.CheckConstraint(
                condition=Q(refunded_amount__gte=0, refunded_amount__lte=F("captured_amount")),
                name="qr_redemption_refund_within_capture",
            ),
            models.CheckConstraint(
                condition=Q(status=QrRedemptionStatus.AUTHORIZED, captured_amount=0, resolved_at__isnull=True)
                | Q(status=QrRedemptionStatus.CAPTURED, captured_amount__gt=0, capture_transfer_id__isnull=False)
                | Q(status=QrRedemptionStatus.VOIDED, captured_amount=0, void_transfer_id__isnull=False)
                | Q(
                    status=QrRedemptionStatus.EXPIRED,
                    captured_amount=0,
                    void_transfer_id__isnull=False,
                    resolved_at__isnull=False,
                ),
                name="qr_redemption_state_consistent",
            ),
        ]

    def __str__(self) -> str:
        return f"redemption {self.public_id} ({self.status})"

    @property
    def amount_money(self) -> Money:
        return Money(self.amount, self.currency)

    @property
    def captured_money(self) -> Money:
        return Money(self.captured_amount, self.currency)

    @property
    def refunded_money(self) -> Money:
        return Money(self.refunded_amount, self.currency)


class QrRefund(models.Model):
    """Money a dealer gives back after a capture: a new ledger transfer from its payable account to the code."""

    redemption = models.ForeignKey(QrRedemption, on_delete=models.PROTECT, related_name="refunds")
    code = models.ForeignKey(QrCode, on_delete=models.PROTECT, related_name="refunds", help_text="Credited code.")
    amount = models.BigIntegerField()
    transfer_id = models.UUIDField(unique=True)
    created_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ("-created_at", "-id")
        constraints = [models.CheckConstraint(condition=Q(amount__gt=0), name="qr_refund_amount_positive")]

    def __str__(self) -> str:
        return f"refund {self.transfer_id}"


class DealerInvoiceStatus(models.TextChoices):
    OPEN = "open", _("Open")
    PAID = "paid", _("Paid")


class DealerInvoice(models.Model):
    """An amount a dealer asks for, presented as an EMVCo merchant-presented QR (`payload`) and paid from a code.

    Paying it moves `amount` from the code's account to the dealer's payable account in one transfer.
    """

    public_id = models.UUIDField(default=uuid.uuid4, unique=True, editable=False)
    dealer_organisation = models.ForeignKey(
        "accounts.DealerOrganisation", on_delete=models.PROTECT, related_name="qr_invoices"
    )
    created_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    reference = models.CharField(max_length=25, unique=True)
    description = models.CharField(max_length=120, blank=True)
    amount = models.BigIntegerField()
    currency = models.CharField(max_length=3, default="EUR")
    payload = models.CharField(max_length=512)
    status = models.CharField(max_length=10, choices=DealerInvoiceStatus.choices, default=DealerInvoiceStatus.OPEN)
    paid_with = models.ForeignKey(QrCode, null=True, blank=True, on_delete=models.PROTECT, related_name="invoices")
    transfer_id = models.UUIDField(null=True, blank=True, unique=True)
    created_at = models.DateTimeField(auto_now_add=True)
    paid_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ("-created_at", "-id")
        constraints = [
            models.CheckConstraint(condition=Q(amount__gt=0), name="dealer_invoice_amount_positive"),
            models.CheckConstraint(
                condition=Q(status=DealerInvoiceStatus.OPEN, paid_at__isnull=True, transfer_id__isnull=True)
                | Q(status=DealerInvoiceStatus.PAID, paid_at__isnull=False, transfer_id__isnull=False),
                name="dealer_invoice_paid_consistent",
            ),
        ]

    def __str__(self) -> str:
        return f"invoice {self.reference}"

    @property
    def amount_money(self) -> Money:
        return Money(self.amount, self.currency)
