"""The demo KYC provider and credit bureau can be switched off, and production switches them off: they would hand
any customer a credit credential that passes dealer credit checks."""

from __future__ import annotations

import pytest

from accounts.roles import Role
from conftest import login_client
from identity.credentials.dids import did_key_from_public_key
from identity.credentials.keys import generate_private_key, public_key_bytes
from identity.models import CredentialRecord, TrustedIssuer
from portal.testing import production_setting

pytestmark = pytest.mark.django_db


def _holder_did() -> str:
    return did_key_from_public_key(public_key_bytes(generate_private_key()))


def test_switched_off_the_wallet_api_refuses_and_issues_nothing(settings, make_user):
    settings.IDENTITY_DEMO_ISSUERS = False
    client = login_client(make_user(Role.CUSTOMER))

    response = client.post(
        "/api/identity/wallet/credentials",
        {"kind": "credit_history", "holderDid": _holder_did()},
        content_type="application/json",
    )

    assert response.status_code == 404
    assert response.json()["code"] == "demo_issuers_disabled"
    assert CredentialRecord.objects.count() == 0
    assert TrustedIssuer.objects.count() == 0


def test_switched_off_the_pages_offer_no_demo_credential(settings, make_user):
    settings.IDENTITY_DEMO_ISSUERS = False
    page = login_client(make_user(Role.CUSTOMER)).get("/identity/wallet/").content.decode()

    assert "demo credit bureau" not in page and "demo KYC provider" not in page


def test_switched_on_the_wallet_api_issues(settings, make_user):
    settings.IDENTITY_DEMO_ISSUERS = True
    client = login_client(make_user(Role.CUSTOMER))

    response = client.post(
        "/api/identity/wallet/credentials",
        {"kind": "credit_history", "holderDid": _holder_did()},
        content_type="application/json",
    )

    assert response.status_code == 201
    assert "demo credit bureau" in client.get("/identity/wallet/").content.decode()


def test_production_settings_switch_the_demo_issuers_off():
    assert production_setting("IDENTITY_DEMO_ISSUERS") == "False"
