"""Malformed, missing, oversized and wrongly typed input to every form and endpoint: a clear error, never a 500."""

from __future__ import annotations

import re

import pytest
from django.test import Client

from accounts.models import ApiToken
from conftest import login_client

pytestmark = pytest.mark.django_db

HUGE = "x" * 5000


@pytest.mark.parametrize(
    ("payload", "field"),
    [
        ({}, "email"),
        ({"email": "no-at-sign", "password": "p"}, "email"),
        ({"email": HUGE + "@example.test", "password": "p"}, "email"),
        ({"email": "a@example.test"}, "password"),
        ({"email": "a@example.test", "password": HUGE}, "password"),
    ],
)
def test_login_form_shows_errors_next_to_fields(payload, field):
    response = Client().post("/accounts/login/", payload)

    assert response.status_code == 400
    assert re.search(rf'id="id_{field}_error"', response.content.decode())


@pytest.mark.parametrize("token", ["", "12345", "abcdef", "1234567", HUGE, "\uff11\uff12\uff13\uff14\uff15\uff16"])
def test_second_factor_forms_reject_malformed_codes_next_to_the_field(dealer, token):
    client = Client()
    client.force_login(dealer)
    for path in ("/accounts/mfa/setup/", "/accounts/mfa/verify/"):
        if path.endswith("verify/"):
            from accounts.services import totp_device_create_confirmed

            totp_device_create_confirmed(user=dealer)
        response = client.post(path, {"token": token})

        assert response.status_code == 400
        assert 'id="id_token_error"' in response.content.decode()


@pytest.mark.parametrize("email", ["", "bad", HUGE])
def test_password_reset_form_rejects_bad_emails_next_to_the_field(email):
    response = Client().post("/accounts/password-reset/", {"email": email})

    assert response.status_code == 200  # Django's view re-renders the form with the error
    assert 'id="id_email_error"' in response.content.decode()


def test_password_reset_confirm_with_a_broken_link_says_so():
    response = Client().post("/accounts/password-reset/MQ/bad-token/", {"new_password1": "x", "new_password2": "y"})

    assert response.status_code == 200
    assert "no longer valid" in response.content.decode()


@pytest.mark.parametrize(
    ("body", "content_type", "status", "code", "fields"),
    [
        ("{not json", "application/json", 400, "malformed_request", {}),
        ("", "application/json", 400, "invalid_input", {"name": ["This field is required."]}),
        ("{}", "application/json", 400, "invalid_input", {"name": ["This field is required."]}),
        ('{"name": ""}', "application/json", 400, "invalid_input", {"name": ["This field may not be blank."]}),
        ('{"name": ["a", 1]}', "application/json", 400, "invalid_input", {"name": ["Not a valid string."]}),
        ('{"name": {"x": 1}}', "application/json", 400, "invalid_input", {"name": ["Not a valid string."]}),
        (
            '{"name": "' + "n" * 101 + '"}',
            "application/json",
            400,
            "invalid_input",
            {"name": ["Ensure this field has no more than 100 characters."]},
        ),
        (
            "[1, 2, 3]",
            "application/json",
            400,
            "invalid_input",
            {"non_field_errors": ["Invalid data. Expected a dictionary, but got list."]},
        ),
        ("name=DMS", "application/x-www-form-urlencoded", 415, "unsupported_media_type", {}),
        ('{"name": "' + "n" * 3_000_000 + '"}', "application/json", 400, None, None),
    ],
)
def test_token_endpoint_answers_bad_input_with_the_error_contract(dealer, body, content_type, status, code, fields):
    client = login_client(dealer)

    response = client.generic("POST", "/api/accounts/tokens/new", body, content_type=content_type)

    assert response.status_code == status
    payload = response.json()
    assert set(payload) == {"code", "detail", "fields"}
    if code is not None:
        assert (payload["code"], payload["fields"]) == (code, fields)
    assert ApiToken.objects.count() == 0


@pytest.mark.parametrize("path", ["/api/accounts/tokens/abc", "/api/accounts/tokens/99999999999999999999", "/api/nope"])
def test_unknown_api_paths_and_ids_answer_json_404(dealer, path):
    response = login_client(dealer).delete(path)

    assert response.status_code == 404
    assert response.json()["code"] == "not_found"


def test_wrong_method_answers_405_in_the_contract(customer):
    response = login_client(customer).post("/api/accounts/me", "{}", content_type="application/json")

    assert (response.status_code, response.json()["code"]) == (405, "method_not_allowed")


def test_session_api_calls_need_the_csrf_token(customer):
    """An endpoint the customer may call: refused without the token, accepted with it."""
    from identity.credentials.dids import did_key_from_public_key
    from identity.credentials.keys import generate_private_key, public_key_bytes
    from identity.models import CredentialRecord

    client = Client(enforce_csrf_checks=True)
    client.force_login(customer)
    body = {"kind": "credit_history", "holderDid": did_key_from_public_key(public_key_bytes(generate_private_key()))}

    refused = client.post("/api/identity/wallet/credentials", body, content_type="application/json")

    assert refused.status_code == 403
    assert "CSRF" in refused.json()["detail"]
    assert CredentialRecord.objects.count() == 0
    client.get("/identity/wallet/")  # the page sets the CSRF cookie, as in the browser
    accepted = client.post(
        "/api/identity/wallet/credentials",
        body,
        content_type="application/json",
        headers={"X-CSRFToken": client.cookies["csrftoken"].value},
    )
    assert accepted.status_code == 201
    assert CredentialRecord.objects.count() == 1


@pytest.mark.parametrize("path", ["/api/accounts/me?x=%00", "/credentials/status/a%00b", "/dealers/x%00/did.json"])
def test_nul_characters_in_paths_and_queries_are_refused_before_any_query(customer, path):
    response = login_client(customer).get(path)

    assert response.status_code == 400
    assert response.json()["code"] == "malformed_request"


def test_a_program_path_answers_404_as_json():
    response = Client().get("/dealers/no-such-dealer/did.json")

    assert response.status_code == 404
    assert response.json()["code"] == "not_found"


def test_a_nul_character_in_the_session_cookie_is_refused_not_looked_up():
    client = Client()
    client.cookies["sessionid"] = "abc\x00def"

    response = client.get("/api/accounts/me")

    assert response.status_code == 400
    assert response.json()["code"] == "malformed_request"
