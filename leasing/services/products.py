"""Back-office management of products, mileage bands and service packages."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import asdict, dataclass
from decimal import Decimal

from django.db import IntegrityError, transaction
from django.utils.translation import gettext_lazy

from core.money import currency_get
from leasing.errors import ProductInvalidError
from leasing.models import LeaseProduct, MileageBand, ProductKind, ServicePackage, ToleranceKind


@dataclass(frozen=True, kw_only=True)
class ProductData:
    """A product's settings; money in minor units of `currency`, rates and percentages as Decimal."""

    code: str
    name: str
    kind: str
    currency: str = "EUR"
    nominal_rate_percent: Decimal
    arrangement_fee: int = 0
    min_term_months: int
    max_term_months: int
    min_price: int = 100_00
    max_price: int = 500_000_00
    max_residual_percent: Decimal = Decimal(0)
    excess_km_rate: int = 0
    unused_km_rate: int = 0
    tolerance_kind: str = ToleranceKind.THRESHOLD
    tolerance_km: int = 0
    is_active: bool = True


def _validate(data: ProductData) -> None:
    currency_get(code=data.currency)
    problems = {}
    if data.kind not in ProductKind.values:
        problems["kind"] = ["Unknown kind."]
    if not Decimal(0) <= data.nominal_rate_percent <= Decimal(100):
        problems["nominal_rate_percent"] = ["Between 0 and 100."]
    if not 1 <= data.min_term_months <= data.max_term_months <= 120:
        problems["max_term_months"] = ["Terms must satisfy 1 ≤ minimum ≤ maximum ≤ 120."]
    if not 0 < data.min_price <= data.max_price:
        problems["max_price"] = ["Prices must satisfy 0 < minimum ≤ maximum."]
    if data.arrangement_fee < 0 or data.excess_km_rate < 0 or data.unused_km_rate < 0 or data.tolerance_km < 0:
        problems["arrangement_fee"] = ["Fees, rates and tolerance cannot be negative."]
    if not Decimal(0) <= data.max_residual_percent < Decimal(100):
        problems["max_residual_percent"] = ["Between 0 and 100 (exclusive)."]
    if data.tolerance_kind not in ToleranceKind.values:
        problems["tolerance_kind"] = ["Unknown tolerance kind."]
    if problems:
        raise ProductInvalidError(gettext_lazy("The product settings are invalid."), fields=problems)


@transaction.atomic
def product_save(
    *, data: ProductData, product_id: int | None = None, yearly_km_bands: Sequence[tuple[int, Decimal]] = ()
) -> LeaseProduct:
    """Creates (product_id None) or updates a product and replaces its mileage bands (yearly km, residual %).

    Running contracts keep the terms they were written with; changes apply to new quotes only.
    """
    _validate(data)
    if data.kind != ProductKind.INSTALMENT_LOAN and not yearly_km_bands:
        raise ProductInvalidError(
            gettext_lazy("A lease needs at least one mileage band."), fields={"mileage_bands": ["Required."]}
        )
    if any(km <= 0 or not Decimal(0) <= percent < Decimal(100) for km, percent in yearly_km_bands):
        raise ProductInvalidError(
            gettext_lazy("Mileage bands need km > 0 and a residual of 0-100 %."), fields={"mileage_bands": ["Invalid."]}
        )
    try:
        with transaction.atomic():
            if product_id is None:
                product = LeaseProduct.objects.create(**asdict(data))
            else:
                LeaseProduct.objects.filter(pk=product_id).update(**asdict(data))
                product = LeaseProduct.objects.get(pk=product_id)
    except IntegrityError:
        raise ProductInvalidError(
            gettext_lazy("A product with this code exists."), fields={"code": ["Taken."]}
        ) from None
    product.mileage_bands.all().delete()
    if data.kind != ProductKind.INSTALMENT_LOAN:
        MileageBand.objects.bulk_create(
            [
                MileageBand(product=product, yearly_km=km, residual_percent=percent)
                for km, percent in dict(yearly_km_bands).items()
            ]
        )
    return product


@transaction.atomic
def service_package_save(
    *,
    code: str,
    name: str,
    kind: str,
    monthly_price: int,
    product_ids: Sequence[int],
    currency: str = "EUR",
    is_active: bool = True,
    package_id: int | None = None,
) -> ServicePackage:
    """Creates or updates a service package (monthly price in minor units) and the products it can be added to."""
    if monthly_price <= 0:
        raise ProductInvalidError(
            gettext_lazy("The monthly price must be positive."), fields={"monthly_price": ["Must be > 0."]}
        )
    fields = {
        "code": code,
        "name": name,
        "kind": kind,
        "monthly_price": monthly_price,
        "currency": currency,
        "is_active": is_active,
    }
    try:
        with transaction.atomic():
            if package_id is None:
                package = ServicePackage.objects.create(**fields)
            else:
                ServicePackage.objects.filter(pk=package_id).update(**fields)
                package = ServicePackage.objects.get(pk=package_id)
    except IntegrityError:
        raise ProductInvalidError(
            gettext_lazy("A package with this code exists or its kind is unknown."), fields={"code": ["Invalid."]}
        ) from None
    package.products.set(LeaseProduct.objects.filter(pk__in=product_ids))
    return package
