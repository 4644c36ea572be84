"""Leasing test fixtures: one product of each kind."""

from __future__ import annotations

import pytest

from leasing.tests import factories


@pytest.fixture
def mileage_product(db):
    return factories.mileage_lease_product()


@pytest.fixture
def loan_product(db):
    return factories.loan_product()


@pytest.fixture
def residual_product(db):
    return factories.residual_value_lease_product()
