"""In headless Chromium: quote → application through a dealer → the dealer's credit check, answered by the customer
from the browser wallet → the identity check (over 18), answered from the browser wallet over OpenID4VP → back-office
approval with the second factor → acceptance → beat collects.

Nothing is recorded behind the browser's back: the verdict reaches the application the way it does in production,
by leasing collecting it from the credit-check flow when the application page opens.
"""

from __future__ import annotations

import pathlib

import pytest
from django.conf import settings
from django_otp.oath import totp
from playwright.sync_api import expect

from accounts.roles import Role
from accounts.services import totp_device_create_confirmed
from accounts.tests.factories import TEST_PASSWORD
from conftest import ARTIFACTS_DIR
from credit_checks.models import CreditCheckVerdict
from leasing.models import Application, Collection, Contract
from leasing.tests import factories
from portal.celery import app as celery_app

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.browser]


def _log_in(page, email: str) -> None:
    page.goto("/accounts/login/")
    page.get_by_label("Email").fill(email)
    page.get_by_label("Password").fill(TEST_PASSWORD)
    page.get_by_role("button", name="Log in").click()


def _beat_runs(task_name: str) -> None:
    """Dispatches the task exactly as beat's schedule entry names it (eager in tests)."""
    entry = settings.CELERY_BEAT_SCHEDULE[task_name]
    celery_app.loader.import_default_modules()  # what a worker does at start: import every app's tasks
    celery_app.tasks[entry["task"]].apply().get()


def _log_in_with_second_factor(page, user, device) -> None:
    _log_in(page, user.email)
    page.get_by_label("Code from your authenticator app").fill(
        f"{totp(device.bin_key, step=device.step, t0=device.t0, digits=device.digits):06d}"
    )
    page.get_by_role("button", name="Verify").click()
    page.get_by_test_id("dashboard-title").wait_for()


def test_customer_gets_a_lease_approved_accepts_it_and_beat_collects(
    page, live_server, make_user, screenshot, settings
):
    # the live server is the verifier and the issuer the browser wallet talks to (it reaches only its own origin)
    settings.PORTAL_BASE_URL = settings.OPENID4VCI_CREDENTIAL_ISSUER = live_server.url
    factories.mileage_lease_product(code="private-mileage")
    customer = make_user(Role.CUSTOMER)
    dealer = make_user(Role.DEALER)
    staff = make_user(Role.BACK_OFFICE)
    dealer_device = totp_device_create_confirmed(user=dealer)
    staff_device = totp_device_create_confirmed(user=staff)
    browser = page.context.browser
    page.set_default_timeout(20_000)

    _log_in(page, customer.email)
    page.goto("/leasing/")
    page.get_by_label("Product").select_option(label="Private mileage lease")
    page.get_by_label("Vehicle price (EUR)").fill("32500")
    page.get_by_label("Down payment (EUR)").fill("2500")
    page.get_by_label("Term (months)").fill("36")
    page.get_by_label("Yearly mileage (km)").fill("15000")
    page.get_by_label("Payments").select_option("in_advance")
    page.get_by_label("Maintenance").check()
    screenshot(page, "calculator")
    page.get_by_role("button", name="Calculate").click()
    assert page.get_by_test_id("aprc").inner_text().endswith(" %")
    assert page.locator("svg.balance-chart").count() == 1
    screenshot(page, "quote")

    page.get_by_label("Dealer (optional)").select_option(label=dealer.dealer_organisation.name)
    page.get_by_role("button", name="Apply for this offer").click()
    assert page.get_by_test_id("application-status").inner_text() == "Credit check pending"
    application_number = page.get_by_test_id("application-number").inner_text()
    monthly_total = page.get_by_test_id("monthly-total").inner_text()  # e.g. "€512.34"
    screenshot(page, "application-pending")
    application = Application.objects.get(customer=customer)
    assert application_number == str(application.pk)

    # The dealer who originated the application opens a credit check for its instalment and number.
    dealer_page = browser.new_context(base_url=live_server.url, viewport={"width": 1280, "height": 860}).new_page()
    dealer_page.set_default_timeout(20_000)
    _log_in_with_second_factor(dealer_page, dealer, dealer_device)
    dealer_page.goto("/identity/credit-checks/")
    dealer_page.get_by_label("Purpose").select_option("lease")
    dealer_page.get_by_label("Monthly instalment").fill(monthly_total.removeprefix("€").replace(",", ""))
    dealer_page.get_by_label("Term (months)").fill("36")
    dealer_page.get_by_label("Lease application number (optional)").fill(application_number)
    dealer_page.get_by_role("button", name="Open credit check").click()
    link = dealer_page.get_by_test_id("credit-check-link").inner_text()
    screenshot(dealer_page, "dealer-credit-check")

    # The customer answers from the browser wallet: consent, then the selective presentation.
    page.goto(link)
    page.get_by_test_id("disclosure").wait_for()
    page.get_by_label("Wallet passphrase").fill("correct horse battery lease")
    page.get_by_role("button", name="Open wallet").click()
    page.locator("#wallet-open").wait_for()
    page.get_by_role("button", name="Get my credit-history credential (demo credit bureau)").click()
    page.locator("#wallet-credentials tr[data-credential-id]").wait_for()
    page.get_by_role("button", name="I agree: share these two results").click()
    page.get_by_test_id("credit-check-verdict").wait_for()
    assert page.get_by_test_id("credit-check-verdict").inner_text() == "Approved"
    screenshot(page, "credit-check-answered")
    verdict = CreditCheckVerdict.objects.get(request__lease_application_id=application.pk)
    assert verdict.outcome == "approved"

    # Opening the application collects the verdict; the application waits for a person's decision.
    page.goto(f"/leasing/applications/{application.pk}/")
    assert page.get_by_test_id("credit-check").inner_text() == "Verdict recorded: Approved"
    assert page.get_by_test_id("application-status").inner_text() == "Decision pending"
    dealer_page.goto(f"/leasing/applications/{application.pk}/")
    assert dealer_page.get_by_test_id("application-status").inner_text() == "Decision pending"
    assert dealer_page.get_by_test_id("identity-check").inner_text() == "not checked yet"
    dealer_page.get_by_test_id("identity-check-next-step").wait_for()

    # Approval waits for the identity check: the customer takes the demo KYC provider's identity credential into
    # the browser wallet (OpenID4VCI offer with PIN) and shows only that they are over 18 (OpenID4VP).
    page.goto("/identity/wallet/credential-offer/")
    page.get_by_label("Identity (demo KYC provider)").check()
    page.get_by_role("button", name="Make an offer").click()
    offer_link = page.get_by_test_id("offer-browser-wallet-link").get_attribute("href")
    pin = page.get_by_test_id("offer-pin").inner_text()
    page.goto(offer_link)
    page.get_by_test_id("offer-summary").wait_for()
    page.get_by_label("Wallet passphrase").fill("correct horse battery lease")
    page.get_by_role("button", name="Open wallet").click()
    page.locator("#wallet-open").wait_for()
    page.get_by_label("PIN shown with the offer").fill(pin)
    page.get_by_role("button", name="Add to my wallet").click()
    page.locator("#wallet-offer-status").wait_for()
    page.goto(f"/leasing/applications/{application.pk}/")
    page.get_by_test_id("identity-check-start").click()
    page.get_by_test_id("identity-check-qr").wait_for()
    screenshot(page, "identity-check-request")
    page.get_by_role("link", name="Use the wallet in this browser").click()
    page.get_by_test_id("request-verifier").wait_for()
    page.get_by_label("Wallet passphrase").fill("correct horse battery lease")
    page.get_by_role("button", name="Open wallet").click()
    page.locator("#wallet-open").wait_for()
    claims = page.get_by_test_id("request-claims")
    claims.locator("dt").first.wait_for()
    assert claims.locator("dt").all_inner_texts() == ["Over 18"]
    screenshot(page, "identity-check-consent")
    page.get_by_role("button", name="Share").click()
    page.wait_for_url(f"{live_server.url}/leasing/applications/{application.pk}/")
    assert page.get_by_test_id("identity-check").inner_text() == "yes"
    dealer_page.reload()
    assert dealer_page.get_by_test_id("identity-check").inner_text() == "yes"
    dealer_page.context.close()

    staff_page = browser.new_context(base_url=live_server.url, viewport={"width": 1280, "height": 860}).new_page()
    _log_in_with_second_factor(staff_page, staff, staff_device)
    staff_page.goto(f"/leasing/applications/{application.pk}/")
    staff_page.locator("#id_approve-reason").fill("Verdict approved; affordable at the requested instalment")
    screenshot(staff_page, "back-office-decision")
    staff_page.get_by_role("button", name="Approve").click()
    assert staff_page.get_by_test_id("application-status").inner_text() == "Approved"
    screenshot(staff_page, "back-office-approved")
    staff_page.context.close()

    contract = Contract.objects.get(application=application)
    # The customer's application page follows the decision by itself: it reloads once the status has changed. Leaving
    # it before that reload came lets the reload interrupt the next navigation (seen on a busy machine).
    expect(page.get_by_test_id("application-status")).to_have_text("Approved", timeout=60_000)
    page.goto(f"/leasing/contracts/{contract.pk}/")
    pdf = page.request.get(f"/leasing/contracts/{contract.pk}/document.pdf").body()
    assert pdf[:5] == b"%PDF-"
    artifact = pathlib.Path(ARTIFACTS_DIR) / "leasing-contract.pdf"
    artifact.parent.mkdir(parents=True, exist_ok=True)
    artifact.write_bytes(pdf)
    page.get_by_label("Pay instalments by").select_option("portal_balance")
    page.get_by_label("I have read the contract document and accept it").check()
    screenshot(page, "contract-offered")
    page.get_by_role("button", name="Accept contract").click()
    assert page.get_by_test_id("contract-status").inner_text() == "Active"

    factories.balance_fund(user=customer, amount=2_000_00)  # the customer's top-up of their portal balance
    _beat_runs("leasing.collections_run")
    _beat_runs("leasing.collections_run")

    page.reload()
    assert page.get_by_test_id("item-status-1").inner_text() == "Paid"
    assert Collection.objects.filter(contract=contract).count() == 1
    screenshot(page, "first-instalment-collected")
