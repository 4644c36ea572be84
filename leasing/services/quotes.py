"""Quotes: validate the customer's choices against the product, price the credit, and keep the quote.

Amounts are integer minor units of the product's currency. The schedule and APRC come from
`leasing.calculations` (annuity with residual, 30/360 months, APRC per Directive 2008/48/EC Annex I, shown rounded
half-up to one decimal). Service packages are priced per month on top and are not part of the credit.
"""

from __future__ import annotations

import datetime
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from decimal import Decimal

from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext, gettext_lazy

from core.money import Money
from leasing.calculations.aprc import aprc_percent, schedule_cash_flows
from leasing.calculations.errors import InstalmentNotPositiveError
from leasing.calculations.schedule import (
    LoanTerms,
    PaymentTiming,
    Schedule,
    schedule_build,
    schedule_instalments_check,
    total_amount_payable,
    total_cost_of_credit,
)
from leasing.errors import (
    DateInvalidError,
    DownPaymentInvalidError,
    MileageInvalidError,
    PriceInvalidError,
    RepaymentTooSmallError,
    ResidualInvalidError,
    ServicePackageInvalidError,
    TermOutsideProductError,
    UnknownProductError,
)
from leasing.models import LeaseProduct, ProductKind, Quote, ServicePackage

MAX_START_DAYS_AHEAD = 365


@dataclass(frozen=True, kw_only=True)
class QuoteInput:
    """What the customer chooses. Money in minor units; `residual_value` None lets the product decide (the mileage
    band for a mileage lease, none otherwise); `yearly_km` only for leases; `start_date` None means today."""

    product_code: str
    price: int
    down_payment: int = 0
    term_months: int
    yearly_km: int | None = None
    residual_value: int | None = None
    timing: str = PaymentTiming.IN_ARREARS
    start_date: datetime.date | None = None
    service_package_codes: Sequence[str] = ()


@dataclass(frozen=True, kw_only=True)
class QuoteResult:
    """The priced quote: the validated input, the schedule and the figures disclosed to the customer."""

    product: LeaseProduct
    service_packages: tuple[ServicePackage, ...]
    price: int
    down_payment: int
    yearly_km: int | None
    schedule: Schedule
    arrangement_fee: int
    monthly_services: int
    total_cost_of_credit: int
    total_amount_payable: int
    aprc_percent: Decimal

    @property
    def terms(self) -> LoanTerms:
        return self.schedule.terms


def _product_get(*, code: str) -> LeaseProduct:
    product = LeaseProduct.objects.filter(code=code, is_active=True).first() if isinstance(code, str) else None
    if product is None:
        raise UnknownProductError(f"There is no product {code!r}.", fields={"product_code": ["Unknown product."]})
    return product


def _check_amounts(*, data: QuoteInput, product: LeaseProduct) -> None:
    if type(data.price) is not int or not product.min_price <= data.price <= product.max_price:
        raise PriceInvalidError(
            f"The price must be between {Money(product.min_price, product.currency)} and "
            f"{Money(product.max_price, product.currency)}.",
            fields={"price": ["Outside the product's range."]},
        )
    if type(data.down_payment) is not int or not 0 <= data.down_payment < data.price:
        raise DownPaymentInvalidError(
            gettext_lazy("The down payment must be at least zero and below the price."),
            fields={"down_payment": ["Invalid."]},
        )
    if type(data.term_months) is not int or not product.min_term_months <= data.term_months <= product.max_term_months:
        raise TermOutsideProductError(
            f"This product runs {product.min_term_months} to {product.max_term_months} months.",
            fields={"term_months": ["Outside the product's terms."]},
        )
    if data.timing not in PaymentTiming.__members__.values():
        raise DateInvalidError(gettext_lazy("Payments are in advance or in arrears."), code="timing_invalid")


def _start_date(*, data: QuoteInput) -> datetime.date:
    today = timezone.localdate()
    start = data.start_date or today
    if not isinstance(start, datetime.date) or isinstance(start, datetime.datetime):
        raise DateInvalidError(gettext_lazy("The start date must be a date."), fields={"start_date": ["Not a date."]})
    if not today <= start <= today + datetime.timedelta(days=MAX_START_DAYS_AHEAD):
        raise DateInvalidError(
            gettext_lazy("The start date must be today or within a year."), fields={"start_date": ["Out of range."]}
        )
    return start


def _residual(*, data: QuoteInput, product: LeaseProduct, bands: Mapping[int, Decimal]) -> int:
    """The residual value in minor units, checked against the product's rules and the financed amount; `bands` are
    the product's residual percentages by yearly km (see `_mileage_bands`)."""
    financed = data.price - data.down_payment
    if product.kind == ProductKind.MILEAGE_LEASE:
        if data.residual_value is not None:
            raise ResidualInvalidError(
                gettext_lazy("In a mileage lease the residual value follows the mileage band."),
                fields={"residual_value": ["Leave empty."]},
            )
        residual_percent = bands[data.yearly_km]  # type: ignore[index]  # _check_mileage admitted it
        residual = Money.from_decimal(
            Money(data.price, product.currency).to_decimal() * residual_percent / 100, product.currency
        ).amount
        return min(residual, financed)
    residual = data.residual_value or 0
    ceiling = Money.from_decimal(
        Money(data.price, product.currency).to_decimal() * product.max_residual_percent / 100, product.currency
    ).amount
    if type(residual) is not int or residual < 0 or residual > min(ceiling, financed):
        raise ResidualInvalidError(
            f"The residual value must be between 0 and {Money(min(ceiling, financed), product.currency)}.",
            fields={"residual_value": ["Outside the product's range."]},
        )
    return residual


def _mileage_bands(*, product: LeaseProduct) -> dict[int, Decimal]:
    """The product's residual percentages by yearly km, in one query (none for a product without mileage)."""
    if not product.needs_mileage:
        return {}
    return dict(product.mileage_bands.order_by().values_list("yearly_km", "residual_percent"))


def _check_mileage(*, data: QuoteInput, product: LeaseProduct, bands: Mapping[int, Decimal]) -> None:
    if not product.needs_mileage:
        if data.yearly_km is not None:
            raise MileageInvalidError(gettext_lazy("A loan has no mileage."), fields={"yearly_km": ["Leave empty."]})
        return
    if data.yearly_km not in bands:
        raise MileageInvalidError(
            f"Choose a yearly mileage of {', '.join(str(km) for km in sorted(bands))} km.",
            fields={"yearly_km": ["Not offered for this product."]},
        )


def _service_packages(*, data: QuoteInput, product: LeaseProduct) -> tuple[ServicePackage, ...]:
    codes = list(dict.fromkeys(data.service_package_codes))
    if not codes:
        return ()
    packages = list(product.service_packages.filter(code__in=codes, is_active=True, currency=product.currency))
    if len(packages) != len(codes):
        raise ServicePackageInvalidError(
            gettext_lazy("A chosen service package is not offered with this product."),
            fields={"service_package_codes": ["Invalid."]},
        )
    return tuple(sorted(packages, key=lambda package: package.code))


def _schedule(*, terms: LoanTerms, product: LeaseProduct) -> Schedule:
    """The schedule of `terms`, refused by name when an instalment would be zero or negative: the down payment and
    the residual value leave too little to repay over the term (a lessor does not book a lease it cannot collect)."""
    schedule = schedule_build(terms=terms)
    try:
        schedule_instalments_check(schedule=schedule)
    except InstalmentNotPositiveError:
        left = terms.financed_amount - terms.residual
        detail = gettext(
            "The down payment and the residual value leave %(amount)s to repay over %(months)s months, too little "
            "for an instalment every month."
        ) % {"amount": left, "months": terms.periods}
        message = gettext("Too little is left to repay each month.")
        if product.is_mileage_lease:
            hint, fields = gettext("Lower the down payment or choose a higher yearly mileage."), ["down_payment"]
        else:
            hint, fields = gettext("Lower the down payment or the residual value."), ["down_payment", "residual_value"]
        raise RepaymentTooSmallError(f"{detail} {hint}", fields={field: [message] for field in fields}) from None
    return schedule


def quote_calculate(*, data: QuoteInput) -> QuoteResult:
    """Prices `data` without storing anything; raises a named `ValidationFailed` for any input the product refuses."""
    product = _product_get(code=data.product_code)
    _check_amounts(data=data, product=product)
    bands = _mileage_bands(product=product)
    _check_mileage(data=data, product=product, bands=bands)
    residual = _residual(data=data, product=product, bands=bands)
    packages = _service_packages(data=data, product=product)
    currency = product.currency
    terms = LoanTerms(
        financed_amount=Money(data.price - data.down_payment, currency),
        nominal_rate_percent=product.nominal_rate_percent,
        periods=data.term_months,
        start_date=_start_date(data=data),
        timing=PaymentTiming(data.timing),
        residual_value=Money(residual, currency),
    )
    schedule = _schedule(terms=terms, product=product)
    fees = Money(product.arrangement_fee, currency)
    monthly_services = sum(package.monthly_price for package in packages)
    return QuoteResult(
        product=product,
        service_packages=packages,
        price=data.price,
        down_payment=data.down_payment,
        yearly_km=data.yearly_km if product.needs_mileage else None,
        schedule=schedule,
        arrangement_fee=fees.amount,
        monthly_services=monthly_services,
        total_cost_of_credit=total_cost_of_credit(schedule=schedule, fees=fees).amount,
        total_amount_payable=total_amount_payable(schedule=schedule, fees=fees).amount
        + monthly_services * data.term_months,
        aprc_percent=aprc_percent(cash_flows=schedule_cash_flows(schedule=schedule, upfront_fees=fees)),
    )


@transaction.atomic
def quote_create(*, data: QuoteInput, created_by: object | None = None) -> Quote:
    """Prices and stores a quote (for its PDF and to apply for it); `created_by` is None for anonymous visitors."""
    result = quote_calculate(data=data)
    terms = result.terms
    quote = Quote.objects.create(
        product=result.product,
        created_by=created_by if getattr(created_by, "is_authenticated", False) else None,
        currency=terms.currency,
        price=result.price,
        down_payment=result.down_payment,
        term_months=terms.periods,
        yearly_km=result.yearly_km,
        residual_value=terms.residual.amount,
        timing=terms.timing.value,
        start_date=terms.start_date,
        nominal_rate_percent=terms.nominal_rate_percent,
        financed_amount=terms.financed_amount.amount,
        arrangement_fee=result.arrangement_fee,
        monthly_instalment=result.schedule.regular_instalment.amount,
        monthly_services=result.monthly_services,
        total_interest=result.schedule.total_interest.amount,
        total_cost_of_credit=result.total_cost_of_credit,
        total_amount_payable=result.total_amount_payable,
        aprc_percent=result.aprc_percent,
    )
    if result.service_packages:  # a new quote has none yet: nothing to read or remove
        quote.service_packages.add(*result.service_packages)
    return quote


def quote_terms(*, quote: Quote) -> LoanTerms:
    """The loan terms a stored quote was priced with; `schedule_build` on them gives the same cents again."""
    currency = quote.currency
    return LoanTerms(
        financed_amount=Money(quote.financed_amount, currency),
        nominal_rate_percent=quote.nominal_rate_percent,
        periods=quote.term_months,
        start_date=quote.start_date,
        timing=PaymentTiming(quote.timing),
        residual_value=Money(quote.residual_value, currency),
    )
