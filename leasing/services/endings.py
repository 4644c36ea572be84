"""End of term: mileage and damage settlement, residual settlement, and the purchase option.

Mileage lease: the vehicle goes back; the lessor bears its value (the residual leaves the receivable against the
vehicle); kilometres over the agreed total cost `excess_km_rate`, kilometres under are refunded at `unused_km_rate`,
after the product's tolerance (threshold or allowance). Residual-value lease: the lessee guarantees the residual; the
vehicle's sale proceeds go against it, a shortfall is owed and a surplus refunded. Purchase option (leases): the
customer pays the residual and keeps the vehicle. A loan's balloon is already a schedule row. Amounts minor units.
"""

from __future__ import annotations

from dataclasses import dataclass

from django.db import transaction
from django.db.models import Max
from django.utils import timezone
from django.utils.translation import gettext_lazy

from accounts.models import User
from core.errors import ValidationFailed
from leasing import ledger
from leasing.errors import ContractStateError
from leasing.models import (
    Contract,
    ContractEndReason,
    ContractEvent,
    ContractStatus,
    LeaseProduct,
    ProductKind,
    ScheduleItem,
    ScheduleItemKind,
    ToleranceKind,
)
from leasing.services.arrears import fee_charge_post
from leasing.services.schedules import contract_schedule, schedule_item_add
from payments.ledger.registry import Purpose, TransferCode


@dataclass(frozen=True)
class EndOfTermSettlement:
    """What the end of term settles: positive amounts are owed by the customer, `refund` is paid to them."""

    mileage_charge: int
    mileage_refund: int
    damage: int
    residual_owed: int
    residual_refund: int

    @property
    def fees_net(self) -> int:
        return self.mileage_charge + self.damage - self.mileage_refund


def mileage_settlement(*, product: LeaseProduct, yearly_km: int, term_months: int, driven_km: int) -> tuple[int, int]:
    """(charge, refund) in minor units for `driven_km` against yearly_km x term; tolerance per product.

    threshold: a difference within ± tolerance costs nothing, beyond it the whole difference counts.
    allowance: the first `tolerance_km` of any difference are free.
    """
    agreed = yearly_km * term_months // 12
    difference = driven_km - agreed
    if product.tolerance_kind == ToleranceKind.THRESHOLD:
        counted = 0 if abs(difference) <= product.tolerance_km else abs(difference)
    else:
        counted = max(abs(difference) - product.tolerance_km, 0)
    if difference > 0:
        return counted * product.excess_km_rate, 0
    return 0, counted * product.unused_km_rate


def _settlement_compute(
    *, contract: Contract, driven_km: int | None, damage: int, sale_proceeds: int | None, purchase: bool
) -> EndOfTermSettlement:
    charge = refund = residual_owed = residual_refund = 0
    if contract.kind == ProductKind.MILEAGE_LEASE and not purchase:
        if driven_km is None or driven_km < 0:
            raise ValidationFailed(
                gettext_lazy("Enter the kilometres driven."),
                code="mileage_invalid",
                fields={"driven_km": ["Required."]},
            )
        charge, refund = mileage_settlement(
            product=contract.product,
            yearly_km=contract.yearly_km or 0,
            term_months=contract.term_months,
            driven_km=driven_km,
        )
    if contract.kind != ProductKind.INSTALMENT_LOAN:
        if purchase:
            residual_owed = contract.residual_value
        elif contract.kind == ProductKind.RESIDUAL_VALUE_LEASE:
            if sale_proceeds is None or sale_proceeds < 0:
                raise ValidationFailed(
                    gettext_lazy("Enter the sale proceeds."),
                    code="sale_proceeds_invalid",
                    fields={"sale_proceeds": ["Required."]},
                )
            residual_owed = max(contract.residual_value - sale_proceeds, 0)
            residual_refund = max(sale_proceeds - contract.residual_value, 0)
    return EndOfTermSettlement(
        mileage_charge=charge,
        mileage_refund=refund,
        damage=damage,
        residual_owed=residual_owed,
        residual_refund=residual_refund,
    )


def _vehicle_post(*, contract: Contract, settlement: EndOfTermSettlement, purchase: bool) -> None:
    """The vehicle's value against the receivable (returned or sold), and refunds to the customer's balance."""
    currency = contract.currency
    bank = ledger.book_account_id(purpose=Purpose.LEASE_SUPPLIER_BANK, currency=currency)
    customer = ledger.customer_balance_account_id(user_id=contract.customer_id, currency=currency)
    vehicle_value = (
        0
        if purchase or contract.kind == ProductKind.INSTALMENT_LOAN
        else contract.residual_value - settlement.residual_owed
    )
    refund_total = settlement.residual_refund + max(-settlement.fees_net, 0)
    # In advance, the residual settles the balance left after the last instalment plus one period's interest.
    final_interest = (
        0
        if contract.kind == ProductKind.INSTALMENT_LOAN
        else (contract_schedule(contract=contract).final_period_interest.amount)
    )
    revenue = ledger.book_account_id(purpose=Purpose.LEASE_INTEREST_REVENUE, currency=currency)
    ledger.posting_book(
        event=f"end_of_term:{contract.pk}",
        currency=currency,
        legs=[
            ledger.Leg(
                "final_interest",
                contract.receivable_account_id,
                revenue,
                final_interest,
                TransferCode.LEASE_INTEREST_ACCRUAL,
            ),
            ledger.Leg(
                "vehicle",
                bank,
                contract.receivable_account_id,
                vehicle_value,
                TransferCode.LEASE_SETTLEMENT_CREDIT,
            ),
            ledger.Leg("refund", bank, customer, refund_total, TransferCode.LEASE_SETTLEMENT_CREDIT),
        ],
    )


@transaction.atomic
def contract_end_of_term(
    *,
    contract_id: int,
    actor: User,
    driven_km: int | None = None,
    damage: int = 0,
    sale_proceeds: int | None = None,
    purchase: bool = False,
) -> EndOfTermSettlement:
    """Settles a contract whose last instalment has fallen due; one settlement row carries what the customer owes."""
    contract = Contract.objects.select_for_update().select_related("product").get(pk=contract_id)
    if contract.status not in (ContractStatus.ACTIVE, ContractStatus.IN_ARREARS):
        raise ContractStateError(gettext_lazy("Only a running contract can be settled."))
    last_due = ScheduleItem.objects.filter(
        contract=contract, schedule_version=contract.schedule_version, kind=ScheduleItemKind.INSTALMENT
    ).aggregate(last=Max("due_date"))["last"]
    today = timezone.localdate()
    if last_due is None or last_due > today:
        raise ContractStateError(gettext_lazy("The term has not ended yet; use a payoff quote to end it early."))
    if type(damage) is not int or damage < 0:
        raise ValidationFailed(
            gettext_lazy("Damage must be zero or more."), code="damage_invalid", fields={"damage": ["Invalid."]}
        )
    settlement = _settlement_compute(
        contract=contract, driven_km=driven_km, damage=damage, sale_proceeds=sale_proceeds, purchase=purchase
    )
    _vehicle_post(contract=contract, settlement=settlement, purchase=purchase)
    fee = max(settlement.fees_net, 0)
    if settlement.residual_owed + fee > 0:
        row = schedule_item_add(
            contract=contract,
            kind=ScheduleItemKind.SETTLEMENT,
            due_date=today,
            principal=settlement.residual_owed,
            fee=fee,
        )
        if fee:
            fee_charge_post(contract=contract, item=row)
    now = timezone.now()
    contract.status, contract.ended_at = ContractStatus.ENDED, now
    contract.end_reason = ContractEndReason.PURCHASED if purchase else ContractEndReason.END_OF_TERM
    contract.save(update_fields=["status", "end_reason", "ended_at", "updated_at"])
    ContractEvent.objects.create(contract=contract, kind="end_of_term", actor=actor, detail=str(settlement)[:500])
    return settlement
