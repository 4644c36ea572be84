"""Demo products of the lease book for `make run`: idempotent, created through the product services."""

from __future__ import annotations

from decimal import Decimal

from django.db import transaction

from leasing.models import LeaseProduct, ServicePackage
from leasing.services.products import ProductData, product_save, service_package_save

DEMO_PRODUCTS = (
    (
        ProductData(
            code="private-mileage-lease",
            name="Private mileage lease",
            kind="mileage_lease",
            nominal_rate_percent=Decimal("3.99"),
            arrangement_fee=0,
            min_term_months=24,
            max_term_months=48,
            min_price=10_000_00,
            max_price=120_000_00,
            excess_km_rate=8,
            unused_km_rate=4,
            tolerance_kind="threshold",
            tolerance_km=2_500,
        ),
        [(10_000, Decimal("55")), (15_000, Decimal("50")), (20_000, Decimal("45")), (30_000, Decimal("38"))],
    ),
    (
        ProductData(
            code="business-residual-lease",
            name="Business residual-value lease",
            kind="residual_value_lease",
            nominal_rate_percent=Decimal("4.49"),
            arrangement_fee=199_00,
            min_term_months=12,
            max_term_months=60,
            min_price=10_000_00,
            max_price=250_000_00,
            max_residual_percent=Decimal("60"),
            excess_km_rate=10,
            unused_km_rate=0,
            tolerance_kind="allowance",
            tolerance_km=5_000,
        ),
        [(15_000, Decimal("0")), (25_000, Decimal("0"))],
    ),
    (
        ProductData(
            code="balloon-financing",
            name="Balloon financing",
            kind="instalment_loan",
            nominal_rate_percent=Decimal("5.9"),
            arrangement_fee=250_00,
            min_term_months=12,
            max_term_months=84,
            min_price=2_000_00,
            max_price=150_000_00,
            max_residual_percent=Decimal("40"),
        ),
        [],
    ),
)
DEMO_PACKAGES = (
    ("maintenance-plus", "Maintenance and wear", "maintenance", 29_90),
    ("comprehensive-insurance", "Comprehensive insurance", "insurance", 64_50),
)


@transaction.atomic
def leasing_demo_data_load() -> list[LeaseProduct]:
    """Creates the demo products and service packages if missing; running it again changes nothing."""
    products = []
    for data, bands in DEMO_PRODUCTS:
        product = LeaseProduct.objects.filter(code=data.code).first()
        products.append(product or product_save(data=data, yearly_km_bands=bands))
    lease_ids = [product.pk for product in products if product.kind != "instalment_loan"]
    for code, name, kind, price in DEMO_PACKAGES:
        if not ServicePackage.objects.filter(code=code).exists():
            service_package_save(code=code, name=name, kind=kind, monthly_price=price, product_ids=lease_ids)
    return products
