import re

import pytest
from django.core import mail
from django.test import override_settings
from django.urls import reverse

from accounts.models import User
from accounts.services import email_confirmation_token

pytestmark = pytest.mark.django_db

GOOD = {
    "email": "New.Person@Example.test",
    "password": "a-long-passphrase-42",
    "password_confirm": "a-long-passphrase-42",
    "accept_terms": "on",
}


def test_registration_creates_an_inactive_customer_and_sends_the_confirmation_link(
    client, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True) as callbacks:
        response = client.post(reverse("accounts:register"), GOOD)

    assert len(callbacks) == 1

    assert response.status_code == 200
    user = User.objects.get()
    assert (user.email, user.is_active) == ("new.person@example.test", False)
    assert list(user.groups.values_list("name", flat=True)) == ["customer"]
    assert user.confirmation_sent_at is not None
    assert len(mail.outbox) == 1
    link = re.search(r"http://testserver(/accounts/confirm/\S+/)", mail.outbox[0].body).group(1)

    assert client.get(link).status_code == 302
    user.refresh_from_db()
    assert user.is_active and user.email_confirmed_at is not None
    assert (
        client.post(reverse("accounts:login"), {"email": GOOD["email"], "password": GOOD["password"]}).status_code
        == 302
    )


def test_unconfirmed_customer_cannot_log_in(client):
    client.post(reverse("accounts:register"), GOOD)
    assert mail.outbox == []  # the e-mail leaves only after commit

    response = client.post(reverse("accounts:login"), {"email": GOOD["email"], "password": GOOD["password"]})

    assert response.status_code == 400
    assert "not confirmed" in response.content.decode()


@pytest.mark.parametrize(
    ("changes", "field", "message"),
    [
        ({"email": "not-an-email"}, "email", "Enter a valid email address."),
        ({"email": ""}, "email", "This field is required."),
        ({"email": "x" * 300 + "@example.test"}, "email", "Ensure this value has at most 254 characters"),
        ({"password": "short", "password_confirm": "short"}, "password", "too short"),
        ({"password": "1234567890123", "password_confirm": "1234567890123"}, "password", "entirely numeric"),
        ({"password_confirm": "something-else-99"}, "password_confirm", "The two passwords differ."),
        ({"accept_terms": ""}, "accept_terms", "This field is required."),
        ({"password": "p" * 500, "password_confirm": "p" * 500}, "password", "at most 128 characters"),
    ],
)
def test_registration_errors_are_shown_next_to_their_field_and_create_nothing(client, changes, field, message):
    response = client.post(reverse("accounts:register"), GOOD | changes)

    assert response.status_code == 400
    html = response.content.decode()
    assert re.search(rf'id="id_{field}_error"[^>]*>[^<]*{re.escape(message)}', html), html
    assert User.objects.count() == 0
    assert mail.outbox == []


def test_tampered_confirmation_link_is_refused(client):
    client.post(reverse("accounts:register"), GOOD)
    token = email_confirmation_token(user=User.objects.get())

    response = client.get(reverse("accounts:email-confirm", kwargs={"token": token[:-2] + "xx"}))

    assert response.status_code == 400
    assert User.objects.get().is_active is False


@override_settings(LOGIN_RATE_PER_MINUTE=3)
def test_registration_is_rate_limited_per_client_address_and_creates_nothing_beyond(client):
    def register(number: int) -> int:
        data = {
            "email": f"new{number}@example.test",
            "password": "a long enough passphrase 42",
            "password_confirm": "a long enough passphrase 42",
            "accept_terms": "on",
        }
        return client.post(reverse("accounts:register"), data).status_code

    statuses = [register(number) for number in range(5)]

    assert statuses == [200, 200, 200, 429, 429]  # the first three see "check your e-mail"
    assert sorted(User.objects.filter(email__startswith="new").values_list("email", flat=True)) == [
        "new0@example.test",
        "new1@example.test",
        "new2@example.test",
    ]


def test_registering_a_taken_address_looks_like_a_new_one_and_tells_the_owner_by_email(
    client, customer, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True):
        new = client.post(reverse("accounts:register"), GOOD)
    mail.outbox.clear()

    with django_capture_on_commit_callbacks(execute=True):
        taken = client.post(reverse("accounts:register"), GOOD | {"email": customer.email.upper()})

    assert (taken.status_code, new.status_code) == (200, 200)
    assert 'data-testid="register-done"' in taken.content.decode()
    # Every page carries a CSRF token (the header's language switch); Django masks it anew on each response.
    # The "send the link again" form is filled in with the address each visitor typed; the rest is the same.
    taken_page = taken.content.decode().replace(customer.email.lower(), "ADDRESS")
    new_page = new.content.decode().replace(GOOD["email"].lower(), "ADDRESS")
    assert _without_csrf(taken_page) == _without_csrf(new_page)
    assert User.objects.filter(email__iexact=customer.email).count() == 1
    assert [message.to for message in mail.outbox] == [[customer.email]]
    assert "already has one" in mail.outbox[0].body


def _without_csrf(page: str) -> str:
    return re.sub(r'name="csrfmiddlewaretoken" value="[^"]+"', 'name="csrfmiddlewaretoken"', page)
