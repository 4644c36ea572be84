"""A wallet that answers the identity check with a verified "not over 18" ends the application's way to approval: no
new check can be started, approval is refused by name, and customer, dealer and back office are each told the
outcome and what they can do (the customer: apply again once of age, or have a person of age apply; back office:
decline, with the reason filled in) — in English and in German."""

from __future__ import annotations

import pytest
from cryptography.hazmat.primitives.asymmetric import ec
from django.core.files.uploadedfile import SimpleUploadedFile
from django.test import Client
from django.urls import reverse
from django.utils import timezone
from django.utils.html import escape

from core.errors import ConflictError
from identity.tests.openid4vp.holder import encrypted_response, present
from identity.tests.openid4vp.outside_issuer import PID_CLAIMS, outside_credentials_issue
from leasing.errors import IdentityCheckRequiredError
from leasing.models import Application, ApplicationApproval, IdentityCheck
from leasing.services import applications
from leasing.services.applications import APPLICANT_UNDER_18_TEXT
from leasing.services.identity_checks import identity_check_shows_under_18, identity_check_start
from leasing.tests import factories

pytestmark = pytest.mark.django_db
BASE = "https://portal.test"
DECLINE_REASON = (
    "A lease needs the holder to be of age; the identity check from your wallet showed that you are not over 18."
)
TEXTS = {
    "en": {
        "customer": "A lease needs the holder to be of age.",
        "customer_next": "once you are 18, work out a rate with the lease calculator and apply again",
        "dealer": "FinLab's back office declines it; the customer is told on their application page and by e-mail.",
        "back_office": "This application cannot be approved: the customer is not over 18.",
        "reason": escape(DECLINE_REASON),
        "declined": "The application was declined.",
        "start": "start the identity check below",
    },
    "de": {
        "customer": "Ein Leasingvertrag setzt voraus, dass der Leasingnehmer volljährig ist.",
        "customer_next": "sobald Sie 18 sind, berechnen Sie im Leasingrechner eine Rate und stellen einen neuen Antrag",
        "dealer": "Das Backoffice von FinLab lehnt ihn ab; der Kunde erfährt es auf seiner Antragsseite und per E-Mail.",
        "back_office": "Dieser Antrag kann nicht genehmigt werden: Der Kunde ist nicht über 18.",
        "reason": escape(
            "Ein Leasingvertrag setzt voraus, dass der Leasingnehmer volljährig ist; die Identitätsprüfung aus Ihrer "
            "Wallet hat ergeben, dass Sie nicht über 18 sind."
        ),
        "declined": "Der Antrag wurde abgelehnt.",
        "start": "Starten Sie unten die Identitätsprüfung",
    },
}


@pytest.fixture(autouse=True)
def _portal(settings):
    settings.PORTAL_BASE_URL = BASE
    settings.OPENID4VCI_CREDENTIAL_ISSUER = BASE


@pytest.fixture
def application(customer, dealer, mileage_product) -> Application:
    """An application of the dealer's organisation whose credit check is recorded: it waits for a decision."""
    return factories.application_waiting_for_decision(
        customer=customer, product=mileage_product, dealer_organisation=dealer.dealer_organisation
    )


def answered_under_18(application: Application) -> IdentityCheck:
    """The identity check as the verifier leaves it after a valid answer whose ``age_over_18`` is false."""
    check = identity_check_start(application=application)
    IdentityCheck.objects.filter(pk=check.pk).update(status="verified", is_over_18=False, completed_at=timezone.now())
    return check


def state(application: Application) -> tuple:
    application.refresh_from_db()
    return (
        application.status,
        application.decided_at,
        application.decline_reason,
        ApplicationApproval.objects.filter(application=application).count(),
        list(IdentityCheck.objects.filter(application=application).values_list("pk", "status", "is_over_18")),
    )


def page_for(client_for, user, application, language: str) -> str:
    browser: Client = client_for(user)
    browser.defaults["HTTP_ACCEPT_LANGUAGE"] = language
    return browser.get(reverse("leasing:application-detail", args=[application.pk])).text


def test_a_pid_saying_not_over_18_is_verified_and_ends_the_check(
    application, customer, back_office, client, client_for
):
    holder = ec.generate_private_key(ec.SECP256R1())
    outside = outside_credentials_issue(holder, pid_claims={**PID_CLAIMS, "age_over_18": False})
    upload = SimpleUploadedFile("outside-root.pem", outside.root_ca_pem.encode())
    client_for(back_office).post(
        "/identity/trust-anchors/",
        {"name": "Outside PID provider", "certificate_file": upload, "credential_types": ["PersonIdentificationData"]},
    )
    client_for(customer).post(reverse("leasing:identity-check-start", args=[application.pk]))
    check = IdentityCheck.objects.get(application=application)
    presentation = check.presentation_transaction
    vp = present(
        outside.pid, holder=holder, disclose=("age_over_18",), nonce=presentation.nonce, audience=presentation.client_id
    )
    response = encrypted_response(
        {"vp_token": {"identity": [vp]}, "state": presentation.state}, jwk=presentation.encryption_jwk
    )

    answered = client.post(reverse("openid4vp:response", args=[presentation.public_id]), {"response": response})

    assert answered.status_code == 200, answered.content
    check.refresh_from_db()
    assert (check.status, check.is_over_18, check.refusal_reason) == ("verified", False, "")
    assert identity_check_shows_under_18(application=application) is True
    page = page_for(client_for, customer, application, "en")
    assert 'data-testid="identity-check">no<' in page and 'data-testid="applicant-under-18"' in page


def test_no_new_check_can_be_started_after_it_and_nothing_changes(application, customer, client_for):
    answered_under_18(application)
    before = state(application)

    with pytest.raises(ConflictError) as refused:
        identity_check_start(application=application)
    browser = client_for(customer)
    posted = browser.post(reverse("leasing:identity-check-start", args=[application.pk]), follow=True)

    assert refused.value.code == "applicant_under_18" and refused.value.status == 409
    assert "A lease needs the holder to be of age." in refused.value.detail
    assert posted.status_code == 200 and "cannot be repeated" in posted.text
    assert state(application) == before


def test_approval_is_refused_with_the_reason_and_changes_nothing(application, back_office):
    answered_under_18(application)
    before = state(application)

    with pytest.raises(IdentityCheckRequiredError) as refused:
        applications.application_approve(application_id=application.pk, approved_by=back_office, reason="Fits policy")

    assert refused.value.code == "identity_check_required"
    assert refused.value.detail == str(APPLICANT_UNDER_18_TEXT)
    assert state(application) == before


@pytest.mark.parametrize("language", ["en", "de"])
def test_the_customer_is_told_plainly_and_offered_only_what_they_can_do(application, customer, client_for, language):
    answered_under_18(application)

    page = page_for(client_for, customer, application, language)

    texts = TEXTS[language]
    assert 'data-testid="applicant-under-18"' in page
    assert texts["customer"] in page and texts["customer_next"] in page
    assert 'href="/leasing/"' in page  # the lease calculator, for a new application once of age
    assert 'data-testid="identity-check-start"' not in page and 'data-testid="identity-check-next-step"' not in page
    assert texts["start"] not in page
    assert application.dealer_organisation.name in page
    assert 'data-status-url="' in page  # it still updates itself when back office declines


@pytest.mark.parametrize("language", ["en", "de"])
def test_the_dealer_sees_the_same_outcome(application, dealer, client_for, language):
    answered_under_18(application)

    page = page_for(client_for, dealer, application, language)

    assert 'data-testid="applicant-under-18"' in page and TEXTS[language]["dealer"] in page
    assert 'data-testid="identity-check-next-step"' not in page


@pytest.mark.parametrize("language", ["en", "de"])
def test_back_office_gets_the_decline_with_its_reason_filled_in_and_no_approval(
    application, back_office, client_for, language
):
    answered_under_18(application)

    page = page_for(client_for, back_office, application, language)

    assert TEXTS[language]["back_office"] in page
    assert f">\n{TEXTS[language]['reason']}</textarea>" in page
    assert f'action="{reverse("leasing:application-decline", args=[application.pk])}"' in page
    assert f'action="{reverse("leasing:application-approve", args=[application.pk])}"' not in page
    assert 'data-testid="approval-waits-for-identity-check"' not in page


def test_back_office_can_decline_it_while_the_credit_check_is_still_open(customer, back_office, client_for):
    application = applications.application_create(
        customer=customer, quote_input=factories.quote_input(factories.mileage_lease_product())
    )
    answered_under_18(application)

    page = page_for(client_for, back_office, application, "en")

    assert f'action="{reverse("leasing:application-decline", args=[application.pk])}"' in page
    assert f">\n{TEXTS['en']['reason']}</textarea>" in page


@pytest.mark.parametrize("language", ["en", "de"])
def test_once_declined_with_that_reason_the_customer_reads_why(
    application, customer, back_office, client_for, language
):
    answered_under_18(application)
    staff = client_for(back_office)
    url = reverse("leasing:application-decline", args=[application.pk])

    declined = staff.post(url, {"decline-reason": DECLINE_REASON, "confirmed": "yes"})

    assert declined.status_code == 302
    assert state(application)[:1] == ("declined",) and application.decline_reason == DECLINE_REASON
    page = page_for(client_for, customer, application, language)
    assert TEXTS[language]["declined"] in page and TEXTS[language]["customer"] in page
    assert escape(DECLINE_REASON) in page
    assert 'data-testid="identity-check-start"' not in page and 'data-status-url="' not in page


@pytest.mark.parametrize(
    ("language", "note"),
    [("en", "Not over 18: cannot be approved"), ("de", "Nicht über 18: kann nicht genehmigt werden")],
)
def test_every_party_finds_it_marked_in_the_application_list(
    application, customer, dealer, back_office, client_for, mileage_product, language, note
):
    other = applications.application_create(customer=customer, quote_input=factories.quote_input(mileage_product))
    answered_under_18(application)

    for viewer in (customer, dealer, back_office):
        browser = client_for(viewer)
        browser.defaults["HTTP_ACCEPT_LANGUAGE"] = language
        page = browser.get(reverse("leasing:application-list")).text
        rows = page.split('data-testid="application-row"')[1:]
        marked = [row for row in rows if 'data-testid="applicant-under-18"' in row]
        assert len(marked) == 1 and f">{application.pk}</a>" in marked[0] and note in marked[0], viewer.role
        assert all(f">{other.pk}</a>" not in row for row in marked)

    applications.application_decline(application_id=application.pk, declined_by=back_office, reason=DECLINE_REASON)
    page = client_for(customer).get(reverse("leasing:application-list")).text
    assert 'data-testid="applicant-under-18"' not in page  # declined: the status says it all
