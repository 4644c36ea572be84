"""Applications: the credit check gate, manual verdicts, four-eyes approval, and nothing partial on refusal."""

from __future__ import annotations

import pytest

from accounts.roles import Role
from core.errors import ValidationFailed
from leasing.calculations.errors import InstalmentNotPositiveError
from leasing.errors import ApplicationStateError, FourEyesError, RepaymentTooSmallError, TermOutsideProductError
from leasing.models import (
    Application,
    ApplicationApproval,
    ApplicationStatus,
    Contract,
    CreditCheck,
    Quote,
    ScheduleItem,
)
from leasing.services import applications
from leasing.services.applications import CreditCheckOutcome
from leasing.tests import factories

pytestmark = pytest.mark.django_db


def _apply(customer, product, **overrides) -> Application:
    return applications.application_create(customer=customer, quote_input=factories.quote_input(product, **overrides))


def test_an_application_waits_for_the_credit_check(customer, mileage_product):
    application = _apply(customer, mileage_product)

    assert application.status == ApplicationStatus.CREDIT_CHECK_PENDING
    check = CreditCheck.objects.get(application=application)
    assert (check.status, check.verdict) == ("required", "")
    assert application.approvals_required == 1


def test_the_credit_check_verdict_moves_the_application_to_the_decision(customer, mileage_product):
    application = _apply(customer, mileage_product)

    application = applications.application_credit_verdict_record(
        application_id=application.pk, verdict="approved", source="credential", external_reference="request-7"
    )

    assert application.status == ApplicationStatus.DECISION_PENDING
    check = CreditCheck.objects.get(application=application)
    assert (check.status, check.verdict, check.external_reference) == ("recorded", "approved", "request-7")
    with pytest.raises(ApplicationStateError):
        applications.application_credit_verdict_record(application_id=application.pk, verdict="declined", source="x")


def test_a_declined_verdict_declines_the_application(customer, mileage_product):
    application = _apply(customer, mileage_product)

    application = applications.application_credit_verdict_record(
        application_id=application.pk, verdict="declined", source="credential"
    )

    assert application.status == ApplicationStatus.DECLINED
    assert application.decline_reason == "The credit check was declined."


def test_a_manual_verdict_needs_a_back_office_user_and_a_reason(customer, back_office, mileage_product):
    application = _apply(customer, mileage_product)

    with pytest.raises(ValidationFailed) as raised:
        applications.application_credit_verdict_record(
            application_id=application.pk, verdict="approved", source="manual", recorded_by=back_office, reason=" "
        )
    assert raised.value.code == "reason_required"
    assert CreditCheck.objects.get(application=application).status == "required"

    applications.application_credit_verdict_record(
        application_id=application.pk,
        verdict="referred",
        source="manual",
        recorded_by=back_office,
        reason="Bureau offline; payslips checked",
    )
    check = CreditCheck.objects.get(application=application)
    assert (check.verdict, check.recorded_by, check.reason) == (
        "referred",
        back_office,
        "Bureau offline; payslips checked",
    )


def test_approval_below_the_limit_offers_a_contract(customer, back_office, mileage_product):
    application = factories.application_approved(customer=customer, back_office=back_office, product=mileage_product)

    assert application.status == ApplicationStatus.APPROVED
    contract = Contract.objects.get(application=application)
    assert contract.status == "offered"
    assert contract.document_pdf[:5] == b"%PDF-"


def test_above_the_limit_two_different_back_office_users_must_approve(settings, customer, make_user, mileage_product):
    settings.LEASING_FOUR_EYES_LIMIT = 20_000_00
    first, second = make_user(Role.BACK_OFFICE), make_user(Role.BACK_OFFICE)
    application = _apply(customer, mileage_product)
    applications.application_credit_verdict_record(application_id=application.pk, verdict="approved", source="x")
    factories.identity_check_pass(application)
    assert application.approvals_required == 2

    application = applications.application_approve(application_id=application.pk, approved_by=first, reason="ok")
    assert application.status == ApplicationStatus.DECISION_PENDING
    with pytest.raises(FourEyesError):
        applications.application_approve(application_id=application.pk, approved_by=first, reason="again")
    assert Contract.objects.count() == 0

    application = applications.application_approve(application_id=application.pk, approved_by=second, reason="ok")
    assert application.status == ApplicationStatus.APPROVED
    assert Contract.objects.filter(application=application).count() == 1


def test_approval_before_the_credit_check_is_refused(customer, back_office, mileage_product):
    application = _apply(customer, mileage_product)

    with pytest.raises(ApplicationStateError):
        applications.application_approve(application_id=application.pk, approved_by=back_office, reason="ok")
    assert application.approvals.count() == 0


def test_a_gateway_with_an_immediate_verdict_records_it(customer, mileage_product):
    class ImmediateGateway:
        def credit_check_request(self, *, application):
            return CreditCheckOutcome(verdict="declined", external_reference="bureau-1")

    application = applications.application_create(
        customer=customer, quote_input=factories.quote_input(mileage_product), gateway=ImmediateGateway()
    )

    assert application.status == ApplicationStatus.DECLINED


def test_a_refused_application_leaves_no_quote_or_application(customer, mileage_product):
    with pytest.raises(TermOutsideProductError):
        _apply(customer, mileage_product, term_months=99)

    assert (Quote.objects.count(), Application.objects.count(), CreditCheck.objects.count()) == (0, 0, 0)


ONE_CENT_TO_REPAY = {
    "price": 402_42,
    "down_payment": 201_20,
    "term_months": 2,
    "yearly_km": 5_000,
    "timing": "in_advance",
}


def test_applying_for_terms_that_leave_one_cent_to_repay_is_refused_like_the_quote(customer):
    # The terms whose approval once wrote a 0.00 EUR instalment: refused when applying, by the quote's name.
    product = factories.short_product()

    with pytest.raises(RepaymentTooSmallError) as raised:
        _apply(customer, product, **ONE_CENT_TO_REPAY)

    assert raised.value.code == "repayment_too_small"
    assert (Quote.objects.count(), Application.objects.count(), CreditCheck.objects.count()) == (0, 0, 0)


def test_approving_a_quote_priced_before_the_rule_is_refused_by_name_and_writes_nothing(customer, back_office):
    product = factories.short_product()
    application = _apply(customer, product, **ONE_CENT_TO_REPAY | {"down_payment": 201_19})
    applications.application_credit_verdict_record(application_id=application.pk, verdict="approved", source="x")
    factories.identity_check_pass(application)
    # A quote stored before quotes refused such terms: one cent to repay in two instalments.
    Quote.objects.filter(pk=application.quote_id).update(down_payment=201_20, financed_amount=201_22)

    with pytest.raises(InstalmentNotPositiveError) as raised:
        applications.application_approve(application_id=application.pk, approved_by=back_office, reason="ok")

    assert raised.value.code == "instalment_not_positive"
    application.refresh_from_db()
    assert application.status == ApplicationStatus.DECISION_PENDING
    assert ApplicationApproval.objects.count() == 0
    assert (Contract.objects.count(), ScheduleItem.objects.count()) == (0, 0)
