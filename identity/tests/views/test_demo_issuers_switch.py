"""The demo KYC provider and credit bureau can be switched off, and production switches them off: they would hand
any customer a credit credential that passes dealer credit checks."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from accounts.roles import Role
from conftest import login_client
from identity.credentials.dids import did_key_from_public_key
from identity.credentials.keys import generate_private_key, public_key_bytes
from identity.models import CredentialRecord, TrustedIssuer

pytestmark = pytest.mark.django_db
BASE_DIR = Path(__file__).resolve().parents[3]


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
    environment = os.environ | {
        "DJANGO_SETTINGS_MODULE": "portal.settings.production",
        "DJANGO_SECRET_KEY": "p" * 20 + "-production-like-secret-with-enough-entropy-0123456789abcdef",
        "DATABASE_URL": "postgres://postgres@127.0.0.1:5432/finlab",
        "REDIS_URL": "redis://127.0.0.1:6379/14",
        "PORTAL_BASE_URL": "https://portal.finlab.example",
        "PORTAL_HOST": "portal.finlab.example",
        "PAYMENTS_QR_SIGNING_KEY": "bW9ja19xcl9zaWduaW5nX2tleV8zMl9ieXRlc19fXyE",
        "PAYMENTS_SANDBOX_WEBHOOK_SECRET": "webhook-secret-of-the-acquirer-0123456789",
    }
    environment.pop("IDENTITY_DEMO_ISSUERS", None)
    result = subprocess.run(
        [sys.executable, "manage.py", "shell", "-c", "from django.conf import settings; print(settings.IDENTITY_DEMO_ISSUERS)"],
        cwd=BASE_DIR, env=environment, capture_output=True, text=True, check=True,
    )  # fmt: skip

    assert result.stdout.strip().splitlines()[-1] == "False"
