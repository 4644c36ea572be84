"""Template filters for amounts stored in minor units: `{{ contract.financed_amount|money:contract.currency }}`."""

from __future__ import annotations

from django import template

from core.money import Money

register = template.Library()


@register.filter
def money(amount: int | None, currency: str = "EUR") -> str:
    """Minor units as the customer reads them, with the currency: 1234567 → "12,345.67 EUR"; empty for no amount."""
    if amount is None or amount == "":
        return ""
    return Money(int(amount), currency or "EUR").format()


@register.filter
def major(amount: int | None, currency: str = "EUR") -> str:
    """Minor units as a bare figure for a table column headed with the currency: 1234567 → "12,345.67"."""
    formatted = money(amount, currency)
    return formatted.rsplit(" ", 1)[0] if formatted else ""
