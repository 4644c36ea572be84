"""Redemption is a money endpoint: beyond the dealer's `money` rate it answers 429 and authorizes nothing."""

from __future__ import annotations

import uuid

import pytest
from rest_framework.throttling import SimpleRateThrottle

from conftest import login_client
from payments.models import QrRedemption
from payments.qr.selectors import qr_code_view
from payments.tests.qr.factories import account_balance

pytestmark = pytest.mark.django_db


def test_redemptions_beyond_the_money_rate_are_refused_and_reserve_nothing(dealer, code, monkeypatch):
    monkeypatch.setitem(SimpleRateThrottle.THROTTLE_RATES, "money", "3/minute")
    client = login_client(dealer)
    body = {"token": qr_code_view(code=code).token, "amount": 100, "currency": "EUR"}

    def redeem():
        return client.post(
            "/api/payments/qr-redemptions",
            body,
            content_type="application/json",
            headers={"Idempotency-Key": uuid.uuid4().hex},
        )

    statuses = [redeem().status_code for _ in range(3)]
    refused = redeem()

    assert statuses == [201, 201, 201]
    assert refused.status_code == 429
    assert refused.json()["code"] == "throttled"
    assert "Retry-After" in refused.headers
    assert QrRedemption.objects.count() == 3
    assert account_balance(code.account_id)[0] == 300  # debits pending: the three authorizations only
