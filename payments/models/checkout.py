"""Checkout: orders for QR codes, the sandbox acquirer's payments, webhook events, and imported bank statements.

Card numbers and bank account details never reach these tables: a card payment keeps at most its brand and last four
digits, a bank statement entry keeps the amount, the creditor reference and the bank's entry reference only.
Amounts are integer minor units of `currency` (ISO 4217).
"""

from __future__ import annotations

import uuid

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.utils.translation import gettext_lazy as _

from core.money import Money

__all__ = [
    "BankStatement",
    "BankStatementEntry",
    "BankStatementEntryStatus",
    "CheckoutOrder",
    "CheckoutOrderKind",
    "CheckoutOrderStatus",
    "CheckoutProvider",
    "SandboxCardPayment",
    "SandboxCardPaymentStatus",
    "WebhookEvent",
]


class CheckoutProvider(models.TextChoices):
    CARD_SANDBOX = "card_sandbox", _("Card (sandbox acquirer)")
    SEPA_TRANSFER = "sepa_transfer", _("SEPA credit transfer")


class CheckoutOrderStatus(models.TextChoices):
    AWAITING_PAYMENT = "awaiting_payment", _("Awaiting payment")
    PAID = "paid", _("Paid")
    DECLINED = "declined", _("Declined")


class CheckoutOrderKind(models.TextChoices):
    """What a paid order buys: a new QR code, or money into an existing wallet account (a vehicle's)."""

    QR_CODE = "qr_code", _("Payment code")
    WALLET_TOP_UP = "wallet_top_up", _("Wallet top-up")


class CheckoutOrder(models.Model):
    """A customer's order of `amount` minor units: one QR code (`product`; once paid it names the code it issued), or
    a top-up of the wallet account `credit_account` (a vehicle's; once paid the purchase transfer credited it).

    SEPA orders carry an ISO 11649 `creditor_reference` (RF...) that the bank statement import matches on.
    `return_path` is the portal page the customer goes back to after a top-up (the vehicle's page).
    """

    public_id = models.UUIDField(default=uuid.uuid4, unique=True, editable=False)
    customer = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="qr_orders")
    kind = models.CharField(max_length=20, choices=CheckoutOrderKind.choices, default=CheckoutOrderKind.QR_CODE)
    product = models.ForeignKey(
        "payments.QrProduct", null=True, blank=True, on_delete=models.PROTECT, related_name="orders"
    )
    credit_account = models.ForeignKey(
        "payments.Account", null=True, blank=True, on_delete=models.PROTECT, related_name="top_up_orders"
    )
    return_path = models.CharField(max_length=200, blank=True)
    amount = models.BigIntegerField()
    currency = models.CharField(max_length=3)
    provider = models.CharField(max_length=20, choices=CheckoutProvider.choices)
    status = models.CharField(
        max_length=20, choices=CheckoutOrderStatus.choices, default=CheckoutOrderStatus.AWAITING_PAYMENT
    )
    creditor_reference = models.CharField(max_length=25, null=True, blank=True, unique=True)
    code = models.OneToOneField(
        "payments.QrCode", null=True, blank=True, on_delete=models.PROTECT, related_name="order"
    )
    purchase_transfer_id = models.UUIDField(null=True, blank=True, unique=True)
    created_at = models.DateTimeField(auto_now_add=True)
    paid_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ("-created_at", "-id")
        constraints = [
            models.CheckConstraint(condition=Q(amount__gt=0), name="checkout_order_amount_positive"),
            models.CheckConstraint(
                condition=Q(status__in=CheckoutOrderStatus.values), name="checkout_order_status_valid"
            ),
            models.CheckConstraint(
                condition=Q(provider__in=CheckoutProvider.values), name="checkout_order_provider_valid"
            ),
            models.CheckConstraint(condition=Q(kind__in=CheckoutOrderKind.values), name="checkout_order_kind_valid"),
            models.CheckConstraint(
                condition=Q(kind=CheckoutOrderKind.QR_CODE, product__isnull=False, credit_account__isnull=True)
                | Q(kind=CheckoutOrderKind.WALLET_TOP_UP, product__isnull=True, credit_account__isnull=False),
                name="checkout_order_kind_has_target",
            ),
            models.CheckConstraint(
                condition=~Q(status=CheckoutOrderStatus.PAID)
                | Q(
                    kind=CheckoutOrderKind.QR_CODE,
                    code__isnull=False,
                    paid_at__isnull=False,
                    purchase_transfer_id__isnull=False,
                )
                | Q(
                    kind=CheckoutOrderKind.WALLET_TOP_UP,
                    code__isnull=True,
                    paid_at__isnull=False,
                    purchase_transfer_id__isnull=False,
                ),
                name="checkout_order_paid_has_code",
            ),
        ]

    def __str__(self) -> str:
        return f"order {self.public_id} ({self.status})"

    @property
    def amount_money(self) -> Money:
        return Money(self.amount, self.currency)


class SandboxCardPaymentStatus(models.TextChoices):
    CHALLENGE_REQUIRED = "challenge_required", _("Challenge required")
    APPROVED = "approved", _("Approved")
    DECLINED = "declined", _("Declined")


class SandboxCardPayment(models.Model):
    """The embedded sandbox acquirer's record of one card payment: brand and last four digits only, never the number.

    When it is approved or declined the acquirer delivers a signed webhook event (through the outbox) to the portal.
    """

    public_id = models.UUIDField(default=uuid.uuid4, unique=True, editable=False)
    order = models.OneToOneField(CheckoutOrder, on_delete=models.PROTECT, related_name="card_payment")
    amount = models.BigIntegerField()
    currency = models.CharField(max_length=3)
    card_brand = models.CharField(max_length=20)
    card_last4 = models.CharField(max_length=4)
    status = models.CharField(max_length=20, choices=SandboxCardPaymentStatus.choices)
    decline_reason = models.CharField(max_length=40, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    decided_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ("-created_at", "-id")
        constraints = [
            models.CheckConstraint(
                condition=Q(status__in=SandboxCardPaymentStatus.values), name="sandbox_payment_status_valid"
            ),
            models.CheckConstraint(condition=Q(card_last4__regex=r"^[0-9]{4}$"), name="sandbox_payment_last4_digits"),
        ]

    def __str__(self) -> str:
        return f"sandbox payment {self.public_id} ({self.status})"


class WebhookEvent(models.Model):
    """A provider's webhook event the portal accepted; the unique `event_id` makes a replayed delivery a no-op."""

    provider = models.CharField(max_length=20)
    event_id = models.CharField(max_length=64)
    event_type = models.CharField(max_length=40)
    order = models.ForeignKey(CheckoutOrder, null=True, blank=True, on_delete=models.PROTECT, related_name="+")
    received_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ("-received_at", "-id")
        constraints = [
            models.UniqueConstraint(fields=["provider", "event_id"], name="webhook_event_unique"),
        ]

    def __str__(self) -> str:
        return f"{self.provider} event {self.event_id}"


class BankStatement(models.Model):
    """An imported CAMT.053 statement; `file_sha256` refuses importing the same file twice."""

    message_id = models.CharField(max_length=35)
    statement_id = models.CharField(max_length=35)
    file_sha256 = models.CharField(max_length=64, unique=True)
    imported_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    imported_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ("-imported_at", "-id")

    def __str__(self) -> str:
        return f"statement {self.statement_id}"


class BankStatementEntryStatus(models.TextChoices):
    MATCHED = "matched", _("Matched: code issued")
    PARTIAL = "partial", _("Review: less than the order")
    OVERPAID = "overpaid", _("Review: more than the order")
    UNKNOWN = "unknown", _("Review: no matching order")
    ALREADY_PAID = "already_paid", _("Review: order already paid")
    RESOLVED = "resolved", _("Reviewed and resolved")


REVIEW_STATUSES = (
    BankStatementEntryStatus.PARTIAL,
    BankStatementEntryStatus.OVERPAID,
    BankStatementEntryStatus.UNKNOWN,
    BankStatementEntryStatus.ALREADY_PAID,
)


class BankStatementEntry(models.Model):
    """One credit booked on the portal's bank account; matched to an order by its RF creditor reference.

    Anything but an exact match waits in the back office's review queue. No payer name or account is kept.
    """

    statement = models.ForeignKey(BankStatement, on_delete=models.PROTECT, related_name="entries")
    entry_reference = models.CharField(max_length=64, unique=True, help_text="The bank's unique entry reference.")
    amount = models.BigIntegerField()
    currency = models.CharField(max_length=3)
    creditor_reference = models.CharField(max_length=35, blank=True)
    booking_date = models.DateField(null=True, blank=True)
    status = models.CharField(max_length=20, choices=BankStatementEntryStatus.choices)
    order = models.ForeignKey(CheckoutOrder, null=True, blank=True, on_delete=models.PROTECT, related_name="+")
    review_note = models.CharField(max_length=200, blank=True)
    resolved_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    resolved_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ("id",)
        constraints = [
            models.CheckConstraint(condition=Q(amount__gt=0), name="bank_entry_amount_positive"),
            models.CheckConstraint(
                condition=Q(status__in=BankStatementEntryStatus.values), name="bank_entry_status_valid"
            ),
            models.CheckConstraint(
                condition=~Q(status=BankStatementEntryStatus.MATCHED) | Q(order__isnull=False),
                name="bank_entry_matched_has_order",
            ),
        ]

    def __str__(self) -> str:
        return f"bank entry {self.entry_reference} ({self.status})"

    @property
    def amount_money(self) -> Money:
        return Money(self.amount, self.currency)
