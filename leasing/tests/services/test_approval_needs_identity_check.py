"""Approval waits for the customer's identity check: without a passed check (over 18, shown from a wallet over
OpenID4VP) the service, the back-office page and the API refuse by name and change nothing; the pages of back
office, customer and dealer say where the check stands and what the next step is."""

from __future__ import annotations

import pytest
from django.urls import reverse
from django.utils import timezone
from django.utils.html import escape

from accounts.roles import Role
from leasing.errors import IdentityCheckRequiredError
from leasing.models import Application, ApplicationApproval, Contract, IdentityCheck
from leasing.services import applications
from leasing.services.applications import IDENTITY_CHECK_REQUIRED_TEXT
from leasing.services.identity_checks import identity_check_start
from leasing.tests import factories

pytestmark = pytest.mark.django_db
APPROVAL_WAITS = "Approval waits for the identity check"


@pytest.fixture
def application(customer, dealer, mileage_product) -> Application:
    """An application of the dealer's organisation whose credit check is recorded: it waits for a decision."""
    return factories.application_waiting_for_decision(
        customer=customer, product=mileage_product, dealer_organisation=dealer.dealer_organisation
    )


def state(application: Application) -> tuple:
    """Everything an approval would change."""
    application.refresh_from_db()
    return (
        application.status,
        application.decided_at,
        ApplicationApproval.objects.filter(application=application).count(),
        Contract.objects.filter(application=application).count(),
        list(IdentityCheck.objects.filter(application=application).values_list("pk", "status")),
    )


def with_an_open_check(application):
    identity_check_start(application=application)


def with_a_refused_check(application):
    check = identity_check_start(application=application)
    IdentityCheck.objects.filter(pk=check.pk).update(
        status="refused", refusal_reason="revoked", completed_at=timezone.now()
    )


def with_a_check_saying_under_18(application):
    check = identity_check_start(application=application)
    IdentityCheck.objects.filter(pk=check.pk).update(status="verified", is_over_18=False, completed_at=timezone.now())


@pytest.mark.parametrize(
    "arrange",
    [lambda application: None, with_an_open_check, with_a_refused_check, with_a_check_saying_under_18],
    ids=["no check", "open check", "refused check", "under 18"],
)
def test_the_service_refuses_approval_without_a_passed_identity_check_and_changes_nothing(
    application, back_office, arrange
):
    arrange(application)
    before = state(application)

    with pytest.raises(IdentityCheckRequiredError) as refused:
        applications.application_approve(application_id=application.pk, approved_by=back_office, reason="Fits policy")

    assert refused.value.code == "identity_check_required" and refused.value.status == 409
    # a verified "not over 18" names the decline instead of a check the customer cannot repeat
    next_step = (
        "not over 18" if arrange is with_a_check_saying_under_18 else "answers its identity check from their wallet"
    )
    assert next_step in refused.value.detail
    assert state(application) == before


def test_not_even_the_first_of_two_approvals_is_taken_without_it(settings, customer, make_user, mileage_product):
    settings.LEASING_FOUR_EYES_LIMIT = 20_000_00
    application = applications.application_create(customer=customer, quote_input=factories.quote_input(mileage_product))
    applications.application_credit_verdict_record(application_id=application.pk, verdict="approved", source="x")
    first, second = make_user(Role.BACK_OFFICE), make_user(Role.BACK_OFFICE)
    before = state(application)

    for user in (first, second):
        with pytest.raises(IdentityCheckRequiredError):
            applications.application_approve(application_id=application.pk, approved_by=user, reason="ok")
    assert state(application) == before

    factories.identity_check_pass(application)
    applications.application_approve(application_id=application.pk, approved_by=first, reason="ok")
    application = applications.application_approve(application_id=application.pk, approved_by=second, reason="ok")
    assert application.status == "approved" and application.contract.status == "offered"


def test_the_back_office_page_shows_the_next_step_and_a_posted_approval_is_refused(
    application, back_office, client_for
):
    staff = client_for(back_office)
    detail = reverse("leasing:application-detail", args=[application.pk])
    page = staff.get(detail).text
    assert APPROVAL_WAITS in page and 'data-testid="identity-check-next-step"' in page
    assert f'action="{reverse("leasing:application-approve", args=[application.pk])}"' not in page
    assert ">not checked yet<" in page
    before = state(application)

    posted = staff.post(
        reverse("leasing:application-approve", args=[application.pk]), {"approve-reason": "Fits policy"}, follow=True
    )

    assert posted.status_code == 200
    assert escape(str(IDENTITY_CHECK_REQUIRED_TEXT)) in posted.text and "Approval recorded." not in posted.text
    assert state(application) == before


def test_the_api_refuses_approval_by_name_and_changes_nothing(application, back_office, client_for):
    staff = client_for(back_office)
    url = reverse("leasing-api:application-approve", args=[application.pk])
    before = state(application)

    refused = staff.post(url, {"reason": "Fits policy"}, content_type="application/json")

    assert refused.status_code == 409, refused.content
    assert refused.json()["code"] == "identity_check_required"
    assert state(application) == before

    factories.identity_check_pass(application)
    approved = staff.post(url, {"reason": "Fits policy"}, content_type="application/json")
    assert approved.status_code == 200, approved.content
    assert approved.json() == {"id": application.pk, "status": "approved", "approvals_required": 1}


def test_every_party_sees_the_identity_check_and_approval_opens_once_it_passed(
    application, customer, dealer, back_office, client_for
):
    detail = reverse("leasing:application-detail", args=[application.pk])
    mine = client_for(customer).get(detail).text
    assert 'data-testid="identity-check-next-step"' in mine and 'data-testid="identity-check-start"' in mine
    client_for(customer).post(reverse("leasing:identity-check-start", args=[application.pk]))
    mine = client_for(customer).get(detail).text
    # same device (the wallet app or the wallet in this browser) and cross-device (the QR code)
    for test_id in ("identity-check-qr", "identity-check-wallet-link"):
        assert f'data-testid="{test_id}"' in mine
    assert "/identity/wallet/openid4vp/?client_id=" in mine
    dealers_view = client_for(dealer).get(detail).text
    assert 'data-testid="identity-check">Waiting for the wallet<' in dealers_view
    assert 'data-testid="identity-check-next-step"' in dealers_view

    factories.identity_check_pass(application)

    for viewer in (customer, dealer, back_office):
        page = client_for(viewer).get(detail).text
        assert 'data-testid="identity-check">yes<' in page and 'data-testid="identity-check-next-step"' not in page
    staff_page = client_for(back_office).get(detail).text
    assert APPROVAL_WAITS not in staff_page
    assert f'action="{reverse("leasing:application-approve", args=[application.pk])}"' in staff_page
    staff = client_for(back_office)
    staff.post(reverse("leasing:application-approve", args=[application.pk]), {"approve-reason": "Fits policy"})
    assert state(application)[0] == "approved"
