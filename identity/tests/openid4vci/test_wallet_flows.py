"""The independent test wallet collects the payment-history credential from the live portal by both flows."""

from __future__ import annotations

import html
import json
import re
from datetime import UTC, datetime
from urllib.parse import parse_qs, urlsplit

import pytest
import requests
from django.test import Client
from django.urls import reverse

from identity.credentials import jose, x509
from identity.credentials.encoding import b64url_decode
from identity.models import AuthorizationCode, CredentialOffer, CredentialRecord, IssuanceAccessToken
from identity.openid4vci import certificates
from identity.openid4vci.grants import value_hash
from identity.tests.openid4vci.conftest import TEST_CLIENT_ID, TEST_REDIRECT_URI, consent, customer_browser
from identity.tests.openid4vci.wallet_harness import run_wallet

pytestmark = pytest.mark.django_db(transaction=True)


def offer_from_page(user) -> tuple[str, str]:
    """The customer asks the "Get credentials" page for a payment-history offer: (offer link, PIN)."""
    client = Client()
    client.force_login(user)
    page = client.post(reverse("identity:credential-offer"), {"configuration": "PaymentHistoryCredential"})
    assert page.status_code == 200
    text = page.content.decode()
    link = html.unescape(re.search(r'href="(openid-credential-offer://[^"]+)" data-testid="offer-link"', text)[1])
    pin = re.search(r'data-testid="offer-pin">(\d{6})<', text)[1]
    return link, pin


def assert_issued_to_wallet(answer: dict, *, issuer_url: str) -> dict:
    """The credential verifies here too: ES256 over the x5c leaf, leaf chained to the portal CA, cnf = wallet key."""
    assert answer["ok"] is True, answer
    credential = answer["credential"]
    issuer_jwt, *disclosures = credential.split("~")
    header, payload, signing_input, signature = jose.decode_compact(issuer_jwt)
    assert header["alg"] == "ES256" and header["typ"] == "dc+sd-jwt"
    leaf = x509.certificate_chain_verify(
        chain=x509.x5c_decode(header["x5c"]), trust_anchors=certificates.trust_anchors(), at=datetime.now(UTC)
    )
    jose.signature_verify(
        algorithm="ES256", public_key=leaf.public_key(), signing_input=signing_input, signature=signature
    )
    assert payload["iss"] == issuer_url
    assert payload["vct"] == f"{issuer_url}/credentials/types/payment-history"
    wallet_jwk = answer["holderJwk"]
    assert payload["cnf"]["jwk"] == {key: wallet_jwk[key] for key in ("kty", "crv", "x", "y")}
    assert disclosures[-1] == ""  # issuance form: no key-binding JWT yet
    disclosed = {}
    for disclosure in disclosures[:-1]:
        _salt, name, value = json.loads(b64url_decode(disclosure))
        disclosed[name] = value
    assert disclosed["onTimePaymentCount"] == 0 and disclosed["arrearsCount"] == 0
    assert set(disclosed) == {
        "onTimePaymentCount",
        "arrearsCount",
        "periodStart",
        "periodEnd",
        "latePayments",
        "missedPayments",
        "returnedDirectDebits",
        "currentArrears",
    }
    # a customer without a lease: no late, missed or returned payments, no arrears
    assert [disclosed[name] for name in ("latePayments", "missedPayments", "returnedDirectDebits")] == [[], [], []]
    assert disclosed["currentArrears"] == []
    type_metadata = requests.get(payload["vct"], timeout=30).json()
    assert type_metadata["vct"] == payload["vct"]
    assert [claim["path"] for claim in type_metadata["claims"]] == [[name] for name in disclosed]
    # the wallet's own check (@sd-jwt/sd-jwt-vc with node:crypto, leaf issued by the CA) agrees
    assert answer["verified"]["claims"]["cnf"]["jwk"]["x"] == wallet_jwk["x"]
    record = CredentialRecord.objects.get(credential_id=payload["jti"])
    assert (record.credential_type, record.format) == ("PaymentHistoryCredential", "sd-jwt")
    return payload


def test_the_wallet_collects_the_payment_history_by_the_pre_authorized_code_flow(issuer_url, ca_pem, customer):
    link, pin = offer_from_page(customer)

    answer = run_wallet({"flow": "pre-authorized", "offer": link, "txCode": pin, "caPem": ca_pem})

    assert_issued_to_wallet(answer, issuer_url=issuer_url)
    offer = CredentialOffer.objects.get(user=customer)
    assert offer.redeemed_at is not None and offer.failed_tx_code_attempts == 0
    offered = json.loads(parse_qs(urlsplit(link).query)["credential_offer"][0])
    code = offered["grants"]["urn:ietf:params:oauth:grant-type:pre-authorized_code"]["pre-authorized_code"]
    assert offer.pre_authorized_code_hash == value_hash(code) != code  # stored hashed, never in clear
    assert pin not in offer.tx_code_hmac
    token = IssuanceAccessToken.objects.get(offer=offer)
    assert token.token_hash == value_hash(answer["accessToken"])  # stored hashed, never in clear


def test_the_wallet_collects_the_payment_history_by_the_authorization_code_flow(issuer_url, ca_pem, customer):
    link, _pin = offer_from_page(customer)
    browser = customer_browser(customer)

    answer = run_wallet(
        {
            "flow": "authorization-code",
            "offer": link,
            "clientId": TEST_CLIENT_ID,
            "redirectUri": TEST_REDIRECT_URI,
            "caPem": ca_pem,
        },
        authorize=lambda url: consent(browser, url),
    )

    assert_issued_to_wallet(answer, issuer_url=issuer_url)
    code = AuthorizationCode.objects.get(user=customer)
    assert code.used_at is not None and code.client_id == TEST_CLIENT_ID
    assert IssuanceAccessToken.objects.filter(authorization_code=code).count() == 1
    assert CredentialOffer.objects.get(user=customer).redeemed_at is None  # the pre-authorized code was not used
