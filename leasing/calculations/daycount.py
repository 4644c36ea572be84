"""Calendar helpers for monthly schedules: due dates and the 30E/360 day count."""

from __future__ import annotations

import calendar
from datetime import date


def add_months(*, start: date, months: int) -> date:
    """The date `months` calendar months after `start`, clamped to the month's last day (31 Jan + 1 -> 28/29 Feb).

    Due dates are always counted from the contract start, never from the previous due date, so a contract
    starting on the 31st falls due on the last day of short months and on the 31st again afterwards.
    """
    month_index = start.month - 1 + months
    year, month = start.year + month_index // 12, month_index % 12 + 1
    return date(year, month, min(start.day, calendar.monthrange(year, month)[1]))


def days_360(*, start: date, end: date) -> int:
    """Days between two dates under the 30E/360 (Eurobond) convention: every month counts 30 days.

    Day 31 counts as day 30 at both ends, so one calendar month is 30 days and a year 360, matching a
    periodic rate of annual rate / 12. Negative when `end` is before `start`.
    """
    start_day, end_day = min(start.day, 30), min(end.day, 30)
    return 360 * (end.year - start.year) + 30 * (end.month - start.month) + (end_day - start_day)
