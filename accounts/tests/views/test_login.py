import pytest
from django.conf import settings
from django.test import override_settings
from django.urls import reverse
from django_otp.oath import totp

from accounts import services
from accounts.models import EncryptedTotpDevice
from accounts.tests.factories import TEST_PASSWORD

pytestmark = pytest.mark.django_db


def _code(device: EncryptedTotpDevice) -> str:
    return f"{totp(device.bin_key, step=device.step, t0=device.t0, digits=device.digits):06d}"


def test_customer_logs_in_and_lands_on_the_customer_dashboard(client, customer):
    old_session = client.session.session_key
    response = client.post(reverse("accounts:login"), {"email": customer.email, "password": TEST_PASSWORD}, follow=True)

    assert response.status_code == 200
    assert response.templates[0].name == "portal/dashboard_customer.html"
    assert client.session.session_key != old_session


def test_wrong_password_gives_one_message_for_every_cause(client, customer):
    wrong = client.post(reverse("accounts:login"), {"email": customer.email, "password": "wrong-password-1"})
    unknown = client.post(reverse("accounts:login"), {"email": "nobody@example.test", "password": "wrong-password-1"})

    assert wrong.status_code == unknown.status_code == 400
    assert wrong.context["form"].non_field_errors() == unknown.context["form"].non_field_errors()


def test_account_is_locked_after_repeated_failures_even_with_the_right_password(client, customer):
    for _ in range(settings.LOGIN_FAILURE_LIMIT):
        client.post(reverse("accounts:login"), {"email": customer.email, "password": "wrong-password-1"})

    response = client.post(reverse("accounts:login"), {"email": customer.email, "password": TEST_PASSWORD})

    assert response.status_code == 429
    assert "_auth_user_id" not in client.session


@override_settings(LOGIN_RATE_PER_MINUTE=3)
def test_login_form_is_rate_limited_per_client_address(client, customer):
    statuses = [
        client.post(reverse("accounts:login"), {"email": f"x{i}@example.test", "password": "p"}).status_code
        for i in range(5)
    ]

    assert statuses == [400, 400, 400, 429, 429]


def test_dealer_must_enrol_a_second_factor_before_reaching_any_page(client, dealer):
    response = client.post(reverse("accounts:login"), {"email": dealer.email, "password": TEST_PASSWORD})
    assert response.headers["Location"] == reverse("accounts:mfa-setup")
    assert client.get(reverse("portal:home")).headers["Location"] == reverse("accounts:mfa-setup")
    assert client.get("/api/accounts/me").json()["code"] == "second_factor_required"

    client.get(reverse("accounts:mfa-setup"))
    device = EncryptedTotpDevice.objects.get(user=dealer)
    assert (
        client.post(
            reverse("accounts:mfa-setup"), {"token": "000000" if _code(device) != "000000" else "111111"}
        ).status_code
        == 400
    )
    device.refresh_from_db()
    assert device.confirmed is False and device.throttling_failure_count == 1
    # django-otp makes the user wait after a wrong code; a person would wait, the test resets the throttle.
    EncryptedTotpDevice.objects.filter(pk=device.pk).update(throttling_failure_count=0)
    response = client.post(reverse("accounts:mfa-setup"), {"token": _code(device)})

    assert response.headers["Location"] == reverse("accounts:recovery-codes")
    device.refresh_from_db()
    assert device.confirmed is True
    assert len(client.get(reverse("accounts:recovery-codes")).context["codes"]) == 10
    assert client.get(reverse("accounts:recovery-codes")).context["codes"] is None  # shown once
    assert client.get(reverse("portal:home")).templates[0].name == "portal/dashboard_dealer.html"


def test_back_office_with_a_device_passes_the_second_factor_to_reach_the_dashboard(client, back_office):
    device = services.totp_device_create_confirmed(user=back_office)
    client.post(reverse("accounts:login"), {"email": back_office.email, "password": TEST_PASSWORD})

    bad = client.post(reverse("accounts:mfa-verify"), {"token": "12ab"})
    assert bad.status_code == 400
    assert bad.context["form"].errors["token"] == ["Enter the 6-digit code."]
    response = client.post(reverse("accounts:mfa-verify"), {"token": _code(device)}, follow=True)

    assert response.templates[0].name == "portal/dashboard_back_office.html"


def test_login_redirect_ignores_foreign_next_urls(client, customer):
    response = client.post(
        reverse("accounts:login") + "?next=https://evil.example/steal",
        {"email": customer.email, "password": TEST_PASSWORD, "next": "https://evil.example/steal"},
    )

    assert response.headers["Location"] == "/"


def test_logout_requires_post(client, customer):
    client.force_login(customer)

    assert client.get(reverse("accounts:logout")).status_code == 405
    assert client.post(reverse("accounts:logout")).status_code == 302
    assert "_auth_user_id" not in client.session
