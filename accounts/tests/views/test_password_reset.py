import re

import pytest
from django.core import mail
from django.test import Client

from accounts.tests.factories import TEST_PASSWORD

pytestmark = pytest.mark.django_db


def test_password_reset_by_email_link_sets_a_new_password(customer):
    client = Client()
    assert client.post("/accounts/password-reset/", {"email": customer.email}).status_code == 302
    link = re.search(r"https?://[^/]+(/accounts/password-reset/\S+/)", mail.outbox[0].body).group(1)

    form_page = client.get(link, follow=True)
    response = client.post(
        form_page.redirect_chain[-1][0],
        {"new_password1": "a-brand-new-passphrase-7", "new_password2": "a-brand-new-passphrase-7"},
    )

    assert response.status_code == 302
    customer.refresh_from_db()
    assert customer.check_password("a-brand-new-passphrase-7") and not customer.check_password(TEST_PASSWORD)


def test_password_reset_for_an_unknown_address_looks_the_same_and_sends_nothing():
    response = Client().post("/accounts/password-reset/", {"email": "nobody@example.test"})

    assert response.status_code == 302
    assert mail.outbox == []


def test_password_reset_is_rate_limited_per_client_address_and_sends_nothing_beyond(customer, settings):
    settings.LOGIN_RATE_PER_MINUTE = 2
    client = Client()

    statuses = [client.post("/accounts/password-reset/", {"email": customer.email}).status_code for _ in range(4)]

    assert statuses == [302, 302, 429, 429]
    assert len(mail.outbox) == 2
    refused = client.post("/accounts/password-reset/", {"email": customer.email})
    assert "Too many attempts" in refused.content.decode()
