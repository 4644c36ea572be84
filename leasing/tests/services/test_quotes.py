"""Quotes: figures for known inputs and named refusals that store nothing."""

from __future__ import annotations

import datetime
from decimal import Decimal

import pytest
from django.utils import timezone

from leasing.errors import (
    DateInvalidError,
    DownPaymentInvalidError,
    MileageInvalidError,
    PriceInvalidError,
    ResidualInvalidError,
    ServicePackageInvalidError,
    TermOutsideProductError,
    UnknownProductError,
)
from leasing.models import Quote
from leasing.services.quotes import quote_calculate, quote_create
from leasing.tests import factories

pytestmark = pytest.mark.django_db


def test_mileage_lease_quote_takes_the_residual_from_the_band_and_adds_the_package(mileage_product):
    quote = quote_create(data=factories.quote_input(mileage_product, service_package_codes=["mileage-36-maintenance"]))

    assert quote.financed_amount == 27_000_00
    assert quote.residual_value == 15_000_00  # 50 % of 30,000 at 15,000 km/year
    assert quote.monthly_services == 29_90
    assert quote.monthly_total == quote.monthly_instalment + 29_90
    assert quote.arrangement_fee == 0
    assert quote.total_cost_of_credit == quote.total_interest
    assert list(quote.service_packages.values_list("code", flat=True)) == ["mileage-36-maintenance"]


def test_loan_quote_figures_match_the_annuity_formula(loan_product):
    result = quote_calculate(data=factories.quote_input(loan_product, residual_value=None))

    # 27,000 EUR over 36 months at 5.9 %: 27000 * i / (1 - (1 + i)^-36), i = 0.059 / 12, rounded half-up.
    i = Decimal("0.059") / 12
    expected = (Decimal(27000) * i / (1 - (1 + i) ** -36)).quantize(Decimal("0.01"))
    assert result.schedule.regular_instalment.amount == int(expected * 100)
    assert result.arrangement_fee == 250_00
    assert result.total_cost_of_credit == result.schedule.total_interest.amount + 250_00
    assert result.total_amount_payable == 27_000_00 + result.total_cost_of_credit
    assert result.aprc_percent > Decimal("5.9")


@pytest.mark.parametrize(
    ("overrides", "error"),
    [
        ({"product_code": "no-such-product"}, UnknownProductError),
        ({"price": -100}, PriceInvalidError),
        ({"price": 0}, PriceInvalidError),
        ({"price": 1_000_000_000_00}, PriceInvalidError),
        ({"down_payment": -1}, DownPaymentInvalidError),
        ({"down_payment": 30_000_00}, DownPaymentInvalidError),
        ({"term_months": 6}, TermOutsideProductError),
        ({"term_months": 49}, TermOutsideProductError),
        ({"yearly_km": 12_345}, MileageInvalidError),
        ({"yearly_km": None}, MileageInvalidError),
        ({"residual_value": 100_00}, ResidualInvalidError),
        ({"start_date": "2025-13-45"}, DateInvalidError),
        ({"start_date": datetime.date(2000, 1, 1)}, DateInvalidError),
        ({"service_package_codes": ["unknown"]}, ServicePackageInvalidError),
    ],
)
def test_bad_lease_input_is_refused_by_name_and_stores_nothing(mileage_product, overrides, error):
    with pytest.raises(error) as raised:
        quote_create(data=factories.quote_input(mileage_product, **overrides))

    assert raised.value.code == error.code
    assert Quote.objects.count() == 0


@pytest.mark.parametrize("residual", [-1, 30_000_00, 27_000_01, 12_000_01])
def test_a_loan_balloon_above_the_product_limit_or_the_price_is_refused(loan_product, residual):
    with pytest.raises(ResidualInvalidError) as raised:
        quote_create(data=factories.quote_input(loan_product, residual_value=residual))

    assert raised.value.code == "residual_invalid"
    assert Quote.objects.count() == 0


def test_an_inactive_product_is_unknown(loan_product):
    loan_product.is_active = False
    loan_product.save()

    with pytest.raises(UnknownProductError):
        quote_calculate(data=factories.quote_input(loan_product))


def test_a_loan_has_no_mileage(loan_product):
    with pytest.raises(MileageInvalidError):
        quote_calculate(data=factories.quote_input(loan_product, yearly_km=10_000))


def test_start_date_defaults_to_today(loan_product):
    result = quote_calculate(data=factories.quote_input(loan_product, start_date=None))

    assert result.terms.start_date == timezone.localdate()
