"""Payoff quotes, early termination, restructure / payment holiday, and the end-of-term settlements."""

from __future__ import annotations

import datetime

import pytest
from django.utils import timezone

from leasing import ledger
from leasing.calculations.errors import InstalmentNotPositiveError
from leasing.errors import ContractStateError, DateInvalidError, PayoffQuoteExpiredError
from leasing.models import ContractEvent, ContractStatus, PayoffQuote, ScheduleItem
from leasing.services import changes, endings
from leasing.services.collections import collections_run
from leasing.tests import factories

pytestmark = pytest.mark.django_db


def _active(customer, back_office, product, **overrides):
    return factories.contract_active(customer=customer, back_office=back_office, product=product, **overrides)


def test_a_payoff_quote_on_the_start_date_is_financed_amount_plus_fees(customer, back_office, loan_product):
    contract = _active(customer, back_office, loan_product)

    quote = changes.payoff_quote_create(contract_id=contract.pk, payoff_date=contract.start_date, created_by=customer)

    assert (quote.outstanding_principal, quote.accrued_interest, quote.open_charges) == (27_000_00, 0, 250_00)
    assert quote.valid_until == contract.start_date + datetime.timedelta(days=10)


def test_a_payoff_date_in_the_past_is_refused(customer, back_office, loan_product):
    contract = _active(customer, back_office, loan_product)

    with pytest.raises(DateInvalidError):
        changes.payoff_quote_create(
            contract_id=contract.pk, payoff_date=contract.start_date - datetime.timedelta(days=1), created_by=customer
        )
    assert PayoffQuote.objects.count() == 0


def test_early_termination_replaces_the_schedule_by_one_settlement(customer, back_office, loan_product):
    contract = _active(customer, back_office, loan_product)
    factories.balance_fund(user=customer, amount=40_000_00)
    quote = changes.payoff_quote_create(contract_id=contract.pk, payoff_date=timezone.localdate(), created_by=customer)

    changes.contract_terminate_early(payoff_quote_id=quote.pk, actor=back_office)
    collections_run(on=timezone.localdate())

    contract.refresh_from_db()
    assert (contract.status, contract.end_reason) == (ContractStatus.ENDED, "early_termination")
    assert ScheduleItem.objects.filter(contract=contract, status="due").count() == 0
    assert ScheduleItem.objects.filter(contract=contract, status="superseded").count() == 36
    assert ledger.receivable_balance_get(account_id=contract.receivable_account_id) == 0
    assert ledger.customer_balance_get(user_id=customer.pk, currency="EUR") == 40_000_00 - quote.amount
    with pytest.raises(ContractStateError):
        changes.contract_terminate_early(payoff_quote_id=quote.pk, actor=back_office)


def test_an_expired_payoff_quote_is_refused(customer, back_office, loan_product):
    contract = _active(customer, back_office, loan_product)
    quote = changes.payoff_quote_create(contract_id=contract.pk, payoff_date=timezone.localdate(), created_by=customer)
    yesterday = timezone.localdate() - datetime.timedelta(days=1)
    PayoffQuote.objects.filter(pk=quote.pk).update(payoff_date=yesterday, valid_until=yesterday)

    with pytest.raises(PayoffQuoteExpiredError):
        changes.contract_terminate_early(payoff_quote_id=quote.pk, actor=back_office)
    contract.refresh_from_db()
    assert contract.status == ContractStatus.ACTIVE


def test_a_payment_holiday_writes_a_new_schedule_from_the_capitalised_balance(customer, back_office, loan_product):
    contract = _active(customer, back_office, loan_product, residual_value=5_000_00)
    today = timezone.localdate()

    changes.contract_restructure(
        contract_id=contract.pk,
        actor=back_office,
        effective_date=today,
        holiday_months=2,
        remaining_months=40,
        reason="Short-time work",
    )

    contract.refresh_from_db()
    assert contract.schedule_version == 2
    assert contract.schedule_principal > 27_000_00  # two months of interest capitalised
    new_rows = ScheduleItem.objects.filter(contract=contract, schedule_version=2)
    instalments = new_rows.filter(kind="instalment")
    assert instalments.count() == 40
    assert sum(instalments.values_list("principal", flat=True)) == contract.schedule_principal - 5_000_00
    assert new_rows.get(kind="balloon").principal == 5_000_00
    assert ScheduleItem.objects.filter(contract=contract, schedule_version=1, status="superseded").count() == 37
    assert (
        ledger.receivable_balance_get(account_id=contract.receivable_account_id) == contract.schedule_principal + 250_00
    )


def test_a_restructure_leaving_less_than_a_cent_a_month_is_refused_and_changes_nothing(customer, back_office):
    # Twelve cents to repay at 0 %: one cent a month prices; spread over 12 + 36 months it would be 0.00 a month.
    product = factories.short_product(kind="residual_value_lease")
    product.max_term_months = 48
    product.save(update_fields=["max_term_months"])
    contract = _active(
        customer,
        back_office,
        product,
        price=100_00,
        down_payment=39_88,
        residual_value=60_00,
        term_months=12,
        yearly_km=5_000,
    )
    rows_before = list(ScheduleItem.objects.filter(contract=contract).values_list("pk", "status", "amount"))
    assert [amount for _, _, amount in rows_before] == [1] * 12

    with pytest.raises(InstalmentNotPositiveError) as raised:
        changes.contract_restructure(
            contract_id=contract.pk,
            actor=back_office,
            effective_date=timezone.localdate(),
            holiday_months=0,
            remaining_months=48,
            reason="Lower instalments",
        )

    assert raised.value.code == "instalment_not_positive"
    contract.refresh_from_db()
    assert (contract.schedule_version, contract.schedule_periods, contract.schedule_principal) == (1, 12, 60_12)
    assert list(ScheduleItem.objects.filter(contract=contract).values_list("pk", "status", "amount")) == rows_before
    assert not ContractEvent.objects.filter(contract=contract, kind="restructured").exists()
    assert ledger.receivable_balance_get(account_id=contract.receivable_account_id) == 60_12


@pytest.mark.parametrize(
    ("tolerance_kind", "driven", "expected"),
    [
        ("threshold", 45_000 + 2_500, (0, 0)),
        ("threshold", 45_000 + 2_501, (2_501 * 8, 0)),
        ("threshold", 45_000 - 3_000, (0, 3_000 * 4)),
        ("allowance", 45_000 + 2_501, (1 * 8, 0)),
        ("allowance", 45_000 - 3_000, (0, 500 * 4)),
    ],
)
def test_mileage_settlement_applies_the_tolerance(mileage_product, tolerance_kind, driven, expected):
    mileage_product.tolerance_kind = tolerance_kind

    assert (
        endings.mileage_settlement(product=mileage_product, yearly_km=15_000, term_months=36, driven_km=driven)
        == expected
    )


def test_end_of_term_before_the_last_instalment_is_refused(customer, back_office, mileage_product):
    contract = _active(customer, back_office, mileage_product)

    with pytest.raises(ContractStateError):
        endings.contract_end_of_term(contract_id=contract.pk, actor=back_office, driven_km=45_000)


def test_end_of_a_mileage_lease_charges_excess_km_and_clears_the_receivable(customer, back_office, mileage_product):
    start = timezone.localdate() - datetime.timedelta(days=20)
    contract = _active(customer, back_office, mileage_product, term_months=12, yearly_km=10_000)
    # The contract started 12 months ago: move its dates back so the term has ended.
    from leasing.models import Contract

    Contract.objects.filter(pk=contract.pk).update(
        start_date=start.replace(year=start.year - 1), schedule_start_date=start.replace(year=start.year - 1)
    )
    contract.refresh_from_db()
    ScheduleItem.objects.filter(contract=contract).delete()
    from leasing.services.schedules import contract_schedule, schedule_items_write

    schedule_items_write(contract=contract, schedule=contract_schedule(contract=contract))
    factories.balance_fund(user=customer, amount=40_000_00)
    collections_run(on=timezone.localdate())

    settlement = endings.contract_end_of_term(
        contract_id=contract.pk, actor=back_office, driven_km=14_000, damage=300_00
    )

    assert (settlement.mileage_charge, settlement.damage, settlement.residual_owed) == (4_000 * 8, 300_00, 0)
    contract.refresh_from_db()
    assert (contract.status, contract.end_reason) == (ContractStatus.ENDED, "end_of_term")
    collections_run(on=timezone.localdate())
    assert ledger.receivable_balance_get(account_id=contract.receivable_account_id) == 0
