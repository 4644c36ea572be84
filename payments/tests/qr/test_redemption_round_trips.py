"""The SQL a redemption sends, counted (never timed): at most six round trips in all.

In production a redemption is: the token with its user and organisation; BEGIN (sent by the driver); the
Idempotency-Key claim; the code locked with its acceptance and the dealer's clearing account; the ledger's
`payments_transfer_post`, which books the pending transfer and, only then, writes the redemption row and the stored
answer; COMMIT. Under the test's own transaction BEGIN and COMMIT become the SAVEPOINT and RELEASE counted here.
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
from payments.models import QrRedemption, Transfer
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


def test_a_redemption_is_six_round_trips_with_the_booking_and_the_answer_in_one(dealer_client, dealer):
    client, token = dealer_client
    scope = f"dealer-organisation:{dealer.dealer_organisation_id}"

    with CaptureQueriesContext(connection) as queries:
        response = _redeem(client, token, "key-1")

    assert response.status_code == 201, response.content
    statements = [query["sql"] for query in queries.captured_queries]
    assert '"accounts_apitoken" t ' in statements[0]
    assert [sql.split(" ", 3)[:3] for sql in statements] == [
        ["SELECT", 't."id",', 't."user_id",'],  # token + user + organisation (accounts/authentication.py's one query)
        ["SAVEPOINT", statements[1].split(" ")[1]],  # BEGIN in production
        ["SELECT", f"core_idempotency_claim('{scope}',", "'payments.qr_redemption_authorize',"],  # the key claim:
        # bounded wait, insert, bound lifted, in one prepared statement
        ["SELECT", '"payments_qrcode"."id",', '"payments_qrcode"."public_id",'],  # code locked, with acceptance
        ["SELECT", statements[4].split(" ")[1], statements[4].split(" ")[2]],  # the booking
        ["RELEASE", "SAVEPOINT", statements[5].split(" ")[2]],  # COMMIT in production
    ]
    assert statements[4].startswith("SELECT payments_transfer_post(")
    assert "'key-1'" in statements[2]
    assert "payments_account" in statements[3]  # the clearing account read with the code
    booking = statements[4]
    assert "payments_qrredemption" in booking and "UPDATE" in booking and "core_idempotencyrecord" in booking
    redemption = QrRedemption.objects.get(idempotency_key="key-1")
    record = IdempotencyRecord.objects.get(key="key-1")
    assert (record.response_status, record.response_body) == (201, response.json())
    assert response.json()["id"] == str(redemption.public_id)
    assert Transfer.objects.get(pk=redemption.authorization_transfer_id).amount == 100


def test_a_refused_redemption_writes_neither_the_redemption_nor_an_answer(dealer_client):
    client, token = dealer_client
    transfers = Transfer.objects.count()

    response = client.post(
        URL,
        data=json.dumps({"token": token, "amount": 10**9, "currency": "EUR"}),
        content_type="application/json",
        headers={"Idempotency-Key": "key-too-much"},
    )

    assert (response.status_code, response.json()["code"]) == (422, "insufficient_balance")
    assert not QrRedemption.objects.filter(idempotency_key="key-too-much").exists()
    assert not IdempotencyRecord.objects.filter(key="key-too-much").exists()
    assert Transfer.objects.count() == transfers


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
