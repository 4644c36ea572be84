from datetime import date
from decimal import Decimal

import pytest
from hypothesis import given
from hypothesis import strategies as st

from core.money import CurrencyMismatchError, Money, round_money
from leasing.calculations.daycount import add_months, days_360
from leasing.calculations.errors import (
    InstalmentNotPositiveError,
    InvalidPrincipalError,
    InvalidRateError,
    InvalidTermError,
    PayoffDateError,
    ResidualValueError,
)
from leasing.calculations.schedule import (
    LoanTerms,
    PaymentTiming,
    annuity_instalment,
    outstanding_principal,
    payoff_amount,
    schedule_build,
    schedule_instalments_check,
    total_amount_payable,
    total_cost_of_credit,
)
from leasing.tests.calculations.vectors import load_vectors

SCHEDULE_VECTORS = load_vectors("schedule")


def eur(text: str) -> Money:
    return Money.from_decimal(Decimal(text), "EUR")


def fineract_terms(**overrides) -> LoanTerms:
    values = {
        "financed_amount": eur("100.00"),
        "nominal_rate_percent": Decimal("12"),
        "periods": 6,
        "start_date": date(2024, 1, 1),
    }
    return LoanTerms(**(values | overrides))


@pytest.mark.parametrize("vector", SCHEDULE_VECTORS, ids=[vector["name"] for vector in SCHEDULE_VECTORS])
def test_schedule_reproduces_vector_to_the_cent(vector):
    terms = LoanTerms(
        financed_amount=eur(vector["principal"]),
        nominal_rate_percent=Decimal(vector["annual_rate_percent"]),
        periods=vector["periods"],
        start_date=date.fromisoformat(vector["start"]),
    )
    schedule = schedule_build(terms=terms)
    assert schedule.regular_instalment == eur(vector["instalment"])
    assert [row.amount for row in schedule.instalments[:-1]] == [eur(vector["instalment"])] * (vector["periods"] - 1)
    assert schedule.instalments[-1].amount == eur(vector["last_instalment"])
    assert [row.interest for row in schedule.instalments] == [eur(text) for text in vector["interest_per_period"]]
    assert schedule.total_interest == eur(vector["total_interest"])
    assert schedule.instalments[-1].balance_after == eur("0")


def test_arrears_due_dates_are_monthly_from_the_start():
    schedule = schedule_build(terms=fineract_terms(start_date=date(2024, 1, 31)))
    assert [row.due_date for row in schedule.instalments] == [
        date(2024, 2, 29),
        date(2024, 3, 31),
        date(2024, 4, 30),
        date(2024, 5, 31),
        date(2024, 6, 30),
        date(2024, 7, 31),
    ]
    assert schedule.end_date == date(2024, 7, 31)


def test_in_advance_schedule_worked_by_hand():
    # PMT = 1000 * 0.01 / (1 - 1.01**-3) / 1.01 = 336.6556 -> 336.66; interest 663.34 * 1% = 6.6334 -> 6.63,
    # 333.31 * 1% = 3.3331 -> 3.33; the last instalment clears 333.31 + 3.33.
    terms = LoanTerms(
        financed_amount=eur("1000.00"),
        nominal_rate_percent=Decimal("12"),
        periods=3,
        start_date=date(2024, 3, 15),
        timing=PaymentTiming.IN_ADVANCE,
    )
    schedule = schedule_build(terms=terms)
    assert [row.due_date for row in schedule.instalments] == [date(2024, 3, 15), date(2024, 4, 15), date(2024, 5, 15)]
    assert [row.amount for row in schedule.instalments] == [eur("336.66"), eur("336.66"), eur("336.64")]
    assert [row.interest for row in schedule.instalments] == [eur("0"), eur("6.63"), eur("3.33")]
    assert [row.balance_after for row in schedule.instalments] == [eur("663.34"), eur("333.31"), eur("0")]
    assert schedule.total_interest == eur("9.96")
    assert schedule.final_period_interest == eur("0")


def test_balloon_matches_the_published_ec_example():
    # EC DG FISMA APRC examples (2015), example 7: 200,000 at 6 % over 15 years with a 142,097.69 balloon.
    terms = LoanTerms(
        financed_amount=eur("200000"),
        nominal_rate_percent=Decimal("6"),
        periods=180,
        start_date=date(2025, 1, 1),
        residual_value=eur("142097.69"),
    )
    assert annuity_instalment(terms=terms) == eur("1199.10")
    schedule = schedule_build(terms=terms)
    assert schedule.instalments[-1].balance_after == eur("142097.69")


def test_in_advance_balloon_leaves_the_discounted_residual_and_its_interest():
    terms = LoanTerms(
        financed_amount=eur("30000"),
        nominal_rate_percent=Decimal("4.8"),
        periods=36,
        start_date=date(2025, 1, 1),
        timing=PaymentTiming.IN_ADVANCE,
        residual_value=eur("15000"),
    )
    schedule = schedule_build(terms=terms)
    # 15,000 / 1.004 = 14940.2390... -> 14,940.24 left after the last instalment, 59.76 interest to the end.
    assert schedule.instalments[-1].balance_after == eur("14940.24")
    assert schedule.final_period_interest == eur("59.76")
    assert payoff_amount(schedule=schedule, on=terms.end_date) == eur("15000")


def test_zero_rate_splits_principal_evenly_and_last_takes_the_remainder():
    schedule = schedule_build(terms=fineract_terms(nominal_rate_percent=Decimal("0"), periods=3))
    assert [row.amount for row in schedule.instalments] == [eur("33.33"), eur("33.33"), eur("33.34")]
    assert schedule.total_interest == eur("0")


@pytest.mark.parametrize("start_date", [date(2026, 12, 6), date(2027, 1, 31), date(2028, 2, 29)])
def test_one_cent_over_two_instalments_leaves_nothing_for_the_last_and_is_refused(start_date):
    # 201.22 financed, 201.21 residual, 0 %, in advance: the level instalment 0.005 rounds half-up to 0.01, the first
    # instalment repays the whole cent and the second is 0.00. Months are 30/360, so the start date changes nothing.
    schedule = schedule_build(
        terms=LoanTerms(
            financed_amount=eur("201.22"),
            nominal_rate_percent=Decimal("0"),
            periods=2,
            start_date=start_date,
            timing=PaymentTiming.IN_ADVANCE,
            residual_value=eur("201.21"),
        )
    )
    assert [(row.amount, row.balance_after) for row in schedule.instalments] == [
        (eur("0.01"), eur("201.21")),
        (eur("0.00"), eur("201.21")),
    ]

    with pytest.raises(InstalmentNotPositiveError) as error:
        schedule_instalments_check(schedule=schedule)
    assert error.value.code == "instalment_not_positive"


@pytest.mark.parametrize(
    ("overrides", "amounts"),
    [
        # Six cents over twelve months: 0.005 rounds up to 0.01 eleven times, so the last is a refund of 0.05.
        (
            {"residual_value": eur("99.94"), "nominal_rate_percent": Decimal("0"), "periods": 12},
            ["0.01"] * 11 + ["-0.05"],
        ),
        # The residual is the whole financed amount and the rate 0 %: every instalment is 0.00.
        ({"residual_value": eur("100.00"), "nominal_rate_percent": Decimal("0"), "periods": 3}, ["0.00"] * 3),
        # At a rate so low that a month's interest on 100.00 rounds to nothing, the same.
        ({"residual_value": eur("100.00"), "nominal_rate_percent": Decimal("0.005"), "periods": 3}, ["0.00"] * 3),
    ],
)
def test_schedules_with_a_zero_or_negative_instalment_are_refused(overrides, amounts):
    schedule = schedule_build(terms=fineract_terms(**overrides))
    assert [row.amount for row in schedule.instalments] == [eur(amount) for amount in amounts]

    with pytest.raises(InstalmentNotPositiveError):
        schedule_instalments_check(schedule=schedule)


def test_an_interest_only_schedule_is_positive_and_passes():
    # The residual is the whole financed amount at 12 %: each instalment is the month's interest, 1.00.
    schedule = schedule_build(terms=fineract_terms(residual_value=eur("100.00"), periods=3))
    assert [row.amount for row in schedule.instalments] == [eur("1.00")] * 3

    schedule_instalments_check(schedule=schedule)


def test_total_cost_and_amount_payable():
    schedule = schedule_build(terms=fineract_terms())
    assert total_cost_of_credit(schedule=schedule, fees=eur("2.00")) == eur("5.53")
    assert total_amount_payable(schedule=schedule, fees=eur("2.00")) == eur("105.53")


def test_outstanding_principal_over_time():
    schedule = schedule_build(terms=fineract_terms())
    assert outstanding_principal(schedule=schedule, on=date(2024, 1, 1)) == eur("100.00")
    assert outstanding_principal(schedule=schedule, on=date(2024, 2, 1)) == eur("83.75")
    assert outstanding_principal(schedule=schedule, on=date(2024, 2, 29)) == eur("83.75")
    assert outstanding_principal(schedule=schedule, on=date(2024, 3, 1)) == eur("67.34")
    assert outstanding_principal(schedule=schedule, on=date(2030, 1, 1)) == eur("0")


def test_payoff_amounts_in_arrears():
    schedule = schedule_build(terms=fineract_terms())
    assert payoff_amount(schedule=schedule, on=date(2024, 1, 1)) == eur("100.00")
    # 15 days of 30E/360 at 12 %: 100 * 0.12 * 15 / 360 = 0.50.
    assert payoff_amount(schedule=schedule, on=date(2024, 1, 16)) == eur("100.50")
    # On a due date the instalment is replaced by the payoff: balance before it plus the period's interest.
    assert payoff_amount(schedule=schedule, on=date(2024, 2, 1)) == eur("101.00")
    # After the first instalment: 83.75 + 83.75 * 0.12 * 10 / 360 = 83.75 + 0.279 -> 84.03.
    assert payoff_amount(schedule=schedule, on=date(2024, 2, 11)) == eur("84.03")
    assert payoff_amount(schedule=schedule, on=date(2024, 7, 1)) == eur("17.28")


def test_payoff_outside_the_term_is_refused():
    schedule = schedule_build(terms=fineract_terms())
    for day in (date(2023, 12, 31), date(2024, 7, 2)):
        with pytest.raises(PayoffDateError) as error:
            payoff_amount(schedule=schedule, on=day)
        assert error.value.code == "payoff_date_outside_term"


@pytest.mark.parametrize(
    ("overrides", "error_class", "code"),
    [
        ({"financed_amount": eur("-100")}, InvalidPrincipalError, "principal_not_positive"),
        ({"financed_amount": eur("0")}, InvalidPrincipalError, "principal_not_positive"),
        ({"periods": 0}, InvalidTermError, "term_invalid"),
        ({"periods": -6}, InvalidTermError, "term_invalid"),
        ({"periods": 601}, InvalidTermError, "term_invalid"),
        ({"nominal_rate_percent": Decimal("-0.1")}, InvalidRateError, "rate_invalid"),
        ({"nominal_rate_percent": 12.0}, InvalidRateError, "rate_invalid"),
        ({"nominal_rate_percent": Decimal("Infinity")}, InvalidRateError, "rate_invalid"),
        ({"residual_value": eur("100.01")}, ResidualValueError, "residual_above_financed_amount"),
        ({"residual_value": eur("-1")}, ResidualValueError, "residual_negative"),
        ({"residual_value": Money(100, "USD")}, CurrencyMismatchError, "currency_mismatch"),
    ],
)
def test_bad_terms_raise_named_errors(overrides, error_class, code):
    with pytest.raises(error_class) as error:
        fineract_terms(**overrides)
    assert error.value.code == code
    assert isinstance(error.value, ValueError)


def test_add_months_clamps_to_month_end_and_counts_from_the_start():
    assert add_months(start=date(2024, 1, 31), months=1) == date(2024, 2, 29)
    assert add_months(start=date(2023, 1, 31), months=1) == date(2023, 2, 28)
    assert add_months(start=date(2024, 1, 31), months=2) == date(2024, 3, 31)
    assert add_months(start=date(2024, 11, 15), months=14) == date(2026, 1, 15)


def test_days_360_uses_the_eurobond_convention():
    assert days_360(start=date(2024, 1, 1), end=date(2024, 2, 1)) == 30
    assert days_360(start=date(2024, 1, 31), end=date(2024, 3, 31)) == 60
    assert days_360(start=date(2024, 2, 28), end=date(2024, 3, 31)) == 32
    assert days_360(start=date(2024, 1, 1), end=date(2025, 1, 1)) == 360


terms_strategy = st.builds(
    LoanTerms,
    financed_amount=st.integers(min_value=100, max_value=10**10).map(lambda amount: Money(amount, "EUR")),
    nominal_rate_percent=st.decimals(min_value=0, max_value=30, places=3),
    periods=st.integers(min_value=1, max_value=120),
    start_date=st.dates(min_value=date(2000, 1, 1), max_value=date(2090, 12, 31)),
    timing=st.sampled_from(PaymentTiming),
    residual_value=st.none(),
).flatmap(
    lambda terms: st.integers(min_value=0, max_value=terms.financed_amount.amount).map(
        lambda residual: LoanTerms(
            financed_amount=terms.financed_amount,
            nominal_rate_percent=terms.nominal_rate_percent,
            periods=terms.periods,
            start_date=terms.start_date,
            timing=terms.timing,
            residual_value=Money(residual, "EUR"),
        )
    )
)


@given(terms_strategy)
def test_instalments_sum_to_principal_plus_interest_minus_residual(terms):
    schedule = schedule_build(terms=terms)
    assert schedule.total_instalments == terms.financed_amount + schedule.total_interest - terms.residual
    assert len(schedule.instalments) == terms.periods
    assert all(row.amount == schedule.regular_instalment for row in schedule.instalments[:-1])
    assert all(row.amount == row.interest + row.principal for row in schedule.instalments)


@given(terms_strategy)
def test_each_period_interest_is_the_rounded_balance_times_the_monthly_rate(terms):
    schedule = schedule_build(terms=terms)
    balance = terms.financed_amount
    for row in schedule.instalments:
        if not (terms.timing is PaymentTiming.IN_ADVANCE and row.number == 1):
            expected = round_money(balance.to_decimal() * terms.nominal_rate_percent / 1200, currency="EUR")
            assert row.interest == Money(expected, "EUR")
        balance = row.balance_after


@given(terms_strategy)
def test_payoff_on_the_start_date_is_the_financed_amount_and_at_the_end_the_residual(terms):
    schedule = schedule_build(terms=terms)
    assert payoff_amount(schedule=schedule, on=terms.start_date) == terms.financed_amount
    final = payoff_amount(schedule=schedule, on=terms.end_date)
    if terms.timing is PaymentTiming.IN_ADVANCE:
        assert final == terms.residual
    else:
        assert final == schedule.instalments[-1].amount + terms.residual
