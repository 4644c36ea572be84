"""Contracts, their stored repayment schedule, and payoff quotes."""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.db.models import F, Q
from django.utils.translation import gettext_lazy as _

from leasing.models.applications import Application
from leasing.models.products import LeaseProduct, PaymentTimingChoice, ProductKind

__all__ = [
    "CollectionMethod",
    "Contract",
    "ContractEndReason",
    "ContractEvent",
    "ContractStatus",
    "PayoffQuote",
    "ScheduleItem",
    "ScheduleItemKind",
    "ScheduleItemStatus",
]


class ContractStatus(models.TextChoices):
    OFFERED = "offered", _("Offered")
    ACTIVE = "active", _("Active")
    IN_ARREARS = "in_arrears", _("In arrears")
    ENDED = "ended", _("Ended")


class ContractEndReason(models.TextChoices):
    END_OF_TERM = "end_of_term", _("End of term")
    PURCHASED = "purchased", _("Vehicle purchased")
    EARLY_TERMINATION = "early_termination", _("Early termination")


class CollectionMethod(models.TextChoices):
    PORTAL_BALANCE = "portal_balance", _("Portal balance")
    SEPA_DIRECT_DEBIT = "sepa_direct_debit", _("SEPA direct debit")


class Contract(models.Model):
    """A lease or loan contract: the terms fixed at approval (money in minor units of `currency`), the contract
    document and its acceptance, how instalments are collected, and the ledger account of what the customer owes.

    offered (document issued, waiting for the customer) → active (accepted; dealer paid out) ⇄ in_arrears → ended.
    """

    number = models.CharField(max_length=20, unique=True)
    application = models.OneToOneField(Application, on_delete=models.PROTECT, related_name="contract")
    customer = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="lease_contracts")
    dealer_organisation = models.ForeignKey(
        "accounts.DealerOrganisation", null=True, blank=True, on_delete=models.PROTECT, related_name="lease_contracts"
    )
    product = models.ForeignKey(LeaseProduct, on_delete=models.PROTECT, related_name="contracts")
    kind = models.CharField(max_length=24, choices=ProductKind.choices)
    status = models.CharField(max_length=12, choices=ContractStatus.choices, default=ContractStatus.OFFERED)
    currency = models.CharField(max_length=3)
    price = models.BigIntegerField()
    down_payment = models.BigIntegerField()
    financed_amount = models.BigIntegerField()
    residual_value = models.BigIntegerField()
    arrangement_fee = models.BigIntegerField()
    monthly_services = models.BigIntegerField()
    nominal_rate_percent = models.DecimalField(max_digits=6, decimal_places=3)
    aprc_percent = models.DecimalField(max_digits=7, decimal_places=1)
    term_months = models.PositiveSmallIntegerField()
    yearly_km = models.PositiveIntegerField(null=True, blank=True)
    timing = models.CharField(max_length=10, choices=PaymentTimingChoice.choices)
    start_date = models.DateField()
    schedule_version = models.PositiveSmallIntegerField(default=1)
    schedule_principal = models.BigIntegerField(help_text="Principal the current schedule version amortises.")
    schedule_start_date = models.DateField(help_text="Start of the current schedule version.")
    schedule_periods = models.PositiveSmallIntegerField(help_text="Instalments of the current schedule version.")
    collection_method = models.CharField(
        max_length=20, choices=CollectionMethod.choices, default=CollectionMethod.PORTAL_BALANCE
    )
    mandate = models.ForeignKey(
        "leasing.DirectDebitMandate", null=True, blank=True, on_delete=models.PROTECT, related_name="contracts"
    )
    document_pdf = models.BinaryField()
    document_sha256 = models.CharField(max_length=64)
    accepted_at = models.DateTimeField(null=True, blank=True)
    accepted_document_sha256 = models.CharField(max_length=64, blank=True)
    activated_at = models.DateTimeField(null=True, blank=True)
    receivable_account_id = models.BigIntegerField(null=True, blank=True, help_text="Ledger account of what is owed.")
    dunning_paused_until = models.DateField(null=True, blank=True)
    pre_notification_days = models.PositiveSmallIntegerField(
        default=14, help_text="Calendar days a direct debit is announced ahead (SEPA Core: 14 unless agreed)."
    )
    end_reason = models.CharField(max_length=20, choices=ContractEndReason.choices, blank=True)
    ended_at = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["-created_at"]
        constraints = [
            models.CheckConstraint(condition=Q(status__in=ContractStatus.values), name="leasing_contract_status"),
            models.CheckConstraint(
                condition=Q(accepted_at__isnull=True) | Q(accepted_document_sha256=F("document_sha256")),
                name="leasing_contract_accepted_document_matches",
            ),
            models.CheckConstraint(
                condition=Q(status=ContractStatus.OFFERED) | Q(accepted_at__isnull=False),
                name="leasing_contract_active_only_when_accepted",
            ),
            models.CheckConstraint(
                condition=~Q(collection_method=CollectionMethod.SEPA_DIRECT_DEBIT) | Q(mandate__isnull=False),
                name="leasing_contract_sepa_needs_mandate",
            ),
            models.CheckConstraint(
                condition=Q(pre_notification_days__gte=1), name="leasing_contract_pre_notification_days"
            ),
            models.CheckConstraint(
                condition=Q(residual_value__gte=0, residual_value__lte=F("financed_amount"), financed_amount__gt=0),
                name="leasing_contract_amounts",
            ),
        ]

    def __str__(self) -> str:
        return f"contract {self.number}"


class ScheduleItemKind(models.TextChoices):
    INSTALMENT = "instalment", _("Instalment")
    BALLOON = "balloon", _("Balloon (final payment)")
    FEE = "fee", _("Fee")
    LATE_FEE = "late_fee", _("Late fee")
    SETTLEMENT = "settlement", _("Settlement")


class ScheduleItemStatus(models.TextChoices):
    DUE = "due", _("Due")
    PAID = "paid", _("Paid")
    SUPERSEDED = "superseded", _("Superseded")


class ScheduleItem(models.Model):
    """One amount the customer owes on `due_date`, in minor units: `amount` = `interest` + `principal` + `services` +
    `fee`. Instalments come from the repayment schedule (exact cents, the last absorbing rounding); fees, late fees
    and settlements are added as they arise. A restructure supersedes the open rows and writes a new version."""

    contract = models.ForeignKey(Contract, on_delete=models.CASCADE, related_name="schedule_items")
    schedule_version = models.PositiveSmallIntegerField(default=1)
    number = models.PositiveIntegerField()
    kind = models.CharField(max_length=12, choices=ScheduleItemKind.choices)
    due_date = models.DateField()
    amount = models.BigIntegerField()
    interest = models.BigIntegerField(default=0)
    principal = models.BigIntegerField(default=0)
    services = models.BigIntegerField(default=0)
    fee = models.BigIntegerField(default=0)
    balance_after = models.BigIntegerField(default=0, help_text="Principal still owed after this row is paid.")
    status = models.CharField(max_length=12, choices=ScheduleItemStatus.choices, default=ScheduleItemStatus.DUE)
    paid_at = models.DateTimeField(null=True, blank=True)
    origin = models.ForeignKey(
        "self",
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="+",
        help_text="The row a late fee is for.",
    )

    class Meta:
        ordering = ["contract", "due_date", "number"]
        indexes = [models.Index(fields=["status", "due_date"], name="leasing_item_status_due")]
        constraints = [
            models.UniqueConstraint(fields=["contract", "schedule_version", "number"], name="leasing_item_unique"),
            models.CheckConstraint(
                condition=Q(amount=F("interest") + F("principal") + F("services") + F("fee")),
                name="leasing_item_amount_adds_up",
            ),
            models.CheckConstraint(
                condition=Q(amount__gt=0, interest__gte=0, services__gte=0, fee__gte=0), name="leasing_item_amounts"
            ),
            models.CheckConstraint(condition=Q(status__in=ScheduleItemStatus.values), name="leasing_item_status"),
            models.UniqueConstraint(
                fields=["origin"], condition=Q(kind="late_fee"), name="leasing_item_one_late_fee_per_row"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.kind} {self.number} of {self.contract_id} due {self.due_date}"


class PayoffQuote(models.Model):
    """What settles the contract on `payoff_date` (minor units), valid until `valid_until`.

    amount = outstanding principal + interest accrued to the date + charges due and unpaid. The outstanding principal
    is the remaining instalments and residual discounted at the contract rate; future services are not charged.
    """

    contract = models.ForeignKey(Contract, on_delete=models.CASCADE, related_name="payoff_quotes")
    payoff_date = models.DateField()
    valid_until = models.DateField()
    outstanding_principal = models.BigIntegerField()
    accrued_interest = models.BigIntegerField()
    open_charges = models.BigIntegerField()
    amount = models.BigIntegerField()
    created_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL, related_name="+")
    created_at = models.DateTimeField(auto_now_add=True)
    used_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at"]
        constraints = [
            models.CheckConstraint(
                condition=Q(amount=F("outstanding_principal") + F("accrued_interest") + F("open_charges")),
                name="leasing_payoff_adds_up",
            ),
            models.CheckConstraint(condition=Q(valid_until__gte=F("payoff_date")), name="leasing_payoff_valid_until"),
        ]

    def __str__(self) -> str:
        return f"payoff of {self.contract_id} on {self.payoff_date}"


class ContractEvent(models.Model):
    """An audit line: who changed what on a contract and when (activation, restructure, pause, termination, ...)."""

    contract = models.ForeignKey(Contract, on_delete=models.CASCADE, related_name="events")
    kind = models.CharField(max_length=40)
    detail = models.CharField(max_length=500, blank=True)
    actor = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL, related_name="+")
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["created_at", "id"]

    def __str__(self) -> str:
        return f"{self.kind} on {self.contract_id}"

    @property
    def kind_label(self) -> str:
        """The event as staff read it on the contract page; the stored `kind` stays a code."""
        return str(_CONTRACT_EVENT_LABELS.get(self.kind, self.kind.replace("_", " ").capitalize()))


_CONTRACT_EVENT_LABELS = {
    "offered": _("Contract offered"),
    "accepted": _("Contract accepted"),
    "debit_returned": _("Direct debit returned"),
    "dunning_paused": _("Reminders paused"),
    "end_of_term": _("Settled at end of term"),
    "restructured": _("Payment plan changed"),
    "terminated_early": _("Terminated early"),
    "status_active": _("Back to normal payment"),
    "status_in_arrears": _("In arrears"),
}
