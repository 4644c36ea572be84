"""Demo data of QR payment codes for `make run`: the catalogue and the demo customer's one code with a balance.

Idempotent and built through the services. Run after `portal.demo.demo_data_load` (which creates the demo users and
the demo dealer organisation); without them only the catalogue is created.
"""

from __future__ import annotations

from django.db import transaction

from accounts.models import DealerOrganisation, User
from payments.checkout.services import checkout_order_create, checkout_order_pay
from payments.ledger.client import house_account_get_or_open
from payments.ledger.registry import Purpose
from payments.models import CheckoutProvider, QrCode, QrProduct
from payments.qr.services import qr_product_create

DEMO_PRODUCTS = (
    {
        "slug": "service-credit", "name": "Service credit", "min_amount": 1_000, "max_amount": 50_000,
        "accepted_for": "Workshop visits, inspections, tyres and accessories",
        "description": "Choose any value from 10 to 500 EUR.",
    },
    {
        "slug": "charging-credit-50", "name": "Charging credit 50", "fixed_amount": 5_000,
        "accepted_for": "Charging at dealer and partner stations", "description": "",
    },
    {
        "slug": "car-wash-25", "name": "Car wash 25", "fixed_amount": 2_500,
        "accepted_for": "Car wash and parking at service points", "description": "",
    },
)  # fmt: skip
DEMO_CODE_AMOUNT = 5_000


@transaction.atomic
def payments_demo_data_load(*, dealer_slug: str, customer_email: str) -> list[QrProduct]:
    """Creates the catalogue, accepted by the demo dealer `dealer_slug`, and, for the demo customer `customer_email`, one paid 50.00 EUR service-credit code; running it again
    changes nothing."""
    organisation = DealerOrganisation.objects.filter(slug=dealer_slug).first()
    products = []
    for fields in DEMO_PRODUCTS:
        product = QrProduct.objects.filter(slug=fields["slug"]).first()
        if product is None:
            product = qr_product_create(**fields, accepted_by=[organisation] if organisation else [])
        products.append(product)
    customer = User.objects.filter(email=customer_email).first()
    if customer is not None and not QrCode.objects.filter(owner=customer).exists():
        order, _ = checkout_order_create(
            customer=customer, product=products[0], amount=DEMO_CODE_AMOUNT, provider=CheckoutProvider.CARD_SANDBOX
        )
        checkout_order_pay(
            order_id=order.pk,
            funding_account=house_account_get_or_open(ledger="EUR", purpose=Purpose.QR_CARD_ACQUIRER_CLEARING),
        )
    return products
