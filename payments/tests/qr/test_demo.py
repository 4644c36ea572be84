"""The demo data: catalogue and the demo customer's code, created once however often the loader runs."""

from __future__ import annotations

import pytest

from core.money import Money
from payments.demo import payments_demo_data_load
from payments.models import QrCode, QrProduct
from payments.qr.selectors import qr_code_list_for_user
from portal.demo import DEMO_DEALER_SLUG, demo_data_load

pytestmark = pytest.mark.django_db


def test_demo_data_is_created_once():
    demo_data_load()

    payments_demo_data_load(dealer_slug=DEMO_DEALER_SLUG, customer_email="customer@demo.finlab.test")
    payments_demo_data_load(dealer_slug=DEMO_DEALER_SLUG, customer_email="customer@demo.finlab.test")

    assert sorted(QrProduct.objects.values_list("slug", flat=True)) == [
        "car-wash-25", "charging-credit-50", "service-credit",
    ]  # fmt: skip
    code = QrCode.objects.get()
    assert [view.balance for view in qr_code_list_for_user(user=code.owner)] == [Money(5_000, "EUR")]
    assert code.owner.email == "customer@demo.finlab.test"
    assert list(QrProduct.objects.get(slug="service-credit").accepted_by.values_list("slug", flat=True)) == [
        "autohaus-nord"
    ]
