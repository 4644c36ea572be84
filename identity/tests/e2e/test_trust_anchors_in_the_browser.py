"""In headless Chromium at 360 px: back office uploads an outside CA's certificate on the trust-anchor page, sees an
unusable file refused next to its field (in German too), and suspends and reactivates the anchor."""

from __future__ import annotations

import pytest
from django_otp.oath import totp

from accounts.roles import Role
from accounts.services import totp_device_create_confirmed
from accounts.tests.factories import TEST_PASSWORD
from identity.models import TrustAnchor
from identity.services import trust_anchors
from identity.tests.views.test_trust_anchor_pages import ca_pem, leaf_pem

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.browser]
NARROW = {"width": 360, "height": 780}
# The page's own content (the anchor list and the form); the header of the base layout is not this page's.
OVERFLOWS = """() => Array.from(document.querySelectorAll('main [data-testid="anchor-list"] *, main form *, main h1, main p'))
  .some((element) => element.getBoundingClientRect().right > window.innerWidth + 1)"""


def _log_in_with_second_factor(page, user) -> None:
    device = totp_device_create_confirmed(user=user)
    page.goto("/accounts/login/")
    page.get_by_label("Email").fill(user.email)
    page.get_by_label("Password").fill(TEST_PASSWORD)
    page.get_by_role("button", name="Log in").click()
    page.get_by_label("Code from your authenticator app").fill(
        f"{totp(device.bin_key, step=device.step, t0=device.t0, digits=device.digits):06d}"
    )
    page.get_by_role("button", name="Verify").click()
    page.get_by_test_id("dashboard-title").wait_for()


def test_back_office_adds_suspends_and_reactivates_an_anchor_on_a_phone(page, make_user, tmp_path, screenshot):
    staff = make_user(Role.BACK_OFFICE)
    page.set_viewport_size(NARROW)
    _log_in_with_second_factor(page, staff)
    bad, good = tmp_path / "leaf.pem", tmp_path / "root.pem"
    bad.write_text(leaf_pem())
    good.write_text(ca_pem()[0])

    page.goto("/identity/trust-anchors/")
    page.get_by_label("Name").fill("Outside PID provider")
    page.get_by_label("Certificate file (PEM)").set_input_files(str(bad))
    page.get_by_label("Person identification data (PID)").check()
    page.get_by_role("button", name="Add anchor").click()
    error = page.locator("#id_certificate_file_error")
    error.wait_for()
    assert error.inner_text() == "This is not a CA certificate."
    assert not page.evaluate(OVERFLOWS)

    page.get_by_label("Certificate file (PEM)").set_input_files(str(good))
    page.get_by_label("Person identification data (PID)").check()
    page.get_by_role("button", name="Add anchor").click()
    anchor_card = page.get_by_test_id("anchor").filter(has_text="Outside PID provider")
    anchor_card.wait_for()
    screenshot(page, "anchors-360")
    assert not page.evaluate(OVERFLOWS)
    assert anchor_card.get_by_test_id("anchor-state").inner_text() == "Active"
    assert page.get_by_test_id("anchor").filter(has_text=trust_anchors.PORTAL_ANCHOR_NAME).count() == 1

    anchor_card.get_by_role("button", name="Suspend anchor").click()
    page.get_by_test_id("anchor").filter(has_text="Outside PID provider").get_by_role(
        "button", name="Trust again"
    ).wait_for()
    anchor = TrustAnchor.objects.get(name="Outside PID provider")
    assert (anchor.state, anchor.suspended_by_id) == ("suspended", staff.pk)
    assert trust_anchors.trust_anchors_for("urn:eudi:pid:1") == []

    page.get_by_test_id("anchor").filter(has_text="Outside PID provider").get_by_role(
        "button", name="Trust again"
    ).click()
    page.get_by_test_id("anchor").filter(has_text="Outside PID provider").get_by_role(
        "button", name="Suspend anchor"
    ).wait_for()
    assert len(trust_anchors.trust_anchors_for("urn:eudi:pid:1")) == 1


def test_the_anchor_page_speaks_german(page, make_user):
    staff = make_user(Role.BACK_OFFICE)
    page.set_viewport_size(NARROW)
    _log_in_with_second_factor(page, staff)
    page.context.set_extra_http_headers({"Accept-Language": "de"})

    page.goto("/identity/trust-anchors/")

    assert page.get_by_role("heading", level=1).inner_text() == "Vertrauensanker"
    assert page.get_by_role("button", name="Anker hinzufügen").count() == 1
    assert not page.evaluate(OVERFLOWS)
