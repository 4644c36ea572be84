from decimal import ROUND_DOWN, ROUND_HALF_EVEN, Decimal

import pytest
from django.utils import translation
from hypothesis import given
from hypothesis import strategies as st

from core.errors import ApplicationError
from core.money import (
    CURRENCY_EXPONENTS,
    CurrencyMismatchError,
    Money,
    MoneyError,
    UnknownCurrencyError,
    currency_get,
    currency_get_by_numeric,
    round_money,
)


def test_currency_exponents_follow_iso_4217():
    assert CURRENCY_EXPONENTS["EUR"] == 2
    assert CURRENCY_EXPONENTS["JPY"] == 0
    assert CURRENCY_EXPONENTS["KWD"] == 3


def test_currency_lookup_by_numeric_code():
    assert currency_get_by_numeric(numeric="978").code == "EUR"
    assert currency_get_by_numeric(numeric="156").code == "CNY"
    assert currency_get(code="BRL").numeric == "986"


def test_unknown_currency_is_refused_with_a_code():
    with pytest.raises(UnknownCurrencyError) as error:
        Money(100, "XXX")
    assert error.value.code == "unknown_currency"
    assert isinstance(error.value, ValueError)
    assert isinstance(error.value, ApplicationError)
    with pytest.raises(UnknownCurrencyError):
        currency_get_by_numeric(numeric="000")


@pytest.mark.parametrize(
    ("value", "currency", "expected"),
    [
        ("17.2548", "EUR", 1725),
        ("0.005", "EUR", 1),
        ("0.0049999999999999999999999999999999", "EUR", 0),
        ("-0.005", "EUR", -1),
        ("2.5", "JPY", 3),
        ("1.0005", "KWD", 1001),
        ("123456789012345678901234567890.125", "EUR", 12345678901234567890123456789013),
    ],
)
def test_round_money_rounds_half_up_to_minor_units(value, currency, expected):
    assert round_money(Decimal(value), currency=currency) == expected


def test_round_money_takes_other_modes_when_asked():
    assert round_money(Decimal("0.125"), currency="EUR", rounding=ROUND_HALF_EVEN) == 12
    assert round_money(Decimal("0.129"), currency="EUR", rounding=ROUND_DOWN) == 12


def test_round_money_refuses_floats_and_non_finite_values():
    with pytest.raises(TypeError):
        round_money(0.1, currency="EUR")  # type: ignore[arg-type]
    with pytest.raises(MoneyError) as error:
        round_money(Decimal("NaN"), currency="EUR")
    assert error.value.code == "amount_not_finite"
    with pytest.raises(MoneyError) as error:
        round_money(Decimal("1"), currency="EUR", rounding="ROUND_SOMETIMES")
    assert error.value.code == "unknown_rounding_mode"


def test_money_refuses_non_integer_amounts():
    with pytest.raises(TypeError):
        Money(1.5, "EUR")  # type: ignore[arg-type]
    with pytest.raises(TypeError):
        Money(Decimal("1"), "EUR")  # type: ignore[arg-type]
    with pytest.raises(TypeError):
        Money(True, "EUR")


def test_money_is_immutable():
    money = Money(100, "EUR")
    with pytest.raises(AttributeError):
        money.amount = 5  # type: ignore[misc]


def test_decimal_conversion_both_ways():
    assert Money.from_decimal(Decimal("12.3"), "EUR") == Money(1230, "EUR")
    assert Money(1230, "EUR").to_decimal() == Decimal("12.30")
    assert str(Money(1230, "EUR").to_decimal()) == "12.30"
    assert Money(5, "JPY").to_decimal() == Decimal(5)
    assert Money.from_decimal(Decimal("0.0005"), "KWD") == Money(1, "KWD")


@pytest.mark.parametrize(
    ("money", "english", "german", "plain"),
    [
        (Money(123456, "EUR"), "€1,234.56", "1.234,56\xa0€", "1,234.56 EUR"),
        (Money(5, "EUR"), "€0.05", "0,05\xa0€", "0.05 EUR"),
        (Money(-123456789, "EUR"), "-€1,234,567.89", "-1.234.567,89\xa0€", "-1,234,567.89 EUR"),
        (Money(1234567, "JPY"), "JP¥1,234,567", "1.234.567\xa0¥", "1,234,567 JPY"),
        (Money(1, "KWD"), "KWD0.001", "0,001\xa0KWD", "0.001 KWD"),
        (Money(0, "EUR"), "€0.00", "0,00\xa0€", "0.00 EUR"),
    ],
)
def test_format_follows_the_active_language_and_plain_does_not(money, english, german, plain):
    with translation.override("en"):
        assert (money.format(), str(money), money.format_plain()) == (english, english, plain)
    with translation.override("de"):
        assert (money.format(), str(money), money.format_plain()) == (german, german, plain)


def test_arithmetic_and_comparison_in_one_currency():
    assert Money(150, "EUR") + Money(75, "EUR") == Money(225, "EUR")
    assert Money(150, "EUR") - Money(175, "EUR") == Money(-25, "EUR")
    assert -Money(3, "EUR") == Money(-3, "EUR")
    assert Money(1, "EUR") < Money(2, "EUR") <= Money(2, "EUR")
    assert Money(3, "EUR") > Money(2, "EUR") >= Money(2, "EUR")
    assert Money(0, "EUR").is_zero
    assert Money(-1, "EUR").is_negative
    assert Money(100, "EUR") != Money(100, "USD")


@pytest.mark.parametrize(
    "operation",
    [
        lambda a, b: a + b,
        lambda a, b: a - b,
        lambda a, b: a < b,
        lambda a, b: a <= b,
        lambda a, b: a > b,
        lambda a, b: a >= b,
    ],
)
def test_mixing_currencies_is_refused(operation):
    with pytest.raises(CurrencyMismatchError) as error:
        operation(Money(100, "EUR"), Money(100, "USD"))
    assert error.value.code == "currency_mismatch"


def test_money_does_not_combine_with_plain_numbers():
    with pytest.raises(TypeError):
        Money(100, "EUR") + 1  # type: ignore[operator]


@given(st.decimals(min_value=-(10**12), max_value=10**12, places=2), st.sampled_from(["EUR", "USD", "GBP"]))
def test_two_decimal_amounts_round_trip_exactly(value, currency):
    assert Money.from_decimal(value, currency).to_decimal() == value


@given(st.integers(min_value=-(10**15), max_value=10**15), st.integers(min_value=-(10**15), max_value=10**15))
def test_addition_matches_integer_addition(first, second):
    assert (Money(first, "EUR") + Money(second, "EUR")).amount == first + second
    assert (Money(first, "EUR") - Money(second, "EUR")) + Money(second, "EUR") == Money(first, "EUR")
