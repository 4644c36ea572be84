"""The language of a person's mail: the one they chose, else the one they signed up in, else the portal's default.
A customer who signed up with a German browser and never chose a language gets German mail, not English."""

from __future__ import annotations

import pytest
from django.core import mail
from django.urls import reverse

from accounts import notifications
from accounts.models import User
from accounts.services import user_preferences_update
from accounts.tests.test_notifications import OPTIONAL, _reminder_context

pytestmark = pytest.mark.django_db

REGISTRATION = {
    "email": "neu@example.test",
    "password": "a-long-passphrase-42",
    "password_confirm": "a-long-passphrase-42",
    "accept_terms": "on",
}


def _sign_up(client, accept_language: str, django_capture_on_commit_callbacks) -> User:
    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(reverse("accounts:register"), REGISTRATION, HTTP_ACCEPT_LANGUAGE=accept_language)
    assert response.status_code == 200
    user = User.objects.get()
    User.objects.filter(pk=user.pk).update(is_active=True)  # as if the confirmation link was followed
    return User.objects.get(pk=user.pk)


def _reminder_subject(user: User) -> str:
    mail.outbox.clear()
    assert notifications.notification_deliver(
        kind=OPTIONAL, user_id=user.pk, event_key=f"code:7:{user.language}", context=_reminder_context()
    )
    (message,) = mail.outbox
    return message.subject


def test_a_customer_who_signed_up_with_a_german_browser_and_never_chose_gets_german_mail(
    client, django_capture_on_commit_callbacks
):
    user = _sign_up(client, "de-DE,de;q=0.9,en;q=0.5", django_capture_on_commit_callbacks)

    assert (user.language, user.signup_language) == ("", "de")  # recorded, not chosen
    assert "Bestätigen" in mail.outbox[0].subject  # the confirmation mail already in German
    assert _reminder_subject(user) == "Ihr QR-Code AB12CD34 läuft bald ab"


def test_a_language_chosen_later_wins_over_the_sign_up_language(client, django_capture_on_commit_callbacks):
    user = _sign_up(client, "de", django_capture_on_commit_callbacks)

    user = user_preferences_update(user=user, language="en")

    assert user.signup_language == "de"
    assert _reminder_subject(user) == "Your QR code AB12CD34 expires soon"


def test_without_a_recorded_or_chosen_language_mail_is_in_the_default_language(customer, settings):
    assert (customer.language, customer.signup_language) == ("", "")

    assert customer.correspondence_language == settings.LANGUAGE_CODE == "en"
    assert _reminder_subject(customer) == "Your QR code AB12CD34 expires soon"


def test_an_english_browser_records_english(client, django_capture_on_commit_callbacks):
    user = _sign_up(client, "en-GB,en;q=0.8", django_capture_on_commit_callbacks)

    assert user.signup_language == "en"
    assert "Confirm" in mail.outbox[0].subject
