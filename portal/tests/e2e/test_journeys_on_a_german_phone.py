"""In headless Chromium on a phone (390 x 844), in German: the README's journeys as a customer, a dealer and back office
walk them.

1. A customer buys a code by card (with the card's challenge step), shows it at the dealer; the dealer reads it and
   redeems part of its balance.
2. A lease quote, the application through a dealer, the dealer's credit check answered from the customer's wallet,
   the customer's identity check (recorded through the service layer, see the test), approval by two back-office
   users (four eyes) and the customer's acceptance of the contract.
3. A vehicle is registered by its owner, who tops up its wallet by card; a station charges it and the owner reads
   the session and its invoice.

Every page is German (`<html lang="de">`, German words on the buttons and statuses) and no page is wider than the
phone. Screenshots of the German phone views are written to test-artifacts/screenshots/ (the README's come from
there).
"""

from __future__ import annotations

import datetime as dt
import io
import re

import pytest
import zxingcpp
from django.core import mail
from django.utils import timezone
from django_otp.oath import totp
from PIL import Image
from playwright.sync_api import expect

from accounts.models import User
from accounts.roles import Role
from accounts.services import totp_device_create_confirmed
from accounts.tests.factories import TEST_PASSWORD
from conftest import ARTIFACTS_DIR
from leasing.models import Application, Contract
from leasing.tests import factories as leasing_factories
from payments.tests.qr.factories import product_create
from portal.tests.e2e.page_checks import VISIBLE_TEXT_JS, is_english_sentence

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.browser]

PHONE = {"width": 390, "height": 844}


@pytest.fixture
def phone(_playwright_browser, live_server):
    """Opens German phone pages: each call gives a new browser (its own cookies) with a German Accept-Language; the
    people have chosen no language, so the browser's decides."""
    contexts = []

    def open_page():
        context = _playwright_browser.new_context(
            base_url=live_server.url, viewport=PHONE, locale="de-DE", is_mobile=True, has_touch=True
        )
        contexts.append(context)
        page = context.new_page()
        page.set_default_timeout(20_000)
        return page

    yield open_page
    for context in contexts:
        context.close()


def _shot(page, name: str) -> None:
    """A German phone screenshot (the viewport as a person sees it, not the whole page) for the README."""
    folder = ARTIFACTS_DIR / "screenshots"
    folder.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(folder / f"phone-de-{name}.png"))


def _too_wide(page) -> list[str]:
    """The innermost elements reaching past the window's right edge, to name what makes a page too wide."""
    return page.evaluate(
        """() => [...document.querySelectorAll('body *')]
          .filter((e) => e.getBoundingClientRect().right > window.innerWidth + 0.5)
          .filter((e) => ![...e.children].some((c) => c.getBoundingClientRect().right > window.innerWidth + 0.5))
          .slice(0, 5)
          .map((e) => `${e.tagName.toLowerCase()}.${[...e.classList].join('.')} "${(e.textContent || '').trim().slice(0, 40)}"`)"""
    )


def _fits_the_phone_in_german(page) -> None:
    """The page is German, has no English sentence (the crawl's heuristic) and is no wider than the phone."""
    assert page.evaluate("() => document.documentElement.lang") == "de"
    width = page.evaluate("() => document.documentElement.scrollWidth")
    assert width <= PHONE["width"], f"{page.url} is {width}px wide on a {PHONE['width']}px phone: {_too_wide(page)}"
    english = [text for text in page.evaluate(VISIBLE_TEXT_JS) if is_english_sentence(text)]
    assert not english, f"English on the German page {page.url}: {english}"


def _log_in(page, user: User, password: str = TEST_PASSWORD) -> None:
    page.goto("/accounts/login/")
    page.get_by_label("E-Mail").fill(user.email)
    page.get_by_label("Passwort").fill(password)
    page.get_by_role("button", name="Anmelden").last.click()
    if user.role in (Role.DEALER, Role.BACK_OFFICE):
        device = user.encryptedtotpdevice_set.get()
        page.get_by_label("Code aus Ihrer Authenticator-App").fill(
            f"{totp(device.bin_key, step=device.step, t0=device.t0, digits=device.digits):06d}"
        )
        page.get_by_role("button", name="Prüfen").click()
    page.get_by_test_id("dashboard-title").wait_for()
    _fits_the_phone_in_german(page)


def _staff(role: Role, make_user, display_name: str = "") -> User:
    user = make_user(role)
    if display_name:
        User.objects.filter(pk=user.pk).update(display_name=display_name)
    totp_device_create_confirmed(user=user)
    return user


def test_a_customer_buys_a_code_by_card_and_a_dealer_redeems_it_on_german_phones(phone, make_user):
    product = product_create(accepted_for="Werkstatt, Laden, Waschanlage")
    customer = make_user(Role.CUSTOMER)
    dealer = _staff(Role.DEALER, make_user)

    page = phone()
    _log_in(page, customer)
    _shot(page, "customer-dashboard")
    page.goto("/payments/qr/shop/")
    _fits_the_phone_in_german(page)
    page.get_by_test_id(f"product-{product.slug}").get_by_role("link").click()
    page.get_by_label("Wert in EUR").fill("50,00")
    page.get_by_label("Karte (Test-Acquirer)").check()
    page.get_by_role("button", name="Weiter zur Zahlung").click()
    page.get_by_label("Kartennummer").fill("4000 0000 0000 3220")
    page.get_by_label("Gültig bis (MM/JJ)").fill("12/30")
    page.get_by_label("Prüfnummer").fill("123")
    _fits_the_phone_in_german(page)
    _shot(page, "card-payment")
    page.get_by_role("button", name=re.compile(r"50,00\s€ bezahlen")).click()
    page.get_by_label("Einmalcode").fill("123456")
    page.get_by_role("button", name="Bestätigen").click()
    assert page.get_by_test_id("order-status").inner_text() == "Bezahlt"
    page.get_by_test_id("order-code-link").click()
    assert re.fullmatch(r"50,00\s€", page.get_by_test_id("code-balance").inner_text())
    page.wait_for_function("() => document.querySelector('[data-testid=code-qr]').naturalWidth > 0")
    _fits_the_phone_in_german(page)
    qr = page.get_by_test_id("code-qr")
    qr.scroll_into_view_if_needed()
    box = qr.bounding_box()
    assert box["x"] >= 0 and box["x"] + box["width"] <= PHONE["width"]
    _shot(page, "qr-code")
    # What the dealer's camera reads off the customer's screen.
    token = zxingcpp.read_barcodes(Image.open(io.BytesIO(qr.screenshot())))[0].text

    dealer_page = phone()
    _log_in(dealer_page, dealer)
    dealer_page.goto("/payments/qr/dealer/redeem/")
    dealer_page.get_by_label("Text des Codes").fill(token)
    dealer_page.get_by_label("Betrag in Euro").fill("20,00")
    _fits_the_phone_in_german(dealer_page)
    _shot(dealer_page, "dealer-redeem")
    dealer_page.get_by_role("button", name="Reservieren").click()
    assert dealer_page.get_by_test_id("redemption-status").inner_text() == "Reserviert"
    dealer_page.get_by_label("Betrag in Euro").fill("20,00")
    dealer_page.get_by_role("button", name="Einlösen").click()
    assert re.fullmatch(r"20,00\s€", dealer_page.get_by_test_id("redemption-captured").inner_text())
    _fits_the_phone_in_german(dealer_page)
    _shot(dealer_page, "dealer-redeemed")

    page.reload()
    assert re.fullmatch(r"30,00\s€", page.get_by_test_id("code-balance").inner_text())


def _dealer_opens_a_credit_check(dealer_page, *, instalment: str, application_number: str) -> str:
    dealer_page.goto("/identity/credit-checks/")
    dealer_page.locator("#id_purpose").select_option("lease")
    field = dealer_page.locator("#id_instalment")
    # A number input takes the browser's decimal point whatever the language; a text input the German comma.
    field.fill(instalment.replace(",", ".") if field.get_attribute("type") == "number" else instalment)
    dealer_page.locator("#id_term_months").fill("36")
    dealer_page.locator("#id_lease_application_id").fill(application_number)
    dealer_page.locator("#id_lease_application_id").press("Enter")
    link = dealer_page.get_by_test_id("credit-check-link").inner_text()
    _fits_the_phone_in_german(dealer_page)
    _shot(dealer_page, "dealer-credit-check")
    return link


def _customer_answers_from_the_wallet(page, link: str) -> None:
    """The credit-check pages are addressed by their elements' ids: their words are being translated elsewhere."""
    page.goto(link)
    page.get_by_test_id("disclosure").wait_for()
    page.locator("#wallet-passphrase").fill("richtiges Pferd Batterie Leasing")
    page.locator("#wallet-unlock").click()
    page.locator("#wallet-open").wait_for()
    page.locator("[data-request-kind=credit_history]").click()
    page.locator("#wallet-credentials tr[data-credential-id]").wait_for()
    _fits_the_phone_in_german(page)
    _shot(page, "credit-check-consent")
    page.locator("#credit-check-consent").click()
    page.get_by_test_id("credit-check-verdict").wait_for()
    _shot(page, "credit-check-verdict")


def _back_office_approves(staff_page, application: Application, reason: str) -> None:
    staff_page.goto(f"/leasing/applications/{application.pk}/")
    staff_page.locator("#id_approve-reason").fill(reason)
    _fits_the_phone_in_german(staff_page)
    staff_page.get_by_role("button", name="Genehmigen").click()


def test_a_lease_is_quoted_applied_for_checked_approved_by_four_eyes_and_accepted_on_german_phones(
    phone, make_user, settings
):
    settings.LEASING_FOUR_EYES_LIMIT = 10_000_00  # every application of this size needs two back-office approvals
    leasing_factories.mileage_lease_product(code="private-mileage")
    customer = make_user(Role.CUSTOMER)
    dealer = _staff(Role.DEALER, make_user)
    first_staff = _staff(Role.BACK_OFFICE, make_user, display_name="Petra Prüfer")
    second_staff = _staff(Role.BACK_OFFICE, make_user, display_name="Jonas Zweitblick")

    page = phone()
    _log_in(page, customer)
    page.goto("/leasing/")
    page.get_by_label("Produkt").select_option(label="Private mileage lease")
    page.get_by_label("Fahrzeugpreis (EUR)").fill("32.500")
    page.get_by_label("Anzahlung (EUR)").fill("2.500")
    page.get_by_label("Laufzeit (Monate)").fill("36")
    page.get_by_label("Jährliche Fahrleistung (km)").fill("15000")
    page.get_by_label("Zahlungsweise").select_option("in_advance")
    _fits_the_phone_in_german(page)
    _shot(page, "lease-calculator")
    page.get_by_role("button", name="Berechnen").click()
    assert page.get_by_test_id("aprc").inner_text().endswith(" %")
    _fits_the_phone_in_german(page)
    _shot(page, "lease-quote")
    page.get_by_label("Händler (optional)").select_option(label=dealer.dealer_organisation.name)
    page.get_by_role("button", name="Dieses Angebot beantragen").click()
    assert page.get_by_test_id("application-status").inner_text() == "Bonitätsprüfung ausstehend"
    application = Application.objects.get(customer=customer)
    assert application.approvals_required == 2
    monthly_total = page.get_by_test_id("monthly-total").inner_text()  # "512,34 €"
    _fits_the_phone_in_german(page)
    _shot(page, "lease-application")

    dealer_page = phone()
    _log_in(dealer_page, dealer)
    instalment = re.sub(r"[^\d,]", "", monthly_total)
    link = _dealer_opens_a_credit_check(
        dealer_page, instalment=instalment, application_number=page.get_by_test_id("application-number").inner_text()
    )
    _customer_answers_from_the_wallet(page, link)

    page.goto(f"/leasing/applications/{application.pk}/")
    assert page.get_by_test_id("application-status").inner_text() == "Entscheidung ausstehend"
    assert page.get_by_test_id("identity-check-next-step").is_visible()
    _fits_the_phone_in_german(page)
    _shot(page, "identity-check")
    # Approval waits for the identity check (age_over_18 over OpenID4VP). Here it is answered through the service
    # layer the way a wallet answers (an encrypted direct_post.jwt checked by the verifier): this journey's pages
    # are served from the live server, which is not the verifier's origin (PORTAL_BASE_URL) the browser wallet
    # answers to. The browser wallet answering it in Chromium is walked in leasing's lease journey.
    leasing_factories.identity_check_pass(application)
    page.reload()
    assert page.get_by_test_id("identity-check").inner_text() == "ja"

    first_page = phone()
    _log_in(first_page, first_staff)
    _back_office_approves(first_page, application, "Bonität bestätigt, Rate tragbar")
    _shot(first_page, "first-approval")
    assert not Contract.objects.filter(application=application).exists()
    second_page = phone()
    _log_in(second_page, second_staff)
    _back_office_approves(second_page, application, "Zweite Prüfung: einverstanden")
    assert second_page.get_by_test_id("application-status").inner_text() == "Genehmigt"
    _shot(second_page, "four-eyes-approved")

    contract = Contract.objects.get(application=application)
    # The customer's application page follows the decision by itself: it reloads once the status has changed. Leaving
    # it before that reload came lets the reload interrupt the next navigation (seen on a busy machine).
    expect(page.get_by_test_id("application-status")).to_have_text("Genehmigt", timeout=60_000)
    page.goto(f"/leasing/contracts/{contract.pk}/")
    page.get_by_label("Raten zahlen per").select_option("portal_balance")
    page.get_by_label("Ich habe das Vertragsdokument gelesen und nehme es an").check()
    _fits_the_phone_in_german(page)
    _shot(page, "contract-offered")
    page.get_by_role("button", name="Vertrag annehmen").click()
    assert page.get_by_test_id("contract-status").inner_text() == "Aktiv"
    _fits_the_phone_in_german(page)
    _shot(page, "contract-active")


def test_a_vehicle_is_topped_up_and_charged_on_german_phones(phone, make_user):
    from machines import demo as machines_demo
    from machines import metering
    from machines.models import ChargingSession, Vehicle
    from machines.services import charging, registry
    from machines.services.settlement import charging_session_settle

    customer = make_user(Role.CUSTOMER)
    dealer = _staff(Role.DEALER, make_user)
    staff = _staff(Role.BACK_OFFICE, make_user)
    station = registry.station_register(
        owner=dealer,
        station_id="DE-PHONE-1",
        name="Ladepark Nord",
        password=machines_demo.DEMO_STATION_PASSWORD,
        price_per_kwh=39,
        session_fee=50,
        idle_fee_per_minute=10,
        connector_count=2,
    )
    registry.station_review_decide(station=station, reviewer=staff, is_approved=True)

    page = phone()
    _log_in(page, customer)
    page.goto("/machines/vehicles/new")
    page.locator("#id_name").fill("Mein E-Auto")
    page.locator("#id_session_limit").fill("30,00")
    page.locator("#id_daily_limit").fill("100,00")
    _fits_the_phone_in_german(page)
    page.locator("form button[type=submit]").last.click()
    vehicle = Vehicle.objects.get(owner=customer)
    page.goto(f"/machines/vehicles/{vehicle.pk}/operators")
    page.locator("#id_operator").select_option(index=1)
    page.get_by_role("button", name="Genehmigen", exact=True).click()
    _fits_the_phone_in_german(page)

    # The owner tops up the vehicle's wallet by card, confirming before any money moves.
    page.goto(f"/machines/vehicles/{vehicle.pk}/")
    page.get_by_test_id("owner-top-up").click()
    page.get_by_label("Mit Karte").check()
    page.get_by_label("Betrag (EUR)").fill("50,00")
    _fits_the_phone_in_german(page)
    _shot(page, "vehicle-top-up")
    page.get_by_role("button", name="Weiter").click()
    _fits_the_phone_in_german(page)
    page.get_by_test_id("top-up-confirm").click()
    page.get_by_label("Kartennummer").fill("4242 4242 4242 4242")
    page.get_by_label("Gültig bis (MM/JJ)").fill("12/30")
    page.get_by_label("Prüfnummer").fill("123")
    page.get_by_role("button", name=re.compile(r"50,00\s€ bezahlen")).click()
    page.get_by_test_id("top-up-booked").wait_for()
    _fits_the_phone_in_german(page)

    # The station charges the car: what its OCPP messages make the central system record.
    start = timezone.now().replace(microsecond=0) - dt.timedelta(minutes=70)
    outcome = charging.charging_session_start(
        station_id=station.station_id,
        connector_id=1,
        id_token=vehicle.id_token,
        started_at=start,
        start_key="phone-1",
        ocpp_version="1.6",
        readings=[metering.Reading(start, 10_000)],
    )
    charging.meter_readings_record(
        station_id=station.station_id,
        transaction_id=outcome.transaction_id,
        source="meter_values",
        readings=[metering.Reading(start + dt.timedelta(minutes=30), 15_000)],
    )
    session = charging.charging_session_end(
        station_id=station.station_id,
        transaction_id=outcome.transaction_id,
        ended_at=start + dt.timedelta(minutes=60),
        readings=[metering.Reading(start + dt.timedelta(minutes=60), 20_000)],
        reason="EVDisconnected",
    )
    charging_session_settle(session_id=session.pk)
    assert ChargingSession.objects.get(pk=session.pk).status == "settled"

    page.goto(f"/machines/vehicles/{vehicle.pk}/")
    # 10 kWh at 0.39 EUR plus the 0.50 EUR session fee: 4.40 EUR of the 50.00 EUR top-up.
    assert re.search(r"45,60\s€ verfügbar", page.locator(".facts").inner_text())
    _fits_the_phone_in_german(page)
    _shot(page, "vehicle")
    page.get_by_role("link", name="Rechnung").first.click()
    _fits_the_phone_in_german(page)
    _shot(page, "charging-invoice")


def test_the_phone_screenshots_are_small(phone, make_user):
    """The screenshots the README shows stay small PNGs (a phone viewport, not a full page)."""
    page = phone()
    page.goto("/")
    _fits_the_phone_in_german(page)
    _shot(page, "landing")
    path = ARTIFACTS_DIR / "screenshots" / "phone-de-landing.png"
    assert path.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    assert Image.open(path).size == (PHONE["width"], PHONE["height"])
    assert not mail.outbox
