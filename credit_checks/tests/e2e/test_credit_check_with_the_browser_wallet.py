"""Acceptance: the portal's own browser wallet completes the dealer's credit check over OpenID4VP in Chromium.

Same device: the customer, signed in, opens the credit check's consent page and follows "Use the wallet in this
browser". Cross device: the dealer's page shows the code; a second, fresh browser (the customer's phone) opens the
same request in the browser wallet, after importing the encrypted backup made on the laptop where the credential was
received. In both cases the dealer's page shows the verdict by itself."""

from __future__ import annotations

from urllib.parse import urlsplit

import pytest

from accounts.roles import Role
from accounts.services import totp_device_create_confirmed
from credit_checks.models import CreditCheckRequest, CreditCheckVerdict
from credit_checks.tests.e2e.test_openid4vp_wallet import dealer_opens_a_credit_check
from identity.models import PresentationTransaction
from identity.tests.e2e.browser_wallet import (
    BACKUP_PASSPHRASE,
    consent_screen,
    export_backup,
    import_backup,
    log_in,
    open_wallet,
    receive_offer,
)

pytestmark = [
    pytest.mark.django_db(transaction=True),
    pytest.mark.browser,
    pytest.mark.usefixtures("portal_at_live_server"),
]

CREDIT_HISTORY = "Credit history (demo credit bureau)"
SHARED = [("Score band", "B"), ("Affordable per month", "€650.00")]


def dealer_page(new_page, dealer):
    page = new_page()
    device = totp_device_create_confirmed(user=dealer)
    wallet_link = dealer_opens_a_credit_check(page, dealer, device)
    page.evaluate("window.notReloaded = true")
    return page, wallet_link


def dealer_sees_the_verdict(page) -> None:
    page.get_by_test_id("credit-check-verdict").wait_for(timeout=60_000)
    assert page.get_by_test_id("credit-check-verdict").inner_text() == "Approved"
    assert page.get_by_test_id("credit-check-band").inner_text() == "B"
    assert page.evaluate("window.notReloaded") is True  # the page updated itself
    request = CreditCheckRequest.objects.get()
    assert request.status == "decided"
    assert CreditCheckVerdict.objects.get(request=request).outcome == "approved"
    assert PresentationTransaction.objects.get().status == "verified"


def test_same_device_the_customer_answers_in_this_browser(new_page, make_user, screenshot):
    customer, dealer = make_user(Role.CUSTOMER), make_user(Role.DEALER)
    dealer_screen, _wallet_link = dealer_page(new_page, dealer)
    consent_page_link = dealer_screen.get_by_test_id("credit-check-link").get_attribute("href")

    browser = new_page()
    log_in(browser, customer.email)
    receive_offer(browser, CREDIT_HISTORY)
    browser.goto(consent_page_link)
    browser.get_by_test_id("openid4vp-browser-wallet-link").click()
    browser.get_by_test_id("request-verifier").wait_for()
    assert urlsplit(browser.url).path == "/identity/wallet/openid4vp/"
    open_wallet(browser)
    assert consent_screen(browser) == SHARED
    screenshot(browser, "customer-consents")
    browser.get_by_role("button", name="Share").click()
    browser.wait_for_url(lambda url: "/identity/wallet/" not in url)  # back to the portal, as the verifier asks

    dealer_sees_the_verdict(dealer_screen)
    screenshot(dealer_screen, "dealer-verdict")


def test_cross_device_a_phone_with_the_imported_backup_answers_the_dealers_code(
    new_page, make_user, tmp_path, screenshot
):
    customer, dealer = make_user(Role.CUSTOMER), make_user(Role.DEALER)
    laptop = new_page()
    log_in(laptop, customer.email)
    receive_offer(laptop, CREDIT_HISTORY)
    backup = export_backup(laptop, tmp_path)

    dealer_screen, wallet_link = dealer_page(new_page, dealer)
    assert wallet_link.startswith("openid4vp://?client_id=x509_san_dns%3Alocalhost&request_uri=")
    screenshot(dealer_screen, "dealer-shows-code")

    phone = new_page(viewport={"width": 360, "height": 740})
    log_in(phone, customer.email)
    phone.goto("/identity/wallet/")
    open_wallet(phone, "the phone's own passphrase")
    import_backup(phone, backup, BACKUP_PASSPHRASE)
    phone.get_by_test_id("backup-status").filter(has_text="Backup imported.").wait_for()
    # the phone opens the dealer's request with the query of the code, in its browser wallet
    phone.goto("/identity/wallet/openid4vp/?" + urlsplit(wallet_link).query)
    phone.get_by_test_id("request-verifier").wait_for()
    open_wallet(phone, "the phone's own passphrase")
    assert consent_screen(phone) == SHARED
    screenshot(phone, "phone-consents")
    phone.get_by_role("button", name="Share").click()
    phone.get_by_test_id("request-status").filter(has_text="Shared.").wait_for()

    dealer_sees_the_verdict(dealer_screen)
