"""The dealer's credit check as an OpenID4VP request: the verdict from a wallet's encrypted answer, the dealer's
status poll, the customer's page, and refusals with their reason on both sides."""

from __future__ import annotations

import json
from datetime import timedelta

import pytest
from cryptography.hazmat.primitives.asymmetric import ec
from django.test import Client
from django.urls import reverse
from django.utils import timezone

from credit_checks.models import ConsentReceipt, CreditCheckRequest, CreditCheckVerdict
from credit_checks.openid4vp import credit_check_links, credit_check_query
from identity.credentials import jose
from identity.models import CredentialRecord, PresentationTransaction
from identity.services.status import credential_revoke, credential_suspension_set
from identity.tests.openid4vp.holder import (
    credential_for,
    encrypted_response,
    present,
    status_set_in_token_status_list_only,
)

pytestmark = pytest.mark.django_db
BASE = "https://portal.test"
CLAIMS = ("scoreBand", "affordabilityCeilingPerMonth")


@pytest.fixture(autouse=True)
def _portal(settings):
    settings.PORTAL_BASE_URL = BASE
    settings.OPENID4VCI_CREDENTIAL_ISSUER = BASE


def answer(client: Client, request, *, holder, credential: str, disclose=CLAIMS, nonce=None, audience=None):
    presentation = request.presentation_transaction
    vp = present(
        credential,
        holder=holder,
        disclose=disclose,
        nonce=nonce or presentation.nonce,
        audience=audience or presentation.client_id,
    )
    response = encrypted_response(
        {"vp_token": {"credit": [vp]}, "state": presentation.state}, jwk=presentation.encryption_jwk
    )
    return client.post(reverse("openid4vp:response", args=[presentation.public_id]), {"response": response})


def test_the_request_asks_exactly_for_score_band_and_ceiling_of_a_credit_history_credential(open_request):
    request = open_request()

    assert (
        request.presentation_transaction.dcql_query
        == credit_check_query()
        == {
            "credentials": [
                {
                    "id": "credit",
                    "format": "dc+sd-jwt",
                    "meta": {
                        "vct_values": [f"{BASE}/credentials/types/demo-credit-history", "urn:finlab:credit-history:1"]
                    },
                    "claims": [{"path": ["scoreBand"]}, {"path": ["affordabilityCeilingPerMonth"]}],
                }
            ]
        }
    )
    assert request.presentation_transaction.expires_at == request.expires_at
    assert credit_check_links(request).wallet_link.startswith("openid4vp://?client_id=x509_san_dns%3Aportal.test&")


def test_a_wallets_answer_gives_the_verdict_the_dealer_polls_and_the_customer_sees(
    open_request, customer, dealer, client, client_for
):
    holder = ec.generate_private_key(ec.SECP256R1())
    credential = credential_for(customer, configuration_id="DemoCreditHistoryCredential", holder=holder)
    request = open_request(amount=450_00)
    dealer_browser = client_for(dealer)
    status_url = reverse("credit_checks:credit-check-status", args=[request.pk])
    assert dealer_browser.get(status_url).json() == {"status": "open"}
    page = dealer_browser.get(reverse("credit_checks:credit-check-detail", args=[request.pk])).content.decode()
    assert 'data-testid="openid4vp-qr"' in page and "openid4vp://?client_id=" in page

    posted = answer(client, request, holder=holder, credential=credential)

    assert posted.status_code == 200, posted.content
    assert posted.json() == {"redirect_uri": f"{BASE}/identity/credit-checks/mine/{request.pk}/"}
    request.refresh_from_db()
    verdict = CreditCheckVerdict.objects.get(request=request)
    assert (request.status, verdict.outcome, verdict.disclosed_score_band, verdict.disclosed_ceiling) == (
        "decided",
        "approved",
        "B",
        65_000,
    )
    receipt = ConsentReceipt.objects.get(request=request)
    assert receipt.decision == "consented" and receipt.presentation_hash == request.presentation_hash
    assert request.presentation_transaction.presentation_hash == request.presentation_hash
    polled = dealer_browser.get(status_url).json()
    assert polled["status"] == "decided" and 'data-testid="credit-check-verdict">Approved<' in polled["outcomeHtml"]
    customer_browser = client_for(customer)
    mine = customer_browser.get(reverse("credit_checks:credit-check-mine", args=[request.pk])).content.decode()
    assert "Approved" in mine


@pytest.mark.parametrize(
    ("change", "reason", "text"),
    [
        ({"nonce": "not-the-request-nonce"}, "wrong_nonce", "its one-time code does not match"),
        ({"audience": "x509_san_dns:elsewhere.test"}, "wrong_audience", "made for another verifier"),
        ({"holder": None}, "key_binding_missing", "did not prove that it holds the credential"),
        ({"disclose": ("scoreBand",)}, "dcql_not_satisfied", "does not contain the credit results"),
        ({"disclose": (*CLAIMS, "negativeRecordBand")}, "extra_disclosure", "disclosed more than"),
    ],
)
def test_a_refused_answer_names_its_reason_to_wallet_dealer_and_customer(
    open_request, customer, dealer, client, client_for, change, reason, text
):
    holder = ec.generate_private_key(ec.SECP256R1())
    credential = credential_for(customer, configuration_id="DemoCreditHistoryCredential", holder=holder)
    request = open_request()
    options = {"holder": holder, "credential": credential} | change

    posted = answer(client, request, **options)

    assert posted.status_code == 400
    assert posted.json()["reason"] == reason and posted.json()["error"] == "invalid_request"
    request.refresh_from_db()
    assert (request.status, request.refusal_reason) == ("refused", reason)
    assert not CreditCheckVerdict.objects.filter(request=request).exists()
    dealer_browser = client_for(dealer)
    polled = dealer_browser.get(reverse("credit_checks:credit-check-status", args=[request.pk])).json()
    assert text in polled["outcomeHtml"] and reason not in polled["outcomeHtml"]
    customer_browser = client_for(customer)
    mine = customer_browser.get(reverse("credit_checks:credit-check-mine", args=[request.pk])).content.decode()
    assert text in mine


def test_a_wallet_that_declines_ends_the_check_as_declined(open_request, client):
    request = open_request()
    presentation = request.presentation_transaction

    posted = client.post(
        reverse("openid4vp:response", args=[presentation.public_id]),
        {"error": "access_denied", "state": presentation.state},
    )

    assert posted.status_code == 400 and posted.json()["reason"] == "wallet_declined"
    request.refresh_from_db()
    assert request.status == "declined" and request.consent_receipt.decision == "declined"
    assert json.loads(json.dumps(request.consent_receipt.claims)) == []


def record_of(credential: str) -> CredentialRecord:
    _header, payload, _input, _signature = jose.decode_compact(credential.split("~")[0])
    return CredentialRecord.objects.get(credential_id=payload["jti"])


@pytest.mark.parametrize(
    ("status_change", "reason", "text"),
    [
        (lambda record: credential_revoke(record=record), "revoked", "revoked by its issuer"),
        (
            lambda record: credential_suspension_set(record=record, is_suspended=True),
            "suspended",
            "suspended by its issuer",
        ),
    ],
)
def test_a_revoked_or_suspended_credential_is_refused_through_its_bitstring_status_list(
    open_request, customer, dealer, client, client_for, status_change, reason, text
):
    holder = ec.generate_private_key(ec.SECP256R1())
    credential = credential_for(customer, configuration_id="DemoCreditHistoryCredential", holder=holder)
    status_change(record_of(credential))
    request = open_request()

    posted = answer(client, request, holder=holder, credential=credential)

    assert posted.status_code == 400 and posted.json()["reason"] == reason
    polled = client_for(dealer).get(reverse("credit_checks:credit-check-status", args=[request.pk])).json()
    assert text in polled["outcomeHtml"]
    assert text in client_for(customer).get(reverse("credit_checks:credit-check-mine", args=[request.pk])).text


@pytest.mark.parametrize(
    ("status_change", "reason", "text"),
    [
        ({"revoked": True}, "revoked", "revoked by its issuer"),
        ({"suspended": True}, "suspended", "suspended by its issuer"),
    ],
)
def test_a_credential_revoked_or_suspended_only_in_its_token_status_list_is_refused_on_both_pages(
    open_request, customer, dealer, client, client_for, status_change, reason, text
):
    holder = ec.generate_private_key(ec.SECP256R1())
    credential = credential_for(customer, configuration_id="DemoCreditHistoryCredential", holder=holder)
    status_set_in_token_status_list_only(credential, **status_change)  # the bitstring still says valid
    request = open_request()

    posted = answer(client, request, holder=holder, credential=credential)

    assert posted.status_code == 400
    assert posted.json()["reason"] == reason and posted.json()["error"] == "invalid_request"
    request.refresh_from_db()
    assert (request.status, request.refusal_reason) == ("refused", reason) and not request.presentation_hash
    # nothing but the refusal is kept: no verdict, a receipt without a presentation, no other request touched
    assert not CreditCheckVerdict.objects.exists()
    receipt = ConsentReceipt.objects.get(request=request)
    assert (receipt.decision, receipt.presentation_hash) == ("consented", "")
    assert list(CreditCheckRequest.objects.values_list("status", flat=True)) == ["refused"]
    dealer_browser = client_for(dealer)
    polled = dealer_browser.get(reverse("credit_checks:credit-check-status", args=[request.pk])).json()
    assert polled["status"] == "refused" and text in polled["outcomeHtml"]
    dealer_page = dealer_browser.get(reverse("credit_checks:credit-check-detail", args=[request.pk])).text
    assert text in dealer_page
    mine = client_for(customer).get(reverse("credit_checks:credit-check-mine", args=[request.pk])).text
    assert text in mine and "Approved" not in mine


def test_an_expired_credential_is_refused(open_request, customer, client):
    holder = ec.generate_private_key(ec.SECP256R1())
    issued = timezone.now() - timedelta(days=200)  # the demo bureau's credit history is valid for 180 days
    credential = credential_for(customer, configuration_id="DemoCreditHistoryCredential", holder=holder, now=issued)
    request = open_request()

    posted = answer(client, request, holder=holder, credential=credential)

    assert posted.status_code == 400 and posted.json()["reason"] == "expired"
    request.refresh_from_db()
    assert (request.status, request.refusal_reason) == ("refused", "expired")


def test_an_answer_made_for_another_request_is_refused(open_request, customer, dealer, client):
    holder = ec.generate_private_key(ec.SECP256R1())
    credential = credential_for(customer, configuration_id="DemoCreditHistoryCredential", holder=holder)
    first, second = open_request(), open_request()
    made_for_first = first.presentation_transaction
    vp = present(
        credential, holder=holder, disclose=CLAIMS, nonce=made_for_first.nonce, audience=made_for_first.client_id
    )
    # encrypted to the first request's key, with its state: posted to the second request's response_uri
    response = encrypted_response(
        {"vp_token": {"credit": [vp]}, "state": made_for_first.state}, jwk=made_for_first.encryption_jwk
    )
    url = reverse("openid4vp:response", args=[second.presentation_transaction.public_id])

    posted = client.post(url, {"response": response})

    assert posted.status_code == 400 and posted.json()["reason"] == "response_for_another_request"
    second.refresh_from_db()
    assert (second.status, second.refusal_reason) == ("refused", "response_for_another_request")
    # the same presentation, encrypted to the second request's key with its state: the nonce gives it away
    third = open_request()
    made_for_third = third.presentation_transaction
    response = encrypted_response(
        {"vp_token": {"credit": [vp]}, "state": made_for_third.state}, jwk=made_for_third.encryption_jwk
    )
    posted = client.post(reverse("openid4vp:response", args=[made_for_third.public_id]), {"response": response})
    assert posted.status_code == 400 and posted.json()["reason"] == "response_for_another_request"
    first.refresh_from_db()
    assert first.status == "open"  # the request the answer was made for can still be answered


def test_an_answer_in_another_format_is_refused(open_request, customer, client):
    request = open_request()
    presentation = request.presentation_transaction
    vc_jwt = "eyJhbGciOiJFZERTQSJ9.eyJ2YyI6e319.c2lnbmF0dXJl"
    response = encrypted_response(
        {"vp_token": {"credit": [vc_jwt]}, "state": presentation.state}, jwk=presentation.encryption_jwk
    )

    posted = client.post(reverse("openid4vp:response", args=[presentation.public_id]), {"response": response})

    assert posted.status_code == 400 and posted.json()["reason"] == "unsupported_format"


def test_an_unencrypted_answer_to_a_request_for_an_encrypted_one_is_refused(open_request, client):
    request = open_request()
    presentation = request.presentation_transaction

    posted = client.post(
        reverse("openid4vp:response", args=[presentation.public_id]),
        {"vp_token": json.dumps({"credit": ["x~"]}), "state": presentation.state},
    )

    assert posted.status_code == 400 and posted.json()["reason"] == "response_not_encrypted"


def test_an_answer_after_the_request_expired_is_refused(open_request, customer, client):
    holder = ec.generate_private_key(ec.SECP256R1())
    credential = credential_for(customer, configuration_id="DemoCreditHistoryCredential", holder=holder)
    request = open_request()
    PresentationTransaction.objects.filter(pk=request.presentation_transaction_id).update(
        expires_at=timezone.now() - timedelta(seconds=1)
    )
    request.refresh_from_db()

    posted = answer(client, request, holder=holder, credential=credential)

    assert posted.status_code == 400 and posted.json()["reason"] == "request_expired"
    assert (
        client.get(reverse("openid4vp:request-object", args=[request.presentation_transaction.public_id])).status_code
        == 404
    )


def test_the_purge_expires_waiting_transactions_and_deletes_those_of_purged_requests(open_request):
    from credit_checks.models import CreditCheckRequest
    from credit_checks.services import credit_checks_purge_run

    waiting, old = open_request(), open_request()
    past = timezone.now() - timedelta(minutes=1)
    CreditCheckRequest.objects.filter(pk=waiting.pk).update(expires_at=past)
    PresentationTransaction.objects.filter(pk=waiting.presentation_transaction_id).update(expires_at=past)
    CreditCheckRequest.objects.filter(pk=old.pk).update(created_at=timezone.now() - timedelta(days=400))

    credit_checks_purge_run()

    expired = PresentationTransaction.objects.get(pk=waiting.presentation_transaction_id)
    assert expired.status == "expired" and bytes(expired.encrypted_private_key) == b""
    assert not PresentationTransaction.objects.filter(pk=old.presentation_transaction_id).exists()


def test_the_customers_page_offers_the_wallet_link_and_the_browser_wallet_link(open_request, customer, client_for):
    request = open_request()
    links = credit_check_links(request)

    page = client_for(customer).get(reverse("credit_checks:credit-check-respond", args=[request.link_token])).text

    assert f'href="{links.wallet_link.replace("&", "&amp;")}" data-testid="openid4vp-wallet-link"' in page
    assert links.browser_wallet_link.startswith(f"{BASE}/identity/wallet/openid4vp/?client_id=x509_san_dns%3A")
    assert f'href="{links.browser_wallet_link.replace("&", "&amp;")}"' in page


def test_an_answer_reads_the_dealer_organisation_with_the_locked_request(open_request, customer, client):
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    holder = ec.generate_private_key(ec.SECP256R1())
    credential = credential_for(customer, configuration_id="DemoCreditHistoryCredential", holder=holder)
    request = open_request(amount=450_00)

    with CaptureQueriesContext(connection) as queries:
        posted = answer(client, request, holder=holder, credential=credential)

    assert posted.status_code == 200, posted.content
    statements = [query["sql"] for query in queries.captured_queries]
    assert not [sql for sql in statements if sql.startswith('SELECT "accounts_dealerorganisation"')]
    [locked] = [
        sql for sql in statements if sql.startswith('SELECT "identity_creditcheckrequest"') and "FOR UPDATE" in sql
    ]
    assert '"accounts_dealerorganisation"' in locked
    assert CreditCheckVerdict.objects.get(request=request).policy.dealer_organisation == request.dealer_organisation
