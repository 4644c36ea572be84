"""Issuer keys, metadata, the demo issuers' configurations and the customer's offer page."""

from __future__ import annotations

import time
from datetime import UTC, datetime

import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from django.test import Client
from django.urls import reverse
from django.utils import timezone

from core import encryption
from identity.credentials import jose, x509
from identity.models import CredentialOffer, CredentialRecord, IssuanceAccessToken, X509SigningKey
from identity.openid4vci import certificates, grants, issuance
from identity.openid4vci.configurations import credential_configurations
from identity.services import wallet

pytestmark = pytest.mark.django_db
ISSUER = "https://portal.test"


@pytest.fixture(autouse=True)
def _issuer(settings):
    settings.OPENID4VCI_CREDENTIAL_ISSUER = ISSUER


def test_the_issuer_key_is_certified_by_the_issuing_ca_and_encrypted_at_rest():
    signer = certificates.issuer_x509_signer()

    leaf = x509.certificate_chain_verify(
        chain=x509.x5c_decode(signer.x5c), trust_anchors=certificates.trust_anchors(), at=datetime.now(UTC)
    )
    assert leaf == signer.certificate
    assert X509SigningKey.objects.filter(is_active=True).count() == 2  # the CA and the issuer key, made once
    certificates.issuer_x509_signer()
    assert X509SigningKey.objects.count() == 2
    row = X509SigningKey.objects.get(role="issuer")
    assert bytes(row.encrypted_private_key)[:1] == encryption.VERSION
    with pytest.raises(encryption.DecryptionFailed):
        encryption.field_decrypt(blob=bytes(row.encrypted_private_key), context=b"x509:ca:1")


def test_the_portal_did_document_publishes_the_issuer_key_with_its_chain(client, settings):
    settings.PORTAL_HOST = "portal.test"

    document = client.get("/.well-known/did.json").json()

    method = next(entry for entry in document["verificationMethod"] if entry["id"].endswith("#x509-issuer"))
    assert method["id"] in document["assertionMethod"]
    chain = x509.x5c_decode(method["publicKeyJwk"]["x5c"])
    assert chain[0] == certificates.issuer_x509_signer().certificate
    assert jose.public_jwk(chain[0].public_key()) == {
        key: method["publicKeyJwk"][key] for key in ("kty", "crv", "x", "y")
    }


def test_metadata_names_the_final_openid4vci_members(client):
    issuer = client.get("/.well-known/openid-credential-issuer").json()
    server = client.get("/.well-known/oauth-authorization-server").json()

    assert issuer["credential_issuer"] == ISSUER and issuer["nonce_endpoint"] == f"{ISSUER}/openid4vci/nonce"
    payment = issuer["credential_configurations_supported"]["PaymentHistoryCredential"]
    assert payment["format"] == "dc+sd-jwt"
    assert payment["vct"] == f"{ISSUER}/credentials/types/payment-history"
    assert payment["credential_signing_alg_values_supported"] == ["ES256"]
    assert payment["proof_types_supported"] == {"jwt": {"proof_signing_alg_values_supported": ["ES256", "EdDSA"]}}
    assert server["code_challenge_methods_supported"] == ["S256"]
    assert server["token_endpoint_auth_methods_supported"] == ["none"]
    assert client.get("/credentials/types/no-such-type").status_code == 404


def test_the_demo_configurations_go_when_the_demo_issuers_are_switched_off(client, settings):
    assert {"DemoIdentityCredential", "DemoCreditHistoryCredential"} <= set(credential_configurations())
    settings.IDENTITY_DEMO_ISSUERS = False

    supported = client.get("/.well-known/openid-credential-issuer").json()["credential_configurations_supported"]

    assert sorted(supported) == ["PaymentHistoryCredential"]


def test_a_demo_credential_is_signed_eddsa_by_the_demo_kyc_provider(customer):
    made = grants.credential_offer_create(
        user=customer, configuration_ids=["DemoIdentityCredential"], issuer_url=ISSUER
    )
    code = made.credential_offer["grants"]["urn:ietf:params:oauth:grant-type:pre-authorized_code"]
    granted = grants.pre_authorized_code_exchange(code=code["pre-authorized_code"], tx_code=made.tx_code)
    token = IssuanceAccessToken.objects.get(token_hash=grants.value_hash(granted.access_token))
    holder = Ed25519PrivateKey.generate()
    nonce, _ = grants.nonce_create()
    proof = jose.sign_compact(
        header={"alg": "EdDSA", "typ": "openid4vci-proof+jwt", "jwk": jose.public_jwk(holder.public_key())},
        payload={"aud": ISSUER, "iat": int(time.time()), "nonce": nonce},
        private_key=holder,
    )
    holder_key = issuance.key_proof_verify(proof_jwt=proof, now=timezone.now())

    credential = issuance.credential_issue(
        token=token, configuration_id="DemoIdentityCredential", holder_key=holder_key, now=timezone.now()
    )

    header, payload, _input, _signature = jose.decode_compact(credential.split("~")[0])
    kyc_issuer, _bureau = wallet.wallet_demo_issuers_ensure()
    assert header["alg"] == "EdDSA" and header["kid"].startswith(kyc_issuer.did + "#")
    assert payload["iss"] == kyc_issuer.did
    assert payload["cnf"]["jwk"] == jose.public_jwk(holder.public_key())
    assert CredentialRecord.objects.get(credential_id=payload["jti"]).issuer_did == kyc_issuer.did


def test_the_offer_page_shows_the_qr_code_link_and_pin_once(customer):
    client = Client()
    client.force_login(customer)

    page = client.post(reverse("identity:credential-offer"), {"configuration": "PaymentHistoryCredential"})

    text = page.content.decode()
    offer = CredentialOffer.objects.get(user=customer)
    assert page.status_code == 200 and page["Cache-Control"] == "no-store"
    assert "<svg" in text and 'href="openid-credential-offer://?credential_offer=' in text
    assert offer.credential_configuration_ids == ["PaymentHistoryCredential"]
    assert 'data-testid="offer-pin">' in text and offer.tx_code_hmac not in text


def test_the_offer_page_refuses_an_unknown_configuration(customer):
    client = Client()
    client.force_login(customer)

    page = client.post(reverse("identity:credential-offer"), {"configuration": "NoSuchCredential"})

    assert page.status_code == 400
    assert CredentialOffer.objects.count() == 0


def test_the_offer_names_both_grants_and_a_numeric_pin(customer):
    made = grants.credential_offer_create(
        user=customer, configuration_ids=["PaymentHistoryCredential"], issuer_url=ISSUER
    )
    grant = made.credential_offer["grants"]["urn:ietf:params:oauth:grant-type:pre-authorized_code"]

    assert made.credential_offer["credential_issuer"] == ISSUER
    assert grant["tx_code"]["input_mode"] == "numeric" and grant["tx_code"]["length"] == 6
    assert made.tx_code.isdigit() and len(made.tx_code) == 6
    assert "authorization_code" in made.credential_offer["grants"]


def test_the_wallet_page_leads_to_the_offer_page(customer):
    client = Client()
    client.force_login(customer)

    page = client.get(reverse("identity:wallet"))

    assert f'href="{reverse("identity:credential-offer")}"' in page.content.decode()
