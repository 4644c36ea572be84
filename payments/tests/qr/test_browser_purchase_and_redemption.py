"""In headless Chromium: a new customer buys a 50 EUR code with a card that needs the challenge step, a dealer
redeems 20 EUR and captures it, settlement pays the dealer, and both statements show the exact amounts."""

from __future__ import annotations

import io
import re

import pytest
import zxingcpp
from django.core import mail
from django_otp.oath import totp
from PIL import Image

from accounts.roles import Role
from accounts.services import totp_device_create_confirmed
from accounts.tests.factories import TEST_PASSWORD
from payments.models import QrRedemption, SettlementBatch, SettlementItem, SettlementItemState
from payments.qr.tokens import qr_token_verify
from payments.tests.qr.factories import account_balance, product_create

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.browser]
CUSTOMER_EMAIL = "erika.driver@example.test"
CUSTOMER_PASSWORD = "a-long-passphrase-42"


def _log_in(page, email: str, password: str) -> None:
    page.goto("/accounts/login/")
    page.get_by_label("Email").fill(email)
    page.get_by_label("Password").fill(password)
    page.get_by_role("button", name="Log in").click()


def _register_customer(page) -> None:
    page.goto("/accounts/register/")
    page.get_by_label("Email").fill(CUSTOMER_EMAIL)
    page.get_by_label("Password", exact=True).fill(CUSTOMER_PASSWORD)
    page.get_by_label("Repeat the password").fill(CUSTOMER_PASSWORD)
    page.get_by_label("I accept the terms").check()
    page.get_by_role("button", name="Create account").click()
    path = re.search(r"https?://[^/]+(/accounts/confirm/\S+/)", mail.outbox[0].body).group(1)
    page.goto(path)
    _log_in(page, CUSTOMER_EMAIL, CUSTOMER_PASSWORD)


def _buy_code_with_challenge_card(page, screenshot, product_slug: str) -> str:
    page.goto("/payments/qr/shop/")
    screenshot(page, "1-shop")
    page.get_by_test_id(f"product-{product_slug}").get_by_role("link").click()
    page.get_by_label("Value in EUR").fill("50.00")
    page.get_by_label("Card (sandbox acquirer)").check()
    page.get_by_role("button", name="Continue to payment").click()
    page.get_by_label("Card number").fill("4000 0000 0000 3220")
    page.get_by_label("Expiry (MM/YY)").fill("12/30")
    page.get_by_label("Security code").fill("123")
    screenshot(page, "2-sandbox-card")
    page.get_by_role("button", name="Pay €50.00").click()
    assert page.get_by_test_id("challenge-title").inner_text() == "Confirm the payment"
    page.get_by_label("One-time code").fill("123456")
    screenshot(page, "3-challenge")
    page.get_by_role("button", name="Confirm").click()
    assert page.get_by_test_id("order-status").inner_text() == "Paid"
    page.get_by_test_id("order-code-link").click()
    assert page.get_by_test_id("code-balance").inner_text() == "€50.00"
    page.wait_for_function("() => document.querySelector('[data-testid=code-qr]').naturalWidth > 0")
    screenshot(page, "4-my-code")
    image = Image.open(io.BytesIO(page.get_by_test_id("code-qr").screenshot()))
    return zxingcpp.read_barcodes(image)[0].text


def _dealer_redeems_and_captures(page, screenshot, dealer, token: str) -> None:
    device = totp_device_create_confirmed(user=dealer)
    _log_in(page, dealer.email, TEST_PASSWORD)
    page.get_by_label("Code from your authenticator app").fill(
        f"{totp(device.bin_key, step=device.step, t0=device.t0, digits=device.digits):06d}"
    )
    page.get_by_role("button", name="Verify").click()
    page.goto("/payments/qr/dealer/redeem/")
    page.get_by_label("Code text").fill(token)
    page.get_by_label("Amount in EUR").fill("20.00")
    screenshot(page, "5-dealer-redeem")
    page.get_by_role("button", name="Authorize").click()
    assert page.get_by_test_id("redemption-status").inner_text() == "Authorized"
    page.get_by_label("Amount in EUR").fill("20.00")
    page.get_by_role("button", name="Capture").click()
    assert page.get_by_test_id("redemption-captured").inner_text() == "€20.00"
    screenshot(page, "6-dealer-captured")


def _statement_lines(page) -> list[tuple[str, str]]:
    rows = page.locator("table tbody tr")
    return [
        (rows.nth(i).locator("td").nth(1).inner_text(), rows.nth(i).locator("td").nth(3).inner_text())
        for i in range(rows.count())
    ]


def test_customer_buys_a_code_and_a_dealer_redeems_it(page, live_server, screenshot, make_user):
    product = product_create(accepted_for="Workshop visits, charging, car wash")
    dealer = make_user(Role.DEALER)

    _register_customer(page)
    token = _buy_code_with_challenge_card(page, screenshot, product.slug)
    claims = qr_token_verify(token=token)
    page.get_by_role("button", name="Log out").click()
    _dealer_redeems_and_captures(page, screenshot, dealer, token)

    redemption = QrRedemption.objects.get()
    assert (redemption.code.public_id, redemption.captured_amount) == (claims.public_id, 2_000)
    item = SettlementItem.objects.get(pending_transfer_id=redemption.settlement_transfer_id)
    assert item.state == SettlementItemState.SETTLED
    assert SettlementBatch.objects.get(pk=item.batch_id).totals == {"EUR": 2_000}
    assert account_balance(redemption.code.account_id) == (0, 2_000, 0, 5_000)
    page.goto("/payments/qr/dealer/statement/")
    assert _statement_lines(page) == [("Redemption captured", "€20.00"), ("Payout settled", "€20.00")]
    assert page.get_by_test_id("statement-total-EUR").inner_text() == "€20.00"
    screenshot(page, "7-dealer-statement")

    page.get_by_role("button", name="Log out").click()
    _log_in(page, CUSTOMER_EMAIL, CUSTOMER_PASSWORD)
    page.goto("/payments/qr/statement/")
    assert _statement_lines(page) == [("Purchase", "€50.00"), ("Payment at a dealer", "-€20.00")]
    assert page.get_by_test_id("statement-total-EUR").inner_text() == "€30.00"
    screenshot(page, "8-customer-statement")
