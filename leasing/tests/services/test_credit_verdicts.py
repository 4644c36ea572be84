"""Collecting credit-check verdicts: the matching one reaches the application, a foreign one never does."""

from __future__ import annotations

import pytest
from django.urls import reverse

from accounts.roles import Role
from identity.models import CreditCheckRequest
from identity.services import registry
from identity.services.credit_checks import credit_check_claim, credit_check_present, credit_check_request_create
from identity.tests.conftest import Wallet
from identity.tests.credit_checks.conftest import credit_sd_jwt, present
from leasing.models import Application, ApplicationStatus, CreditCheck
from leasing.services import applications
from leasing.services.credit_verdicts import application_credit_verdicts_collect
from leasing.tasks import credit_verdicts_collect
from leasing.tests import factories

pytestmark = pytest.mark.django_db


@pytest.fixture
def verdict_for(db):
    """Runs the dealer credit-check flow to a recorded verdict for a request naming ``application_id``."""
    bureau = registry.trusted_issuer_register(
        name="Bureau Nord", kind="credit_bureau", credential_types=["CreditHistoryCredential"]
    )

    def make(*, dealer_user, customer, application_id: int, band: str = "B") -> CreditCheckRequest:
        wallet = Wallet()
        request = credit_check_request_create(
            dealer_user=dealer_user,
            purpose="lease",
            amount=100_00,
            currency="EUR",
            term_months=36,
            lease_application_id=application_id,
        )
        request = credit_check_claim(link_token=request.link_token, customer=customer)
        sd_jwt = credit_sd_jwt(issuer=bureau, wallet=wallet, band=band).verifiable_credential
        credit_check_present(
            request=request, customer=customer, presentation=present(sd_jwt=sd_jwt, wallet=wallet, request=request)
        )
        request.refresh_from_db()
        assert request.status == "decided"
        return request

    return make


def _apply(*, customer, dealer_user, product) -> Application:
    return applications.application_create(
        customer=customer,
        quote_input=factories.quote_input(product),
        dealer_organisation=dealer_user.dealer_organisation,
    )


def _check(application: Application) -> tuple[str, str, str, str]:
    check = CreditCheck.objects.get(application=application)
    return check.status, check.verdict, check.source, check.external_reference


def test_a_matching_verdict_is_recorded_once(verdict_for, mileage_product, customer, dealer):
    application = _apply(customer=customer, dealer_user=dealer, product=mileage_product)
    request = verdict_for(dealer_user=dealer, customer=customer, application_id=application.pk)

    assert _check(application) == ("required", "", "", "")
    assert application_credit_verdicts_collect() == 1
    assert application_credit_verdicts_collect() == 0

    application.refresh_from_db()
    assert application.status == ApplicationStatus.DECISION_PENDING
    assert _check(application) == ("recorded", "approved", "credential", str(request.public_id))


def test_another_organisations_application_is_never_affected(verdict_for, mileage_product, customer, dealer, make_user):
    other_dealer = make_user(Role.DEALER)
    application = _apply(customer=customer, dealer_user=other_dealer, product=mileage_product)
    foreign = verdict_for(dealer_user=dealer, customer=customer, application_id=application.pk)

    # Identity stores the foreign number unchecked; leasing refuses to apply it.
    assert CreditCheckRequest.objects.get(pk=foreign.pk).lease_application_id == application.pk
    assert application_credit_verdicts_collect() == 0
    application.refresh_from_db()
    assert application.status == ApplicationStatus.CREDIT_CHECK_PENDING
    assert _check(application) == ("required", "", "", "")

    # The foreign verdict does not block the application's own one, recorded later.
    own = verdict_for(dealer_user=other_dealer, customer=customer, application_id=application.pk)
    assert application_credit_verdicts_collect() == 1
    assert _check(application) == ("recorded", "approved", "credential", str(own.public_id))


def test_a_verdict_from_another_customer_is_ignored(verdict_for, mileage_product, customer, dealer, make_user):
    application = _apply(customer=customer, dealer_user=dealer, product=mileage_product)
    verdict_for(dealer_user=dealer, customer=make_user(), application_id=application.pk)

    assert application_credit_verdicts_collect() == 0
    assert _check(application) == ("required", "", "", "")


def test_an_application_without_dealer_takes_no_credential_verdict(verdict_for, mileage_product, customer, dealer):
    application = applications.application_create(customer=customer, quote_input=factories.quote_input(mileage_product))
    verdict_for(dealer_user=dealer, customer=customer, application_id=application.pk)

    assert application_credit_verdicts_collect() == 0
    assert _check(application) == ("required", "", "", "")


def test_a_manual_verdict_recorded_first_stands(verdict_for, mileage_product, customer, dealer, back_office):
    application = _apply(customer=customer, dealer_user=dealer, product=mileage_product)
    applications.application_credit_verdict_record(
        application_id=application.pk,
        verdict="referred",
        source="manual",
        reason="Bureau offline, checked by phone.",
        recorded_by=back_office,
    )
    verdict_for(dealer_user=dealer, customer=customer, application_id=application.pk)

    assert application_credit_verdicts_collect() == 0
    assert _check(application) == ("recorded", "referred", "manual", "")


def test_collect_can_be_limited_to_some_applications(verdict_for, mileage_product, customer, dealer):
    first = _apply(customer=customer, dealer_user=dealer, product=mileage_product)
    second = _apply(customer=customer, dealer_user=dealer, product=mileage_product)
    verdict_for(dealer_user=dealer, customer=customer, application_id=first.pk)
    verdict_for(dealer_user=dealer, customer=customer, application_id=second.pk)

    assert application_credit_verdicts_collect(application_ids=[second.pk]) == 1
    assert (_check(first)[0], _check(second)[0]) == ("required", "recorded")
    assert credit_verdicts_collect() == 1
    assert _check(first)[0] == "recorded"


def test_opening_the_application_page_collects_its_verdict(verdict_for, mileage_product, client, customer, dealer):
    application = _apply(customer=customer, dealer_user=dealer, product=mileage_product)
    verdict_for(dealer_user=dealer, customer=customer, application_id=application.pk)
    client.force_login(customer)

    response = client.get(reverse("leasing:application-detail", kwargs={"application_id": application.pk}))

    assert response.status_code == 200
    assert response.context["application"].status == ApplicationStatus.DECISION_PENDING
    assert _check(application)[:2] == ("recorded", "approved")
