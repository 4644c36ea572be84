"""Template filters for amounts stored in minor units: `{{ contract.financed_amount|money:contract.currency }}`."""

from __future__ import annotations

from django import template

from core.locale_format import format_decimal
from core.money import Money, currency_get

register = template.Library()


@register.filter
def money(amount: int | None, currency: str = "EUR") -> str:
    """Minor units as the reader writes money: 1234567 → "€12,345.67" / "12.345,67 €"; empty for no amount."""
    if amount is None or amount == "":
        return ""
    return Money(int(amount), currency or "EUR").format()


@register.filter
def major(amount: int | None, currency: str = "EUR") -> str:
    """Minor units as a bare figure for a column headed with the currency: 1234567 → "12,345.67" / "12.345,67"."""
    if amount is None or amount == "":
        return ""
    return format_decimal(Money(int(amount), currency or "EUR").to_decimal(), places=_places(currency or "EUR"))


def _places(currency: str) -> int:
    return currency_get(code=currency).exponent
