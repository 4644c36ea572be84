"""The stored repayment schedule of a contract: written from `leasing.calculations.schedule`, version by version."""

from __future__ import annotations

import datetime

from django.db.models import Max

from core.money import Money
from leasing.calculations.schedule import (
    LoanTerms,
    PaymentTiming,
    Schedule,
    schedule_build,
    schedule_instalments_check,
)
from leasing.models import Contract, ProductKind, ScheduleItem, ScheduleItemKind, ScheduleItemStatus


def contract_terms(*, contract: Contract) -> LoanTerms:
    """The loan terms of the contract's current schedule version."""
    currency = contract.currency
    return LoanTerms(
        financed_amount=Money(contract.schedule_principal, currency),
        nominal_rate_percent=contract.nominal_rate_percent,
        periods=contract.schedule_periods,
        start_date=contract.schedule_start_date,
        timing=PaymentTiming(contract.timing),
        residual_value=Money(contract.residual_value, currency),
    )


def contract_schedule(*, contract: Contract) -> Schedule:
    """The calculated schedule of the current version; equal, cent for cent, to the stored instalment rows."""
    return schedule_build(terms=contract_terms(contract=contract))


def schedule_items_write(*, contract: Contract, schedule: Schedule, first_number: int = 1) -> list[ScheduleItem]:
    """Stores the instalments of `schedule` (plus the service packages' monthly price on each) under the contract's
    current version; a loan's balloon becomes its own row on the end date. Amounts in minor units.

    A schedule with a zero or negative instalment is refused with `InstalmentNotPositiveError` before anything is
    written (quotes refuse such terms already; this keeps a quote priced before that rule from reaching the table's
    CHECK constraint as an IntegrityError)."""
    schedule_instalments_check(schedule=schedule)
    rows = [
        ScheduleItem(
            contract=contract,
            schedule_version=contract.schedule_version,
            number=first_number + index,
            kind=ScheduleItemKind.INSTALMENT,
            due_date=row.due_date,
            amount=row.amount.amount + contract.monthly_services,
            interest=row.interest.amount,
            principal=row.principal.amount,
            services=contract.monthly_services,
            balance_after=row.balance_after.amount,
        )
        for index, row in enumerate(schedule.instalments)
    ]
    residual = schedule.terms.residual
    if contract.kind == ProductKind.INSTALMENT_LOAN and not residual.is_zero:
        closing = schedule.instalments[-1].balance_after
        rows.append(
            ScheduleItem(
                contract=contract,
                schedule_version=contract.schedule_version,
                number=first_number + len(rows),
                kind=ScheduleItemKind.BALLOON,
                due_date=schedule.end_date,
                amount=closing.amount + schedule.final_period_interest.amount,
                interest=schedule.final_period_interest.amount,
                principal=closing.amount,
            )
        )
    return ScheduleItem.objects.bulk_create(rows)


def schedule_item_add(
    *,
    contract: Contract,
    kind: ScheduleItemKind,
    due_date: datetime.date,
    principal: int = 0,
    interest: int = 0,
    fee: int = 0,
    origin: ScheduleItem | None = None,
) -> ScheduleItem:
    """Adds a charge (fee, late fee, settlement) to the current version; the caller holds the contract's row lock."""
    last = ScheduleItem.objects.filter(contract=contract, schedule_version=contract.schedule_version).aggregate(
        last=Max("number")
    )["last"]
    return ScheduleItem.objects.create(
        contract=contract,
        schedule_version=contract.schedule_version,
        number=(last or 0) + 1,
        kind=kind,
        due_date=due_date,
        amount=principal + interest + fee,
        principal=principal,
        interest=interest,
        fee=fee,
        origin=origin,
        status=ScheduleItemStatus.DUE,
    )
