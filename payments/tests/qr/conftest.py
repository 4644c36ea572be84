"""Fixtures of the QR code tests."""

from __future__ import annotations

import pytest

from payments.models import QrCode, QrProduct
from payments.tests.qr.factories import paid_code_create, product_create


@pytest.fixture
def product(db: None) -> QrProduct:
    return product_create()


@pytest.fixture
def code(customer, product) -> QrCode:
    """A 50.00 EUR code owned by `customer`."""
    return paid_code_create(owner=customer, amount=5_000, product=product)
