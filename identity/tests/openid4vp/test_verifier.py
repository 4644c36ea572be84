"""The OpenID4VP verifier: signed request objects, encrypted answers, DCQL and the checks on SD-JWT VC answers."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta

import pytest
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from django.urls import reverse
from django.utils import timezone

from accounts.tests.factories import UserFactory
from core.encryption import DecryptionFailed, field_decrypt
from identity.credentials import jose, x509
from identity.models import PresentationTransaction
from identity.openid4vci import certificates
from identity.openid4vp import dcql, jwe, transactions, verifier
from identity.openid4vp.transactions import PresentationHandler, presentation_handler_register
from identity.services.verification import credential_type_for_vct
from identity.tests.openid4vp.holder import credential_for, encrypted_response, present

pytestmark = pytest.mark.django_db
BASE = "https://portal.test"
CREDIT = ("scoreBand", "affordabilityCeilingPerMonth")


class Recorder:
    def __init__(self) -> None:
        self.verified: list[transactions.VerifiedAnswer] = []
        self.refused: list[tuple[str, str]] = []


@pytest.fixture
def recorder(settings) -> Recorder:
    settings.PORTAL_BASE_URL = BASE
    settings.OPENID4VCI_CREDENTIAL_ISSUER = BASE
    seen = Recorder()
    presentation_handler_register(
        "test",
        PresentationHandler(
            verified=lambda answer: seen.verified.append(answer) or f"{BASE}/done",
            refused=lambda presentation, reason: seen.refused.append((str(presentation.public_id), reason)),
        ),
    )
    return seen


def credit_query() -> dict:
    vct = f"{BASE}/credentials/types/demo-credit-history"
    return dcql.dcql_query(dcql.CredentialQuery("credit", (vct,), CREDIT))


def open_transaction(**options) -> PresentationTransaction:
    return transactions.presentation_transaction_create(
        purpose="test", query=credit_query(), expires_at=timezone.now() + timedelta(minutes=10), **options
    )


def request_object(client, presentation) -> tuple[dict, dict]:
    answer = client.get(reverse("openid4vp:request-object", args=[presentation.public_id]))
    assert answer.status_code == 200 and answer["Content-Type"] == "application/oauth-authz-req+jwt"
    header, payload, signing_input, signature = jose.decode_compact(answer.content.decode())
    chain = x509.x5c_decode(header["x5c"])
    jose.signature_verify(
        algorithm="ES256", public_key=chain[0].public_key(), signing_input=signing_input, signature=signature
    )
    return header, payload


def post(client, presentation, **form):
    return client.post(reverse("openid4vp:response", args=[presentation.public_id]), form)


def test_the_request_object_is_signed_by_the_access_certificate_and_names_everything_a_wallet_checks(client, recorder):
    presentation = open_transaction()

    header, payload = request_object(client, presentation)

    assert header["typ"] == "oauth-authz-req+jwt" and header["alg"] == "ES256"
    chain = x509.x5c_decode(header["x5c"])
    leaf = x509.certificate_chain_verify(chain=chain, trust_anchors=certificates.trust_anchors(), at=datetime.now(UTC))
    assert verifier._san_dns_names(leaf) == ["portal.test"]
    assert payload["client_id"] == "x509_san_dns:portal.test" == presentation.client_id
    assert payload["response_uri"] == f"{BASE}/openid4vp/response/{presentation.public_id}"
    assert payload["response_type"] == "vp_token" and payload["response_mode"] == "direct_post.jwt"
    assert payload["aud"] == "https://self-issued.me/v2" and payload["exp"] > payload["iat"]
    assert (payload["nonce"], payload["state"]) == (presentation.nonce, presentation.state)
    assert payload["dcql_query"] == credit_query()
    metadata = payload["client_metadata"]
    assert metadata["jwks"]["keys"][0]["alg"] == "ECDH-ES" and "d" not in metadata["jwks"]["keys"][0]
    assert metadata["encrypted_response_enc_values_supported"] == ["A128GCM", "A256GCM"]
    assert metadata["vp_formats_supported"]["dc+sd-jwt"]["sd-jwt_alg_values"] == ["ES256", "EdDSA"]
    # who asks, for the wallet's consent screen (RFC 7591 client metadata), inside the signed request
    assert metadata["client_name"] == "FinLab"
    assert metadata["logo_uri"] == f"{BASE}/static/identity/finlab-logo.svg"
    assert "client_id_scheme" not in payload and "presentation_definition" not in payload
    # the ephemeral key is stored encrypted under its own context only
    with pytest.raises(DecryptionFailed):
        field_decrypt(blob=bytes(presentation.encrypted_private_key), context=b"openid4vp:other")


def test_the_logo_is_served_where_the_request_says_and_left_out_when_the_portal_is_not_on_https(
    client, recorder, settings
):
    assert client.get("/static/identity/finlab-logo.svg").status_code == 200
    settings.PORTAL_BASE_URL = "http://localhost:8000"
    presentation = open_transaction()

    _header, payload = request_object(client, presentation)

    assert payload["client_metadata"]["client_name"] == "FinLab" and "logo_uri" not in payload["client_metadata"]


def test_the_links_carry_client_id_and_request_uri(recorder):
    presentation = open_transaction()

    links = verifier.authorization_request_links(presentation)

    query = f"client_id=x509_san_dns%3Aportal.test&request_uri=https%3A%2F%2Fportal.test%2Fopenid4vp%2Frequest%2F{presentation.public_id}"
    assert links.wallet_link == f"openid4vp://?{query}"
    assert links.browser_wallet_link == f"{BASE}/identity/wallet/openid4vp/?{query}"
    assert links.qr_svg.startswith("<svg")


@pytest.mark.parametrize("encryption", ["A128GCM", "A256GCM"])
def test_an_encrypted_answer_from_an_eddsa_issuer_with_a_p256_holder_is_verified(client, recorder, encryption):
    customer, holder = UserFactory(), ec.generate_private_key(ec.SECP256R1())
    credential = credential_for(customer, configuration_id="DemoCreditHistoryCredential", holder=holder)
    presentation = open_transaction()
    _header, request = request_object(client, presentation)
    vp = present(credential, holder=holder, disclose=CREDIT, nonce=request["nonce"], audience=request["client_id"])
    response = encrypted_response(
        {"vp_token": {"credit": [vp]}, "state": request["state"]},
        jwk=request["client_metadata"]["jwks"]["keys"][0],
        encryption=encryption,
    )

    answer = post(client, presentation, response=response)

    assert answer.status_code == 200, answer.content
    assert answer.json() == {"redirect_uri": f"{BASE}/done"}
    [verified] = recorder.verified
    claims = verified.presentations["credit"].credential.claims
    assert claims["scoreBand"] == "B" and claims["affordabilityCeilingPerMonth"]["amountMinor"] == 65_000
    presentation.refresh_from_db()
    assert presentation.status == "verified" and presentation.encrypted_private_key in (b"", memoryview(b""))
    assert len(presentation.response_hash) == 64 and len(presentation.presentation_hash) == 64
    # the same answer again is a replay
    again = post(client, presentation, response=response)
    assert again.status_code == 400 and again.json()["reason"] == "response_replayed"


def test_an_es256_x5c_credential_of_the_portal_verifies_against_the_issuing_ca(recorder):
    customer, holder = UserFactory(), Ed25519PrivateKey.generate()
    credential = credential_for(customer, configuration_id="PaymentHistoryCredential", holder=holder)
    vct = f"{BASE}/credentials/types/payment-history"
    assert credential_type_for_vct(vct) == "PaymentHistoryCredential"
    from identity.services.verification import sd_jwt_vc_presentation_verify

    vp = present(credential, holder=holder, disclose=["arrearsCount"], nonce="n-1", audience="x509_san_dns:portal.test")
    verified = sd_jwt_vc_presentation_verify(presentation=vp, nonce="n-1", audience="x509_san_dns:portal.test")

    assert verified.credential.claims["arrearsCount"] == 0 and verified.disclosed == ("arrearsCount",)
    assert verified.credential_type == "PaymentHistoryCredential"


def test_a_direct_post_answer_in_clear_is_accepted_when_the_request_asked_for_it(client, recorder):
    customer, holder = UserFactory(), ec.generate_private_key(ec.SECP256R1())
    credential = credential_for(customer, configuration_id="DemoCreditHistoryCredential", holder=holder)
    presentation = open_transaction(response_mode="direct_post")
    vp = present(credential, holder=holder, disclose=CREDIT, nonce=presentation.nonce, audience=presentation.client_id)

    answer = post(client, presentation, vp_token=json.dumps({"credit": [vp]}), state=presentation.state)

    assert answer.status_code == 200, answer.content
    assert len(recorder.verified) == 1


def test_jwe_round_trip_and_a_foreign_key_is_refused():
    key = ec.generate_private_key(ec.SECP256R1())
    token = jwe.encrypt(b"hello", recipient=key.public_key(), encryption="A256GCM")
    assert jwe.decrypt(token, private_key=key) == b"hello"
    with pytest.raises(jwe.JweError):
        jwe.decrypt(token, private_key=ec.generate_private_key(ec.SECP256R1()))


def test_an_access_certificate_made_with_its_ca_on_first_use_never_starts_before_the_ca(monkeypatch):
    """Replays a CI failure: the verifier read the clock, then made the issuing CA on first use; when a second ended
    in between, the CA started a second after the leaf's window would have, and issuing the leaf raised."""
    from identity.models import X509SigningKey

    X509SigningKey.objects.all().delete()
    moments = iter(
        datetime(2026, 12, 6, 12, 0, 0, 900_000, tzinfo=UTC) + timedelta(seconds=0.3 * n) for n in range(10**6)
    )
    monkeypatch.setattr(timezone, "now", lambda: next(moments))

    signer = verifier.verifier_signer()

    ca = x509.certificate_from_der(bytes(certificates.portal_issuing_ca().certificate_der))
    assert signer.certificate.not_valid_before_utc >= ca.not_valid_before_utc
    assert signer.certificate.not_valid_after_utc <= ca.not_valid_after_utc
