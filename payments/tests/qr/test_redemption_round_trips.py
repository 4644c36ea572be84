"""The SQL a redemption sends, counted (never timed): what the portal sends itself, and what the ledger client does.

Ledger statements (the dealer's clearing account, the account locks, the transfer lookup and insert, the pending
timeout, and the ledger's savepoint) belong to `payments.ledger`; the portal's own share is the token with its user,
the Idempotency-Key claim, the code with its lock and acceptance, the redemption row and the stored answer.
"""

from __future__ import annotations

import json
import uuid

import pytest
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext

from accounts.services import api_token_create
from core.models import IdempotencyRecord
from payments.models import QrRedemption
from payments.qr.selectors import qr_code_view

pytestmark = pytest.mark.django_db
URL = "/api/payments/qr-redemptions"
LEDGER_TABLES = ("payments_account", "payments_transfer", "payments_pendingtransfertimeout", "pg_advisory")


def _redeem(client: Client, token: str, key: str):
    return client.post(
        URL,
        data=json.dumps({"token": token, "amount": 100, "currency": "EUR"}),
        content_type="application/json",
        headers={"Idempotency-Key": key},
    )


def _portal_statements(queries: CaptureQueriesContext) -> list[str]:
    """The statements that are neither the ledger's nor transaction control (savepoints; BEGIN/COMMIT in production
    are sent by the driver and not captured)."""
    statements = [query["sql"] for query in queries.captured_queries]
    return [
        sql
        for sql in statements
        if not sql.startswith(("SAVEPOINT", "RELEASE SAVEPOINT")) and not any(t in sql for t in LEDGER_TABLES)
    ]


@pytest.fixture
def dealer_client(dealer, code) -> tuple[Client, str]:
    _, raw = api_token_create(user=dealer, name="DMS")
    client = Client(headers={"Authorization": f"Bearer {raw}"})
    token = qr_code_view(code=code).token
    assert _redeem(client, token, uuid.uuid4().hex).status_code == 201  # opens the clearing account, stamps the token
    return client, token


def test_a_redemption_sends_five_statements_of_its_own(dealer_client):
    client, token = dealer_client

    with CaptureQueriesContext(connection) as queries:
        response = _redeem(client, token, "key-1")

    assert response.status_code == 201, response.content
    portal = _portal_statements(queries)
    assert [sql.split(" ", 3)[:3] for sql in portal] == [
        ["SELECT", '"accounts_apitoken"."id",', '"accounts_apitoken"."user_id",'],  # token + user + organisation
        ["SET", "LOCAL", "lock_timeout"],  # the key claim: bounded wait, insert, reset in one round trip
        ["SELECT", '"payments_qrcode"."id",', '"payments_qrcode"."public_id",'],  # code locked, with acceptance
        ["INSERT", "INTO", '"payments_qrredemption"'],
        ["UPDATE", '"core_idempotencyrecord"', "SET"],  # the stored answer
    ]
    # In all, with the ledger client's statements and the one savepoint the test's own transaction turns the
    # outer transaction into: 13 (it was 22, and 27 on a dealer's first redemption, before this was counted).
    assert len(queries.captured_queries) <= 13, [query["sql"] for query in queries.captured_queries]
    assert QrRedemption.objects.filter(idempotency_key="key-1").count() == 1


def test_a_replayed_redemption_reads_the_stored_answer_and_books_nothing(dealer_client):
    client, token = dealer_client
    first = _redeem(client, token, "key-2")

    with CaptureQueriesContext(connection) as queries:
        again = _redeem(client, token, "key-2")

    assert (again.status_code, again.json(), again["Idempotent-Replayed"]) == (201, first.json(), "true")
    statements = [query["sql"] for query in queries.captured_queries]
    # Token, the claim that finds the key taken, the stored answer; no code lock and no ledger statement.
    assert len(_portal_statements(queries)) == 3, statements
    assert not any(table in sql for sql in statements for table in LEDGER_TABLES)
    assert QrRedemption.objects.filter(idempotency_key="key-2").count() == 1
    assert IdempotencyRecord.objects.filter(key="key-2").count() == 1
