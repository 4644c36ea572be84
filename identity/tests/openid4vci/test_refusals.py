"""Every refused OpenID4VCI request answers the specification's OAuth error and changes nothing it should not."""

from __future__ import annotations

import base64
import hashlib
import json
import time
from datetime import timedelta
from urllib.parse import urlencode

import pytest
from django.test import Client
from django.urls import reverse
from django.utils import timezone

from identity.credentials import jose, x509
from identity.models import AuthorizationCode, CredentialOffer, CredentialRecord, IssuanceAccessToken, IssuanceNonce
from identity.openid4vci import grants
from identity.tests.openid4vci.conftest import TEST_CLIENT_ID, TEST_REDIRECT_URI

pytestmark = pytest.mark.django_db
ISSUER = "https://portal.test"
PRE_AUTHORIZED = "urn:ietf:params:oauth:grant-type:pre-authorized_code"


@pytest.fixture(autouse=True)
def _issuer(settings):
    settings.OPENID4VCI_CREDENTIAL_ISSUER = ISSUER


@pytest.fixture
def made(customer):
    return grants.credential_offer_create(
        user=customer, configuration_ids=["PaymentHistoryCredential"], issuer_url=ISSUER
    )


def pre_authorized_code(made) -> str:
    return made.credential_offer["grants"][PRE_AUTHORIZED]["pre-authorized_code"]


def token_request(code: str, tx_code: str | None):
    data = {"grant_type": PRE_AUTHORIZED, "pre-authorized_code": code, **({"tx_code": tx_code} if tx_code else {})}
    return form_post(reverse("openid4vci:token"), data)


def form_post(url: str, data: dict):
    return Client().post(url, urlencode(data), content_type="application/x-www-form-urlencoded")


def test_a_token_request_that_is_not_form_encoded_is_an_invalid_request(made):
    response = Client().post(reverse("openid4vci:token"), {"grant_type": PRE_AUTHORIZED})
    assert_oauth_error(response, 400, "invalid_request")


def assert_oauth_error(response, status: int, error: str) -> None:
    assert response.status_code == status, response.content
    assert response.json()["error"] == error and response.json()["error_description"]
    assert response["Cache-Control"] == "no-store"


def access_token(made) -> str:
    return token_request(pre_authorized_code(made), made.tx_code).json()["access_token"]


def nonce() -> str:
    return Client().post(reverse("openid4vci:nonce")).json()["c_nonce"]


def proof(*, key=None, signer=None, **claims) -> str:
    key = key or x509.generate_p256_key()
    payload = {"aud": ISSUER, "iat": int(time.time()), **claims}
    payload = {name: value for name, value in payload.items() if value is not None}
    header = {"alg": "ES256", "typ": "openid4vci-proof+jwt", "jwk": jose.public_jwk(key.public_key())}
    return jose.sign_compact(header=header, payload=payload, private_key=signer or key)


def credential_request(token: str, proof_jwt: str, configuration_id: str = "PaymentHistoryCredential"):
    body = {"credential_configuration_id": configuration_id, "proofs": {"jwt": [proof_jwt]}}
    return Client().post(
        reverse("openid4vci:credential"),
        json.dumps(body),
        content_type="application/json",
        HTTP_AUTHORIZATION=f"Bearer {token}",
    )


def test_a_wrong_pre_authorized_code_is_an_invalid_grant(made):
    assert_oauth_error(token_request("not-the-code", made.tx_code), 400, "invalid_grant")
    assert IssuanceAccessToken.objects.count() == 0
    assert CredentialOffer.objects.get().redeemed_at is None


def test_a_used_pre_authorized_code_is_an_invalid_grant(made):
    assert token_request(pre_authorized_code(made), made.tx_code).status_code == 200

    assert_oauth_error(token_request(pre_authorized_code(made), made.tx_code), 400, "invalid_grant")
    assert IssuanceAccessToken.objects.count() == 1


def test_an_expired_pre_authorized_code_is_an_invalid_grant(made):
    CredentialOffer.objects.update(created_at=timezone.now() - timedelta(hours=1), expires_at=timezone.now())

    assert_oauth_error(token_request(pre_authorized_code(made), made.tx_code), 400, "invalid_grant")
    assert IssuanceAccessToken.objects.count() == 0


def test_a_missing_transaction_code_is_an_invalid_request(made):
    assert_oauth_error(token_request(pre_authorized_code(made), None), 400, "invalid_request")
    assert IssuanceAccessToken.objects.count() == 0


def test_wrong_transaction_codes_are_counted_and_the_fifth_spends_the_offer(made, settings):
    wrong = "000000" if made.tx_code != "000000" else "111111"
    for attempt in range(1, settings.OPENID4VCI_TX_CODE_ATTEMPTS + 1):
        assert_oauth_error(token_request(pre_authorized_code(made), wrong), 400, "invalid_grant")
        assert CredentialOffer.objects.get().failed_tx_code_attempts == attempt

    response = token_request(pre_authorized_code(made), made.tx_code)

    assert_oauth_error(response, 400, "invalid_grant")
    assert "Too many" in response.json()["error_description"]
    assert IssuanceAccessToken.objects.count() == 0


def test_an_unsupported_grant_type_is_refused():
    response = form_post(reverse("openid4vci:token"), {"grant_type": "client_credentials"})
    assert_oauth_error(response, 400, "unsupported_grant_type")


def test_the_credential_endpoint_needs_a_valid_bearer_token(made):
    response = credential_request("not-a-token", proof(nonce=nonce()))
    assert_oauth_error(response, 401, "invalid_token")
    assert response["WWW-Authenticate"].startswith('Bearer error="invalid_token"')
    assert CredentialRecord.objects.count() == 0


def test_a_proof_without_nonce_is_an_invalid_nonce(made):
    assert_oauth_error(credential_request(access_token(made), proof()), 400, "invalid_nonce")
    assert CredentialRecord.objects.count() == 0


def test_a_proof_with_a_nonce_not_from_the_nonce_endpoint_is_an_invalid_nonce(made):
    assert_oauth_error(credential_request(access_token(made), proof(nonce="made-up")), 400, "invalid_nonce")
    assert CredentialRecord.objects.count() == 0


def test_a_replayed_nonce_is_an_invalid_nonce(made):
    token, c_nonce = access_token(made), nonce()
    assert credential_request(token, proof(nonce=c_nonce)).status_code == 200

    assert_oauth_error(credential_request(token, proof(nonce=c_nonce)), 400, "invalid_nonce")
    assert CredentialRecord.objects.count() == 1
    assert IssuanceNonce.objects.get().used_at is not None


def test_an_expired_nonce_is_an_invalid_nonce(made):
    token, c_nonce = access_token(made), nonce()
    IssuanceNonce.objects.update(expires_at=timezone.now())

    assert_oauth_error(credential_request(token, proof(nonce=c_nonce)), 400, "invalid_nonce")
    assert CredentialRecord.objects.count() == 0


def test_a_proof_signed_by_another_key_than_its_jwk_is_an_invalid_proof(made):
    forged = proof(nonce=nonce(), signer=x509.generate_p256_key())
    assert_oauth_error(credential_request(access_token(made), forged), 400, "invalid_proof")
    assert CredentialRecord.objects.count() == 0
    assert IssuanceNonce.objects.get().used_at is None  # the nonce is spent only by a proof that verifies


@pytest.mark.parametrize(
    "claims",
    [{"aud": "https://elsewhere.test"}, {"iat": int(time.time()) - 3600}, {"iat": None}],
    ids=["wrong-audience", "stale-iat", "no-iat"],
)
def test_a_proof_for_another_audience_or_not_fresh_is_an_invalid_proof(made, claims):
    assert_oauth_error(credential_request(access_token(made), proof(nonce=nonce(), **claims)), 400, "invalid_proof")
    assert CredentialRecord.objects.count() == 0


def test_a_proof_of_the_wrong_type_is_an_invalid_proof(made):
    key = x509.generate_p256_key()
    header = {"alg": "ES256", "typ": "JWT", "jwk": jose.public_jwk(key.public_key())}
    jwt = jose.sign_compact(
        header=header, payload={"aud": ISSUER, "iat": int(time.time()), "nonce": nonce()}, private_key=key
    )
    assert_oauth_error(credential_request(access_token(made), jwt), 400, "invalid_proof")


def test_an_unknown_credential_configuration_is_refused(made):
    response = credential_request(access_token(made), proof(nonce=nonce()), configuration_id="NoSuchCredential")
    assert_oauth_error(response, 400, "unknown_credential_configuration")
    assert CredentialRecord.objects.count() == 0


def test_a_configuration_the_token_was_not_granted_for_is_refused(made):
    response = credential_request(access_token(made), proof(nonce=nonce()), configuration_id="DemoIdentityCredential")
    assert_oauth_error(response, 400, "unknown_credential_configuration")
    assert CredentialRecord.objects.count() == 0


def _challenge(verifier: str) -> str:
    return base64.urlsafe_b64encode(hashlib.sha256(verifier.encode()).digest()).rstrip(b"=").decode()


def authorization_request(client: Client, **overrides):
    params = {
        "response_type": "code",
        "client_id": TEST_CLIENT_ID,
        "redirect_uri": TEST_REDIRECT_URI,
        "scope": "PaymentHistoryCredential",
        "code_challenge": _challenge("v" * 43),
        "code_challenge_method": "S256",
        "state": "s1",
        "decision": "allow",
        **overrides,
    }
    return client.post(reverse("openid4vci:authorize"), params)


def code_token_request(code: str, verifier: str, **overrides):
    data = {
        "grant_type": "authorization_code",
        "code": code,
        "code_verifier": verifier,
        "client_id": TEST_CLIENT_ID,
        "redirect_uri": TEST_REDIRECT_URI,
        **overrides,
    }
    return form_post(reverse("openid4vci:token"), data)


def test_a_pkce_verifier_mismatch_is_an_invalid_grant_and_spends_the_code(customer, client_for):
    redirect = authorization_request(client_for(customer))["Location"]
    code = redirect.split("code=", 1)[1].split("&", 1)[0]

    assert_oauth_error(code_token_request(code, "w" * 43), 400, "invalid_grant")
    assert_oauth_error(code_token_request(code, "v" * 43), 400, "invalid_grant")  # the code was tried once
    assert IssuanceAccessToken.objects.count() == 0
    assert AuthorizationCode.objects.get().used_at is not None


def test_the_right_verifier_and_redirect_uri_get_a_token(customer, client_for):
    redirect = authorization_request(client_for(customer))["Location"]
    assert redirect.startswith(TEST_REDIRECT_URI + "?") and "state=s1" in redirect and "iss=" in redirect
    code = redirect.split("code=", 1)[1].split("&", 1)[0]

    assert code_token_request(code, "v" * 43).status_code == 200
    assert IssuanceAccessToken.objects.get().credential_configuration_ids == ["PaymentHistoryCredential"]


def test_a_code_redeemed_with_another_redirect_uri_is_an_invalid_grant(customer, client_for):
    redirect = authorization_request(client_for(customer))["Location"]
    code = redirect.split("code=", 1)[1].split("&", 1)[0]

    response = code_token_request(code, "v" * 43, redirect_uri="https://wallet.test/other")

    assert_oauth_error(response, 400, "invalid_grant")
    assert IssuanceAccessToken.objects.count() == 0


def test_an_unregistered_redirect_uri_is_never_redirected_to(customer, client_for):
    response = authorization_request(client_for(customer), redirect_uri="https://attacker.test/callback")

    assert response.status_code == 400
    assert "Location" not in response
    assert AuthorizationCode.objects.count() == 0


@pytest.mark.parametrize(
    ("overrides", "error"),
    [
        ({"code_challenge_method": "plain", "code_challenge": "v" * 43}, "invalid_request"),
        ({"code_challenge": ""}, "invalid_request"),
        ({"scope": "NoSuchCredential"}, "invalid_scope"),
        ({"decision": "deny"}, "access_denied"),
        ({"response_type": "token"}, "unsupported_response_type"),
    ],
    ids=["plain-pkce", "no-pkce", "unknown-scope", "refused", "implicit"],
)
def test_authorization_errors_go_back_to_the_wallet(customer, client_for, overrides, error):
    response = authorization_request(client_for(customer), **overrides)

    assert response.status_code == 302
    assert response["Location"].startswith(TEST_REDIRECT_URI + "?")
    assert f"error={error}" in response["Location"] and "state=s1" in response["Location"]
    assert AuthorizationCode.objects.count() == 0


def test_the_authorization_endpoint_asks_an_anonymous_visitor_to_log_in():
    response = Client().get(reverse("openid4vci:authorize"), {"client_id": TEST_CLIENT_ID})
    assert response.status_code == 302 and "/accounts/login" in response["Location"]


@pytest.mark.parametrize(
    ("body", "content_type", "error"),
    [
        ("not json", "application/json", "invalid_credential_request"),
        ("[1, 2]", "application/json", "invalid_credential_request"),
        ('{"credential_configuration_id": "PaymentHistoryCredential"}', "application/json", "invalid_proof"),
        (
            '{"credential_configuration_id": "PaymentHistoryCredential", "proof": {}}',
            "application/json",
            "invalid_proof",
        ),
        (
            '{"credential_configuration_id": "PaymentHistoryCredential", "proofs": {"jwt": [1]}}',
            "application/json",
            "invalid_proof",
        ),
        (
            '{"credential_configuration_id": ["PaymentHistoryCredential"], "proofs": {"jwt": ["a.b.c"]}}',
            "application/json",
            "unknown_credential_configuration",
        ),
        (
            "credential_configuration_id=PaymentHistoryCredential",
            "application/x-www-form-urlencoded",
            "invalid_credential_request",
        ),
    ],
    ids=["not-json", "array", "no-proof", "legacy-proof", "proof-not-a-string", "id-not-a-string", "form-body"],
)
def test_malformed_credential_requests_get_oauth_errors(made, body, content_type, error):
    response = Client().post(
        reverse("openid4vci:credential"),
        body,
        content_type=content_type,
        HTTP_AUTHORIZATION=f"Bearer {access_token(made)}",
    )

    assert_oauth_error(response, 400, error)
    assert CredentialRecord.objects.count() == 0


def test_the_oauth_endpoints_refuse_get():
    for name in ("token", "nonce", "credential"):
        assert Client().get(reverse(f"openid4vci:{name}")).status_code == 405
    assert IssuanceNonce.objects.count() == 0
