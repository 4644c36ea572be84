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
    RepaymentTooSmallError,
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


def _month_end_within_a_year() -> datetime.date:
    """The next 31 January or 31 March, a start whose following due dates are clamped to shorter month ends."""
    today = timezone.localdate()
    candidates = [datetime.date(year, month, 31) for year in (today.year, today.year + 1) for month in (1, 3)]
    return min(day for day in candidates if day >= today)


@pytest.mark.parametrize("start", ["today", "in 25 days", "in a year", "a 31st"])
def test_a_lease_leaving_one_cent_for_two_instalments_is_refused_on_any_start_date(db, start):
    today = timezone.localdate()
    start_date = {
        "today": None,
        "in 25 days": today + datetime.timedelta(days=25),
        "in a year": today + datetime.timedelta(days=365),
        "a 31st": _month_end_within_a_year(),
    }[start]
    # 402.42 EUR less 201.20 down is 201.22 financed against a residual of 201.21 (50 %): one cent to repay in two
    # instalments at 0 %. The level instalment rounded half-up to that cent, and the second was 0.00 EUR, which the
    # schedule table refuses; the quote refuses it now, whatever the start date (30/360 months: dates do not matter).
    product = factories.short_product()

    with pytest.raises(RepaymentTooSmallError) as raised:
        quote_create(
            data=factories.quote_input(
                product,
                price=402_42,
                down_payment=201_20,
                term_months=2,
                yearly_km=5_000,
                timing="in_advance",
                start_date=start_date,
            )
        )

    assert raised.value.code == "repayment_too_small"
    assert raised.value.detail == (
        "The down payment and the residual value leave €0.01 to repay over 2 months, too little for an "
        "instalment every month. Lower the down payment or choose a higher yearly mileage."
    )
    assert raised.value.fields == {"down_payment": ["Too little is left to repay each month."]}
    assert Quote.objects.count() == 0


def test_two_cents_for_two_instalments_is_the_smallest_lease_that_prices(db):
    product = factories.short_product()

    result = quote_calculate(
        data=factories.quote_input(
            product, price=402_42, down_payment=201_19, term_months=2, yearly_km=5_000, timing="in_advance"
        )
    )

    assert [(row.amount.amount, row.balance_after.amount) for row in result.schedule.instalments] == [
        (1, 201_22),
        (1, 201_21),
    ]


@pytest.mark.parametrize(
    ("kind", "overrides", "fields"),
    [
        # The band's residual (50 %) is capped at the financed amount: nothing at all is left to repay.
        ("mileage_lease", {"down_payment": 60_00, "yearly_km": 5_000}, ["down_payment"]),
        # 6 cents over 12 months: 0.5 a month rounds up to 1, eleven times, and the last would be a refund of 5.
        ("residual_value_lease", {"down_payment": 39_94, "residual_value": 60_00, "yearly_km": 5_000}, None),
        ("instalment_loan", {"down_payment": 40_00, "residual_value": 60_00, "yearly_km": None}, None),
    ],
)
def test_terms_leaving_less_than_a_cent_a_month_are_refused_for_every_kind(db, kind, overrides, fields):
    product = factories.short_product(kind=kind)

    with pytest.raises(RepaymentTooSmallError) as raised:
        quote_create(data=factories.quote_input(product, price=100_00, term_months=12, **overrides))

    assert raised.value.code == "repayment_too_small"
    assert sorted(raised.value.fields) == (fields or ["down_payment", "residual_value"])
    assert Quote.objects.count() == 0


def _statements(queries) -> list[str]:
    return [query["sql"] for query in queries.captured_queries if not query["sql"].startswith(("SAVEPOINT", "RELEASE"))]


def test_a_mileage_lease_quote_without_packages_reads_the_product_and_its_bands_once(mileage_product):
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    with CaptureQueriesContext(connection) as queries:
        quote = quote_create(data=factories.quote_input(mileage_product))

    statements = _statements(queries)
    assert [statement.split(" ", 1)[0] for statement in statements] == ["SELECT", "SELECT", "INSERT"]
    assert '"leasing_mileageband"' in statements[1]
    assert quote.residual_value == 15_000_00
    assert list(quote.service_packages.all()) == []


def test_a_quote_with_packages_stores_them(mileage_product):
    quote = quote_create(data=factories.quote_input(mileage_product, service_package_codes=["mileage-36-maintenance"]))

    assert list(Quote.objects.get(pk=quote.pk).service_packages.values_list("code", flat=True)) == [
        "mileage-36-maintenance"
    ]
