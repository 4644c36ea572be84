"""Template filters for moments and days in the reader's language and time zone.

`{{ payment.created_at|when }}` → "6 Dec 2026, 14:05 CET" / "06.12.2026, 14:05 MEZ" (`|when:"seconds"` adds seconds);
`{{ contract.start_date|day }}` → "6 Dec 2026" / "06.12.2026"; `{{ value|number:2 }}` → "1,234.50" / "1.234,50".
"""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

from django import template

from core.locale_format import format_day, format_decimal, format_when

register = template.Library()


@register.filter
def when(value: dt.datetime | None, precision: str = "") -> str:
    return format_when(value, seconds=precision == "seconds")


@register.filter
def day(value: dt.date | dt.datetime | None) -> str:
    return format_day(value)


@register.filter
def number(value: Decimal | int | str | None, places: int = 0) -> str:
    if value is None or value == "":
        return ""
    return format_decimal(Decimal(str(value)), places=int(places))


@register.filter
def short_reference(value: str | None) -> str:
    """A ledger reference as people quote it: "qr-purchase:1cff8415-9d2e-…" → "1CFF8415". The kind before the colon is
    for the ledger and the CSV export (which keep the whole value); people compare the first characters."""
    if not value:
        return ""
    identifier = str(value).rsplit(":", 1)[-1]
    compact = identifier.replace("-", "")
    return compact[:8].upper() if len(compact) > 12 else identifier
