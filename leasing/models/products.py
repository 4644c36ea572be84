"""Lease and loan products, their mileage bands, and the service packages a customer can add."""

from __future__ import annotations

from django.db import models
from django.db.models import F, Q
from django.utils.translation import gettext_lazy as _

__all__ = [
    "LeaseProduct",
    "MileageBand",
    "PaymentTimingChoice",
    "ProductKind",
    "ServicePackage",
    "ServicePackageKind",
    "ToleranceKind",
]


class ProductKind(models.TextChoices):
    """Who carries the vehicle's value at the end: the lessor (mileage lease), the lessee (residual-value lease), or
    the borrower who owns the vehicle from the start (instalment loan, optionally with a balloon)."""

    MILEAGE_LEASE = "mileage_lease", _("Mileage lease")
    RESIDUAL_VALUE_LEASE = "residual_value_lease", _("Residual-value lease")
    INSTALMENT_LOAN = "instalment_loan", _("Instalment loan")


class ToleranceKind(models.TextChoices):
    """How the mileage tolerance works at the end of a mileage lease.

    threshold: within ± tolerance nothing is charged or refunded; beyond it, the whole difference counts.
    allowance: the first `tolerance` kilometres of the difference are always free; only the rest counts.
    """

    THRESHOLD = "threshold", _("Threshold")
    ALLOWANCE = "allowance", _("Allowance")


class PaymentTimingChoice(models.TextChoices):
    IN_ADVANCE = "in_advance", _("In advance")
    IN_ARREARS = "in_arrears", _("In arrears")


class LeaseProduct(models.Model):
    """A product the portal sells: its rate, fees, allowed terms and amounts, residual rules and mileage terms.

    Money fields are integer minor units of `currency`. `nominal_rate_percent` is a yearly percentage. For a mileage
    lease the residual value comes from the mileage band (`MileageBand.residual_percent`); for a residual-value lease
    and a loan's balloon the customer chooses it up to `max_residual_percent` of the price.
    """

    code = models.SlugField(max_length=40, unique=True)
    name = models.CharField(max_length=120)
    kind = models.CharField(max_length=24, choices=ProductKind.choices)
    currency = models.CharField(max_length=3, default="EUR")
    nominal_rate_percent = models.DecimalField(max_digits=6, decimal_places=3)
    arrangement_fee = models.BigIntegerField(default=0, help_text="Paid on the start date; minor units.")
    min_term_months = models.PositiveSmallIntegerField()
    max_term_months = models.PositiveSmallIntegerField()
    min_price = models.BigIntegerField(default=100_00)
    max_price = models.BigIntegerField(default=500_000_00)
    max_residual_percent = models.DecimalField(max_digits=5, decimal_places=2, default=0)
    excess_km_rate = models.PositiveIntegerField(default=0, help_text="Minor units per kilometre driven over.")
    unused_km_rate = models.PositiveIntegerField(default=0, help_text="Minor units refunded per kilometre under.")
    tolerance_kind = models.CharField(max_length=10, choices=ToleranceKind.choices, default=ToleranceKind.THRESHOLD)
    tolerance_km = models.PositiveIntegerField(default=0)
    is_active = models.BooleanField(default=True)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["name"]
        constraints = [
            models.CheckConstraint(condition=Q(kind__in=ProductKind.values), name="leasing_product_kind_valid"),
            models.CheckConstraint(
                condition=Q(tolerance_kind__in=ToleranceKind.values), name="leasing_product_tolerance_kind_valid"
            ),
            models.CheckConstraint(
                condition=Q(nominal_rate_percent__gte=0, nominal_rate_percent__lte=100),
                name="leasing_product_rate_range",
            ),
            models.CheckConstraint(condition=Q(arrangement_fee__gte=0), name="leasing_product_fee_non_negative"),
            models.CheckConstraint(
                condition=Q(
                    min_term_months__gte=1, max_term_months__gte=F("min_term_months"), max_term_months__lte=120
                ),
                name="leasing_product_term_range",
            ),
            models.CheckConstraint(
                condition=Q(min_price__gt=0, max_price__gte=F("min_price")), name="leasing_product_price_range"
            ),
            models.CheckConstraint(
                condition=Q(max_residual_percent__gte=0, max_residual_percent__lt=100),
                name="leasing_product_residual_range",
            ),
        ]

    def __str__(self) -> str:
        return self.name

    @property
    def is_mileage_lease(self) -> bool:
        return self.kind == ProductKind.MILEAGE_LEASE

    @property
    def needs_mileage(self) -> bool:
        return self.kind != ProductKind.INSTALMENT_LOAN


class MileageBand(models.Model):
    """A yearly mileage a mileage lease may be written for, with the residual value (percent of the price) the lessor
    expects at that mileage. Lease products offer one or more bands; loans have none."""

    product = models.ForeignKey(LeaseProduct, on_delete=models.CASCADE, related_name="mileage_bands")
    yearly_km = models.PositiveIntegerField()
    residual_percent = models.DecimalField(max_digits=5, decimal_places=2, default=0)

    class Meta:
        ordering = ["product", "yearly_km"]
        constraints = [
            models.UniqueConstraint(fields=["product", "yearly_km"], name="leasing_mileage_band_unique"),
            models.CheckConstraint(condition=Q(yearly_km__gt=0), name="leasing_mileage_band_km_positive"),
            models.CheckConstraint(
                condition=Q(residual_percent__gte=0, residual_percent__lt=100), name="leasing_mileage_band_residual"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.yearly_km} km/year"


class ServicePackageKind(models.TextChoices):
    MAINTENANCE = "maintenance", _("Maintenance")
    INSURANCE = "insurance", _("Insurance")


class ServicePackage(models.Model):
    """A service (maintenance, insurance) added to a lease for a fixed monthly price in minor units; it is charged
    with every instalment and is not part of the credit (it does not enter the APRC)."""

    code = models.SlugField(max_length=40, unique=True)
    name = models.CharField(max_length=120)
    kind = models.CharField(max_length=16, choices=ServicePackageKind.choices)
    currency = models.CharField(max_length=3, default="EUR")
    monthly_price = models.BigIntegerField()
    products = models.ManyToManyField(LeaseProduct, related_name="service_packages", blank=True)
    is_active = models.BooleanField(default=True)

    class Meta:
        ordering = ["name"]
        constraints = [
            models.CheckConstraint(condition=Q(monthly_price__gt=0), name="leasing_service_price_positive"),
            models.CheckConstraint(condition=Q(kind__in=ServicePackageKind.values), name="leasing_service_kind_valid"),
        ]

    def __str__(self) -> str:
        return self.name
