"""The lease application's identity check over OpenID4VP: only ``age_over_18`` is asked for, from an outside PID
provider (trusted by its X.509 anchor) or the demo KYC provider; only the verdict, hashes and a consent receipt of
claim names are kept. Acceptance 2 (identity check) and 4 (nothing personal kept)."""

from __future__ import annotations

import logging

import pytest
from cryptography.hazmat.primitives.asymmetric import ec
from django.core.files.uploadedfile import SimpleUploadedFile
from django.test import Client
from django.urls import reverse
from django.utils.html import escape

from accounts.roles import Role
from accounts.tests.factories import UserFactory
from identity.models import TrustAnchor
from identity.tests.openid4vp.holder import (
    credential_for,
    encrypted_response,
    present,
    status_set_in_token_status_list_only,
)
from identity.tests.openid4vp.outside_issuer import PERSONAL_VALUES, outside_credentials_issue
from identity.tests.privacy_scan import personal_values_found
from leasing.models import IdentityCheck
from leasing.services import applications
from leasing.services.identity_checks import identity_check_query
from leasing.tests import factories

pytestmark = pytest.mark.django_db
BASE = "https://portal.test"
UNTRUSTED_TEXT = escape("The credential's issuer is not in the portal's trust registry.")


@pytest.fixture(autouse=True)
def _portal(settings):
    settings.PORTAL_BASE_URL = BASE
    settings.OPENID4VCI_CREDENTIAL_ISSUER = BASE


@pytest.fixture
def applicant():
    return UserFactory(role=Role.CUSTOMER)


@pytest.fixture
def application(applicant):
    return applications.application_create(
        customer=applicant, quote_input=factories.quote_input(factories.mileage_lease_product())
    )


def start_check(browser: Client, application) -> IdentityCheck:
    started = browser.post(reverse("leasing:identity-check-start", args=[application.pk]))
    assert started.status_code == 302
    return IdentityCheck.objects.filter(application=application).order_by("-id").first()


def answer(client: Client, check: IdentityCheck, *, holder, credential: str, disclose=("age_over_18",)):
    presentation = check.presentation_transaction
    vp = present(
        credential, holder=holder, disclose=disclose, nonce=presentation.nonce, audience=presentation.client_id
    )
    response = encrypted_response(
        {"vp_token": {"identity": [vp]}, "state": presentation.state}, jwk=presentation.encryption_jwk
    )
    return client.post(reverse("openid4vp:response", args=[presentation.public_id]), {"response": response})


def test_the_query_asks_only_whether_the_holder_is_over_18():
    query = identity_check_query()

    assert query["credentials"][0]["claims"] == [{"path": ["age_over_18"]}]
    assert query["credentials"][0]["meta"]["vct_values"] == [
        f"{BASE}/credentials/types/demo-identity",
        "urn:eudi:pid:1",
    ]


def test_an_outside_pid_proves_age_once_its_anchor_is_registered_and_is_refused_once_suspended(
    application, applicant, back_office, client, client_for, caplog
):
    caplog.set_level(logging.DEBUG)
    holder = ec.generate_private_key(ec.SECP256R1())
    outside = outside_credentials_issue(holder)
    customer_browser, staff = client_for(applicant), client_for(back_office)
    upload = SimpleUploadedFile("outside-root.pem", outside.root_ca_pem.encode())
    staff.post(
        "/identity/trust-anchors/",
        {"name": "Outside PID provider", "certificate_file": upload, "credential_types": ["PersonIdentificationData"]},
    )
    anchor = TrustAnchor.objects.get(name="Outside PID provider")
    page = customer_browser.get(reverse("leasing:application-detail", args=[application.pk])).content.decode()
    assert 'data-testid="identity-check-start"' in page

    check = start_check(customer_browser, application)
    page = customer_browser.get(reverse("leasing:application-detail", args=[application.pk])).content.decode()
    assert 'data-testid="identity-check-qr"' in page and "openid4vp://?client_id=" in page
    accepted = answer(client, check, holder=holder, credential=outside.pid)

    assert accepted.status_code == 200, accepted.content
    assert accepted.json() == {"redirect_uri": f"{BASE}/leasing/applications/{application.pk}/"}
    check.refresh_from_db()
    assert (check.status, check.is_over_18, check.refusal_reason) == ("verified", True, "")
    assert check.consent_receipt["asked"] == ["age_over_18"] == check.consent_receipt["disclosed"]
    assert check.consent_receipt["credential_type"] == "PersonIdentificationData"
    assert len(check.presentation_hash) == 64
    page = client_for(back_office).get(reverse("leasing:application-detail", args=[application.pk])).content.decode()
    assert 'data-testid="identity-check">yes<' in page

    staff.post(f"/identity/trust-anchors/{anchor.pk}/suspend/")
    again = start_check(customer_browser, application)
    refused = answer(client, again, holder=holder, credential=outside.pid)

    assert refused.status_code == 400 and refused.json()["reason"] == "untrusted_issuer"
    again.refresh_from_db()
    assert (again.status, again.is_over_18, again.refusal_reason) == ("refused", None, "untrusted_issuer")
    for viewer in (applicant, back_office):
        page = client_for(viewer).get(reverse("leasing:application-detail", args=[application.pk])).content.decode()
        assert UNTRUSTED_TEXT in page and "untrusted_issuer" not in page

    assert personal_values_found(PERSONAL_VALUES, log_text=caplog.text) == {}


def test_asking_the_pid_for_more_than_age_is_refused_and_nothing_is_kept(
    application, applicant, back_office, client, client_for
):
    holder = ec.generate_private_key(ec.SECP256R1())
    outside = outside_credentials_issue(holder)
    staff = client_for(back_office)
    upload = SimpleUploadedFile("outside-root.pem", outside.root_ca_pem.encode())
    staff.post(
        "/identity/trust-anchors/",
        {"name": "Outside PID provider", "certificate_file": upload, "credential_types": ["PersonIdentificationData"]},
    )
    check = start_check(client_for(applicant), application)

    refused = answer(client, check, holder=holder, credential=outside.pid, disclose=("age_over_18", "birthdate"))

    assert refused.status_code == 400 and refused.json()["reason"] == "extra_disclosure"
    check.refresh_from_db()
    assert (check.status, check.is_over_18, check.consent_receipt) == ("refused", None, None)
    assert personal_values_found(PERSONAL_VALUES, log_text="") == {}


def test_the_demo_kyc_identity_credential_answers_the_same_question(application, applicant, client, client_for):
    holder = ec.generate_private_key(ec.SECP256R1())
    credential = credential_for(applicant, configuration_id="DemoIdentityCredential", holder=holder)
    check = start_check(client_for(applicant), application)

    accepted = answer(client, check, holder=holder, credential=credential)

    assert accepted.status_code == 200, accepted.content
    check.refresh_from_db()
    assert (check.status, check.is_over_18) == ("verified", True)
    assert check.consent_receipt["credential_type"] == "IdentityCredential"


def test_only_the_applicant_may_start_the_check_and_an_open_one_is_reused(application, applicant, client_for):
    browser = client_for(applicant)
    first = start_check(browser, application)
    second = start_check(browser, application)

    assert first.pk == second.pk and IdentityCheck.objects.count() == 1
    stranger = client_for(UserFactory(role=Role.CUSTOMER))
    assert stranger.post(reverse("leasing:identity-check-start", args=[application.pk])).status_code == 404


@pytest.mark.parametrize(
    ("status_change", "reason", "text"),
    [
        ({"revoked": True}, "revoked", "The credential was revoked by its issuer."),
        ({"suspended": True}, "suspended", "The credential is suspended by its issuer."),
    ],
)
def test_an_identity_credential_revoked_or_suspended_only_in_its_token_status_list_is_refused_on_every_page(
    applicant, back_office, dealer, client, client_for, status_change, reason, text
):
    application = applications.application_create(
        customer=applicant,
        quote_input=factories.quote_input(factories.mileage_lease_product()),
        dealer_organisation=dealer.dealer_organisation,
    )
    holder = ec.generate_private_key(ec.SECP256R1())
    credential = credential_for(applicant, configuration_id="DemoIdentityCredential", holder=holder)
    status_set_in_token_status_list_only(credential, **status_change)  # the bitstring still says valid
    check = start_check(client_for(applicant), application)

    refused = answer(client, check, holder=holder, credential=credential)

    assert refused.status_code == 400 and refused.json()["reason"] == reason
    check.refresh_from_db()
    assert (check.status, check.is_over_18, check.refusal_reason) == ("refused", None, reason)
    assert (check.presentation_hash, check.consent_receipt) == ("", None)
    application.refresh_from_db()
    assert application.status == "credit_check_pending"
    for viewer in (applicant, back_office, dealer):
        page = client_for(viewer).get(reverse("leasing:application-detail", args=[application.pk])).content.decode()
        assert escape(text) in page, viewer.role
