"""Money as an integer of minor units plus an ISO 4217 currency code, and the one rounding helper.

Every amount the portal stores or moves is a `Money`: `Money(amount=123456, currency="EUR")` is 1,234.56 EUR.
Calculations (interest, APRC, tariffs) run in `Decimal` and become minor units in exactly one place,
`round_money`, so the rounding mode of every figure the customer sees is written down once. Floats are refused.
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import (
    ROUND_CEILING,
    ROUND_DOWN,
    ROUND_FLOOR,
    ROUND_HALF_DOWN,
    ROUND_HALF_EVEN,
    ROUND_HALF_UP,
    ROUND_UP,
    Decimal,
    localcontext,
)
from types import MappingProxyType

from core.errors import ValidationFailed


@dataclass(frozen=True, slots=True)
class Currency:
    """An ISO 4217 currency: alphabetic code, numeric code (EMV QR codes carry this one) and minor-unit exponent."""

    code: str
    numeric: str
    exponent: int


_CURRENCY_LIST = (
    Currency("EUR", "978", 2),
    Currency("USD", "840", 2),
    Currency("GBP", "826", 2),
    Currency("CHF", "756", 2),
    Currency("SEK", "752", 2),
    Currency("NOK", "578", 2),
    Currency("DKK", "208", 2),
    Currency("PLN", "985", 2),
    Currency("CZK", "203", 2),
    Currency("HUF", "348", 2),
    Currency("RON", "946", 2),
    Currency("BGN", "975", 2),
    Currency("ISK", "352", 0),
    Currency("CNY", "156", 2),
    Currency("BRL", "986", 2),
    Currency("INR", "356", 2),
    Currency("SGD", "702", 2),
    Currency("JPY", "392", 0),
    Currency("KRW", "410", 0),
    Currency("VND", "704", 0),
    Currency("CLP", "152", 0),
    Currency("BHD", "048", 3),
    Currency("KWD", "414", 3),
    Currency("JOD", "400", 3),
    Currency("OMR", "512", 3),
    Currency("TND", "788", 3),
)

CURRENCIES: MappingProxyType[str, Currency] = MappingProxyType({c.code: c for c in _CURRENCY_LIST})
"""Supported currencies by alphabetic code."""

CURRENCY_EXPONENTS: MappingProxyType[str, int] = MappingProxyType({c.code: c.exponent for c in _CURRENCY_LIST})
"""Minor-unit exponent per currency: EUR 2 (cents), JPY 0, KWD 3."""

_CURRENCIES_BY_NUMERIC = MappingProxyType({c.numeric: c for c in _CURRENCY_LIST})

ROUNDING_MODES = frozenset(
    {ROUND_HALF_UP, ROUND_HALF_EVEN, ROUND_HALF_DOWN, ROUND_UP, ROUND_DOWN, ROUND_CEILING, ROUND_FLOOR}
)


class MoneyError(ValidationFailed, ValueError):
    """A refused money operation; `code` says which rule was broken."""

    code = "money_invalid"


class UnknownCurrencyError(MoneyError):
    code = "unknown_currency"


class CurrencyMismatchError(MoneyError):
    code = "currency_mismatch"


def currency_get(*, code: str) -> Currency:
    """The currency for an alphabetic ISO 4217 code such as "EUR"; unknown codes raise `UnknownCurrencyError`."""
    try:
        return CURRENCIES[code]
    except KeyError:
        raise UnknownCurrencyError(f"unknown currency code {code!r}") from None


def currency_get_by_numeric(*, numeric: str) -> Currency:
    """The currency for a numeric ISO 4217 code such as "978" (as carried in EMV QR tag 53)."""
    try:
        return _CURRENCIES_BY_NUMERIC[numeric]
    except KeyError:
        raise UnknownCurrencyError(f"unknown numeric currency code {numeric!r}") from None


def round_money(value: Decimal, *, currency: str, rounding: str = ROUND_HALF_UP) -> int:
    """Round an amount in major units (Decimal("17.2548") EUR) to an integer of minor units (1725).

    This is the single place where a computed Decimal becomes money. The default mode is ROUND_HALF_UP
    (half a cent goes away from zero: 0.005 -> 0.01, -0.005 -> -0.01), the convention of consumer-credit
    schedules; callers pass another `decimal` rounding mode only where a contract says so.
    """
    if not isinstance(value, Decimal):
        raise TypeError(f"round_money takes a Decimal, not {type(value).__name__}")
    if not value.is_finite():
        raise MoneyError(f"cannot round {value} to money", code="amount_not_finite")
    if rounding not in ROUNDING_MODES:
        raise MoneyError(f"unknown rounding mode {rounding!r}", code="unknown_rounding_mode")
    exponent = currency_get(code=currency).exponent
    with localcontext() as context:
        # Enough digits that neither the shift nor the quantize rounds anything before `rounding` does.
        context.prec = max(context.prec, len(value.as_tuple().digits) + abs(value.adjusted()) + exponent + 2)
        minor_units = value.scaleb(exponent).quantize(Decimal(1), rounding=rounding)
    return int(minor_units)


@dataclass(frozen=True, slots=True)
class Money:
    """An amount in integer minor units of one ISO 4217 currency; immutable and never a float."""

    amount: int
    currency: str

    def __post_init__(self) -> None:
        if type(self.amount) is not int:
            raise TypeError(f"Money amount is an int of minor units, not {type(self.amount).__name__}")
        currency_get(code=self.currency)

    @classmethod
    def zero(cls, currency: str) -> Money:
        return cls(0, currency)

    @classmethod
    def from_decimal(cls, value: Decimal, currency: str, *, rounding: str = ROUND_HALF_UP) -> Money:
        """Money from an amount in major units (Decimal("12.30") EUR), rounded by `round_money`."""
        return cls(round_money(value, currency=currency, rounding=rounding), currency)

    def to_decimal(self) -> Decimal:
        """The amount in major units, exact: Money(1230, "EUR").to_decimal() == Decimal("12.30")."""
        return Decimal(self.amount).scaleb(-currency_get(code=self.currency).exponent)

    def format(self) -> str:
        """The amount as the reader writes money in the active language: "€1,234.56" / "1.234,56 €", "-¥5"."""
        from core.locale_format import format_money

        return format_money(self)

    def format_plain(self) -> str:
        """Language-independent text for logs and bank files: "1,234.56 EUR", "-5 JPY"."""
        exponent = currency_get(code=self.currency).exponent
        sign = "-" if self.amount < 0 else ""
        major, minor = divmod(abs(self.amount), 10**exponent)
        fraction = f".{minor:0{exponent}d}" if exponent else ""
        return f"{sign}{major:,}{fraction} {self.currency}"

    def __str__(self) -> str:
        return self.format()

    def _same_currency(self, other: object) -> Money:
        if not isinstance(other, Money):
            raise TypeError(f"cannot combine Money with {type(other).__name__}")
        if other.currency != self.currency:
            raise CurrencyMismatchError(f"cannot combine {self.currency} with {other.currency}")
        return other

    def __add__(self, other: Money) -> Money:
        return Money(self.amount + self._same_currency(other).amount, self.currency)

    def __sub__(self, other: Money) -> Money:
        return Money(self.amount - self._same_currency(other).amount, self.currency)

    def __neg__(self) -> Money:
        return Money(-self.amount, self.currency)

    def __lt__(self, other: Money) -> bool:
        return self.amount < self._same_currency(other).amount

    def __le__(self, other: Money) -> bool:
        return self.amount <= self._same_currency(other).amount

    def __gt__(self, other: Money) -> bool:
        return self.amount > self._same_currency(other).amount

    def __ge__(self, other: Money) -> bool:
        return self.amount >= self._same_currency(other).amount

    @property
    def is_zero(self) -> bool:
        return self.amount == 0

    @property
    def is_negative(self) -> bool:
        return self.amount < 0
