"""In headless Chromium: a customer registers, confirms from the outbox and logs in; each role reaches its dashboard."""

from __future__ import annotations

import re

import pytest
from django.core import mail
from django_otp.oath import totp

from accounts.models import EncryptedTotpDevice
from accounts.roles import Role
from accounts.tests.factories import TEST_PASSWORD

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.browser]


def _current_code(device: EncryptedTotpDevice) -> str:
    return f"{totp(device.bin_key, step=device.step, t0=device.t0, digits=device.digits):06d}"


def _log_in(page, email: str, password: str) -> None:
    page.goto("/accounts/login/")
    page.get_by_label("Email").fill(email)
    page.get_by_label("Password").fill(password)
    page.get_by_role("button", name="Log in").click()


def test_customer_registers_confirms_and_logs_in(page, live_server, screenshot):
    page.goto("/")
    screenshot(page, "landing")
    page.get_by_role("link", name="Create account").first.click()
    page.get_by_label("Email").fill("erika.driver@example.test")
    page.get_by_label("Password", exact=True).fill("a-long-passphrase-42")
    page.get_by_label("Repeat the password").fill("different-passphrase-1")
    page.get_by_label("I accept the terms").check()
    page.get_by_role("button", name="Create account").click()
    assert page.locator("#id_password_confirm_error").inner_text() == "The two passwords differ."
    screenshot(page, "register-error")

    page.get_by_label("Password", exact=True).fill("a-long-passphrase-42")
    page.get_by_label("Repeat the password").fill("a-long-passphrase-42")
    page.get_by_role("button", name="Create account").click()
    assert page.get_by_test_id("register-done").inner_text() == "Check your e-mail"

    assert [message.to for message in mail.outbox] == [["erika.driver@example.test"]]
    path = re.search(r"https?://[^/]+(/accounts/confirm/\S+/)", mail.outbox[0].body).group(1)
    page.goto(path)
    assert "Your e-mail is confirmed" in page.locator(".messages").inner_text()

    _log_in(page, "erika.driver@example.test", "a-long-passphrase-42")
    assert page.get_by_test_id("dashboard-title").inner_text() == "My dashboard"
    screenshot(page, "customer-dashboard")


def test_dealer_enrols_a_second_factor_and_reaches_the_dealer_dashboard(page, make_user, screenshot):
    dealer = make_user(Role.DEALER)

    _log_in(page, dealer.email, TEST_PASSWORD)
    assert page.url.endswith("/accounts/mfa/setup/")
    secret = page.get_by_test_id("totp-secret").inner_text()
    assert re.fullmatch(r"[A-Z2-7]{32}", secret)
    screenshot(page, "dealer-second-factor-setup")
    page.get_by_label("Code from your authenticator app").fill(
        _current_code(EncryptedTotpDevice.objects.get(user=dealer))
    )
    page.get_by_role("button", name="Confirm").click()
    assert page.get_by_test_id("recovery-codes").locator("li").count() == 10
    screenshot(page, "dealer-recovery-codes")
    page.get_by_test_id("recovery-codes-done").click()

    assert page.get_by_test_id("dashboard-title").inner_text() == "Dealer dashboard"
    assert page.get_by_test_id("role").inner_text() == "Dealer"
    screenshot(page, "dealer-dashboard")


def test_back_office_passes_the_second_factor_and_reaches_the_back_office(page, make_user, screenshot):
    from accounts.services import totp_device_create_confirmed

    staff = make_user(Role.BACK_OFFICE)
    device = totp_device_create_confirmed(user=staff)

    _log_in(page, staff.email, TEST_PASSWORD)
    assert page.url.endswith("/accounts/mfa/verify/")
    page.get_by_label("Code from your authenticator app").fill(
        "000000" if _current_code(device) != "000000" else "111111"
    )
    page.get_by_role("button", name="Verify").click()
    assert page.locator("#id_token_error").is_visible()
    EncryptedTotpDevice.objects.filter(pk=device.pk).update(
        throttling_failure_count=0
    )  # a person would wait out the throttle
    page.get_by_label("Code from your authenticator app").fill(_current_code(device))
    page.get_by_role("button", name="Verify").click()

    assert page.get_by_test_id("dashboard-title").inner_text() == "Back office"
    screenshot(page, "back-office-dashboard")
