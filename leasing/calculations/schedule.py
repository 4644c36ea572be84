"""Annuity repayment schedules for loans and leases with a residual value (balloon), in exact minor units.

Conventions, shared by quotes, contracts and payoff quotes:

* Monthly instalments, 30/360: every period is one month and the periodic rate is the nominal annual rate / 12.
* In arrears: instalment k falls due k months after the start. In advance: instalment k falls due k - 1 months
  after the start (the first on the start date); the interest in an instalment is the interest of the period
  that ended on its due date.
* Interest is computed per period on the outstanding balance and rounded half-up to the minor unit
  (`core.money.round_money`). Every instalment has the same amount except the last, which absorbs the
  rounding so that the balance at the end of the term is exactly the residual value.
* The residual value is due at the end of the term (`Schedule.end_date`), on top of the last instalment. In
  advance, the balance left after the last instalment is the residual value discounted one period (rounded
  half-up); the residual payment settles that balance plus the last period's interest (`final_period_interest`).
* Every instalment is positive. When what is left to repay over the term is below one minor unit per instalment
  (a residual value, or a down payment, that leaves almost nothing to finance), the level instalment rounds to
  zero, or rounds up so far that the last instalment would be zero or a refund; such terms have no schedule
  (`schedule_instalments_check` raises `InstalmentNotPositiveError`) and are refused, never stored.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date
from decimal import Decimal, localcontext
from enum import StrEnum

from core.money import Money, round_money
from leasing.calculations.daycount import add_months, days_360
from leasing.calculations.errors import (
    InstalmentNotPositiveError,
    InvalidPrincipalError,
    InvalidRateError,
    InvalidTermError,
    PayoffDateError,
    ResidualValueError,
)

DECIMAL_PRECISION = 40
MAX_PERIODS = 600
MONTHS_PER_YEAR = 12


class PaymentTiming(StrEnum):
    IN_ADVANCE = "in_advance"
    IN_ARREARS = "in_arrears"


@dataclass(frozen=True, kw_only=True)
class LoanTerms:
    """What a quote or contract fixes: amounts in `Money` (minor units), the nominal rate in percent per year."""

    financed_amount: Money
    nominal_rate_percent: Decimal
    periods: int
    start_date: date
    timing: PaymentTiming = PaymentTiming.IN_ARREARS
    residual_value: Money | None = None

    def __post_init__(self) -> None:
        if self.financed_amount.amount <= 0:
            raise InvalidPrincipalError(f"financed amount must be positive, got {self.financed_amount}")
        rate = self.nominal_rate_percent
        if not isinstance(rate, Decimal) or not rate.is_finite() or rate < 0:
            raise InvalidRateError(f"nominal rate must be a non-negative Decimal percentage, got {rate!r}")
        if type(self.periods) is not int or not 1 <= self.periods <= MAX_PERIODS:
            raise InvalidTermError(f"term must be 1 to {MAX_PERIODS} monthly periods, got {self.periods!r}")
        residual = self.residual
        if residual.is_negative:
            raise ResidualValueError(f"residual value must not be negative, got {residual}", code="residual_negative")
        if residual > self.financed_amount:
            raise ResidualValueError(f"residual value {residual} is above the financed amount {self.financed_amount}")

    @property
    def residual(self) -> Money:
        """The residual value, zero when the terms have none."""
        return self.residual_value or Money.zero(self.financed_amount.currency)

    @property
    def currency(self) -> str:
        return self.financed_amount.currency

    @property
    def end_date(self) -> date:
        """End of the term: `periods` months after the start; the residual value falls due on it."""
        return add_months(start=self.start_date, months=self.periods)


@dataclass(frozen=True, kw_only=True)
class Instalment:
    """One scheduled payment: amount = interest + principal; `balance_after` is the principal still owed."""

    number: int
    due_date: date
    amount: Money
    interest: Money
    principal: Money
    balance_after: Money


@dataclass(frozen=True, kw_only=True)
class Schedule:
    """A repayment schedule in minor units; `final_period_interest` is non-zero only in advance with a residual."""

    terms: LoanTerms
    regular_instalment: Money
    instalments: tuple[Instalment, ...]
    final_period_interest: Money

    @property
    def end_date(self) -> date:
        return self.terms.end_date

    @property
    def total_instalments(self) -> Money:
        return _money_sum((row.amount for row in self.instalments), currency=self.terms.currency)

    @property
    def total_interest(self) -> Money:
        """All interest over the term, including the interest settled with the residual payment."""
        paid = _money_sum((row.interest for row in self.instalments), currency=self.terms.currency)
        return paid + self.final_period_interest


def _money_sum(amounts: Iterable[Money], *, currency: str) -> Money:
    total = Money.zero(currency)
    for amount in amounts:
        total += amount
    return total


def _period_interest(*, balance: Money, terms: LoanTerms) -> Money:
    """Interest of one monthly period on `balance`, rounded half-up; the division comes last so halves stay exact."""
    with localcontext() as context:
        context.prec = DECIMAL_PRECISION
        interest = balance.to_decimal() * terms.nominal_rate_percent / (100 * MONTHS_PER_YEAR)
    return Money(round_money(interest, currency=terms.currency), terms.currency)


def annuity_instalment(*, terms: LoanTerms) -> Money:
    """The level monthly instalment that repays the financed amount down to the residual value, rounded half-up.

    In arrears: (P - R * v^n) * i / (1 - v^n) with i the monthly rate and v = 1 / (1 + i); in advance the same
    divided by (1 + i); with a zero rate simply (P - R) / n.
    """
    periods = terms.periods
    with localcontext() as context:
        context.prec = DECIMAL_PRECISION
        principal, residual = terms.financed_amount.to_decimal(), terms.residual.to_decimal()
        rate = terms.nominal_rate_percent / (100 * MONTHS_PER_YEAR)
        if rate == 0:
            payment = (principal - residual) / periods
        else:
            discount = (1 + rate) ** -periods
            payment = (principal - residual * discount) * rate / (1 - discount)
            if terms.timing is PaymentTiming.IN_ADVANCE:
                payment /= 1 + rate
    return Money.from_decimal(payment, terms.currency)


def _balance_left_after_last_instalment(*, terms: LoanTerms) -> Money:
    """Arrears: the residual itself. Advance: the residual discounted one period, rounded half-up."""
    if terms.timing is PaymentTiming.IN_ARREARS:
        return terms.residual
    with localcontext() as context:
        context.prec = DECIMAL_PRECISION
        monthly_factor = 1 + terms.nominal_rate_percent / (100 * MONTHS_PER_YEAR)
        discounted = terms.residual.to_decimal() / monthly_factor
    return Money.from_decimal(discounted, terms.currency)


def schedule_build(*, terms: LoanTerms) -> Schedule:
    """The full repayment schedule for `terms`: level instalments, the last one absorbing the rounding."""
    regular = annuity_instalment(terms=terms)
    closing_balance = _balance_left_after_last_instalment(terms=terms)
    in_advance = terms.timing is PaymentTiming.IN_ADVANCE
    balance = terms.financed_amount
    rows = []
    for number in range(1, terms.periods + 1):
        months_elapsed = number - 1 if in_advance else number
        is_first_in_advance = in_advance and number == 1
        interest = Money.zero(terms.currency) if is_first_in_advance else _period_interest(balance=balance, terms=terms)
        amount = balance + interest - closing_balance if number == terms.periods else regular
        principal = amount - interest
        balance -= principal
        due_date = add_months(start=terms.start_date, months=months_elapsed)
        rows.append(
            Instalment(
                number=number,
                due_date=due_date,
                amount=amount,
                interest=interest,
                principal=principal,
                balance_after=balance,
            )
        )
    return Schedule(
        terms=terms,
        regular_instalment=regular,
        instalments=tuple(rows),
        final_period_interest=terms.residual - closing_balance,
    )


def schedule_instalments_check(*, schedule: Schedule) -> None:
    """Raises `InstalmentNotPositiveError` when an instalment of `schedule` is zero or negative (see the module's
    conventions): a schedule that passes can be stored and collected row by row."""
    for row in schedule.instalments:
        if row.amount.amount <= 0:
            raise InstalmentNotPositiveError(
                f"instalment {row.number} of {schedule.terms.periods} would be {row.amount}: "
                f"{schedule.terms.financed_amount - schedule.terms.residual} left to repay is too little for the term"
            )


def total_cost_of_credit(*, schedule: Schedule, fees: Money) -> Money:
    """Interest over the whole term plus the fees the customer pays for the credit (Directive 2008/48/EC art. 3(g))."""
    return schedule.total_interest + fees


def total_amount_payable(*, schedule: Schedule, fees: Money) -> Money:
    """Everything the customer pays: instalments, the residual value and fees (= financed amount + total cost)."""
    return schedule.total_instalments + schedule.terms.residual + fees


def outstanding_principal(*, schedule: Schedule, on: date) -> Money:
    """Principal still owed at the end of day `on`, once every instalment due on or before it is paid."""
    balance = schedule.terms.financed_amount
    for row in schedule.instalments:
        if row.due_date > on:
            break
        balance = row.balance_after
    return balance


def payoff_amount(*, schedule: Schedule, on: date) -> Money:
    """What settles the contract on day `on`: outstanding principal plus interest accrued since the last due date.

    Instalments due before `on` count as paid; one due on `on` is replaced by the payoff. Interest accrues
    30E/360 on the outstanding balance and is rounded half-up; on a due date (and at the end of the term) it is
    the period's scheduled interest, so a payoff on the start date equals the financed amount and one at the end
    of the term equals the last instalment still due plus the residual value.
    """
    terms = schedule.terms
    if not terms.start_date <= on <= terms.end_date:
        raise PayoffDateError(f"{on} is outside the term {terms.start_date} to {terms.end_date}")
    paid = [row for row in schedule.instalments if row.due_date < on]
    balance = paid[-1].balance_after if paid else terms.financed_amount
    accrual_start = paid[-1].due_date if paid else terms.start_date
    if len(paid) < len(schedule.instalments):
        period_end, period_interest = schedule.instalments[len(paid)].due_date, schedule.instalments[len(paid)].interest
    else:
        period_end, period_interest = terms.end_date, schedule.final_period_interest
    if on == period_end:
        return balance + period_interest
    with localcontext() as context:
        context.prec = DECIMAL_PRECISION
        days = days_360(start=accrual_start, end=on)
        accrued = balance.to_decimal() * terms.nominal_rate_percent * days / (100 * 360)
    return balance + Money(round_money(accrued, currency=terms.currency), terms.currency)
