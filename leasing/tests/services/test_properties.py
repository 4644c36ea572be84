"""Property tests over random products and inputs, through the services that price quotes and write contracts."""

from __future__ import annotations

import uuid
from decimal import Decimal

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from accounts.roles import Role
from accounts.tests.factories import UserFactory
from leasing.calculations.aprc import aprc_percent_exact, schedule_cash_flows
from leasing.models import ScheduleItemKind
from leasing.services.changes import payoff_figures
from leasing.services.products import ProductData, product_save
from leasing.services.quotes import QuoteInput, quote_calculate
from leasing.tests import factories
from portal.money import Money

pytestmark = pytest.mark.django_db
PROPERTY_SETTINGS = settings(
    max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow]
)


@st.composite
def products_and_inputs(draw):
    kind = draw(st.sampled_from(["mileage_lease", "residual_value_lease", "instalment_loan"]))
    rate = draw(st.decimals(min_value=0, max_value=25, places=3))
    price = draw(st.integers(min_value=100_00, max_value=500_000_00))
    down = draw(st.integers(min_value=0, max_value=price // 2))
    # Fees up to 5 % of the financed amount; a fee near the whole amount leaves no credit for an APRC to price.
    fee = draw(st.integers(min_value=0, max_value=(price - down) // 20))
    timing = draw(st.sampled_from(["in_advance", "in_arrears"]))
    # In advance a one-month term is repaid on day one: nothing is lent, so it has no APRC.
    max_term = draw(st.integers(min_value=2 if timing == "in_advance" else 1, max_value=96))
    bands = [
        (draw(st.sampled_from([5_000, 10_000, 20_000, 40_000])), draw(st.decimals(min_value=0, max_value=80, places=2)))
    ]
    product = product_save(
        data=ProductData(
            code=f"p-{uuid.uuid4().hex[:12]}",
            name="Random",
            kind=kind,
            nominal_rate_percent=rate,
            arrangement_fee=fee,
            min_term_months=1,
            max_term_months=max_term,
            min_price=1_00,
            max_price=1_000_000_00,
            max_residual_percent=draw(st.decimals(min_value=0, max_value=90, places=2)),
        ),
        yearly_km_bands=bands if kind != "instalment_loan" else [],
    )
    ceiling = int(Decimal(price) * product.max_residual_percent / 100)
    residual = None if kind == "mileage_lease" else draw(st.integers(min_value=0, max_value=min(ceiling, price - down)))
    return product, QuoteInput(
        product_code=product.code,
        price=price,
        down_payment=down,
        term_months=draw(st.integers(2 if timing == "in_advance" else 1, max_term)),
        yearly_km=bands[0][0] if kind != "instalment_loan" else None,
        residual_value=residual,
        timing=timing,
    )


@PROPERTY_SETTINGS
@given(case=products_and_inputs())
def test_schedule_sums_to_principal_plus_interest_minus_residual(case):
    _, data = case
    result = quote_calculate(data=data)
    schedule = result.schedule
    terms = schedule.terms

    paid = sum(row.amount.amount for row in schedule.instalments)
    assert paid == terms.financed_amount.amount + schedule.total_interest.amount - terms.residual.amount
    assert (
        schedule.instalments[-1].balance_after.amount + schedule.final_period_interest.amount == terms.residual.amount
    )
    assert all(row.amount == schedule.regular_instalment for row in schedule.instalments[:-1])


@PROPERTY_SETTINGS
@given(case=products_and_inputs())
def test_aprc_is_at_least_the_nominal_rate_when_fees_exist(case):
    product, data = case
    # Each month's interest is rounded to the cent (half up), so up to half a cent a month can go either way: at a
    # near-zero rate (0.015 %, say) that rounding alone moves the APRC below the nominal rate. A fee of at least a
    # cent per month outweighs it; that is the fee the property speaks of.
    if product.arrangement_fee < data.term_months:
        product.arrangement_fee = data.term_months
        product.save(update_fields=["arrangement_fee"])
    result = quote_calculate(data=data)

    exact = aprc_percent_exact(
        cash_flows=schedule_cash_flows(schedule=result.schedule, upfront_fees=Money(result.arrangement_fee, "EUR"))
    )
    assert exact >= product.nominal_rate_percent
    assert result.aprc_percent >= product.nominal_rate_percent.quantize(Decimal("0.1"), rounding="ROUND_DOWN")


@settings(
    max_examples=12, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow]
)
@given(case=products_and_inputs())
def test_payoff_on_the_start_date_is_the_financed_amount_plus_fees(case):
    product, data = case
    contract = factories.contract_active(
        customer=UserFactory(role=Role.CUSTOMER),
        back_office=UserFactory(role=Role.BACK_OFFICE),
        product=product,
        **{
            key: getattr(data, key)
            for key in ("price", "down_payment", "term_months", "yearly_km", "residual_value", "timing")
        },
    )

    figures = payoff_figures(contract=contract, on=contract.start_date)

    assert figures.amount == contract.financed_amount + contract.arrangement_fee
    stored = contract.schedule_items.filter(kind=ScheduleItemKind.INSTALMENT)
    assert sum(stored.values_list("principal", flat=True)) == contract.financed_amount - (
        stored.order_by("-number").first().balance_after
    )
