"""The back-office ledger API through HTTP: authorization matrix, batch transfers, cursor pagination, error shapes."""

from __future__ import annotations

import json
import uuid

import pytest
from django.test import Client
from django.urls import reverse

from payments.ledger.services import transfers_create
from payments.ledger.types import AccountFlags
from payments.models import AccountCode
from payments.tests.ledger.conftest import ledger_snapshot, spec

pytestmark = pytest.mark.django_db


@pytest.fixture
def funded(make_account):
    bank = make_account(code=AccountCode.BANK)
    customer = make_account(code=AccountCode.CUSTOMER_PREPAID, flags=AccountFlags.DEBITS_MUST_NOT_EXCEED_CREDITS)
    merchant = make_account(code=AccountCode.MERCHANT_PAYABLE)
    assert transfers_create(transfers=[spec(bank, customer, 1_000)])[0].is_ok
    return bank, customer, merchant


def endpoints(account_id: int) -> list[tuple[str, str]]:
    return [
        ("get", reverse("payments-api:ledger-account-list")),
        ("get", reverse("payments-api:ledger-account-statement", args=[account_id])),
        ("get", reverse("payments-api:ledger-transfer-search")),
        ("get", reverse("payments-api:ledger-reconciliation")),
        ("post", reverse("payments-api:ledger-transfer-create")),
    ]


def call(client: Client, method: str, url: str):
    if method == "post":
        return client.post(url, data=json.dumps({"transfers": []}), content_type="application/json")
    return client.get(url)


def test_authorization_matrix(funded, customer, dealer, back_office, client_for) -> None:
    _, account, _ = funded
    for method, url in endpoints(account.pk):
        anonymous = call(Client(), method, url)
        assert anonymous.status_code == 401, url
        assert anonymous.json()["code"] == "not_authenticated"
        for user in (customer, dealer):
            response = call(client_for(user), method, url)
            assert response.status_code == 403, (url, user.role)
            assert response.json()["code"] == "permission_denied"
        # An empty batch is invalid input: back office got past the permission check.
        assert call(client_for(back_office), method, url).status_code == (400 if method == "post" else 200), url


def post_batch(client: Client, body: object):
    return client.post(
        reverse("payments-api:ledger-transfer-create"), data=json.dumps(body), content_type="application/json"
    )


def test_batch_returns_one_result_per_transfer(funded, back_office, client_for) -> None:
    _bank, customer, merchant = funded
    first, second = uuid.uuid4(), uuid.uuid4()
    body = {
        "transfers": [
            {
                "id": str(first),
                "debit_account_id": customer.pk,
                "credit_account_id": merchant.pk,
                "amount": 600,
                "ledger": "EUR",
                "code": 1,
            },
            {
                "id": str(second),
                "debit_account_id": customer.pk,
                "credit_account_id": merchant.pk,
                "amount": 600,
                "ledger": "EUR",
                "code": 1,
            },
        ]
    }
    response = post_batch(client_for(back_office), body)
    assert response.status_code == 200
    assert response.json() == {
        "results": [{"id": str(first), "code": "ok"}, {"id": str(second), "code": "exceeds_credits"}]
    }
    again = post_batch(client_for(back_office), body)
    assert [result["code"] for result in again.json()["results"]] == ["exists", "exceeds_credits"]


def test_bad_batches_change_nothing(funded, back_office, client_for) -> None:
    bank, _customer, merchant = funded
    client = client_for(back_office)
    before = ledger_snapshot()
    item = {"debit_account_id": bank.pk, "credit_account_id": merchant.pk, "amount": 1, "ledger": "EUR", "code": 1}
    too_many = post_batch(client, {"transfers": [item | {"id": str(uuid.uuid4())} for _ in range(8_001)]})
    assert too_many.status_code == 422
    assert too_many.json()["code"] == "batch_too_large"
    malformed = client.post(
        reverse("payments-api:ledger-transfer-create"), data='{"transfers": [', content_type="application/json"
    )
    assert malformed.status_code == 400
    assert malformed.json()["code"] == "malformed_request"
    wrong_type = post_batch(client, {"transfers": [item | {"id": "not-a-uuid"}]})
    assert wrong_type.status_code == 400
    assert wrong_type.json()["code"] == "invalid_input"
    assert "transfers" in wrong_type.json()["fields"]
    negative = post_batch(client, {"transfers": [item | {"id": str(uuid.uuid4()), "amount": -5}]})
    assert [result["code"] for result in negative.json()["results"]] == ["amount_must_not_be_negative"]
    assert ledger_snapshot() == before


def test_account_list_uses_cursor_pagination(funded, back_office, client_for) -> None:
    client = client_for(back_office)
    first = client.get(reverse("payments-api:ledger-account-list"), {"page_size": 2})
    assert first.status_code == 200
    assert [row["id"] for row in first.json()["results"]] == [funded[0].pk, funded[1].pk]
    assert first.json()["previous"] is None
    second = client.get(first.json()["next"])
    assert [row["id"] for row in second.json()["results"]] == [funded[2].pk]
    assert second.json()["results"][0]["credits_posted"] == 0
    filtered = client.get(reverse("payments-api:ledger-account-list"), {"code": int(AccountCode.CUSTOMER_PREPAID)})
    assert [(row["id"], row["credits_posted"]) for row in filtered.json()["results"]] == [(funded[1].pk, 1_000)]


def test_statement_carries_the_running_balance_across_pages(funded, back_office, client_for) -> None:
    _, customer, merchant = funded
    assert all(r.is_ok for r in transfers_create(transfers=[spec(customer, merchant, 100) for _ in range(3)]))
    client = client_for(back_office)
    url = reverse("payments-api:ledger-account-statement", args=[customer.pk])
    first = client.get(url, {"page_size": 2}).json()
    assert [row["balance_posted"] for row in first["results"]] == [1_000, 900]
    second = client.get(first["next"]).json()
    assert [(row["debit_posted"], row["balance_posted"]) for row in second["results"]] == [(100, 800), (100, 700)]
    assert client.get(reverse("payments-api:ledger-account-statement", args=[10**9])).status_code == 404


def test_transfer_search_and_reconciliation(funded, back_office, client_for) -> None:
    _bank, customer, merchant = funded
    target = spec(customer, merchant, 10, code=42)
    assert transfers_create(transfers=[target])[0].is_ok
    client = client_for(back_office)
    by_code = client.get(reverse("payments-api:ledger-transfer-search"), {"code": 42}).json()
    assert [row["id"] for row in by_code["results"]] == [str(target.id)]
    by_account = client.get(reverse("payments-api:ledger-transfer-search"), {"account_id": merchant.pk}).json()
    assert [row["amount"] for row in by_account["results"]] == [10]
    assert client.get(reverse("payments-api:ledger-transfer-search"), {"transfer_id": "x"}).status_code == 400
    report = client.get(reverse("payments-api:ledger-reconciliation")).json()
    assert report == [
        {
            "ledger": "EUR",
            "accounts": 3,
            "debits_pending": 0,
            "debits_posted": 1_010,
            "credits_pending": 0,
            "credits_posted": 1_010,
            "pending_with_timeout": 0,
            "is_balanced": True,
        }
    ]
