"""On PostgreSQL, 50 dealers' requests racing for a code whose balance covers one: exactly one authorization."""

from __future__ import annotations

import json
import threading
import uuid
from concurrent.futures import ThreadPoolExecutor

import pytest
from django.db import connection, connections

from conftest import login_client
from core.errors import ApplicationError
from payments.models import Account, QrRedemption, Transfer
from payments.qr.redemptions import RedemptionRequest, qr_redemption_authorize
from payments.qr.selectors import qr_code_view
from payments.tests.qr.factories import account_balance, paid_code_create

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.slow]
REQUESTS = 50


def test_fifty_concurrent_redemptions_of_a_code_that_covers_one(customer, dealer):
    assert connection.vendor == "postgresql"
    code = paid_code_create(owner=customer, amount=2_000)
    token = qr_code_view(code=code).token
    transfers_before = Transfer.objects.count()
    start = threading.Barrier(REQUESTS)

    def redeem(index: int) -> str:
        try:
            start.wait()
            request = RedemptionRequest(token=token, amount=2_000, currency="EUR", idempotency_key=f"race-{index}")
            qr_redemption_authorize(user=dealer, request=request)
            return "ok"
        except ApplicationError as refusal:
            return refusal.code
        finally:
            connections.close_all()

    with ThreadPoolExecutor(max_workers=REQUESTS) as pool:
        outcomes = list(pool.map(redeem, range(REQUESTS)))

    assert sorted(outcomes).count("ok") == 1
    assert sorted(outcomes).count("insufficient_balance") == REQUESTS - 1
    assert QrRedemption.objects.count() == 1
    assert Transfer.objects.count() == transfers_before + 1
    assert account_balance(code.account_id) == (2_000, 0, 0, 2_000)
    sums = Account.objects.filter(ledger="EUR").values_list(
        "debits_pending", "credits_pending", "debits_posted", "credits_posted"
    )
    assert sum(row[0] for row in sums) == sum(row[1] for row in sums) == 2_000
    assert sum(row[2] for row in sums) == sum(row[3] for row in sums) == 2_000


def test_concurrent_retries_with_one_idempotency_key_make_one_redemption(customer, dealer):
    code = paid_code_create(owner=customer, amount=5_000)
    body = json.dumps({"token": qr_code_view(code=code).token, "amount": 1_000, "currency": "EUR"})
    key = uuid.uuid4().hex
    clients = [login_client(dealer) for _ in range(10)]
    start = threading.Barrier(len(clients))

    def redeem(client) -> tuple[int, dict[str, object]]:
        try:
            start.wait(timeout=60)
            response = client.post(
                "/api/payments/qr-redemptions", body, content_type="application/json", headers={"Idempotency-Key": key}
            )
            return response.status_code, response.json()
        finally:
            connections.close_all()

    with ThreadPoolExecutor(max_workers=len(clients)) as pool:
        answers = list(pool.map(redeem, clients))

    redemption = QrRedemption.objects.get()
    assert {body["id"] for status, body in answers if status == 201} == {str(redemption.public_id)}
    assert all(body["code"] == "idempotency_key_in_progress" for status, body in answers if status != 201)
    assert account_balance(code.account_id) == (1_000, 0, 0, 5_000)
