"""Changes and endings of a running contract: payoff quote, early termination, restructure / payment holiday.

The payoff on a date is the outstanding principal (the remaining instalments and the residual, discounted at the
contract rate — `leasing.calculations.schedule.payoff_amount`), plus interest accrued to the date, plus everything
due earlier and still unpaid (instalments, fees, late fees). Future service packages are saved costs and are not
charged. On the start date it is therefore the financed amount plus the arrangement fee. All amounts minor units.
"""

from __future__ import annotations

import datetime
from dataclasses import dataclass
from decimal import Decimal, localcontext

from django.conf import settings
from django.db import transaction
from django.db.models import Q, Sum
from django.utils import timezone
from django.utils.translation import gettext_lazy

from accounts.models import User
from core.money import Money
from leasing import ledger
from leasing.calculations.daycount import add_months
from leasing.calculations.schedule import LoanTerms, payoff_amount, schedule_build, schedule_instalments_check
from leasing.errors import ContractStateError, DateInvalidError, PayoffQuoteExpiredError, TermOutsideProductError
from leasing.models import (
    Contract,
    ContractEndReason,
    ContractEvent,
    ContractStatus,
    PayoffQuote,
    ScheduleItem,
    ScheduleItemKind,
    ScheduleItemStatus,
)
from leasing.services.schedules import contract_schedule, contract_terms, schedule_item_add, schedule_items_write
from payments.ledger.registry import Purpose, TransferCode

RUNNING = (ContractStatus.ACTIVE, ContractStatus.IN_ARREARS)
SCHEDULED_KINDS = (ScheduleItemKind.INSTALMENT, ScheduleItemKind.BALLOON)
MAX_PAYOFF_DAYS_AHEAD = 60
MAX_HOLIDAY_MONTHS = 6


@dataclass(frozen=True)
class PayoffFigures:
    outstanding_principal: int
    accrued_interest: int
    open_charges: int

    @property
    def amount(self) -> int:
        return self.outstanding_principal + self.accrued_interest + self.open_charges


def payoff_figures(*, contract: Contract, on: datetime.date) -> PayoffFigures:
    """The payoff on `on` split into principal, accrued interest and unpaid charges (raises outside the term)."""
    schedule = contract_schedule(contract=contract)
    total = payoff_amount(schedule=schedule, on=on)
    paid = [row for row in schedule.instalments if row.due_date < on]
    principal = paid[-1].balance_after if paid else schedule.terms.financed_amount
    unpaid = ScheduleItem.objects.filter(contract=contract, status=ScheduleItemStatus.DUE).filter(
        Q(due_date__lt=on) | (Q(due_date=on) & ~Q(kind__in=SCHEDULED_KINDS))
    )
    return PayoffFigures(
        outstanding_principal=principal.amount,
        accrued_interest=(total - principal).amount,
        open_charges=unpaid.aggregate(total=Sum("amount"))["total"] or 0,
    )


@transaction.atomic
def payoff_quote_create(*, contract_id: int, payoff_date: datetime.date, created_by: User | None) -> PayoffQuote:
    """A dated payoff quote, valid for `LEASING_PAYOFF_QUOTE_VALID_DAYS` days (default 10)."""
    contract = Contract.objects.select_for_update().get(pk=contract_id)
    if contract.status not in RUNNING:
        raise ContractStateError(gettext_lazy("Only a running contract can be paid off."))
    today = timezone.localdate()
    if not isinstance(payoff_date, datetime.date) or not today <= payoff_date <= today + datetime.timedelta(
        days=MAX_PAYOFF_DAYS_AHEAD
    ):
        raise DateInvalidError(
            gettext_lazy("The payoff date must be today or within 60 days."), fields={"payoff_date": ["Out of range."]}
        )
    figures = payoff_figures(contract=contract, on=payoff_date)
    valid_days = int(getattr(settings, "LEASING_PAYOFF_QUOTE_VALID_DAYS", 10))
    return PayoffQuote.objects.create(
        contract=contract,
        payoff_date=payoff_date,
        valid_until=payoff_date + datetime.timedelta(days=valid_days),
        outstanding_principal=figures.outstanding_principal,
        accrued_interest=figures.accrued_interest,
        open_charges=figures.open_charges,
        amount=figures.amount,
        created_by=created_by,
    )


@transaction.atomic
def contract_terminate_early(*, payoff_quote_id: int, actor: User) -> Contract:
    """Ends the contract at a valid payoff quote: the remaining schedule is superseded and one settlement row of
    principal plus accrued interest falls due on the payoff date (earlier unpaid rows stay due)."""
    quote = PayoffQuote.objects.select_for_update().get(pk=payoff_quote_id)
    contract = Contract.objects.select_for_update().get(pk=quote.contract_id)
    if contract.status not in RUNNING or quote.used_at is not None:
        raise ContractStateError(gettext_lazy("This contract cannot be terminated with this quote."))
    if timezone.localdate() > quote.valid_until:
        raise PayoffQuoteExpiredError(gettext_lazy("The payoff quote has expired; ask for a new one."))
    ScheduleItem.objects.filter(
        contract=contract, status=ScheduleItemStatus.DUE, kind__in=SCHEDULED_KINDS, due_date__gte=quote.payoff_date
    ).update(status=ScheduleItemStatus.SUPERSEDED)
    if quote.outstanding_principal + quote.accrued_interest > 0:
        schedule_item_add(
            contract=contract,
            kind=ScheduleItemKind.SETTLEMENT,
            due_date=quote.payoff_date,
            principal=quote.outstanding_principal,
            interest=quote.accrued_interest,
        )
    now = timezone.now()
    quote.used_at = now
    quote.save(update_fields=["used_at"])
    contract.status, contract.end_reason, contract.ended_at = (
        ContractStatus.ENDED,
        ContractEndReason.EARLY_TERMINATION,
        now,
    )
    contract.save(update_fields=["status", "end_reason", "ended_at", "updated_at"])
    ContractEvent.objects.create(
        contract=contract, kind="terminated_early", detail=f"payoff {quote.amount}", actor=actor
    )
    return contract


def _capitalised(*, principal: Money, rate_percent: Decimal, months: int) -> Money:
    """`principal` with `months` of monthly compound interest added (the payment holiday's interest)."""
    with localcontext() as context:
        context.prec = 40
        factor = (1 + rate_percent / 1200) ** months
        return Money.from_decimal(principal.to_decimal() * factor, principal.currency)


@transaction.atomic
def contract_restructure(
    *,
    contract_id: int,
    actor: User,
    effective_date: datetime.date,
    holiday_months: int,
    remaining_months: int,
    reason: str,
) -> Contract:
    """A payment holiday and/or new term: open instalments after `effective_date` are superseded; the principal then
    outstanding, with the holiday's interest capitalised, is spread over `remaining_months` starting after the holiday.
    """
    contract = Contract.objects.select_for_update().get(pk=contract_id)
    if contract.status not in RUNNING:
        raise ContractStateError(gettext_lazy("Only a running contract can be restructured."))
    terms = contract_terms(contract=contract)
    if not timezone.localdate() <= effective_date < terms.end_date:
        raise DateInvalidError(
            gettext_lazy("The change must take effect between today and the end of the term."),
            fields={"effective_date": ["Out of range."]},
        )
    if not 0 <= holiday_months <= MAX_HOLIDAY_MONTHS or not 1 <= remaining_months <= contract.product.max_term_months:
        raise TermOutsideProductError(gettext_lazy("The holiday or the new term is outside what the product allows."))
    if not reason.strip():
        raise DateInvalidError(
            gettext_lazy("A restructure needs a reason."), code="reason_required", fields={"reason": ["Required."]}
        )
    schedule = contract_schedule(contract=contract)
    paid = [row for row in schedule.instalments if row.due_date <= effective_date]
    outstanding = paid[-1].balance_after if paid else terms.financed_amount
    principal = _capitalised(principal=outstanding, rate_percent=terms.nominal_rate_percent, months=holiday_months)
    new_terms = LoanTerms(
        financed_amount=principal,
        nominal_rate_percent=terms.nominal_rate_percent,
        periods=remaining_months,
        start_date=add_months(start=effective_date, months=holiday_months),
        timing=terms.timing,
        residual_value=terms.residual,
    )
    # Refused (a named error, nothing written) when the new term leaves an instalment at zero or below.
    new_schedule = schedule_build(terms=new_terms)
    schedule_instalments_check(schedule=new_schedule)
    ScheduleItem.objects.filter(
        contract=contract, status=ScheduleItemStatus.DUE, kind__in=SCHEDULED_KINDS, due_date__gt=effective_date
    ).update(status=ScheduleItemStatus.SUPERSEDED)
    contract.schedule_version += 1
    contract.schedule_principal, contract.schedule_start_date = principal.amount, new_terms.start_date
    contract.schedule_periods = remaining_months
    contract.save()
    schedule_items_write(contract=contract, schedule=new_schedule)
    ledger.posting_book(
        event=f"restructure:{contract.pk}:{contract.schedule_version}",
        currency=contract.currency,
        legs=[
            ledger.Leg(
                "holiday_interest",
                contract.receivable_account_id,
                ledger.book_account_id(purpose=Purpose.LEASE_INTEREST_REVENUE, currency=contract.currency),
                (principal - outstanding).amount,
                TransferCode.LEASE_INTEREST_ACCRUAL,
            )
        ],
    )
    ContractEvent.objects.create(
        contract=contract,
        kind="restructured",
        actor=actor,
        detail=f"v{contract.schedule_version}: {holiday_months} months holiday, "
        f"{remaining_months} instalments: {reason}"[:500],
    )
    return contract
