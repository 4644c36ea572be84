"""The TARGET2 calendar SEPA direct debits run on, and the dates of one collection.

TARGET2 is closed on Saturdays and Sundays, New Year's Day, Good Friday, Easter Monday, 1 May, and 25 and 26
December (the ECB's list, as the `holidays` package keeps it under the market code "XECB"). SEPA Core needs:

- the requested collection date (ReqdColltnDt) to be a TARGET2 business day: a due date on a closing day is moved to
  the next business day;
- the file to reach the creditor's bank at least one TARGET2 business day before that date (D-1): the last day to
  build and submit the batch is the business day before the collection date.
"""

from __future__ import annotations

import datetime
from functools import lru_cache

import holidays

ONE_DAY = datetime.timedelta(days=1)


@lru_cache(maxsize=64)
def _closing_days(year: int) -> frozenset[datetime.date]:
    return frozenset(holidays.financial_holidays("XECB", years=year))


def is_business_day(day: datetime.date) -> bool:
    """True when TARGET2 settles on `day` (a weekday that is not one of its holidays)."""
    return day.weekday() < 5 and day not in _closing_days(day.year)


def business_day_on_or_after(day: datetime.date) -> datetime.date:
    """`day` itself when TARGET2 is open, else the next day it is (a due date on a closing day moves forward)."""
    while not is_business_day(day):
        day += ONE_DAY
    return day


def business_day_before(day: datetime.date) -> datetime.date:
    """The last TARGET2 business day strictly before `day`."""
    day -= ONE_DAY
    while not is_business_day(day):
        day -= ONE_DAY
    return day


def submission_deadline(collection_date: datetime.date) -> datetime.date:
    """The last day the batch of `collection_date` may be built and reach the bank (D-1 business day)."""
    return business_day_before(collection_date)


def earliest_collection_date(*, submitted_on: datetime.date) -> datetime.date:
    """The first collection date a file built on `submitted_on` can still ask for: one business day after the day
    the bank takes it (a file built on a closing day reaches the bank on the next business day)."""
    reaches_bank = business_day_on_or_after(submitted_on)
    return business_day_on_or_after(reaches_bank + ONE_DAY)


def collection_date_for(*, due_date: datetime.date, on: datetime.date, notice_days: int) -> datetime.date:
    """The collection date of a row due on `due_date` whose debtor is told on `on`, `notice_days` ahead at least.

    The due date moved to a business day, unless the notice period or the D-1 deadline makes that too early; then
    the first business day both allow.
    """
    earliest = max(due_date, on + datetime.timedelta(days=notice_days), earliest_collection_date(submitted_on=on))
    return business_day_on_or_after(earliest)
