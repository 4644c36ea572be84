from datetime import date
from decimal import Decimal

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from core.money import Money
from leasing.calculations.aprc import (
    CashFlow,
    aprc_percent,
    aprc_percent_exact,
    loan_cash_flows,
    schedule_cash_flows,
)
from leasing.calculations.errors import AprcNotFoundError, InvalidCashFlowsError
from leasing.calculations.schedule import LoanTerms, PaymentTiming, schedule_build
from leasing.tests.calculations.vectors import load_vectors

APRC_VECTORS = load_vectors("aprc")
VECTORS_BY_NAME = {vector["name"]: vector for vector in APRC_VECTORS}


def vector_flows(vector) -> list[CashFlow]:
    return [CashFlow(Decimal(years), Decimal(amount)) for years, amount in vector["flows"]]


def eur(text: str) -> Money:
    return Money.from_decimal(Decimal(text), "EUR")


def one_unit_in_last_place(quoted: Decimal) -> Decimal:
    return Decimal(1).scaleb(quoted.as_tuple().exponent)


@pytest.mark.parametrize("vector", APRC_VECTORS, ids=[vector["name"] for vector in APRC_VECTORS])
def test_aprc_reproduces_vector(vector):
    flows = vector_flows(vector)
    assert aprc_percent(cash_flows=flows) == Decimal(vector["expected_rounded"])
    assert str(aprc_percent(cash_flows=flows)) == str(vector["expected_rounded"])
    if vector["expected_percent"] is not None:
        quoted = Decimal(vector["expected_percent"])
        # Sources quote rounded or truncated figures; the exact value lies within one unit of the last quoted digit.
        assert abs(aprc_percent_exact(cash_flows=flows) - quoted) < one_unit_in_last_place(quoted)


def test_exact_aprc_of_a_one_year_loan_is_the_simple_rate():
    flows = [CashFlow(Decimal(0), Decimal(1000)), CashFlow(Decimal(1), Decimal(-1100))]
    assert abs(aprc_percent_exact(cash_flows=flows) - Decimal(10)) < Decimal("1e-25")


def test_exact_aprc_of_a_flat_repayment_is_zero():
    flows = [CashFlow(Decimal(0), Decimal(1200))] + [
        CashFlow(Decimal(month) / 12, Decimal(-100)) for month in range(1, 13)
    ]
    assert abs(aprc_percent_exact(cash_flows=flows)) < Decimal("1e-25")


def test_exact_aprc_of_a_negative_rate():
    flows = [CashFlow(Decimal(0), Decimal(1000)), CashFlow(Decimal(2), Decimal(-810))]
    assert abs(aprc_percent_exact(cash_flows=flows) - Decimal(-10)) < Decimal("1e-25")


def test_exact_aprc_above_the_first_bracket():
    # 1000 repaid with 5000 after one year: 400 % a year.
    flows = [CashFlow(Decimal(0), Decimal(1000)), CashFlow(Decimal(1), Decimal(-5000))]
    assert abs(aprc_percent_exact(cash_flows=flows) - Decimal(400)) < Decimal("1e-25")


@pytest.mark.parametrize(
    ("name", "instalment", "count", "residual"),
    [
        ("ec-2015-ex1", "1432.86", 240, "0"),
        ("ec-2015-ex7-balloon", "1199.10", 180, "142097.69"),
        ("ec-2015-ex8-interest-only", "1166.67", 240, "200000"),
    ],
)
def test_loan_cash_flows_rebuild_the_ec_examples(name, instalment, count, residual):
    vector = VECTORS_BY_NAME[name]
    flows = loan_cash_flows(
        financed_amount=eur("200000"),
        instalments=[eur(instalment)] * count,
        timing=PaymentTiming.IN_ARREARS,
        upfront_fees=eur("4000"),
        residual_value=eur(residual),
    )
    assert flows[:2] == [CashFlow(Decimal(0), Decimal(20000000)), CashFlow(Decimal(0), Decimal(-400000))]
    assert abs(flows[2].years - Decimal(1) / 12) < Decimal("1e-27")
    assert flows[count + 1] == CashFlow(Decimal(count / 12), Decimal(-eur(instalment).amount))
    quoted = Decimal(vector["expected_percent"])
    assert abs(aprc_percent_exact(cash_flows=flows) - quoted) < one_unit_in_last_place(quoted)
    assert aprc_percent(cash_flows=flows) == Decimal(vector["expected_rounded"])


def test_loan_cash_flows_in_advance_start_at_zero_and_put_the_residual_at_the_end():
    flows = loan_cash_flows(
        financed_amount=eur("1000"),
        instalments=[eur("300")] * 3,
        timing=PaymentTiming.IN_ADVANCE,
        upfront_fees=eur("0"),
        residual_value=eur("150"),
    )
    assert [(flow.years * 12).quantize(Decimal("1e-20")) for flow in flows] == [0, 0, 1, 2, 3]
    assert flows[-1].years == Decimal("0.25")
    assert [flow.amount for flow in flows] == [
        Decimal(100000),
        Decimal(-30000),
        Decimal(-30000),
        Decimal(-30000),
        Decimal(-15000),
    ]


def test_schedule_cash_flows_use_the_exact_last_instalment():
    terms = LoanTerms(
        financed_amount=eur("100"), nominal_rate_percent=Decimal("12"), periods=6, start_date=date(2024, 1, 1)
    )
    flows = schedule_cash_flows(schedule=schedule_build(terms=terms), upfront_fees=eur("0"))
    assert [flow.amount for flow in flows] == [Decimal(10000)] + [Decimal(-1725)] * 5 + [Decimal(-1728)]
    # 1 % a month compounds to 12.68 % a year; rounding the instalments moves it by less than 0.05 points.
    assert aprc_percent(cash_flows=flows) == Decimal("12.7")


@pytest.mark.parametrize(
    ("flows", "code"),
    [
        ([CashFlow(Decimal(0), Decimal(100))], "cash_flows_one_sided"),
        ([CashFlow(Decimal(1), Decimal(-100))], "cash_flows_one_sided"),
        ([], "cash_flows_one_sided"),
        ([CashFlow(Decimal(0), Decimal(100)), CashFlow(Decimal(-1), Decimal(-110))], "cash_flow_time_negative"),
        ([CashFlow(Decimal(0), Decimal(100)), CashFlow(1.0, Decimal(-110))], "cash_flows_invalid"),
        ([CashFlow(Decimal(0), Decimal(100)), CashFlow(Decimal(1), Decimal("NaN"))], "cash_flows_invalid"),
    ],
)
def test_bad_cash_flows_raise_named_errors(flows, code):
    with pytest.raises(InvalidCashFlowsError) as error:
        aprc_percent(cash_flows=flows)
    assert error.value.code == code


def test_cash_flows_without_a_balancing_rate_raise():
    flows = [CashFlow(Decimal(0), Decimal(1000)), CashFlow(Decimal(0), Decimal(-1))]
    with pytest.raises(AprcNotFoundError) as error:
        aprc_percent(cash_flows=flows)
    assert error.value.code == "aprc_not_found"


def test_loan_cash_flows_refuse_mixed_currencies():
    with pytest.raises(InvalidCashFlowsError) as error:
        loan_cash_flows(
            financed_amount=eur("1000"),
            instalments=[Money(10000, "USD")],
            timing=PaymentTiming.IN_ARREARS,
            upfront_fees=eur("0"),
            residual_value=eur("0"),
        )
    assert error.value.code == "currency_mismatch"


@st.composite
def leases(draw: st.DrawFn) -> tuple[LoanTerms, int]:
    """A lease's terms and a fee share in per mille of the financed amount (0 to 5 %)."""
    financed = draw(st.integers(min_value=100_000, max_value=10**9))
    terms = LoanTerms(
        financed_amount=Money(financed, "EUR"),
        nominal_rate_percent=draw(st.decimals(min_value=0, max_value=25, places=2)),
        periods=draw(st.integers(min_value=2, max_value=96)),
        start_date=date(2025, 1, 1),
        timing=draw(st.sampled_from(PaymentTiming)),
        residual_value=Money(financed * draw(st.integers(min_value=0, max_value=60)) // 100, "EUR"),
    )
    return terms, draw(st.integers(min_value=0, max_value=50))


@settings(max_examples=60, deadline=None)
@given(lease=leases())
def test_aprc_is_at_least_the_nominal_rate_when_fees_are_charged(lease):
    terms, extra_fee_per_mille = lease
    financed = terms.financed_amount.amount
    # A fee of at least one cent per period outweighs the per-period rounding of the interest (at most half a cent);
    # on top of it up to 5 % of the financed amount.
    fees = Money(terms.periods + financed * extra_fee_per_mille // 1000, "EUR")
    flows = schedule_cash_flows(schedule=schedule_build(terms=terms), upfront_fees=fees)
    assert aprc_percent_exact(cash_flows=flows) > terms.nominal_rate_percent


def _solved_both_ways(flows: list[CashFlow]) -> tuple[Decimal, Decimal]:
    from decimal import localcontext

    from leasing.calculations import aprc

    with localcontext() as context:
        context.prec = aprc.DECIMAL_PRECISION
        return aprc._solve(flows), aprc._solve_in_decimal(flows)


@pytest.mark.parametrize("vector", APRC_VECTORS, ids=[vector["name"] for vector in APRC_VECTORS])
def test_float_seeded_search_finds_the_decimal_searchs_root(vector):
    seeded, searched = _solved_both_ways(vector_flows(vector))
    assert abs(seeded - searched) < Decimal("1e-28")


@settings(max_examples=60, deadline=None)
@given(lease=leases())
def test_float_seeded_search_equals_the_decimal_search_on_leases(lease):
    terms, fee_per_mille = lease
    fees = Money(terms.financed_amount.amount * fee_per_mille // 1000, "EUR")
    flows = schedule_cash_flows(schedule=schedule_build(terms=terms), upfront_fees=fees)
    seeded, searched = _solved_both_ways(flows)
    assert abs(seeded - searched) < Decimal("1e-28")


def test_a_lease_needs_few_decimal_evaluations(monkeypatch):
    from leasing.calculations import aprc

    calls = []
    evaluate = aprc._present_value_and_slope
    monkeypatch.setattr(
        aprc, "_present_value_and_slope", lambda flows, rate: calls.append(rate) or evaluate(flows, rate)
    )
    flows = loan_cash_flows(
        financed_amount=eur("27000"), instalments=[eur("650.12")] * 36, timing=PaymentTiming.IN_ADVANCE,
        upfront_fees=eur("300"), residual_value=eur("9000"),
    )  # fmt: skip
    assert aprc_percent(cash_flows=flows) == Decimal("11.1")
    # The Decimal search alone evaluated f ten times for these flows (bracket, then Newton from its middle).
    assert len(calls) <= 3


def test_flows_the_floats_cannot_hold_fall_back_to_the_decimal_search():
    from leasing.calculations import aprc

    # exp(4.6 * 200) overflows a float at the search's lowest rate: only the Decimal search can bracket this.
    flows = [CashFlow(Decimal(0), Decimal(1000)), CashFlow(Decimal(200), Decimal(-1100))]
    assert aprc._float_search(flows) is None
    expected = (Decimal("1.1") ** (Decimal(1) / 200) - 1) * 100
    assert abs(aprc_percent_exact(cash_flows=flows) - expected) < Decimal("1e-25")
