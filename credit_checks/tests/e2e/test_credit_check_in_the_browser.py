"""In headless Chromium: a dealer opens a credit check, the customer follows the link, reads the disclosure screen,
consents and presents from the browser wallet, and the dealer sees the verdict. Afterwards no personal value of the
credential is anywhere in the database."""

from __future__ import annotations

import json

import pytest
from django_otp.oath import totp

from accounts.roles import Role
from accounts.services import totp_device_create_confirmed
from accounts.tests.factories import TEST_PASSWORD
from credit_checks.models import CreditCheckRequest, CreditCheckVerdict
from credit_checks.tests.conftest import credit_sd_jwt
from identity.services import registry
from identity.tests.test_privacy import occurrences

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.browser]

NAME = "Wilhelmina Quarrendon"
INCOME = "73519"
POLICY_URL = "https://bureau.test/policies/zq-7731"
PASSPHRASE = "correct horse battery credit"


def _log_in(page, email: str) -> None:
    page.get_by_label("Email").fill(email)
    page.get_by_label("Password").fill(TEST_PASSWORD)
    page.get_by_role("button", name="Log in").click()


def test_dealer_request_customer_consent_and_verdict_in_the_browser(page, make_user, screenshot):
    dealer = make_user(Role.DEALER)
    device = totp_device_create_confirmed(user=dealer)
    customer = make_user(Role.CUSTOMER)
    bureau = registry.trusted_issuer_register(
        name="Bureau Nordlicht", kind="credit_bureau", credential_types=["CreditHistoryCredential"]
    )

    page.goto("/accounts/login/")
    _log_in(page, dealer.email)
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
    link = page.get_by_test_id("credit-check-link").inner_text()
    assert page.locator("[data-testid=credit-check-qr] svg").count() == 1
    screenshot(page, "dealer-request")
    request = CreditCheckRequest.objects.get()

    customer_page = page.context.browser.new_context(base_url=page.url.split("/identity")[0]).new_page()
    customer_page.set_default_timeout(20_000)

    def bureau_answers(route) -> None:
        """The wallet's credential request is answered by a bureau credential with distinctive personal values."""
        holder_did = json.loads(route.request.post_data)["holderDid"]
        issued = credit_sd_jwt(
            issuer=bureau,
            holder_did=holder_did,
            holderName=NAME,
            annualIncomeMinor=int(INCOME),
            issuer_policy=POLICY_URL,
        )
        body = {
            "verifiableCredential": issued.verifiable_credential,
            "credentialId": issued.credential_id,
            "format": "sd-jwt",
            "anchor": {"leafHash": issued.leaf_hash},
        }
        route.fulfill(status=201, content_type="application/json", body=json.dumps(body))

    customer_page.route("**/api/identity/wallet/credentials", bureau_answers)
    customer_page.goto(link)
    assert "/accounts/login/?next=" in customer_page.url
    _log_in(customer_page, customer.email)
    customer_page.get_by_test_id("disclosure").wait_for()
    claims = customer_page.get_by_test_id("disclosure-claims").inner_text()
    assert "score band" in claims and "affordability ceiling" in claims
    assert dealer.dealer_organisation.name in customer_page.get_by_test_id("disclosure").inner_text()
    customer_page.get_by_label("Wallet passphrase").fill(PASSPHRASE)
    customer_page.get_by_role("button", name="Open wallet").click()
    customer_page.locator("#wallet-open").wait_for()
    customer_page.get_by_role("button", name="Get my credit-history credential (demo credit bureau)").click()
    customer_page.locator("#wallet-credentials tr[data-credential-id]").wait_for()
    screenshot(customer_page, "customer-disclosure")
    customer_page.get_by_role("button", name="I agree: share these two results").click()
    customer_page.get_by_test_id("credit-check-verdict").wait_for()
    assert customer_page.get_by_test_id("credit-check-verdict").inner_text() == "Approved"
    screenshot(customer_page, "customer-verdict")

    page.reload()
    assert page.get_by_test_id("credit-check-verdict").inner_text() == "Approved"
    assert page.get_by_test_id("credit-check-band").inner_text() == "B"
    assert page.get_by_test_id("credit-check-ceiling").inner_text() == "€650.00 a month"
    assert page.get_by_test_id("credit-check-policy").inner_text() == "Lease policy, version 1"
    screenshot(page, "dealer-verdict")

    verdict = CreditCheckVerdict.objects.get(request=request)
    assert (verdict.outcome, verdict.disclosed_score_band, verdict.disclosed_ceiling) == ("approved", "B", 650_00)
    assert occurrences([NAME, "Quarrendon", INCOME, POLICY_URL.rsplit("/", 1)[1], customer.email]) == {
        ("accounts_user", "email"): [customer.email]
    }
    customer_page.context.close()
