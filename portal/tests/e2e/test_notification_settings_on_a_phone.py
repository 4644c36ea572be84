"""The e-mail settings on a 360 px phone in German: reached from the account menu, the page's content no wider than
the screen, the choice saved and shown again; and the unsubscribe link of a reminder mail, used on the same phone."""

from __future__ import annotations

import pytest
from django.conf import settings

from accounts.notifications import notification_kind_get, notification_preferences_get, notification_unsubscribe_link
from accounts.roles import Role
from accounts.services import user_preferences_update
from accounts.tests.factories import TEST_PASSWORD

# Elements of the page's own content that reach past the right edge of the screen, or whose text runs out of them (a
# long German word); the header is the layout's own business, tested by the page crawl.
FITS = """() => [...document.querySelectorAll('main *')]
    .filter(element => element.getBoundingClientRect().right > window.innerWidth + 0.5
        || element.scrollWidth > element.clientWidth + 1)
    .map(element => element.tagName + ' ' + element.textContent.trim().slice(0, 40))"""

pytestmark = [pytest.mark.slow, pytest.mark.django_db(transaction=True)]


def test_a_german_customer_turns_expiry_reminders_off_on_a_phone(
    _playwright_browser, live_server, make_user, screenshot
):
    customer = make_user(Role.CUSTOMER)
    user_preferences_update(user=customer, language="de")
    context = _playwright_browser.new_context(
        base_url=live_server.url, viewport={"width": 360, "height": 740}, locale="de-DE"
    )
    page = context.new_page()
    page.set_default_timeout(15_000)
    try:
        page.goto("/accounts/login/")
        page.locator("input[name=email]").fill(customer.email)
        page.locator("input[name=password]").fill(TEST_PASSWORD)
        page.get_by_role("button", name="Anmelden").click()
        page.get_by_title("Einstellungen").click()  # the account menu: the e-mail address in the header
        page.get_by_role("link", name="Wählen Sie, welche E-Mails Sie erhalten").click()

        page.get_by_role("heading", name="E-Mail-Benachrichtigungen").wait_for()
        assert page.evaluate(FITS) == []
        page.get_by_label("Ein QR-Code läuft bald ab").uncheck()
        page.get_by_role("button", name="Speichern").click()
        page.get_by_text("Ihre E-Mail-Einstellungen wurden gespeichert.").wait_for()
        screenshot(page, "saved")

        assert page.get_by_label("Ein QR-Code läuft bald ab").is_checked() is False
        assert page.get_by_label("Eine Laderechnung wurde ausgestellt").is_checked() is True
        assert page.evaluate(FITS) == []
        assert notification_preferences_get(user=customer) == {
            "payments.code_expiring": False,
            "machines.charging_invoice_issued": True,
        }
    finally:
        context.close()


def test_a_german_customer_unsubscribes_from_a_reminder_with_the_mails_link_on_a_phone(
    _playwright_browser, live_server, make_user, screenshot
):
    """The List-Unsubscribe link opened on a 360 px phone, not logged in: the question and its one button in German,
    nothing wider than the screen, and the kind turned off after the tap."""
    customer = make_user(Role.CUSTOMER)
    kind = notification_kind_get(code="payments.code_expiring")
    link = notification_unsubscribe_link(user=customer, kind=kind)
    path = link.removeprefix(settings.PORTAL_BASE_URL.rstrip("/"))
    context = _playwright_browser.new_context(
        base_url=live_server.url, viewport={"width": 360, "height": 740}, locale="de-DE"
    )
    page = context.new_page()
    page.set_default_timeout(15_000)
    try:
        page.goto(path)
        page.get_by_role("heading", name="Diese E-Mails abbestellen?").wait_for()
        assert page.evaluate(FITS) == []
        assert notification_preferences_get(user=customer)["payments.code_expiring"] is True  # looking is not asking
        screenshot(page, "confirm")

        page.get_by_role("button", name="Abbestellen").click()
        page.get_by_role("heading", name="Sie sind abgemeldet").wait_for()
        assert page.evaluate(FITS) == []
        screenshot(page, "done")
        assert notification_preferences_get(user=customer) == {
            "payments.code_expiring": False,
            "machines.charging_invoice_issued": True,
        }
    finally:
        context.close()
