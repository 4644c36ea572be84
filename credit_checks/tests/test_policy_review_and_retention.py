"""Versioned credit policies, human review, contest and retention."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.test import override_settings
from django.utils import timezone

from core.errors import ConflictError, ValidationFailed
from credit_checks.models import ConsentReceipt, CreditCheckRequest, CreditCheckVerdict, CreditPolicy
from credit_checks.policy import credit_policy_current, credit_policy_version_create
from credit_checks.selectors import (
    LeaseApplicationVerdict,
    credit_check_review_queue,
    credit_check_verdicts_for_lease_applications,
)
from credit_checks.services import (
    credit_check_claim,
    credit_check_contest,
    credit_check_decline,
    credit_check_present,
    credit_check_request_create,
    credit_check_review,
    credit_checks_purge_run,
)
from credit_checks.tests.conftest import present

pytestmark = pytest.mark.django_db


def _decide(open_request, issue_credit, wallet, customer, **credential) -> CreditCheckVerdict:
    request = open_request()
    credit_check_present(
        request=request,
        customer=customer,
        presentation=present(sd_jwt=issue_credit(**credential), wallet=wallet, request=request),
    )
    return CreditCheckVerdict.objects.get(request=request)


def test_a_new_policy_version_applies_to_new_verdicts_only(open_request, issue_credit, wallet, customer, dealer):
    before = _decide(open_request, issue_credit, wallet, customer, band="C")

    stricter = credit_policy_version_create(
        dealer_organisation=dealer.dealer_organisation,
        purpose="lease",
        minimum_score_band="A",
        referral_score_band="B",
        max_credential_age_days=30,
        created_by=dealer,
    )
    after = _decide(open_request, issue_credit, wallet, customer, band="C")

    before.refresh_from_db()
    assert (before.outcome, before.policy.version, before.policy.minimum_score_band) == ("approved", 1, "C")
    assert (after.outcome, after.rule_results, after.policy_id) == (
        "declined",
        ["score_band_below_referral"],
        stricter.pk,
    )
    assert stricter.version == 2
    assert credit_policy_current(dealer_organisation=dealer.dealer_organisation, purpose="lease") == stricter
    assert list(CreditPolicy.objects.values_list("version", flat=True).order_by("version")) == [1, 2]
    version_one = CreditPolicy.objects.get(version=1)
    version_one.minimum_score_band = "A"
    with pytest.raises(ValueError, match="immutable"):
        version_one.save()


def test_a_stale_credential_is_referred(open_request, issue_credit, wallet, customer):
    verdict = _decide(open_request, issue_credit, wallet, customer, days_old=91)

    assert (verdict.outcome, verdict.rule_results) == ("referred", ["credential_too_old"])


def test_policy_versions_refuse_inconsistent_bands(dealer):
    with pytest.raises(ValidationFailed):
        credit_policy_version_create(
            dealer_organisation=dealer.dealer_organisation,
            purpose="financing",
            minimum_score_band="C",
            referral_score_band="B",
            max_credential_age_days=30,
        )
    assert CreditPolicy.objects.filter(purpose="financing").count() == 0


def test_referred_verdicts_are_reviewed_and_a_contest_reopens_them(
    open_request, issue_credit, wallet, customer, back_office, make_user
):
    verdict = _decide(open_request, issue_credit, wallet, customer, band="D")
    approved = _decide(open_request, issue_credit, wallet, customer, band="A")
    assert list(credit_check_review_queue()) == [verdict]
    with pytest.raises(ConflictError):
        credit_check_review(verdict=approved, reviewer=back_office, outcome="declined", reason="no")

    review = credit_check_review(verdict=verdict, reviewer=back_office, outcome="approved", reason="Stable income.")
    assert list(credit_check_review_queue()) == []

    contest = credit_check_contest(verdict=verdict, customer=customer, message="The band is out of date.")
    assert list(credit_check_review_queue()) == [verdict]
    assert (review.reviewer, review.outcome, contest.customer, contest.message) == (
        back_office,
        "approved",
        customer,
        "The band is out of date.",
    )
    stranger = make_user()
    with pytest.raises(Exception) as not_theirs:
        credit_check_contest(verdict=verdict, customer=stranger, message="mine?")
    assert type(not_theirs.value).__name__ == "Http404"
    with pytest.raises(ValidationFailed):
        credit_check_review(verdict=verdict, reviewer=back_office, outcome="declined", reason="  ")
    verdict.refresh_from_db()
    assert verdict.outcome == "referred"


@override_settings(CREDIT_CHECK_RETENTION_DAYS=30)
def test_purge_expires_open_requests_and_deletes_old_ones(open_request, issue_credit, wallet, customer):
    old = _decide(open_request, issue_credit, wallet, customer).request
    CreditCheckRequest.objects.filter(pk=old.pk).update(created_at=timezone.now() - timedelta(days=31))
    waiting = open_request()
    CreditCheckRequest.objects.filter(pk=waiting.pk).update(expires_at=timezone.now() - timedelta(minutes=1))
    recent = _decide(open_request, issue_credit, wallet, customer).request

    assert credit_checks_purge_run() == {"expired": 1, "purged": 1}
    assert credit_checks_purge_run() == {"expired": 0, "purged": 0}

    assert not CreditCheckRequest.objects.filter(pk=old.pk).exists()
    assert CreditCheckRequest.objects.get(pk=waiting.pk).status == "expired"
    assert ConsentReceipt.objects.filter(request=recent).count() == 1
    assert CreditCheckVerdict.objects.filter(request_id=old.pk).count() == 0


def test_a_lease_application_number_is_kept_unchecked_with_its_verdict(issue_credit, wallet, customer, dealer):
    request = credit_check_request_create(
        dealer_user=dealer, purpose="lease", amount=100_00, currency="EUR", term_months=36, lease_application_id=424242
    )
    request = credit_check_claim(link_token=request.link_token, customer=customer)
    credit_check_present(
        request=request, customer=customer, presentation=present(sd_jwt=issue_credit(), wallet=wallet, request=request)
    )
    verdict = CreditCheckVerdict.objects.get(request=request)

    assert credit_check_verdicts_for_lease_applications(application_ids=[424242, 7]) == [
        LeaseApplicationVerdict(
            application_id=424242,
            outcome="approved",
            public_id=str(request.public_id),
            dealer_organisation_id=dealer.dealer_organisation_id,
            customer_id=customer.pk,
            decided_at=verdict.decided_at,
            purpose="lease",
            amount=100_00,
            currency="EUR",
            term_months=36,
        )
    ]
    assert credit_check_verdicts_for_lease_applications(application_ids=[7]) == []
    assert credit_check_verdicts_for_lease_applications(application_ids=[]) == []


def test_an_undecided_request_offers_no_verdict(customer, dealer):
    request = credit_check_request_create(
        dealer_user=dealer, purpose="lease", amount=100_00, currency="EUR", term_months=36, lease_application_id=5
    )
    credit_check_decline(
        request=credit_check_claim(link_token=request.link_token, customer=customer), customer=customer
    )

    assert credit_check_verdicts_for_lease_applications(application_ids=[5]) == []


def test_a_verdict_reaches_the_linked_lease_application(issue_credit, wallet, customer, dealer):
    from leasing.models import Application
    from leasing.services.applications import application_create
    from leasing.services.credit_verdicts import application_credit_verdicts_collect
    from leasing.tests.factories import mileage_lease_product, quote_input

    application = application_create(
        customer=customer,
        quote_input=quote_input(mileage_lease_product()),
        dealer_organisation=dealer.dealer_organisation,
    )
    request = credit_check_request_create(
        dealer_user=dealer,
        purpose="lease",
        amount=application.quote.monthly_total,  # the check covers the application's own terms
        currency="EUR",
        term_months=application.quote.term_months,
        lease_application_id=application.pk,
    )
    request = credit_check_claim(link_token=request.link_token, customer=customer)
    credit_check_present(
        request=request,
        customer=customer,
        presentation=present(sd_jwt=issue_credit(ceiling=5_000_00), wallet=wallet, request=request),
    )
    assert Application.objects.get(pk=application.pk).status == "credit_check_pending"

    assert application_credit_verdicts_collect() == 1

    application = Application.objects.select_related("credit_check").get(pk=application.pk)
    assert (application.credit_check.verdict, application.credit_check.source) == ("approved", "credential")
    assert application.credit_check.external_reference == str(request.public_id)


def test_a_lease_application_of_another_organisation_is_never_affected(
    issue_credit, wallet, customer, dealer, make_user
):
    from accounts.roles import Role
    from leasing.models import Application, CreditCheck
    from leasing.services.applications import application_create
    from leasing.services.credit_verdicts import application_credit_verdicts_collect
    from leasing.tests.factories import mileage_lease_product, quote_input

    other = make_user(Role.DEALER)
    application = application_create(
        customer=customer,
        quote_input=quote_input(mileage_lease_product()),
        dealer_organisation=other.dealer_organisation,
    )
    request = credit_check_request_create(
        dealer_user=dealer,
        purpose="lease",
        amount=100_00,
        currency="EUR",
        term_months=36,
        lease_application_id=application.pk,
    )
    request = credit_check_claim(link_token=request.link_token, customer=customer)
    credit_check_present(
        request=request, customer=customer, presentation=present(sd_jwt=issue_credit(), wallet=wallet, request=request)
    )

    assert application_credit_verdicts_collect() == 0
    assert Application.objects.get(pk=application.pk).status == "credit_check_pending"
    check = CreditCheck.objects.get(application=application)
    assert (check.status, check.verdict, check.external_reference) == ("required", "", "")
