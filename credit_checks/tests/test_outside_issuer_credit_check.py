"""Acceptance 2 (credit check) and 4: an outside credit bureau with its own X.509 chain. Once back office has
registered its root CA on the trust-anchor page, the dealer's credit check accepts its credential; once the anchor
is suspended, the answer is refused as from an untrusted issuer, on the wallet's, the dealer's and the customer's
side. Afterwards no table, log line or Redis key holds the bureau's figures."""

from __future__ import annotations

import logging

import pytest
from cryptography.hazmat.primitives.asymmetric import ec
from django.core.files.uploadedfile import SimpleUploadedFile
from django.test import Client
from django.urls import reverse
from django.utils.html import escape

from credit_checks.models import CreditCheckVerdict
from identity.models import TrustAnchor
from identity.tests.openid4vp.holder import encrypted_response, present
from identity.tests.openid4vp.outside_issuer import PERSONAL_VALUES, outside_credentials_issue
from identity.tests.privacy_scan import personal_values_found

pytestmark = pytest.mark.django_db
BASE = "https://portal.test"
CLAIMS = ("scoreBand", "affordabilityCeilingPerMonth")
UNTRUSTED_TEXT = escape("The credential's issuer is not in the portal's trust registry.")


@pytest.fixture(autouse=True)
def _portal(settings):
    settings.PORTAL_BASE_URL = BASE
    settings.OPENID4VCI_CREDENTIAL_ISSUER = BASE


def answer(client: Client, request, *, holder, credential: str):
    presentation = request.presentation_transaction
    vp = present(credential, holder=holder, disclose=CLAIMS, nonce=presentation.nonce, audience=presentation.client_id)
    response = encrypted_response(
        {"vp_token": {"credit": [vp]}, "state": presentation.state}, jwk=presentation.encryption_jwk
    )
    return client.post(reverse("openid4vp:response", args=[presentation.public_id]), {"response": response})


def register_anchor(staff: Client, pem: str) -> TrustAnchor:
    upload = SimpleUploadedFile("outside-root.pem", pem.encode(), content_type="application/x-pem-file")
    data = {"name": "Outside Test Issuers", "certificate_file": upload, "credential_types": ["CreditHistoryCredential"]}
    assert staff.post("/identity/trust-anchors/", data).status_code == 302
    return TrustAnchor.objects.get(name="Outside Test Issuers")


def test_an_outside_bureaus_credential_is_accepted_once_its_anchor_is_registered_and_refused_once_suspended(
    open_request, customer, dealer, back_office, client, client_for, caplog
):
    caplog.set_level(logging.DEBUG)
    holder = ec.generate_private_key(ec.SECP256R1())
    outside = outside_credentials_issue(holder)
    staff = client_for(back_office)

    before = open_request()
    refused_unknown = answer(client, before, holder=holder, credential=outside.bureau)
    assert refused_unknown.status_code == 400 and refused_unknown.json()["reason"] == "untrusted_issuer"

    anchor = register_anchor(staff, outside.root_ca_pem)
    request = open_request(amount=450_00)
    accepted = answer(client, request, holder=holder, credential=outside.bureau)

    assert accepted.status_code == 200, accepted.content
    verdict = CreditCheckVerdict.objects.get(request=request)
    assert (verdict.outcome, verdict.disclosed_score_band, verdict.disclosed_ceiling) == ("approved", "B", 65_000)

    assert staff.post(f"/identity/trust-anchors/{anchor.pk}/suspend/").status_code == 302
    after = open_request()
    refused = answer(client, after, holder=holder, credential=outside.bureau)

    assert refused.status_code == 400 and refused.json()["reason"] == "untrusted_issuer"
    after.refresh_from_db()
    assert (after.status, after.refusal_reason) == ("refused", "untrusted_issuer")
    assert not CreditCheckVerdict.objects.filter(request=after).exists()
    polled = client_for(dealer).get(reverse("credit_checks:credit-check-status", args=[after.pk])).json()
    assert UNTRUSTED_TEXT in polled["outcomeHtml"] and "untrusted_issuer" not in polled["outcomeHtml"]
    mine = client_for(customer).get(reverse("credit_checks:credit-check-mine", args=[after.pk])).content.decode()
    assert UNTRUSTED_TEXT in mine

    assert personal_values_found(PERSONAL_VALUES, log_text=caplog.text) == {}
