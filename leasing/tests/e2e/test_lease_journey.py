"""In headless Chromium: quote → application → credit check → four-eyes-free approval → acceptance → collection.

The credit check itself belongs to the dealer credit-check flow (issue 6, built separately). Its outcome reaches
leasing only through `application_credit_verdict_record`; this test calls that service as the stand-in for that flow.
"""

from __future__ import annotations

import pathlib

import pytest
from django.conf import settings
from django_otp.oath import totp

from accounts.roles import Role
from accounts.services import totp_device_create_confirmed
from accounts.tests.factories import TEST_PASSWORD
from conftest import ARTIFACTS_DIR
from leasing.models import Application, Collection, Contract
from leasing.services.applications import application_credit_verdict_record
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


def test_customer_gets_a_lease_approved_accepts_it_and_beat_collects(page, live_server, make_user, screenshot):
    factories.mileage_lease_product(code="private-mileage")
    customer = make_user(Role.CUSTOMER)
    staff = make_user(Role.BACK_OFFICE)
    device = totp_device_create_confirmed(user=staff)

    _log_in(page, customer.email)
    page.goto("/leasing/")
    page.get_by_label("Product").select_option(label="Private mileage lease")
    page.get_by_label("Vehicle price (EUR)").fill("32500")
    page.get_by_label("Down payment (EUR)").fill("2500")
    page.get_by_label("Term (months)").fill("36")
    page.get_by_label("Yearly mileage (km)").fill("15000")
    page.get_by_label("Payments").select_option("in_advance")
    page.get_by_label("Service packages (codes, comma separated)").fill("private-mileage-maintenance")
    screenshot(page, "calculator")
    page.get_by_role("button", name="Calculate").click()
    assert page.get_by_test_id("aprc").inner_text().endswith(" %")
    assert page.locator("svg.balance-chart").count() == 1
    screenshot(page, "quote")

    page.get_by_role("button", name="Apply for this offer").click()
    assert page.get_by_test_id("application-status").inner_text() == "Credit check pending"
    screenshot(page, "application-pending")
    application = Application.objects.get(customer=customer)
    application_credit_verdict_record(
        application_id=application.pk,
        verdict="approved",
        source="credential",
        external_reference="credit-check-request-1",
    )

    staff_page = page.context.browser.new_context(
        base_url=live_server.url, viewport={"width": 1280, "height": 860}
    ).new_page()
    _log_in(staff_page, staff.email)
    staff_page.get_by_label("Code from your authenticator app").fill(
        f"{totp(device.bin_key, step=device.step, t0=device.t0, digits=device.digits):06d}"
    )
    staff_page.get_by_role("button", name="Verify").click()
    staff_page.goto(f"/leasing/applications/{application.pk}/")
    staff_page.locator("#id_approve-reason").fill("Verdict approved; affordable at the requested instalment")
    screenshot(staff_page, "back-office-decision")
    staff_page.get_by_role("button", name="Approve").click()
    assert staff_page.get_by_test_id("application-status").inner_text() == "Approved"
    screenshot(staff_page, "back-office-approved")
    staff_page.context.close()

    contract = Contract.objects.get(application=application)
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
