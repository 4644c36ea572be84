"""In headless Chromium on a German phone (360 x 740): after a wallet answered the identity check with a verified
"not over 18", the customer reads that the application cannot go on and is offered only what they can do; back
office finds the decline with its reason filled in, confirms it, and the customer's page then says why. No page is
wider than the phone."""

from __future__ import annotations

import pytest
from django.conf import settings
from django.utils import timezone

from accounts.roles import Role
from conftest import login_client
from leasing.models import Application, IdentityCheck
from leasing.services import applications
from leasing.services.identity_checks import identity_check_start
from leasing.tests import factories

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.browser]
PHONE = {"width": 360, "height": 740}


def _phone_page(browser, live_server, user):
    session = login_client(user).cookies[settings.SESSION_COOKIE_NAME].value
    context = browser.new_context(base_url=live_server.url, viewport=PHONE, locale="de-DE", is_mobile=True)
    context.add_cookies([{"name": settings.SESSION_COOKIE_NAME, "value": session, "url": live_server.url}])
    page = context.new_page()
    page.set_default_timeout(20_000)
    return context, page


def _too_wide(page) -> list[str]:
    return page.evaluate(
        """() => [...document.querySelectorAll('main *')]
            .filter(e => e.getBoundingClientRect().right > window.innerWidth + 1)
            .map(e => e.tagName + '.' + e.className + ' ' + Math.round(e.getBoundingClientRect().right))"""
    )


def test_not_over_18_on_a_german_phone_leads_to_a_decline_with_its_reason(
    _playwright_browser, live_server, make_user, dealer_organisation, screenshot
):
    customer = make_user(Role.CUSTOMER)  # language: follow the browser (de-DE)
    staff = make_user(Role.BACK_OFFICE)
    application = applications.application_create(
        customer=customer,
        quote_input=factories.quote_input(factories.mileage_lease_product()),
        dealer_organisation=dealer_organisation,
    )
    applications.application_credit_verdict_record(
        application_id=application.pk, verdict="approved", source="credential", external_reference="check-1"
    )
    check = identity_check_start(application=application)
    # what the verifier records for a valid answer whose age_over_18 is false
    IdentityCheck.objects.filter(pk=check.pk).update(status="verified", is_over_18=False, completed_at=timezone.now())
    detail = f"/leasing/applications/{application.pk}/"
    customer_context, page = _phone_page(_playwright_browser, live_server, customer)
    staff_context, staff_page = _phone_page(_playwright_browser, live_server, staff)
    try:
        page.goto(detail)
        outcome = page.get_by_test_id("applicant-under-18")
        assert "Ein Leasingvertrag setzt voraus, dass der Leasingnehmer volljährig ist." in outcome.inner_text()
        assert page.get_by_test_id("identity-check-start").count() == 0
        assert outcome.get_by_role("link", name="Leasingrechner").is_visible()
        assert _too_wide(page) == []
        screenshot(page, "customer")

        staff_page.goto(detail)
        assert staff_page.get_by_test_id("approval-impossible-under-18").is_visible()
        reason = staff_page.get_by_label("Grund").last
        assert "nicht über 18" in reason.input_value()
        assert _too_wide(staff_page) == []
        screenshot(staff_page, "back-office")
        staff_page.get_by_role("button", name="Ablehnen").click()
        assert "nicht über 18" in staff_page.get_by_test_id("confirm").inner_text()  # the reason the customer reads
        staff_page.get_by_test_id("confirm-yes").click()
        staff_page.get_by_text("Antrag abgelehnt.").wait_for()

        assert Application.objects.get(pk=application.pk).status == "declined"
        page.goto(detail)
        assert page.get_by_test_id("application-status").inner_text() == "Abgelehnt"
        assert "nicht über 18" in page.get_by_test_id("applicant-under-18").inner_text()
        assert _too_wide(page) == []
    finally:
        customer_context.close()
        staff_context.close()
