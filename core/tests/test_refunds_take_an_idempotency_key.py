"""Finding 8, "Refunds take no Idempotency-Key": a retried refund booked twice. Every money-moving endpoint now takes
the key through core.idempotency, with the same rules; these tests replay the attack over HTTP (PostgreSQL, Redis)."""

from __future__ import annotations

import json
import threading
import time
import uuid
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass

import pytest
from django.db import connections
from django.test import Client

from accounts.roles import Role
from accounts.tests.factories import DealerOrganisationFactory
from conftest import login_client
from core.errors import ConflictError
from core.idempotency import IdempotentOutcome, idempotent_run
from core.models import IdempotencyRecord
from machines.identities import machine_private_key_open
from machines.models import MachinePayment
from machines.services.machine_api import request_sign
from machines.services.registry import service_point_create
from machines.tests.factories import vehicle_make
from payments.ledger import Owner, Purpose, account_get_or_open
from payments.models import Account, QrRedemption, QrRefund
from payments.qr.redemptions import (
    RedemptionRequest,
    qr_redemption_authorize,
    qr_redemption_capture,
)
from payments.qr.selectors import qr_code_view
from payments.tests.qr.factories import account_balance, database_snapshot, paid_code_create

REDEMPTIONS = "/api/payments/qr-redemptions"


@dataclass
class Endpoint:
    """One money-moving endpoint, ready to call: `send(body, key)` answers the HTTP response."""

    send: Callable[[dict[str, object], str | None], object]
    body: dict[str, object]
    other_body: dict[str, object]


def _snapshot() -> dict[str, object]:
    return database_snapshot() | {
        "machine_payments": list(MachinePayment.objects.order_by("id").values_list("id", "amount")),
        "redemptions": list(
            QrRedemption.objects.order_by("id").values_list("id", "status", "captured_amount", "refunded_amount")
        ),
        "idempotency_records": IdempotencyRecord.objects.count(),
    }


def _json_post(client: Client, url: str) -> Callable[[dict[str, object], str | None], object]:
    def send(body: dict[str, object], key: str | None) -> object:
        headers = {} if key is None else {"Idempotency-Key": key}
        return client.post(url, data=json.dumps(body), content_type="application/json", headers=headers)

    return send


def _authorized(dealer, customer, amount: int = 2_000) -> QrRedemption:
    code = paid_code_create(owner=customer, amount=5_000)
    request = RedemptionRequest(
        token=qr_code_view(code=code).token, amount=amount, currency="EUR", idempotency_key=uuid.uuid4().hex
    )
    return qr_redemption_authorize(user=dealer, request=request)


def _captured(dealer, customer) -> QrRedemption:
    redemption = _authorized(dealer, customer)
    return qr_redemption_capture(redemption_id=redemption.pk, amount=2_000)


def _authorize_endpoint(dealer, customer, make_user) -> Endpoint:
    token = qr_code_view(code=paid_code_create(owner=customer, amount=5_000)).token
    return Endpoint(
        _json_post(login_client(dealer), REDEMPTIONS),
        {"token": token, "amount": 1_000, "currency": "EUR"},
        {"token": token, "amount": 1_500, "currency": "EUR"},
    )


def _capture_endpoint(dealer, customer, make_user) -> Endpoint:
    redemption = _authorized(dealer, customer)
    url = f"{REDEMPTIONS}/{redemption.public_id}/capture"
    return Endpoint(_json_post(login_client(dealer), url), {"amount": 1_200}, {"amount": 2_000})


def _void_endpoint(dealer, customer, make_user) -> Endpoint:
    redemption = _authorized(dealer, customer)
    other = _authorized(dealer, customer)
    client = login_client(dealer)
    send_one = _json_post(client, f"{REDEMPTIONS}/{redemption.public_id}/void")
    send_other = _json_post(client, f"{REDEMPTIONS}/{other.public_id}/void")

    def send(body: dict[str, object], key: str | None) -> object:
        return (send_other if body.get("other") else send_one)({}, key)

    return Endpoint(send, {}, {"other": True})


def _refund_endpoint(dealer, customer, make_user) -> Endpoint:
    redemption = _captured(dealer, customer)
    url = f"{REDEMPTIONS}/{redemption.public_id}/refund"
    return Endpoint(_json_post(login_client(dealer), url), {"amount": 500}, {"amount": 700})


def _machine_payment_endpoint(dealer, customer, make_user) -> Endpoint:
    vehicle = vehicle_make(owner=customer, balance=5_000, daily_limit=4_000)
    service_point_create(owner=make_user(Role.DEALER), slug="car-park-8", name="Car park", kind="parking")
    private_key = machine_private_key_open(did=vehicle.did, encrypted_private_key=vehicle.encrypted_private_key)

    def send(body: dict[str, object], key: str | None) -> object:
        raw = json.dumps(body).encode()
        path = "/api/machines/me/payments"
        headers = request_sign(
            private_key=private_key, did=vehicle.did, method="POST", path=path, body=raw,
            nonce=uuid.uuid4().hex, timestamp=int(time.time()),
        )  # fmt: skip
        if key is not None:
            headers["Idempotency-Key"] = key
        return Client().post(path, raw, content_type="application/json", headers=headers)

    body = {"service_point": "car-park-8", "amount": 450, "reference": "ticket 8"}
    return Endpoint(send, body, body | {"amount": 900})


ENDPOINTS = {
    "redemption": _authorize_endpoint,
    "capture": _capture_endpoint,
    "void": _void_endpoint,
    "refund": _refund_endpoint,
    "machine_payment": _machine_payment_endpoint,
}


@pytest.mark.django_db
def test_a_retried_refund_books_once_and_answers_the_first_response(dealer, customer):
    redemption = _captured(dealer, customer)
    client = login_client(dealer)
    url = f"{REDEMPTIONS}/{redemption.public_id}/refund"
    payable = account_get_or_open(
        ledger="EUR", purpose=Purpose.QR_DEALER_PAYABLE, owner=Owner.dealer(dealer.dealer_organisation_id)
    )
    payable_before = account_balance(payable.pk)
    code_before = account_balance(redemption.code.account_id)

    first = _json_post(client, url)({"amount": 500}, "refund-0001")
    after_first = _snapshot()
    retry = _json_post(client, url)({"amount": 500}, "refund-0001")

    assert (first.status_code, retry.status_code) == (200, 200)
    assert retry.json() == first.json()
    assert first.json()["refunded_amount"] == 500
    assert retry.headers["Idempotent-Replayed"] == "true"
    assert "Idempotent-Replayed" not in first.headers
    assert _snapshot() == after_first
    assert QrRefund.objects.filter(redemption=redemption).count() == 1
    assert QrRedemption.objects.get(pk=redemption.pk).refunded_amount == 500
    # The ledger moved 5.00 EUR once: out of the dealer's payable account, back onto the code.
    assert account_balance(payable.pk) == (
        payable_before[0], payable_before[1] + 500, payable_before[2], payable_before[3]
    )  # fmt: skip
    assert account_balance(redemption.code.account_id) == (
        code_before[0], code_before[1], code_before[2], code_before[3] + 500
    )  # fmt: skip


@pytest.mark.django_db
@pytest.mark.parametrize("name", list(ENDPOINTS))
def test_each_money_endpoint_books_once_per_key_and_replays_the_first_response(name, dealer, customer, make_user):
    endpoint = ENDPOINTS[name](dealer, customer, make_user)
    before = _snapshot()

    first = endpoint.send(endpoint.body, "retry-key-1")
    after_first = _snapshot()
    retry = endpoint.send(endpoint.body, "retry-key-1")

    assert first.status_code in (200, 201), first.content
    assert after_first != before
    assert (retry.status_code, retry.json()) == (first.status_code, first.json())
    assert retry.headers["Idempotent-Replayed"] == "true"
    assert _snapshot() == after_first


@pytest.mark.django_db
@pytest.mark.parametrize("name", list(ENDPOINTS))
def test_each_money_endpoint_refuses_a_key_reused_for_another_request(name, dealer, customer, make_user):
    endpoint = ENDPOINTS[name](dealer, customer, make_user)
    endpoint.send(endpoint.body, "reused-key-1")
    before = _snapshot()

    response = endpoint.send(endpoint.other_body, "reused-key-1")

    assert (response.status_code, response.json()["code"]) == (422, "idempotency_key_reused")
    assert _snapshot() == before


@pytest.mark.django_db
@pytest.mark.parametrize("name", list(ENDPOINTS))
@pytest.mark.parametrize(
    ("key", "code"),
    [
        (None, "idempotency_key_missing"),
        ("", "idempotency_key_missing"),
        ("x" * 65, "idempotency_key_malformed"),
        ("key with spaces", "idempotency_key_malformed"),
        ("schlüssel", "idempotency_key_malformed"),
    ],
)
def test_each_money_endpoint_refuses_a_missing_or_malformed_key(name, key, code, dealer, customer, make_user):
    endpoint = ENDPOINTS[name](dealer, customer, make_user)
    before = _snapshot()

    response = endpoint.send(endpoint.body, key)

    assert (response.status_code, response.json()["code"]) == (422, code)
    assert _snapshot() == before


@pytest.mark.django_db
def test_a_key_belongs_to_its_caller(dealer, customer, make_user, dealer_organisation):
    """Another dealer organisation's identical key is another key: its request books on its own."""
    other_dealer = make_user(Role.DEALER, dealer_organisation=DealerOrganisationFactory())
    token = qr_code_view(code=paid_code_create(owner=customer, amount=5_000)).token
    body = {"token": token, "amount": 1_000, "currency": "EUR"}

    first = _json_post(login_client(dealer), REDEMPTIONS)(body, "shared-key")
    second = _json_post(login_client(other_dealer), REDEMPTIONS)(body, "shared-key")

    assert (first.status_code, second.status_code) == (201, 201)
    assert first.json()["id"] != second.json()["id"]
    assert QrRedemption.objects.count() == 2


@pytest.mark.django_db(transaction=True)
def test_concurrent_retries_of_a_refund_book_once(dealer, customer):
    redemption = _captured(dealer, customer)
    url = f"{REDEMPTIONS}/{redemption.public_id}/refund"
    credits_before = Account.objects.get(pk=redemption.code.account_id).credits_posted
    clients = [login_client(dealer) for _ in range(6)]
    start = threading.Barrier(len(clients))

    def refund(client: Client) -> tuple[int, dict[str, object]]:
        try:
            start.wait(timeout=60)
            response = _json_post(client, url)({"amount": 300}, "refund-race-1")
            return response.status_code, response.json()
        finally:
            connections.close_all()

    with ThreadPoolExecutor(max_workers=len(clients)) as pool:
        answers = list(pool.map(refund, clients))

    booked = [body for status, body in answers if status == 200]
    in_progress = [body for status, body in answers if status == 409]
    assert len(booked) + len(in_progress) == len(clients)
    assert all(body == booked[0] for body in booked)
    assert all(body["code"] == "idempotency_key_in_progress" for body in in_progress)
    assert QrRefund.objects.count() == 1
    assert QrRedemption.objects.get(pk=redemption.pk).refunded_amount == 300
    assert Account.objects.get(pk=redemption.code.account_id).credits_posted == credits_before + 300


@pytest.mark.django_db
def test_a_resubmitted_refund_form_books_once_and_a_reused_key_is_refused(dealer, customer):
    redemption = _captured(dealer, customer)
    client = login_client(dealer)
    url = f"/payments/qr/dealer/redemptions/{redemption.public_id}/refund/"
    form = {"refund-amount": "5.00", "refund-idempotency_key": "form-key-1", "confirmed": "yes"}

    client.post(url, form)
    after_first = _snapshot()
    client.post(url, form)
    assert _snapshot() == after_first
    refused = client.post(url, form | {"refund-amount": "6.00"}, follow=True)

    assert _snapshot() == after_first
    assert QrRedemption.objects.get(pk=redemption.pk).refunded_amount == 500
    assert QrRefund.objects.count() == 1
    # Pages say it in words; the API keeps the code (`idempotency_key_reused`).
    assert (
        "This Idempotency-Key was already used for a different request."
        in [str(message) for message in refused.context["messages"]][-1]
    )


@pytest.mark.django_db
def test_a_resubmitted_top_up_form_books_once_and_a_reused_key_is_refused(back_office, customer):
    vehicle = vehicle_make(owner=customer, balance=0)
    client = login_client(back_office)
    url = f"/machines/vehicles/{vehicle.pk}/top-up"
    form = {"amount": "20.00", "reference": "bank-4711", "idempotency_key": "top-up-key-1"}
    wallet_before = account_balance(vehicle.wallet_account_id)

    client.post(url, form)
    after_first = _snapshot()
    client.post(url, form)
    client.post(url, form | {"reference": "bank-4712"})

    assert _snapshot() == after_first
    assert account_balance(vehicle.wallet_account_id) == (
        wallet_before[0], wallet_before[1], wallet_before[2], wallet_before[3] + 2_000
    )  # fmt: skip


@pytest.mark.django_db(transaction=True)
def test_a_request_while_the_key_is_held_waits_then_answers_in_progress(settings):
    """While one booking holds a key longer than IDEMPOTENCY_LOCK_TIMEOUT_MS, the second gets 409 and books nothing;
    once the first commits, a retry gets its answer."""
    settings.IDEMPOTENCY_LOCK_TIMEOUT_MS = 200
    holding, release = threading.Event(), threading.Event()
    booked: list[int] = []

    def slow_booking() -> tuple[int, dict[str, int]]:
        holding.set()
        assert release.wait(timeout=120)
        booked.append(1)
        return 201, {"booked": 1}

    def first() -> IdempotentOutcome:
        try:
            return idempotent_run(scope="user:1", operation="test.op", key="held", fingerprint="f", action=slow_booking)
        finally:
            connections.close_all()

    with ThreadPoolExecutor(max_workers=1) as pool:
        future = pool.submit(first)
        assert holding.wait(timeout=120)
        with pytest.raises(ConflictError) as refusal:
            idempotent_run(scope="user:1", operation="test.op", key="held", fingerprint="f", action=slow_booking)
        release.set()
        outcome = future.result(timeout=120)

    assert (refusal.value.status, refusal.value.code) == (409, "idempotency_key_in_progress")
    assert (outcome.status, outcome.body, outcome.is_replay) == (201, {"booked": 1}, False)
    replay = idempotent_run(scope="user:1", operation="test.op", key="held", fingerprint="f", action=slow_booking)
    assert (replay.status, replay.body, replay.is_replay) == (201, {"booked": 1}, True)
    assert booked == [1]


@pytest.mark.django_db
def test_stored_answers_are_purged_after_the_retention_period(settings):
    from datetime import timedelta

    from django.utils import timezone

    from core.tasks import idempotency_records_purge_task

    settings.IDEMPOTENCY_RETENTION_DAYS = 30
    for key in ("old", "recent"):
        idempotent_run(scope="user:1", operation="test.op", key=key, fingerprint="f", action=lambda: (201, {}))
    IdempotencyRecord.objects.filter(key="old").update(created_at=timezone.now() - timedelta(days=31))

    assert idempotency_records_purge_task() == 1
    assert list(IdempotencyRecord.objects.values_list("key", flat=True)) == ["recent"]
