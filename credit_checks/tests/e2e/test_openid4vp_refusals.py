"""Acceptance: refusals the independent test wallet provokes on purpose, each named to the wallet (its error
response), to the dealer (the status the page polls) and to the customer (their credit-check page); and the request
object the wallet refuses when it was changed after signing."""

from __future__ import annotations

import pytest
from cryptography.hazmat.primitives.asymmetric import ec
from django.urls import reverse

from credit_checks.services import credit_check_claim, credit_check_request_create
from identity.credentials import jose
from identity.credentials.encoding import b64url_encode
from identity.openid4vci import certificates
from identity.openid4vp.verifier import authorization_request_links
from identity.tests.openid4vci.wallet_harness import run_wallet
from identity.tests.openid4vp.holder import credential_for

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture
def portal_url(settings, live_server) -> str:
    settings.OPENID4VCI_CREDENTIAL_ISSUER = live_server.url
    settings.PORTAL_BASE_URL = live_server.url
    return live_server.url


def private_jwk(key: ec.EllipticCurvePrivateKey) -> dict[str, str]:
    return jose.public_jwk(key.public_key()) | {"d": b64url_encode(key.private_numbers().private_value.to_bytes(32))}


def wallet_answers(request, customer, *, tamper: dict) -> dict:
    holder = ec.generate_private_key(ec.SECP256R1())
    credential = credential_for(customer, configuration_id="DemoCreditHistoryCredential", holder=holder)
    link = authorization_request_links(request.presentation_transaction).wallet_link
    return run_wallet(
        {
            "link": link,
            "credential": credential,
            "holderPrivateJwk": private_jwk(holder),
            "caPem": certificates.certificate_pem_of_ca(),
            "tamper": tamper,
        },
        script="present.mjs",
    )


def opened_by_customer(dealer, customer):
    request = credit_check_request_create(
        dealer_user=dealer, purpose="lease", amount=450_00, currency="EUR", term_months=36
    )
    return credit_check_claim(link_token=request.link_token, customer=customer)


@pytest.mark.parametrize(
    ("tamper", "reason", "text"),
    [
        ({"nonce": "a-nonce-of-my-own"}, "wrong_nonce", "its one-time code does not match"),
        ({"audience": "x509_san_dns:phishing.test"}, "wrong_audience", "made for another verifier"),
        ({"keyBinding": "none"}, "key_binding_missing", "did not prove that it holds the credential"),
        ({"keyBinding": "other-key"}, "key_binding_invalid", "proof that it holds the credential does not check"),
        ({"disclosure": True}, "disclosure_invalid", "changed after the credential was issued"),
        ({"extraClaims": ["negativeRecordBand"]}, "extra_disclosure", "disclosed more than"),
    ],
)
def test_the_wallets_wrong_answer_is_refused_with_its_reason_on_every_side(
    portal_url, dealer, customer, client_for, tamper, reason, text
):
    request = opened_by_customer(dealer, customer)

    answer = wallet_answers(request, customer, tamper=tamper)

    assert answer["ok"] is False and answer["status"] == 400, answer
    assert answer["body"]["error"] == "invalid_request" and answer["body"]["reason"] == reason
    request.refresh_from_db()
    assert (request.status, request.refusal_reason) == ("refused", reason)
    polled = client_for(dealer).get(reverse("credit_checks:credit-check-status", args=[request.pk])).json()
    assert polled["status"] == "refused" and text in polled["outcomeHtml"].replace("&#x27;", "'")
    assert reason not in polled["outcomeHtml"]  # words, not codes
    mine = client_for(customer).get(reverse("credit_checks:credit-check-mine", args=[request.pk]))
    assert text in mine.content.decode().replace("&#x27;", "'")


def test_an_answer_sent_twice_is_refused_the_second_time_and_the_verdict_stands(
    portal_url, dealer, customer, client_for
):
    request = opened_by_customer(dealer, customer)

    answer = wallet_answers(request, customer, tamper={"submitTwice": True})

    assert answer["status"] == 400 and answer["body"]["reason"] == "response_replayed", answer
    request.refresh_from_db()
    assert request.status == "decided" and request.verdict.outcome == "approved"


def test_the_wallet_refuses_a_request_object_changed_after_signing(portal_url, dealer, customer, client_for):
    request = opened_by_customer(dealer, customer)

    answer = wallet_answers(request, customer, tamper={"requestObject": True})

    assert answer["ok"] is False and answer["stage"] == "request", answer
    assert "signature" in answer["error"].lower() or "verif" in answer["error"].lower(), answer
    request.refresh_from_db()
    assert request.status == "open"  # nothing reached the portal; the dealer still waits
    request.presentation_transaction.refresh_from_db()
    assert request.presentation_transaction.response_hash is None
