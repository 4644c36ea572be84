"""The portal's browser wallet is a public client of the authorization code flow whose one redirect URI is its own
page on the issuer's origin, matched exactly: no other address, however close, gets a redirect or a code."""

from __future__ import annotations

import pytest
from django.urls import reverse

from identity.models import AuthorizationCode, IssuanceAccessToken
from identity.openid4vci.grants import BROWSER_WALLET_CLIENT_ID, browser_wallet_redirect_uri
from identity.tests.openid4vci.test_refusals import (
    _challenge,
    assert_oauth_error,
    authorization_request,
    code_token_request,
)

pytestmark = pytest.mark.django_db
ISSUER = "https://portal.test"
WALLET_PAGE = ISSUER + "/identity/wallet/"


@pytest.fixture(autouse=True)
def _issuer(settings):
    settings.OPENID4VCI_CREDENTIAL_ISSUER = ISSUER


def wallet_authorization_request(client, **overrides):
    return authorization_request(client, client_id=BROWSER_WALLET_CLIENT_ID, redirect_uri=WALLET_PAGE, **overrides)


def test_the_browser_wallets_redirect_uri_is_its_page_on_the_issuers_origin():
    assert browser_wallet_redirect_uri() == WALLET_PAGE


def test_the_browser_wallet_gets_a_code_on_its_page_and_spends_it_with_its_verifier(customer, client_for):
    response = wallet_authorization_request(client_for(customer))

    assert response.status_code == 302
    assert response["Location"].startswith(WALLET_PAGE + "?") and "state=s1" in response["Location"]
    code = response["Location"].split("code=", 1)[1].split("&", 1)[0]
    token = code_token_request(code, "v" * 43, client_id=BROWSER_WALLET_CLIENT_ID, redirect_uri=WALLET_PAGE)
    assert token.status_code == 200, token.content
    assert IssuanceAccessToken.objects.get().credential_configuration_ids == ["PaymentHistoryCredential"]


@pytest.mark.parametrize(
    "redirect_uri",
    [
        "https://attacker.test/identity/wallet/",
        "https://portal.test.attacker.test/identity/wallet/",
        "http://portal.test/identity/wallet/",
        "https://portal.test:8443/identity/wallet/",
        "//attacker.test/identity/wallet/",
        "https://portal.test/identity/wallet/?next=https://attacker.test/",
        "https://portal.test/identity/wallet/#https://attacker.test/",
        "https://portal.test/identity/wallet/openid4vp/",
        "https://portal.test/identity/wallet",
        "https://portal.test/identity/wallet/../../accounts/logout/",
        "https://portal.test/IDENTITY/WALLET/",
        "",
    ],
)
def test_a_foreign_redirect_uri_for_the_browser_wallet_is_refused_without_a_redirect(
    customer, client_for, redirect_uri
):
    shown = client_for(customer).get(
        reverse("openid4vci:authorize"),
        {"response_type": "code", "client_id": BROWSER_WALLET_CLIENT_ID, "redirect_uri": redirect_uri},
    )
    allowed = authorization_request(client_for(customer), client_id=BROWSER_WALLET_CLIENT_ID, redirect_uri=redirect_uri)

    for response in (shown, allowed):
        assert response.status_code == 400
        assert "Location" not in response
        assert "Unknown wallet app" in response.content.decode()
    assert AuthorizationCode.objects.count() == 0


def test_configuration_cannot_send_the_browser_wallets_client_elsewhere(customer, client_for, settings):
    settings.OPENID4VCI_PUBLIC_CLIENTS = {BROWSER_WALLET_CLIENT_ID: ["https://attacker.test/callback"]}

    response = authorization_request(
        client_for(customer), client_id=BROWSER_WALLET_CLIENT_ID, redirect_uri="https://attacker.test/callback"
    )

    assert response.status_code == 400 and "Location" not in response
    assert wallet_authorization_request(client_for(customer)).status_code == 302


def test_a_code_of_the_browser_wallet_cannot_be_spent_by_another_client(customer, client_for):
    response = wallet_authorization_request(client_for(customer))
    code = response["Location"].split("code=", 1)[1].split("&", 1)[0]

    assert_oauth_error(code_token_request(code, "v" * 43, redirect_uri=WALLET_PAGE), 400, "invalid_grant")
    assert IssuanceAccessToken.objects.count() == 0


def test_the_consent_page_keeps_the_offers_issuer_state_and_names_the_browser_wallet(customer, client_for):
    params = {
        "response_type": "code",
        "client_id": BROWSER_WALLET_CLIENT_ID,
        "redirect_uri": WALLET_PAGE,
        "scope": "PaymentHistoryCredential",
        "code_challenge": _challenge("v" * 43),
        "code_challenge_method": "S256",
        "state": "s1",
        "issuer_state": "offer-context-1",
    }
    page = client_for(customer).get(reverse("openid4vci:authorize"), params)

    assert page.status_code == 200
    html = page.content.decode()
    assert '<input type="hidden" name="issuer_state" value="offer-context-1">' in html
    assert "FinLab browser wallet" in html


def test_an_overlong_issuer_state_goes_back_to_the_wallet_as_invalid_request(customer, client_for):
    response = wallet_authorization_request(client_for(customer), issuer_state="x" * 513)

    assert response.status_code == 302 and response["Location"].startswith(WALLET_PAGE + "?")
    assert "error=invalid_request" in response["Location"]
    assert AuthorizationCode.objects.count() == 0
