"""The browser wallet's own cryptography (static/identity/wallet/*.js), run under Node's WebCrypto against the
portal's Python side: its JWE decrypts with the verifier's key, its X.509 chain check accepts exactly the chains
that end at the CA it trusts, and its request-object check refuses every change an attacker could make."""

from __future__ import annotations

import base64
import json
import shutil
import subprocess
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from django.utils import timezone

from identity.credentials import jose, x509
from identity.credentials.encoding import b64url_decode, b64url_encode
from identity.openid4vci import certificates
from identity.openid4vp import dcql, jwe, transactions, verifier

pytestmark = pytest.mark.django_db
MODULES = Path(__file__).resolve().parents[3] / "static" / "identity" / "wallet"
BASE = "https://portal.test"


@pytest.fixture(scope="module")
def module_directory(tmp_path_factory) -> Path:
    """The wallet's modules with this driver, in a folder Node reads as ES modules."""
    folder = tmp_path_factory.mktemp("wallet-modules")
    for source in MODULES.glob("*.js"):
        shutil.copy(source, folder / source.name)
    shutil.copy(Path(__file__).with_name("driver.mjs"), folder / "driver.mjs")
    (folder / "package.json").write_text('{"type": "module"}')
    return folder


@pytest.fixture
def wallet(module_directory):
    def run(**request: Any) -> dict[str, Any]:
        completed = subprocess.run(
            ["node", str(module_directory / "driver.mjs")],
            input=json.dumps(request),
            capture_output=True,
            text=True,
            timeout=120,
            check=False,
        )
        assert completed.returncode == 0, completed.stderr
        return json.loads(completed.stdout)

    return run


@pytest.fixture
def portal(settings):
    settings.PORTAL_BASE_URL = BASE
    settings.OPENID4VCI_CREDENTIAL_ISSUER = BASE


def der_base64(certificate) -> str:
    return base64.b64encode(x509.certificate_to_der(certificate)).decode()


def portal_anchors() -> list[str]:
    return [der_base64(anchor) for anchor in certificates.trust_anchors()]


def other_ca(*, start_days_ago: int = 0):
    """A CA with the portal CA's own name, made by someone else."""
    key = x509.generate_p256_key()
    not_before = timezone.now() - timedelta(days=start_days_ago)
    certificate = x509.ca_certificate_create(
        private_key=key,
        common_name="FinLab Credential Issuing CA",
        organisation=certificates.ORGANISATION,
        not_before=not_before,
        not_after=not_before + timedelta(days=60),
    )
    return key, certificate


def leaf_from(ca_key, ca_certificate, *, days: int = 20, start_days_ago: int = 0):
    key = x509.generate_p256_key()
    not_before = max(timezone.now() - timedelta(days=start_days_ago), ca_certificate.not_valid_before_utc)
    certificate = x509.leaf_certificate_issue(
        ca_private_key=ca_key,
        ca_certificate=ca_certificate,
        subject_public_key=key.public_key(),
        common_name="FinLab Verifier",
        organisation=certificates.ORGANISATION,
        san_dns_names=["portal.test"],
        not_before=not_before,
        not_after=not_before + timedelta(days=days),
    )
    return key, certificate


@pytest.mark.parametrize("encryption", ["A128GCM", "A256GCM"])
def test_the_wallets_jwe_decrypts_with_the_verifiers_key(wallet, encryption):
    private_key = x509.generate_p256_key()
    recipient = jose.public_jwk(private_key.public_key()) | {"kid": "k1", "use": "enc", "alg": "ECDH-ES"}
    plaintext = json.dumps({"vp_token": {"q": ["a~b~"]}, "state": "s"})

    token = wallet(operation="jwe", plaintext=plaintext, jwk=recipient, enc=encryption)["token"]

    header = json.loads(b64url_decode(token.split(".")[0]))
    assert (header["alg"], header["enc"], header["kid"], header["epk"]["crv"]) == ("ECDH-ES", encryption, "k1", "P-256")
    assert token.split(".")[1] == ""
    assert jwe.decrypt(token, private_key=private_key) == plaintext.encode()
    with pytest.raises(jwe.JweError):
        jwe.decrypt(token, private_key=x509.generate_p256_key())


def test_the_chain_check_accepts_the_portal_chain_and_nothing_else(wallet, portal):
    signer = verifier.verifier_signer()
    accepted = wallet(operation="chain", x5c=signer.x5c, anchors=portal_anchors())
    assert accepted == {"dnsNames": ["portal.test"], "isCa": False}
    # the leaf alone chains to the anchor too
    assert wallet(operation="chain", x5c=signer.x5c[:1], anchors=portal_anchors())["dnsNames"] == ["portal.test"]

    impostor_key, impostor_ca = other_ca()
    _key, impostor_leaf = leaf_from(impostor_key, impostor_ca)
    for chain in ([der_base64(impostor_leaf)], [der_base64(impostor_leaf), der_base64(impostor_ca)]):
        assert wallet(operation="chain", x5c=chain, anchors=portal_anchors())["error"] == "untrusted_certificate"

    # a leaf outside its validity, under a CA that is trusted here (made ten days ago)
    old_key, old_ca = other_ca(start_days_ago=10)
    _key, expired = leaf_from(old_key, old_ca, days=1, start_days_ago=5)
    _key, current = leaf_from(old_key, old_ca)
    assert wallet(operation="chain", x5c=[der_base64(current)], anchors=[der_base64(old_ca)])["dnsNames"]
    assert wallet(operation="chain", x5c=[der_base64(expired)], anchors=[der_base64(old_ca)])["error"] == (
        "untrusted_certificate"
    )
    # a leaf of the portal CA presented as if it were a CA for another leaf
    ca_key, ca_certificate = certificates.x509_key_open(certificates.portal_issuing_ca())
    leaf_key, leaf = leaf_from(ca_key, ca_certificate)
    _key, grandchild = leaf_from(leaf_key, leaf, days=10)
    chain = [der_base64(grandchild), der_base64(leaf)]
    assert wallet(operation="chain", x5c=chain, anchors=portal_anchors())["error"] == "untrusted_certificate"
    # what is not a certificate
    assert wallet(operation="chain", x5c=["AAAA"], anchors=portal_anchors())["error"] == "certificate_invalid"


def open_request():
    query = dcql.dcql_query(dcql.CredentialQuery("history", (f"{BASE}/credentials/types/payment-history",), ("a",)))
    return transactions.presentation_transaction_create(
        purpose="test", query=query, expires_at=timezone.now() + timedelta(minutes=10)
    )


def resign(token: str, change, *, key=None, x5c=None) -> str:
    header, payload, _input, _signature = jose.decode_compact(token)
    change(payload)
    signer = verifier.verifier_signer()
    header = header | ({"x5c": x5c} if x5c else {})
    return jose.sign_compact(header=header, payload=payload, private_key=key or signer.private_key)


def test_the_request_object_check_accepts_the_verifiers_request(wallet, portal):
    presentation = open_request()
    token = verifier.request_object(presentation, now=timezone.now())

    checked = wallet(operation="request", token=token, clientId=presentation.client_id, anchors=portal_anchors())

    assert checked == {
        "host": "portal.test",
        "verifier": {"organisation": "FinLab Financial Services", "commonName": "FinLab Verifier", "name": "FinLab"},
        "nonce": presentation.nonce,
    }


def test_the_request_object_check_refuses_every_change(wallet, portal):
    presentation = open_request()
    token = verifier.request_object(presentation, now=timezone.now())
    client_id = presentation.client_id
    header, payload, signature = token.split(".")

    def refused(candidate: str, client: str = client_id) -> str:
        return wallet(operation="request", token=candidate, clientId=client, anchors=portal_anchors())["error"]

    changed = json.loads(b64url_decode(payload)) | {"nonce": "mine"}
    assert refused(f"{header}.{b64url_encode(json.dumps(changed).encode())}.{signature}") == "request_tampered"
    assert refused(f"{header}.{payload}.{signature[:-4]}AAAA") == "request_tampered"
    assert refused(token, "x509_san_dns:bank.example") == "client_mismatch"
    assert refused(token, "redirect_uri:https://portal.test/") == "client_unsupported"
    # signed by another key that carries the verifier's certificate
    assert refused(resign(token, lambda claims: None, key=x509.generate_p256_key())) == "request_tampered"
    # signed by the verifier's key, but asking for the answer elsewhere, or naming another client
    assert refused(resign(token, lambda claims: claims.update(response_uri="https://evil.example/r"))) == (
        "client_mismatch"
    )
    assert refused(resign(token, lambda claims: claims.update(client_id="x509_san_dns:evil.example"))) == (
        "client_mismatch"
    )
    assert refused(resign(token, lambda claims: claims.update(exp=int(datetime.now(UTC).timestamp()) - 60))) == (
        "request_expired"
    )
    assert refused(resign(token, lambda claims: claims.pop("dcql_query"))) == "request_invalid"
    # an impostor CA's certificate for the same host
    impostor_key, impostor_ca = other_ca()
    leaf_key, leaf = leaf_from(impostor_key, impostor_ca)
    forged = resign(token, lambda claims: None, key=leaf_key, x5c=[der_base64(leaf), der_base64(impostor_ca)])
    assert refused(forged) == "untrusted_certificate"
