"""In headless Chromium on a German phone (360 x 740): a vehicle owner tops up the wallet from a payment code and by
card, confirming each before money moves; no page is wider than the screen."""

from __future__ import annotations

import pytest
from django.conf import settings

from accounts.roles import Role
from conftest import login_client
from machines.tests.factories import vehicle_make
from payments.ledger.client import account_balance_get
from payments.tests.qr.factories import paid_code_create

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.browser]
PHONE = {"width": 360, "height": 740}


def _fits_the_screen(page) -> bool:
    """Nothing of the page's content reaches past the right edge (`_overflow` names what does). The header is the
    site layout's, checked by the site-wide crawl."""
    return not _overflow(page)


def _overflow(page) -> object:
    return page.evaluate(
        """() => [...document.querySelectorAll('main *')]
            .filter(e => e.getBoundingClientRect().right > window.innerWidth + 1)
            .map(e => e.tagName + '.' + e.className + '#' + e.id + ' ' + Math.round(e.getBoundingClientRect().right))"""
    )


def test_a_german_owner_tops_up_from_a_code_and_by_card_on_a_phone(
    _playwright_browser, live_server, make_user, screenshot
):
    owner = make_user(Role.CUSTOMER)  # language: follow the browser (de-DE)
    vehicle = vehicle_make(owner=owner, balance=0)
    code = paid_code_create(owner=owner, amount=5_000)
    session = login_client(owner).cookies[settings.SESSION_COOKIE_NAME].value
    context = _playwright_browser.new_context(base_url=live_server.url, viewport=PHONE, locale="de-DE")
    context.add_cookies([{"name": settings.SESSION_COOKIE_NAME, "value": session, "url": live_server.url}])
    page = context.new_page()
    page.set_default_timeout(20_000)
    try:
        page.goto(f"/machines/vehicles/{vehicle.pk}/")
        page.get_by_test_id("owner-top-up").click()
        page.get_by_label("Aus einem meiner Zahlungscodes").check()
        page.get_by_label("Zahlungscode", exact=True).select_option(code.public_id.hex)
        page.get_by_label("Betrag (EUR)").fill("12,50")
        assert _fits_the_screen(page), _overflow(page)
        screenshot(page, "1-top-up-form")
        page.get_by_role("button", name="Weiter").click()

        assert page.get_by_test_id("top-up-amount").inner_text() == "12,50\xa0€"
        assert account_balance_get(account_id=vehicle.wallet_account_id).posted == 0  # not before confirming
        assert _fits_the_screen(page), _overflow(page)
        screenshot(page, "2-confirm")
        page.get_by_test_id("top-up-confirm").click()
        page.get_by_test_id("owner-top-up").wait_for()
        assert account_balance_get(account_id=vehicle.wallet_account_id).posted == 1_250
        assert account_balance_get(account_id=code.account_id).posted == 3_750

        page.get_by_test_id("owner-top-up").click()
        page.get_by_label("Mit Karte").check()
        page.get_by_label("Betrag (EUR)").fill("20")
        page.get_by_role("button", name="Weiter").click()
        page.get_by_test_id("top-up-confirm").click()
        page.get_by_label("Kartennummer").fill("4242 4242 4242 4242")
        page.get_by_label("Gültig bis (MM/JJ)").fill("12/30")
        page.get_by_label("Prüfnummer").fill("123")
        assert _fits_the_screen(page), _overflow(page)
        page.get_by_role("button", name="20,00\xa0€ bezahlen").click()
        page.get_by_test_id("top-up-booked").wait_for()
        assert _fits_the_screen(page), _overflow(page)
        screenshot(page, "3-card-top-up-booked")
        assert account_balance_get(account_id=vehicle.wallet_account_id).posted == 3_250
    finally:
        context.close()
