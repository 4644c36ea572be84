"""\"Check your e-mail\" offers to send the confirmation link again: limited, and silent about who has an account."""

import re

import pytest
from django.core import mail
from django.test import Client
from django.urls import reverse

from accounts.models import User
from accounts.roles import Role

pytestmark = pytest.mark.django_db

REGISTRATION = {
    "email": "waiting@example.test",
    "password": "a-long-passphrase-42",
    "password_confirm": "a-long-passphrase-42",
    "accept_terms": "on",
}


def test_the_check_your_email_page_offers_a_resend_prefilled_with_the_address(client):
    page = client.post(reverse("accounts:register"), REGISTRATION).content.decode()

    assert 'data-testid="confirmation-resend"' in page
    assert 'value="waiting@example.test"' in page
    assert 'href="/terms/"' in client.get(reverse("accounts:register")).content.decode()


def test_a_resend_mails_a_working_link_to_a_waiting_account(client, django_capture_on_commit_callbacks):
    client.post(reverse("accounts:register"), REGISTRATION)
    mail.outbox.clear()

    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(reverse("accounts:confirmation-resend"), {"email": "Waiting@Example.test"})

    assert response.status_code == 302
    assert len(mail.outbox) == 1 and mail.outbox[0].to == ["waiting@example.test"]
    link = re.search(r"http://testserver(/accounts/confirm/\S+/)", mail.outbox[0].body).group(1)
    assert client.get(link).status_code == 302
    assert User.objects.get(email="waiting@example.test").is_active


def test_unknown_and_confirmed_addresses_get_the_same_answer_and_no_mail(
    client, make_user, django_capture_on_commit_callbacks
):
    make_user(Role.CUSTOMER, email="confirmed@example.test")
    answers = []
    with django_capture_on_commit_callbacks(execute=True):
        for email in ("nobody@example.test", "confirmed@example.test"):
            response = client.post(reverse("accounts:confirmation-resend"), {"email": email}, follow=True)
            answers.append((response.status_code, [str(message) for message in response.context["messages"]]))

    assert answers[0] == answers[1]
    assert answers[0][0] == 200 and "a new link is on its way" in answers[0][1][0]
    assert mail.outbox == []


def test_one_address_gets_at_most_one_new_link_a_minute(client, django_capture_on_commit_callbacks):
    client.post(reverse("accounts:register"), REGISTRATION)
    mail.outbox.clear()

    with django_capture_on_commit_callbacks(execute=True):
        for _ in range(3):
            assert (
                client.post(reverse("accounts:confirmation-resend"), {"email": REGISTRATION["email"]}).status_code
                == 302
            )

    assert len(mail.outbox) == 1


def test_too_many_resends_from_one_client_are_refused(client, settings):
    settings.LOGIN_RATE_PER_MINUTE = 2
    statuses = [
        client.post(reverse("accounts:confirmation-resend"), {"email": f"p{number}@example.test"}).status_code
        for number in range(3)
    ]

    assert statuses == [302, 302, 429]


def test_a_bad_address_is_answered_next_to_the_field_in_german():
    response = Client(HTTP_ACCEPT_LANGUAGE="de").post(
        reverse("accounts:confirmation-resend"), {"email": "not-an-address"}
    )

    assert response.status_code == 400
    page = response.content.decode()
    assert 'id="id_email_error"' in page
    assert "Geben Sie eine gültige E-Mail-Adresse ein, z. B. name@example.com." in page
