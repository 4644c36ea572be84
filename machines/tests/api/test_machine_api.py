"""The machine API: signed requests read the wallet and sessions and pay service points; bad signatures, stale
timestamps and replayed nonces are refused with clear codes and change nothing."""

from __future__ import annotations

import json
import time

import pytest
from django.test import Client

from accounts.roles import Role
from machines import wallets
from machines.identities import machine_private_key_open
from machines.models import MachinePayment, MachineRequestNonce
from machines.services.machine_api import request_sign
from machines.services.registry import service_point_create
from machines.tests.factories import vehicle_make

pytestmark = pytest.mark.django_db


@pytest.fixture
def vehicle(make_user):
    return vehicle_make(owner=make_user(Role.CUSTOMER), balance=5_000, session_limit=3_000, daily_limit=4_000)


@pytest.fixture
def car_park(make_user):
    return service_point_create(owner=make_user(Role.DEALER), slug="car-park-1", name="Car park", kind="parking")


def _signed(vehicle, method: str, path: str, body: bytes = b"", *, nonce: str, timestamp: int | None = None, **extra):
    key = machine_private_key_open(did=vehicle.did, encrypted_private_key=vehicle.encrypted_private_key)
    headers = request_sign(
        private_key=key,
        did=vehicle.did,
        method=method,
        path=path,
        body=body,
        nonce=nonce,
        timestamp=timestamp if timestamp is not None else int(time.time()),
    )
    return Client().generic(method, path, body, content_type="application/json", headers=headers | extra)


def test_a_signed_request_reads_the_balance(vehicle):
    response = _signed(vehicle, "GET", "/api/machines/me/balance", nonce="nonce-balance-0001")

    assert response.status_code == 200
    assert response.json() == {
        "did": vehicle.did,
        "currency": "EUR",
        "posted": 5_000,
        "held": 0,
        "available": 5_000,
        "session_limit": 3_000,
        "daily_limit": 4_000,
    }


def test_a_signed_request_lists_sessions(vehicle):
    response = _signed(vehicle, "GET", "/api/machines/me/sessions", nonce="nonce-sessions-001")

    assert (response.status_code, response.json()) == (200, [])


def test_a_vehicle_pays_a_service_point_once_per_idempotency_key(vehicle, car_park):
    body = json.dumps({"service_point": "car-park-1", "amount": 450, "reference": "ticket 77"}).encode()

    first = _signed(
        vehicle,
        "POST",
        "/api/machines/me/payments",
        body,
        nonce="nonce-pay-000001",
        **{"Idempotency-Key": "parking-77"},
    )
    again = _signed(
        vehicle,
        "POST",
        "/api/machines/me/payments",
        body,
        nonce="nonce-pay-000002",
        **{"Idempotency-Key": "parking-77"},
    )

    assert (first.status_code, again.status_code) == (201, 201)
    assert first.json()["id"] == again.json()["id"]
    assert first.json()["amount"] == 450
    assert wallets.wallet_balance_get(account_id=vehicle.wallet_account_id).posted == 4_550
    assert wallets.wallet_balance_get(account_id=car_park.operator.account_id).posted == 450


def test_payments_beyond_the_daily_limit_or_the_balance_are_refused(vehicle, car_park):
    body = json.dumps({"service_point": "car-park-1", "amount": 4_001}).encode()

    response = _signed(
        vehicle, "POST", "/api/machines/me/payments", body, nonce="nonce-pay-limit-1", **{"Idempotency-Key": "too-much"}
    )

    assert (response.status_code, response.json()["code"]) == (422, "daily_limit_exceeded")
    assert MachinePayment.objects.count() == 0
    assert wallets.wallet_balance_get(account_id=vehicle.wallet_account_id).posted == 5_000


@pytest.mark.parametrize(
    ("tamper", "code"),
    [
        ("signature", "machine_signature_invalid"),
        ("body", "machine_signature_invalid"),
        ("path", "machine_signature_invalid"),
        ("did", "machine_unknown"),
        ("stale", "machine_timestamp_outside_window"),
        ("nonce", "machine_nonce_invalid"),
    ],
)
def test_bad_machine_signatures_are_refused_and_change_nothing(vehicle, car_park, tamper, code):
    body = json.dumps({"service_point": "car-park-1", "amount": 100}).encode()
    key = machine_private_key_open(did=vehicle.did, encrypted_private_key=vehicle.encrypted_private_key)
    timestamp = int(time.time()) - (3_600 if tamper == "stale" else 0)
    nonce = "short" if tamper == "nonce" else "nonce-tampered-0001"
    signed_path = "/api/machines/me/balance" if tamper == "path" else "/api/machines/me/payments"
    headers = request_sign(
        private_key=key, did=vehicle.did, method="POST", path=signed_path, body=body, nonce=nonce, timestamp=timestamp
    )
    if tamper == "signature":
        headers["X-Machine-Signature"] = headers["X-Machine-Signature"][:-4] + "AAAA"
    if tamper == "body":
        body = body.replace(b"100", b"999")
    if tamper == "did":
        headers["X-Machine-DID"] = "did:key:z6MkhaXgBZDvotDkL5257faiztiGiC2QtKLGpbnnEGta2doK"

    response = Client().post(
        "/api/machines/me/payments", body, content_type="application/json", headers=headers | {"Idempotency-Key": "k-1"}
    )

    assert response.status_code == 401
    assert response.json()["code"] == code
    assert MachinePayment.objects.count() == 0
    assert MachineRequestNonce.objects.count() == 0
    assert wallets.wallet_balance_get(account_id=vehicle.wallet_account_id).posted == 5_000


def test_a_replayed_request_is_refused(vehicle):
    key = machine_private_key_open(did=vehicle.did, encrypted_private_key=vehicle.encrypted_private_key)
    headers = request_sign(
        private_key=key,
        did=vehicle.did,
        method="GET",
        path="/api/machines/me/balance",
        body=b"",
        nonce="nonce-replayed-0001",
        timestamp=int(time.time()),
    )

    first = Client().get("/api/machines/me/balance", headers=headers)
    replay = Client().get("/api/machines/me/balance", headers=headers)

    assert first.status_code == 200
    assert (replay.status_code, replay.json()["code"]) == (401, "machine_request_replayed")
