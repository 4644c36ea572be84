"""Acceptance: an independent holder (the OpenWallet Foundation's TypeScript libraries, identity/tests/wallet)
collects the payment-history credential by the pre-authorized code flow and a credit-history credential by the
authorization code flow, then answers a dealer's credit check cross-device over OpenID4VP; the dealer's page in
Chromium shows the verdict without being reloaded."""

from __future__ import annotations

import html
import re

import pytest
from django.test import Client
from django.urls import reverse
from django_otp.oath import totp

from accounts.roles import Role
from accounts.services import totp_device_create_confirmed
from accounts.tests.factories import TEST_PASSWORD
from credit_checks.models import CreditCheckRequest, CreditCheckVerdict
from identity.models import PresentationTransaction
from identity.openid4vci import certificates
from identity.tests.openid4vci.conftest import TEST_CLIENT_ID, TEST_REDIRECT_URI, consent, customer_browser
from identity.tests.openid4vci.test_wallet_flows import assert_issued_to_wallet
from identity.tests.openid4vci.wallet_harness import run_wallet

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.browser]


@pytest.fixture
def portal_url(settings, live_server) -> str:
    """The live server is issuer and verifier (its http origin; the test wallet allows insecure URLs in tests)."""
    settings.OPENID4VCI_CREDENTIAL_ISSUER = live_server.url
    settings.PORTAL_BASE_URL = live_server.url
    return live_server.url


def offer(user, configuration: str) -> tuple[str, str]:
    """The customer's "Get credentials" page makes an offer: (openid-credential-offer link, PIN)."""
    client = Client()
    client.force_login(user)
    page = client.post(reverse("identity:credential-offer"), {"configuration": configuration})
    assert page.status_code == 200
    text = page.content.decode()
    link = html.unescape(re.search(r'href="(openid-credential-offer://[^"]+)" data-testid="offer-link"', text)[1])
    return link, re.search(r'data-testid="offer-pin">(\d{6})<', text)[1]


def dealer_opens_a_credit_check(page, dealer, device) -> str:
    """Log in with the second factor, open a credit check; returns the openid4vp:// link behind the QR code."""
    page.goto("/accounts/login/")
    page.get_by_label("Email").fill(dealer.email)
    page.get_by_label("Password").fill(TEST_PASSWORD)
    page.get_by_role("button", name="Log in").click()
    page.get_by_label("Code from your authenticator app").fill(
        f"{totp(device.bin_key, step=device.step, t0=device.t0, digits=device.digits):06d}"
    )
    page.get_by_role("button", name="Verify").click()
    page.get_by_test_id("dashboard-title").wait_for()
    page.goto("/identity/credit-checks/")
    page.get_by_label("Purpose").select_option("lease")
    page.get_by_label("Monthly instalment").fill("450.00")
    page.get_by_label("Term (months)").fill("36")
    page.get_by_role("button", name="Open credit check").click()
    assert page.locator("[data-testid=openid4vp-qr] svg").count() == 1
    return page.get_by_test_id("openid4vp-link").get_attribute("href")


def test_the_independent_wallet_collects_credentials_and_answers_the_dealers_credit_check(
    page, make_user, portal_url, screenshot
):
    customer = make_user(Role.CUSTOMER)
    dealer = make_user(Role.DEALER)
    device = totp_device_create_confirmed(user=dealer)
    ca_pem = certificates.certificate_pem_of_ca()
    # OpenID4VCI, pre-authorized code flow: the payment-history credential
    link, pin = offer(customer, "PaymentHistoryCredential")
    history = run_wallet({"flow": "pre-authorized", "offer": link, "txCode": pin, "caPem": ca_pem})
    assert_issued_to_wallet(history, issuer_url=portal_url)
    # OpenID4VCI, authorization code flow: the credit-history credential the credit check asks for
    link, _pin = offer(customer, "DemoCreditHistoryCredential")
    browser = customer_browser(customer)
    credit = run_wallet(
        {
            "flow": "authorization-code",
            "offer": link,
            "clientId": TEST_CLIENT_ID,
            "redirectUri": TEST_REDIRECT_URI,
            "caPem": ca_pem,
        },
        authorize=lambda url: consent(browser, url),
    )
    assert credit["ok"] is True, credit
    # the dealer shows the code; the wallet scans it on another device
    wallet_link = dealer_opens_a_credit_check(page, dealer, device)
    assert wallet_link.startswith("openid4vp://?client_id=x509_san_dns%3Alocalhost&request_uri=")
    page.evaluate("window.notReloaded = true")
    screenshot(page, "dealer-waits")

    answer = run_wallet(
        {
            "link": wallet_link,
            "credential": credit["credential"],
            "holderPrivateJwk": credit["holderPrivateJwk"],
            "caPem": ca_pem,
        },
        script="present.mjs",
    )

    assert answer["ok"] is True, answer
    assert answer["request"] == {
        "client_id": "x509_san_dns:localhost",
        "response_mode": "direct_post.jwt",
        "claims": ["scoreBand", "affordabilityCeilingPerMonth"],
        "vct": [f"{portal_url}/credentials/types/demo-credit-history"],
        "encrypted": True,
    }
    page.get_by_test_id("credit-check-verdict").wait_for(timeout=30_000)
    assert page.get_by_test_id("credit-check-verdict").inner_text() == "Approved"
    assert page.get_by_test_id("credit-check-band").inner_text() == "B"
    assert page.evaluate("window.notReloaded") is True  # the page updated itself
    assert page.locator("[data-testid=openid4vp-qr]").count() == 0
    screenshot(page, "dealer-verdict")
    request = CreditCheckRequest.objects.get()
    assert request.status == "decided" and request.customer_id is None  # answered without signing in here
    assert CreditCheckVerdict.objects.get(request=request).outcome == "approved"
    transaction = PresentationTransaction.objects.get()
    assert transaction.status == "verified" and transaction.presentation_hash == request.presentation_hash
    assert bytes(transaction.encrypted_private_key) == b""  # the answer's key is gone once it is used
