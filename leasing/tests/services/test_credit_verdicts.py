"""Collecting credit-check verdicts: the matching one reaches the application, a foreign one never does."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.urls import reverse
from django.utils import timezone

from accounts.roles import Role
from accounts.tests.factories import DealerOrganisationFactory
from core.money import Money
from credit_checks.models import CreditCheckRequest, CreditCheckVerdict
from credit_checks.services import credit_check_claim, credit_check_present, credit_check_request_create
from credit_checks.tests.conftest import credit_sd_jwt, present
from identity.services import registry
from identity.tests.conftest import Wallet
from leasing.models import Application, ApplicationStatus, CreditCheck, CreditVerdictRefusal, Quote
from leasing.services import applications
from leasing.services.credit_verdicts import application_credit_verdicts_collect
from leasing.tasks import credit_verdicts_collect
from leasing.tests import factories

pytestmark = pytest.mark.django_db


@pytest.fixture
def verdict_for(db):
    """Runs the dealer credit-check flow to a recorded verdict for a request naming ``application_id``; unless told
    otherwise the request asks for the application's own terms (monthly total and term), as a dealer should."""
    bureau = registry.trusted_issuer_register(
        name="Bureau Nord", kind="credit_bureau", credential_types=["CreditHistoryCredential"]
    )

    def make(
        *,
        dealer_user,
        customer,
        application_id: int,
        band: str = "B",
        purpose: str = "lease",
        amount: int | None = None,
        currency: str = "EUR",
        term_months: int | None = None,
    ) -> CreditCheckRequest:
        wallet = Wallet()
        quote = Quote.objects.filter(application__pk=application_id).first()
        request = credit_check_request_create(
            dealer_user=dealer_user,
            purpose=purpose,
            amount=amount or (quote.monthly_total if quote else 100_00),
            currency=currency,
            term_months=term_months or (quote.term_months if quote else 36),
            lease_application_id=application_id,
        )
        request = credit_check_claim(link_token=request.link_token, customer=customer)
        sd_jwt = credit_sd_jwt(issuer=bureau, wallet=wallet, band=band, ceiling=10_000_00).verifiable_credential
        credit_check_present(
            request=request,
            customer=customer,
            presentation=present(sd_jwt=sd_jwt, wallet=wallet, request=request),
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


def _refusals(application: Application) -> list[tuple[str, str]]:
    return list(
        CreditVerdictRefusal.objects.filter(application=application)
        .order_by("id")
        .values_list("external_reference", "reason")
    )


@pytest.mark.parametrize(
    ("terms", "reason"),
    [
        ({"purpose": "financing"}, "purpose_differs"),
        ({"currency": "CHF"}, "currency_differs"),
        ({"amount": 1_00}, "amount_below_instalment"),
        ({"term_months": 12}, "term_shorter"),
    ],
    ids=["purpose", "currency", "amount", "term"],
)
def test_a_verdict_for_other_terms_is_refused_with_its_reason(
    verdict_for, mileage_product, customer, dealer, terms, reason
):
    application = _apply(customer=customer, dealer_user=dealer, product=mileage_product)
    request = verdict_for(dealer_user=dealer, customer=customer, application_id=application.pk, **terms)

    assert application_credit_verdicts_collect() == 0
    assert application_credit_verdicts_collect() == 0

    application.refresh_from_db()
    assert application.status == ApplicationStatus.CREDIT_CHECK_PENDING
    assert _check(application) == ("required", "", "", "")
    assert _refusals(application) == [(str(request.public_id), reason)]


def test_a_verdict_for_more_than_the_application_is_applied(verdict_for, mileage_product, customer, dealer):
    application = _apply(customer=customer, dealer_user=dealer, product=mileage_product)
    quote = application.quote
    verdict_for(
        dealer_user=dealer,
        customer=customer,
        application_id=application.pk,
        amount=quote.monthly_total + 1,
        term_months=quote.term_months + 12,
    )

    assert application_credit_verdicts_collect() == 1
    assert _check(application)[:2] == ("recorded", "approved")
    assert _refusals(application) == []


def test_an_old_verdict_is_refused_as_expired(verdict_for, mileage_product, customer, dealer, settings):
    application = _apply(customer=customer, dealer_user=dealer, product=mileage_product)
    request = verdict_for(dealer_user=dealer, customer=customer, application_id=application.pk)
    CreditCheckVerdict.objects.filter(request=request).update(
        decided_at=timezone.now() - timedelta(days=settings.LEASING_CREDIT_VERDICT_VALID_DAYS, seconds=1)
    )

    assert application_credit_verdicts_collect() == 0
    assert _check(application) == ("required", "", "", "")
    assert _refusals(application) == [(str(request.public_id), "verdict_expired")]


def test_a_loan_needs_a_financing_credit_check(verdict_for, loan_product, customer, dealer):
    application = _apply(customer=customer, dealer_user=dealer, product=loan_product)
    lease_check = verdict_for(dealer_user=dealer, customer=customer, application_id=application.pk)
    verdict_for(dealer_user=dealer, customer=customer, application_id=application.pk, purpose="financing")

    assert application_credit_verdicts_collect() == 1
    assert _check(application)[:2] == ("recorded", "approved")
    assert _refusals(application) == [(str(lease_check.public_id), "purpose_differs")]


def test_a_credit_verdict_for_other_terms_is_not_applied_to_a_lease_application(mileage_product, make_user, client_for):
    """The hole: a dealer opens a credit check for 1.00 EUR a month over one month naming a 120,000 EUR application;
    the customer's credential (650.00 EUR ceiling) approves that, and the verdict used to move the application on.
    Over the real pages and APIs: the verdict is refused, the application keeps waiting, back office reads why."""
    customer, staff = make_user(Role.CUSTOMER), make_user(Role.BACK_OFFICE)
    dealer = make_user(Role.DEALER, dealer_organisation=DealerOrganisationFactory())
    customer_client, dealer_client, staff_client = client_for(customer), client_for(dealer), client_for(staff)
    quote = customer_client.post(
        "/api/leasing/quotes",
        data={"product_code": mileage_product.code, "price": 125_000_00, "down_payment": 5_000_00,
              "term_months": 36, "yearly_km": 15_000},
        content_type="application/json",
    ).json()  # fmt: skip
    applied = customer_client.post(
        f"/leasing/quotes/{quote['id']}/apply/", {"dealer_organisation": dealer.dealer_organisation_id}
    )
    application = Application.objects.get(customer=customer)
    assert applied.status_code == 302
    assert application.financed_amount == 120_000_00

    opened = dealer_client.post(
        "/api/identity/credit-checks",
        data={"purpose": "lease", "amount": 1_00, "currency": "EUR", "termMonths": 1,
              "leaseApplicationId": application.pk},
        content_type="application/json",
    )  # fmt: skip
    assert opened.status_code == 201, opened.content
    link_token = opened.json()["link"].rstrip("/").rsplit("/", 1)[-1]
    customer_client.get(f"/identity/credit-checks/respond/{link_token}/")
    request = CreditCheckRequest.objects.get(link_token=link_token)
    wallet = Wallet()
    bureau = registry.trusted_issuer_register(
        name="Bureau Nord", kind="credit_bureau", credential_types=["CreditHistoryCredential"]
    )
    sd_jwt = credit_sd_jwt(issuer=bureau, wallet=wallet, ceiling=650_00).verifiable_credential
    answered = customer_client.post(
        f"/identity/credit-checks/respond/{link_token}/",
        {"action": "present", "presentation": present(sd_jwt=sd_jwt, wallet=wallet, request=request)},
    )
    assert answered.status_code == 302
    assert CreditCheckVerdict.objects.get(request=request).outcome == "approved"  # for 1.00 EUR over one month

    page = staff_client.get(f"/leasing/applications/{application.pk}/")  # opening the page collects verdicts
    assert credit_verdicts_collect() == 0  # and so does beat

    application.refresh_from_db()
    assert application.status == ApplicationStatus.CREDIT_CHECK_PENDING
    assert _check(application) == ("required", "", "", "")
    assert not application.approvals.exists()
    assert _refusals(application) == [(str(request.public_id), "amount_below_instalment")]
    text = page.content.decode()
    assert page.status_code == 200
    assert 'data-testid="application-status">Credit check pending<' in text
    monthly_total = Money(application.quote.monthly_total, "EUR").format()
    assert "The credit check covers less than the monthly instalment." in text
    assert (
        f"It was given for a lease of €1.00 a month over 1 month. The application needs {monthly_total} a month "
        "over 36 months." in text
    )
    assert "amount_below_instalment" not in text
    dealer_page = dealer_client.get(f"/leasing/applications/{application.pk}/").content.decode()
    assert "The credit check covers less than the monthly instalment." in dealer_page
    customer_page = customer_client.get(f"/leasing/applications/{application.pk}/").content.decode()
    assert 'data-testid="credit-verdict-refusals"' not in customer_page
