"""Notification preferences and the once-only delivery: the settings page (every role, German and English), optional
kinds turned off are recorded as not sent, mandatory kinds cannot be turned off, a second delivery sends nothing."""

from __future__ import annotations

import datetime as dt
import re

import pytest
from django.core import mail
from django.utils import timezone

from accounts import notifications
from accounts.models import NotificationPreference, SentNotification
from accounts.roles import Role
from accounts.services import user_preferences_update
from core.money import Money

pytestmark = pytest.mark.django_db

PAGE = "/accounts/settings/notifications/"
OPTIONAL = "payments.code_expiring"
MANDATORY = "payments.order_paid"


def _reminder_context() -> dict[str, object]:
    return {
        "product": "Service credit",
        "code": "AB12CD34",
        "balance": notifications.money(Money(12_34, "EUR")),
        "expires_at": notifications.moment(dt.datetime(2027, 1, 15, 9, 30, tzinfo=dt.UTC)),
        "code_link": notifications.link("/payments/qr/codes/00000000-0000-0000-0000-000000000001/"),
    }


def test_anonymous_visitors_are_sent_to_the_login(client):
    response = client.get(PAGE)

    assert response.status_code == 302 and response["Location"].startswith("/accounts/login/")


@pytest.mark.parametrize("role", [Role.CUSTOMER, Role.DEALER, Role.BACK_OFFICE])
def test_every_signed_in_role_reaches_the_page_from_its_settings(role, make_user, dealer_organisation, client_for):
    user = make_user(role, dealer_organisation=dealer_organisation if role == Role.DEALER else None)
    client = client_for(user)

    settings_page = client.get("/accounts/settings/").content.decode()
    page = client.get(PAGE)

    assert f'href="{PAGE}"' in settings_page
    assert page.status_code == 200
    assert "A QR code is about to expire" in page.content.decode()


def test_the_page_speaks_german_and_lists_the_mandatory_kinds(make_user, client_for):
    user = make_user(Role.CUSTOMER)
    user_preferences_update(user=user, language="de")

    html = client_for(user).get(PAGE, HTTP_ACCEPT_LANGUAGE="de").content.decode()

    assert "E-Mail-Benachrichtigungen" in html and "Ein QR-Code läuft bald ab" in html
    assert "Immer gesendet" in html and "Eine Lastschrift steht bevor" in html
    assert re.search(r'name="payments\.code_expiring"[^>]*checked', html)  # on unless turned off
    assert 'name="payments.order_paid"' not in html  # mandatory kinds have no checkbox


def test_saving_the_form_turns_unticked_kinds_off_and_ticked_ones_on(make_user, client_for):
    user = make_user(Role.CUSTOMER)
    client = client_for(user)

    response = client.post(PAGE, {"machines.charging_invoice_issued": "on"})

    assert response.status_code == 302 and response["Location"] == PAGE
    assert notifications.notification_preferences_get(user=user) == {
        "payments.code_expiring": False,
        "machines.charging_invoice_issued": True,
    }
    client.post(PAGE, {"payments.code_expiring": "on", "machines.charging_invoice_issued": "on"})
    assert notifications.notification_preferences_get(user=user)["payments.code_expiring"] is True
    assert NotificationPreference.objects.filter(user=user).count() == 2


def test_a_mandatory_kind_cannot_be_turned_off(customer):
    with pytest.raises(ValueError, match="cannot be turned off"):
        notifications.notification_preferences_update(user=customer, enabled={MANDATORY: False})

    assert not NotificationPreference.objects.exists()


def test_an_optional_kind_turned_off_is_recorded_as_not_sent_and_never_sent_later(customer):
    notifications.notification_preferences_update(user=customer, enabled={OPTIONAL: False})

    sent = notifications.notification_deliver(
        kind=OPTIONAL, user_id=customer.pk, event_key="code:1:expires:2027-01-15", context=_reminder_context()
    )
    notifications.notification_preferences_update(user=customer, enabled={OPTIONAL: True})
    again = notifications.notification_deliver(
        kind=OPTIONAL, user_id=customer.pk, event_key="code:1:expires:2027-01-15", context=_reminder_context()
    )

    assert (sent, again, mail.outbox) == (False, False, [])
    assert list(SentNotification.objects.values_list("kind", "status")) == [(OPTIONAL, "suppressed")]


def test_one_event_is_sent_once_in_the_readers_language_and_zone_with_both_parts(customer):
    user_preferences_update(user=customer, language="de", time_zone="America/New_York")

    results = [
        notifications.notification_deliver(
            kind=OPTIONAL, user_id=customer.pk, event_key="code:7:expires:2027-01-15", context=_reminder_context()
        )
        for _ in range(2)
    ]

    assert results == [True, False]
    (message,) = mail.outbox
    assert message.to == [customer.email] and message.subject == "Ihr QR-Code AB12CD34 läuft bald ab"
    assert "12,34\xa0€" in message.body
    assert "15.01.2027, 04:30 " in message.body  # 09:30 UTC in New York, with the zone named after it
    html, mime = message.alternatives[0]
    assert mime == "text/html" and 'lang="de"' in html and "12,34\xa0€" in html
    assert message.extra_headers["Message-ID"].startswith("<notification.")
    assert "http://testserver/payments/qr/codes/00000000-0000-0000-0000-000000000001/" in message.body


def test_a_closed_account_gets_nothing(customer):
    customer.is_active = False
    customer.save(update_fields=["is_active"])

    assert not notifications.notification_deliver(kind=MANDATORY, user_id=customer.pk, event_key="order:x", context={})
    assert mail.outbox == [] and not SentNotification.objects.exists()


def test_a_context_moment_must_carry_its_zone():
    with pytest.raises(ValueError):
        notifications.moment(dt.datetime(2027, 1, 1, 12, 0))
    assert notifications.moment(timezone.now())["$moment"]
