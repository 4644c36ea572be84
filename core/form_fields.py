"""Form fields that read numbers the way the person typing writes them ("1.234,56" in German, "1,234.56" in English)."""

from __future__ import annotations

import re
from decimal import Decimal
from typing import Any

from django import forms
from django.core.exceptions import ValidationError
from django.utils import translation

_SPACES = re.compile(r"[\s\u00a0\u202f']")
_CURRENCY = re.compile(r"(?i)(€|eur)")


def parse_localized_decimal(text: str, *, language: str | None = None) -> Decimal:
    """ "1.234,56" (de), "1,234.56" (en), "1234,56", "1234.56", "€ 1 234,56" → Decimal("1234.56"); ValueError if unreadable.

    With both marks, the last is the decimal mark. With one mark used once, it is the decimal mark unless it is the
    language's grouping mark followed by exactly three digits ("1.234" is 1234 in German, "1,234" in English); a mark
    used more than once groups ("1.234.567"). Grouping must come in threes.
    """
    value = _CURRENCY.sub("", _SPACES.sub("", text or ""))
    sign = ""
    if value[:1] in ("+", "-"):
        sign, value = value[:1], value[1:]
    if not re.fullmatch(r"[0-9.,]+", value):
        raise ValueError(text)
    grouping_mark = "." if (language or translation.get_language() or "en").lower().startswith("de") else ","
    marks = [character for character in value if character in ".,"]
    integer, fraction, decimal_mark = value, "", None
    if marks:
        last = max(value.rfind("."), value.rfind(","))
        mark, after = value[last], value[last + 1 :]
        if len(set(marks)) == 2 or (marks.count(mark) == 1 and not (mark == grouping_mark and len(after) == 3)):
            decimal_mark = mark
            integer, fraction = value[:last], after
        group = ({".", ","} - {decimal_mark}).pop() if decimal_mark else mark
        if group in integer and not re.fullmatch(r"\d{1,3}(" + re.escape(group) + r"\d{3})+", integer):
            raise ValueError(text)
        integer = integer.replace(group, "")
    if not integer.isdigit() and not (integer == "" and fraction):
        raise ValueError(text)
    if fraction and not fraction.isdigit():
        raise ValueError(text)
    return Decimal(sign + (integer or "0") + (f".{fraction}" if fraction else ""))


class LocalizedDecimalField(forms.DecimalField):
    """A DecimalField that shows and reads the active language's separators; a text box with a decimal keypad."""

    def __init__(self, **kwargs: Any) -> None:
        kwargs.setdefault("localize", True)
        super().__init__(**kwargs)
        self.widget.attrs.setdefault("inputmode", "decimal")

    # django-stubs types DecimalField.to_python as IntegerField's (int | None); Django returns a Decimal here.
    def to_python(self, value: Any) -> Decimal | None:  # type: ignore[override]
        if value in self.empty_values:
            return None
        if isinstance(value, Decimal):
            return value
        try:
            number = parse_localized_decimal(str(value).strip()[:40])
        except ValueError:
            raise ValidationError(self.error_messages["invalid"], code="invalid") from None
        if not number.is_finite():
            raise ValidationError(self.error_messages["invalid"], code="invalid")
        return number
