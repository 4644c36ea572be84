"""Named errors of the lease and loan calculations; each carries a machine-readable `code`."""

from core.errors import ValidationFailed


class CalculationError(ValidationFailed, ValueError):
    """Terms or cash flows a calculation refuses; the API answers 422 with `code`."""

    code = "calculation_invalid"


class InvalidPrincipalError(CalculationError):
    code = "principal_not_positive"


class InvalidRateError(CalculationError):
    code = "rate_invalid"


class InvalidTermError(CalculationError):
    code = "term_invalid"


class ResidualValueError(CalculationError):
    code = "residual_above_financed_amount"


class InstalmentNotPositiveError(CalculationError):
    """An instalment of the schedule would be zero or negative: what is left to repay over the term (the financed
    amount less the residual value, plus interest) is below one minor unit per instalment, or so close to it that
    rounding the level instalment half-up leaves nothing (or a refund) for the last one."""

    code = "instalment_not_positive"


class PayoffDateError(CalculationError):
    code = "payoff_date_outside_term"


class InvalidCashFlowsError(CalculationError):
    code = "cash_flows_invalid"


class AprcNotFoundError(CalculationError):
    code = "aprc_not_found"
