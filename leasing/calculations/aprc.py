"""Annual percentage rate of charge (APRC) per Directive 2008/48/EC, Annex I.

The APRC is the X that balances, at t = 0, what the lender pays out and what the consumer pays back:

    sum over drawdowns  A_k * (1 + X) ** -t_k  =  sum over repayments and charges  A'_l * (1 + X) ** -s_l

with t in years from the first drawdown (a standard month is 1/12 year, Annex I (4)(b)). A `CashFlow` carries both
sides in one signed amount: drawdowns positive, repayments and charges negative, so X is the root of
f(X) = sum A * (1 + X) ** -t. It is solved in Decimal (40 digits) by Newton's method kept inside a bracket that
changes sign, falling back to bisection whenever a Newton step would leave it. The figure shown to the customer
is rounded half-up to one decimal place (Annex I (4)(c)); `aprc_percent_exact` gives the unrounded value.

Each Decimal evaluation of f costs one `exp` per cash flow at 40 digits (a quote's 36 instalments: most of its
price), so the same search runs first in binary floating point, which is a hundred times cheaper and lands within
about 1e-15 of the root; two or three Newton steps in Decimal from there reach the 1e-30 tolerance (Newton doubles
the correct digits per step). Should the float search fail (overflow on extreme flows) or the Decimal steps not
settle inside the float search's bracket, the Decimal search runs from the start as before.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from decimal import ROUND_HALF_UP, Decimal, localcontext
from typing import TypeVar

from core.money import Money
from leasing.calculations.errors import AprcNotFoundError, InvalidCashFlowsError
from leasing.calculations.schedule import MONTHS_PER_YEAR, PaymentTiming, Schedule

DECIMAL_PRECISION = 40
APRC_DISPLAY_QUANTUM = Decimal("0.1")
APRC_DISPLAY_ROUNDING = ROUND_HALF_UP
LOWEST_RATE = Decimal("-0.99")
HIGHEST_RATE = Decimal("1000")
TOLERANCE = Decimal("1e-30")
MAX_ITERATIONS = 400
FLOAT_TOLERANCE = 1e-15
SEEDED_NEWTON_STEPS = 6

Rate = TypeVar("Rate", float, Decimal)


@dataclass(frozen=True)
class CashFlow:
    """One payment at `years` after the first drawdown; `amount` positive for a drawdown, negative for a repayment
    or charge. All flows of one calculation use the same unit (major or minor units); the APRC does not depend on it.
    """

    years: Decimal
    amount: Decimal


def _validated(cash_flows: Iterable[CashFlow]) -> list[CashFlow]:
    flows = list(cash_flows)
    for flow in flows:
        if not all(isinstance(value, Decimal) and value.is_finite() for value in (flow.years, flow.amount)):
            raise InvalidCashFlowsError("cash flow times and amounts must be finite Decimals")
        if flow.years < 0:
            raise InvalidCashFlowsError(
                "cash flows cannot happen before the first drawdown", code="cash_flow_time_negative"
            )
    if not any(flow.amount > 0 for flow in flows) or not any(flow.amount < 0 for flow in flows):
        raise InvalidCashFlowsError(
            "an APRC needs at least one drawdown and one repayment", code="cash_flows_one_sided"
        )
    return flows


def _present_value_and_slope(flows: Sequence[CashFlow], rate: Decimal) -> tuple[Decimal, Decimal]:
    """f(rate) = sum A (1 + rate)^-t and its derivative f'(rate) = sum -t A (1 + rate)^(-t - 1)."""
    log_factor = (1 + rate).ln()
    value, slope = Decimal(0), Decimal(0)
    for flow in flows:
        discounted = flow.amount * (-flow.years * log_factor).exp()
        value += discounted
        slope -= flow.years * discounted
    return value, slope / (1 + rate)


def _present_value_and_slope_in_floats(flows: Sequence[CashFlow]) -> Callable[[float], tuple[float, float]]:
    """f and f' as `_present_value_and_slope`, in binary floating point; ValueError when a value is not finite."""
    times = [float(flow.years) for flow in flows]
    amounts = [float(flow.amount) for flow in flows]

    def value_and_slope(rate: float) -> tuple[float, float]:
        log_factor = math.log1p(rate)
        value = slope = 0.0
        for years, amount in zip(times, amounts, strict=True):
            discounted = amount * math.exp(-years * log_factor)
            value += discounted
            slope -= years * discounted
        if not math.isfinite(value):
            raise ValueError("the present value is not finite")
        return value, slope / (1 + rate)

    return value_and_slope


def _bracketed_root(
    value_and_slope: Callable[[Rate], tuple[Rate, Rate]], *, lowest: Rate, highest: Rate, tolerance: Rate
) -> tuple[Rate, Rate, Rate]:
    """(root, low, high): first rates `low` < `high` between which f changes sign, widening upwards from 100 %;
    then Newton's method kept inside that bracket, bisecting whenever a step would leave it. Runs the same in floats
    and in Decimal. AprcNotFoundError when no rate up to `highest` changes the sign or the iteration does not settle.
    """
    low, high = lowest, type(lowest)(1)
    low_value = value_and_slope(low)[0]
    while True:
        high_value = value_and_slope(high)[0]
        if (low_value < 0) != (high_value < 0):
            break
        if high >= highest:
            raise AprcNotFoundError("no rate between -99 % and 100,000 % balances these cash flows")
        low, low_value, high = high, high_value, min(high * 4, highest)
    bracket = (low, high)
    low_is_negative = low_value < 0
    rate = (low + high) / 2
    for _ in range(MAX_ITERATIONS):
        value, slope = value_and_slope(rate)
        if value == 0:
            return rate, *bracket
        if (value < 0) == low_is_negative:
            low = rate
        else:
            high = rate
        newton = rate - value / slope if slope != 0 else None
        next_rate = newton if newton is not None and low < newton < high else (low + high) / 2
        if abs(next_rate - rate) <= tolerance or high - low <= tolerance:
            return next_rate, *bracket
        rate = next_rate
    raise AprcNotFoundError("the APRC iteration did not converge")


def _solve(flows: Sequence[CashFlow]) -> Decimal:
    """The root: Newton in Decimal from the float search's root, or the full Decimal search when that fails."""
    seeded = _float_search(flows)
    if seeded is not None:
        rate = _newton_from(flows, *seeded)
        if rate is not None:
            return rate
    return _solve_in_decimal(flows)


def _float_search(flows: Sequence[CashFlow]) -> tuple[Decimal, Decimal, Decimal] | None:
    """(root, low, high): the Decimal search's bracket and root in floats (see the module docstring); None when the
    floats overflow or the search does not settle."""
    try:
        found = _bracketed_root(
            _present_value_and_slope_in_floats(flows),
            lowest=float(LOWEST_RATE), highest=float(HIGHEST_RATE), tolerance=FLOAT_TOLERANCE,
        )  # fmt: skip
    except (AprcNotFoundError, OverflowError, ValueError, ZeroDivisionError):
        return None
    return Decimal(found[0]), Decimal(found[1]), Decimal(found[2])


def _newton_from(flows: Sequence[CashFlow], seed: Decimal, low: Decimal, high: Decimal) -> Decimal | None:
    """Newton's method in Decimal from `seed`; None when a step leaves (low, high) or it has not settled after
    SEEDED_NEWTON_STEPS steps."""
    rate = seed
    for _ in range(SEEDED_NEWTON_STEPS):
        value, slope = _present_value_and_slope(flows, rate)
        if value == 0:
            return rate
        if slope == 0:
            return None
        next_rate = rate - value / slope
        if not low < next_rate < high:
            return None
        if abs(next_rate - rate) <= TOLERANCE:
            return next_rate
        rate = next_rate
    return None


def _solve_in_decimal(flows: Sequence[CashFlow]) -> Decimal:
    return _bracketed_root(
        lambda rate: _present_value_and_slope(flows, rate), lowest=LOWEST_RATE, highest=HIGHEST_RATE,
        tolerance=TOLERANCE,
    )[0]  # fmt: skip


def aprc_percent_exact(*, cash_flows: Iterable[CashFlow]) -> Decimal:
    """The unrounded APRC in percent per year (Decimal("6.4344119...")), to about 30 significant digits."""
    flows = _validated(cash_flows)
    with localcontext() as context:
        context.prec = DECIMAL_PRECISION
        return _solve(flows) * 100


def aprc_percent(*, cash_flows: Iterable[CashFlow]) -> Decimal:
    """The APRC as disclosed: percent per year rounded half-up to one decimal place (Decimal("6.4"))."""
    return aprc_percent_exact(cash_flows=cash_flows).quantize(APRC_DISPLAY_QUANTUM, rounding=APRC_DISPLAY_ROUNDING)


def _months_to_years(months: int) -> Decimal:
    with localcontext() as context:
        context.prec = DECIMAL_PRECISION
        return Decimal(months) / MONTHS_PER_YEAR


def loan_cash_flows(
    *,
    financed_amount: Money,
    instalments: Sequence[Money],
    timing: PaymentTiming,
    upfront_fees: Money,
    residual_value: Money,
) -> list[CashFlow]:
    """APRC cash flows of a monthly loan or lease, in minor units.

    The financed amount is drawn down at t = 0 and fees paid upfront are charges at t = 0. Instalment k
    (1-based) is paid at t = k/12 in arrears or (k - 1)/12 in advance; the residual value (balloon) is paid at
    the end of the term, t = n/12.
    """
    currency = financed_amount.currency
    for amount in (*instalments, upfront_fees, residual_value):
        if amount.currency != currency:
            raise InvalidCashFlowsError("all amounts of one loan must share its currency", code="currency_mismatch")
    first_month = 0 if timing is PaymentTiming.IN_ADVANCE else 1
    flows = [CashFlow(Decimal(0), Decimal(financed_amount.amount))]
    if upfront_fees.amount:
        flows.append(CashFlow(Decimal(0), Decimal(-upfront_fees.amount)))
    for index, instalment in enumerate(instalments):
        flows.append(CashFlow(_months_to_years(first_month + index), Decimal(-instalment.amount)))
    if residual_value.amount:
        flows.append(CashFlow(_months_to_years(len(instalments)), Decimal(-residual_value.amount)))
    return flows


def schedule_cash_flows(*, schedule: Schedule, upfront_fees: Money) -> list[CashFlow]:
    """APRC cash flows of a built schedule: its exact instalments (the last one included), fees and residual."""
    return loan_cash_flows(
        financed_amount=schedule.terms.financed_amount,
        instalments=[row.amount for row in schedule.instalments],
        timing=schedule.terms.timing,
        upfront_fees=upfront_fees,
        residual_value=schedule.terms.residual,
    )
