"""Numbers, money, dates and times as the reader writes them: in the active language and the active time zone.

One place for every figure and time a person reads, on pages, in e-mails, PDFs and charts:
`format_money(Money(123456, "EUR"))` is "€1,234.56" in English and "1.234,56 €" in German;
`format_when(dt)` is "6 Dec 2026, 14:05 CET" / "06.12.2026, 14:05 MEZ" in the user's zone, always naming the zone.
Machine-read output (CSV, the API) uses `iso_with_offset` instead: ISO 8601 with the zone's offset.
"""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

from babel import dates as babel_dates
from babel import numbers as babel_numbers
from django.utils import timezone, translation

# Babel locale per portal language: British English (day before month, 24-hour clock) and German as used in Germany.
_LOCALES = {"en": "en_GB", "de": "de_DE"}
_WHEN_PATTERNS = {"en": "d MMM yyyy, HH:mm zzz", "de": "dd.MM.yyyy, HH:mm zzz"}
_WHEN_SECONDS_PATTERNS = {"en": "d MMM yyyy, HH:mm:ss zzz", "de": "dd.MM.yyyy, HH:mm:ss zzz"}
_DAY_PATTERNS = {"en": "d MMM yyyy", "de": "dd.MM.yyyy"}


def active_locale(language: str | None = None) -> str:
    """The Babel locale of a language code ("de", "de-at", "en-gb"); English for anything else."""
    code = (language or translation.get_language() or "en").split("-")[0].lower()
    return _LOCALES.get(code, _LOCALES["en"])


def _language(language: str | None) -> str:
    return active_locale(language).split("_")[0]


def format_decimal(value: Decimal | int, *, places: int = 2, language: str | None = None) -> str:
    """A plain figure with the locale's separators: Decimal("1234.5") → "1,234.50" / "1.234,50"."""
    pattern = "#,##0" + ("." + "0" * places if places else "")
    return babel_numbers.format_decimal(Decimal(value), format=pattern, locale=active_locale(language))


def format_money(money: object, *, language: str | None = None) -> str:
    """A `core.money.Money` with the currency's sign where the locale puts it: "€1,234.56" / "1.234,56 €"."""
    from core.money import currency_get

    exponent = currency_get(code=money.currency).exponent  # type: ignore[attr-defined]
    value = Decimal(money.amount).scaleb(-exponent)  # type: ignore[attr-defined]
    return babel_numbers.format_currency(
        value,
        money.currency,  # type: ignore[attr-defined]
        locale=active_locale(language),
        currency_digits=True,
    )


def format_when(value: dt.datetime | None, *, seconds: bool = False, language: str | None = None) -> str:
    """A moment in the active time zone with the zone named: "6 Dec 2026, 14:05 CET" / "06.12.2026, 14:05 MEZ"."""
    if value is None:
        return ""
    if timezone.is_naive(value):
        value = timezone.make_aware(value, dt.UTC)
    zone = timezone.get_current_timezone()
    local = value.astimezone(zone)
    patterns = _WHEN_SECONDS_PATTERNS if seconds else _WHEN_PATTERNS
    return babel_dates.format_datetime(
        local, patterns[_language(language)], tzinfo=zone, locale=active_locale(language)
    )


def format_day(value: dt.date | dt.datetime | None, *, language: str | None = None) -> str:
    """A calendar day: "6 Dec 2026" / "06.12.2026". A moment becomes the day it is in the active time zone."""
    if value is None:
        return ""
    if isinstance(value, dt.datetime):
        value = timezone.localtime(value) if timezone.is_aware(value) else value
        value = value.date()
    return babel_dates.format_date(value, _DAY_PATTERNS[_language(language)], locale=active_locale(language))


def zone_name(*, language: str | None = None) -> str:
    """The active time zone as people name it: "Central European Time" / "Mitteleuropäische Zeit"."""
    return babel_dates.get_timezone_location(timezone.get_current_timezone(), locale=active_locale(language))


def iso_with_offset(value: dt.datetime | None) -> str:
    """ISO 8601 in the active time zone with its offset, for CSV files: "2026-12-06T14:05:00+01:00"."""
    if value is None:
        return ""
    return timezone.localtime(value).isoformat(timespec="seconds")


def format_money_whole(amount: int, currency: str, *, language: str | None = None) -> str:
    """Whole currency units for chart axes: 27000 EUR → "€27,000" / "27.000 €"."""
    pattern = "#,##0\u00a0¤" if _language(language) == "de" else "¤#,##0"
    return babel_numbers.format_currency(
        Decimal(amount), currency, format=pattern, locale=active_locale(language), currency_digits=False
    )
