"""The customer API a phone app uses: codes, balances and history in decimal euros, buying a code under an
Idempotency-Key, and nothing of another customer's."""

from __future__ import annotations

import datetime as dt
import json
import re
import uuid

import pytest

from accounts import services as account_services
from accounts.roles import Role
from payments.checkout.sandbox import sandbox_card_payment_create
from payments.models import CheckoutOrder, CheckoutOrderStatus
from payments.qr.redemptions import RedemptionRequest, qr_redemption_authorize
from payments.qr.selectors import qr_code_view
from payments.tests.qr.factories import database_snapshot, paid_code_create, product_create

pytestmark = pytest.mark.django_db
ISO_WITH_OFFSET = re.compile(r"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d+)?([+-]\d{2}:\d{2}|Z)$")


def _api(user):
    from rest_framework.test import APIClient

    _, raw = account_services.api_token_create(user=user, name="phone")
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Bearer {raw}")
    return client


def _order(client, body: dict[str, object], key: str):
    return client.post(
        "/api/payments/customer/orders", json.dumps(body), content_type="application/json",
        headers={"Idempotency-Key": key},
    )  # fmt: skip


def test_codes_list_and_detail_give_balances_as_decimal_euros(customer):
    code = paid_code_create(owner=customer, amount=4_250)
    client = _api(customer)

    listed = client.get("/api/payments/customer/codes").json()
    detail = client.get(f"/api/payments/customer/codes/{code.public_id}").json()

    assert [item["id"] for item in listed] == [str(code.public_id)]
    assert listed[0]["balance"] == {"amount": "42.50", "currency": "EUR"}
    assert listed[0]["available"] == {"amount": "42.50", "currency": "EUR"}
    assert listed[0]["status"] == "active"
    assert ISO_WITH_OFFSET.match(listed[0]["expires_at"])
    assert detail["token"] == qr_code_view(code=code).token
    assert detail["short_id"] == code.short_id


def test_history_lists_purchase_and_reservation_signed_with_times_and_offsets(customer, dealer):
    code = paid_code_create(owner=customer, amount=5_000)
    qr_redemption_authorize(
        user=dealer,
        request=RedemptionRequest(
            token=qr_code_view(code=code).token, amount=1_234, currency="EUR", idempotency_key="history"
        ),
    )

    history = _api(customer).get(f"/api/payments/customer/codes/{code.public_id}/history").json()
    detail = _api(customer).get(f"/api/payments/customer/codes/{code.public_id}").json()

    assert [(line["kind"], line["amount"], line["is_reserved"]) for line in history] == [
        ("dealer_payment", {"amount": "-12.34", "currency": "EUR"}, True),
        ("purchase", {"amount": "50.00", "currency": "EUR"}, False),
    ]
    assert all(ISO_WITH_OFFSET.match(line["booked_at"]) for line in history)
    assert dt.datetime.fromisoformat(history[0]["booked_at"].replace("Z", "+00:00")).utcoffset() is not None
    assert (detail["balance"]["amount"], detail["available"]["amount"]) == ("50.00", "37.66")


def test_buying_a_code_answers_the_card_step_and_a_retry_replays_it(customer):
    product = product_create()
    client = _api(customer)
    body = {"product": product.slug, "amount": "25.00", "provider": "card_sandbox"}

    first = _order(client, body, "buy-1")
    again = _order(client, body, "buy-1")

    assert (first.status_code, again.status_code) == (201, 201)
    assert again["Idempotent-Replayed"] == "true"
    assert first.json() == again.json()
    order = first.json()
    assert CheckoutOrder.objects.filter(customer=customer).count() == 1
    assert order["amount"] == {"amount": "25.00", "currency": "EUR"}
    assert order["status"] == "awaiting_payment"
    assert order["checkout"]["step"] == "card_payment_page"
    assert order["checkout"]["url"].endswith(f"/payments/checkout/sandbox/{order['id']}/")

    stored = CheckoutOrder.objects.get(public_id=order["id"])
    sandbox_card_payment_create(order_id=stored.pk, card_number="4242424242424242")
    stored.refresh_from_db()  # the webhook is delivered after commit; pay as it would
    from payments.checkout.services import checkout_order_pay
    from payments.ledger.client import house_account_get_or_open
    from payments.ledger.registry import Purpose

    checkout_order_pay(
        order_id=stored.pk,
        funding_account=house_account_get_or_open(ledger="EUR", purpose=Purpose.QR_CARD_ACQUIRER_CLEARING),
    )
    paid = client.get(f"/api/payments/customer/orders/{order['id']}").json()
    assert paid["status"] == CheckoutOrderStatus.PAID
    assert paid["checkout"] == {"step": "none", "url": None, "bank_transfer": None}
    assert client.get(f"/api/payments/customer/codes/{paid['code']}").json()["balance"]["amount"] == "25.00"


def test_a_sepa_order_answers_the_bank_transfer_to_make(customer):
    order = _order(
        _api(customer), {"product": product_create(fixed_amount=5_000).slug, "provider": "sepa_transfer"}, "sepa"
    ).json()

    transfer = order["checkout"]["bank_transfer"]
    assert order["checkout"]["step"] == "bank_transfer"
    assert transfer["amount"] == {"amount": "50.00", "currency": "EUR"}
    assert transfer["creditor_reference"].startswith("RF")
    assert transfer["creditor_reference"] in transfer["girocode_payload"]


def test_reusing_a_key_for_another_order_is_refused_and_books_nothing(customer):
    product = product_create()
    client = _api(customer)
    _order(client, {"product": product.slug, "amount": "25.00", "provider": "card_sandbox"}, "reuse")
    before = database_snapshot()

    reused = _order(client, {"product": product.slug, "amount": "30.00", "provider": "card_sandbox"}, "reuse")

    assert (reused.status_code, reused.json()["code"]) == (422, "idempotency_key_reused")
    assert database_snapshot() == before


@pytest.mark.parametrize(
    ("body", "status", "code", "field"),
    [
        (
            {"product": "no-such-thing", "amount": "25.00", "provider": "card_sandbox"},
            422,
            "product_unknown",
            "product",
        ),
        ({"amount": "25.00", "provider": "card_sandbox"}, 400, "invalid_input", "product"),
        ({"product": "{slug}", "amount": "5.00", "provider": "card_sandbox"}, 422, "amount_out_of_range", "amount"),
        ({"product": "{slug}", "amount": "25.001", "provider": "card_sandbox"}, 400, "invalid_input", "amount"),
        ({"product": "{slug}", "amount": 25.5, "provider": "carrier_pigeon"}, 400, "invalid_input", "provider"),
    ],
)
def test_bad_orders_are_refused_with_a_code_and_the_field(customer, body, status, code, field):
    product = product_create()
    body = {
        name: (value.format(slug=product.slug) if isinstance(value, str) else value) for name, value in body.items()
    }
    before = database_snapshot()

    response = _order(_api(customer), body, uuid.uuid4().hex)

    assert (response.status_code, response.json()["code"]) == (status, code)
    if field:
        assert field in response.json()["fields"]
    assert database_snapshot() == before


def test_a_missing_key_is_refused(customer):
    response = _api(customer).post(
        "/api/payments/customer/orders",
        json.dumps({"product": product_create().slug, "amount": "25.00", "provider": "card_sandbox"}),
        content_type="application/json",
    )
    assert (response.status_code, response.json()["code"]) == (422, "idempotency_key_missing")


def test_another_customers_code_and_order_answer_404_and_other_roles_403(customer, make_user):
    code = paid_code_create(owner=customer, amount=5_000)
    order = _order(
        _api(customer), {"product": product_create().slug, "amount": "25.00", "provider": "card_sandbox"}, "o"
    )
    stranger = _api(make_user(Role.CUSTOMER))

    for path in (
        f"/api/payments/customer/codes/{code.public_id}",
        f"/api/payments/customer/codes/{code.public_id}/history",
        f"/api/payments/customer/orders/{order.json()['id']}",
    ):
        response = stranger.get(path)
        assert (response.status_code, response.json()["code"]) == (404, "not_found")
    assert stranger.get("/api/payments/customer/codes").json() == []
    for role in (Role.DEALER, Role.BACK_OFFICE):
        response = _api(make_user(role)).get("/api/payments/customer/codes")
        assert response.status_code == 403


def test_the_same_key_of_two_customers_makes_two_orders(customer, make_user):
    product = product_create()
    body = {"product": product.slug, "amount": "25.00", "provider": "card_sandbox"}

    first = _order(_api(customer), body, "shared-key").json()
    second = _order(_api(make_user(Role.CUSTOMER)), body, "shared-key").json()

    assert first["id"] != second["id"]


def test_german_clients_get_german_error_details_and_codes_stay(customer):
    response = _api(customer).post(
        "/api/payments/customer/orders",
        json.dumps({"product": "no-such-thing", "amount": "25.00", "provider": "card_sandbox"}),
        content_type="application/json",
        headers={"Idempotency-Key": "de", "Accept-Language": "de"},
    )
    assert response.json()["code"] == "product_unknown"
    assert response.json()["detail"] == "Dieses Produkt wird nicht verkauft."


def test_concurrent_retries_of_one_purchase_make_one_order(customer, transactional_db):
    import threading

    from django.db import connection, connections

    assert connection.vendor == "postgresql"
    product = product_create()
    body = {"product": product.slug, "amount": "25.00", "provider": "card_sandbox"}
    clients = [_api(customer) for _ in range(6)]
    start = threading.Barrier(len(clients))
    answers: list[tuple[int, str]] = []

    def buy(client) -> None:
        try:
            start.wait(timeout=60)
            response = _order(client, body, "one-purchase")
            answers.append((response.status_code, response.json().get("id") or response.json()["code"]))
        finally:
            connections.close_all()

    threads = [threading.Thread(target=buy, args=(client,)) for client in clients]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=120)

    assert len(answers) == len(clients)
    order_ids = {answer for status, answer in answers if status == 201}
    assert len(order_ids) == 1  # every answer that is not "still in progress" names the one order
    assert {status for status, _ in answers} <= {201, 409}
    assert CheckoutOrder.objects.filter(customer=customer).count() == 1
