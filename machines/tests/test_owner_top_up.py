"""Owners top up their vehicle's wallet from a payment code or by card: confirmation first, money conserved, booked
once, refusals next to their field, strangers answered 404."""

from __future__ import annotations

import re
import threading
import uuid

import pytest
from django.db import connection, connections

from accounts.roles import Role
from conftest import login_client
from machines.services.top_ups import vehicle_top_up_from_code
from machines.tests.factories import station_make, vehicle_make
from payments.checkout.sandbox import sandbox_card_payment_create
from payments.models import Account, CheckoutOrder, CheckoutOrderKind, CheckoutOrderStatus, Transfer
from payments.tests.qr.factories import database_snapshot, paid_code_create, product_create

pytestmark = pytest.mark.django_db


def _path(vehicle) -> str:
    return f"/machines/vehicles/{vehicle.pk}/wallet/top-up"


def _balance(account_id: int) -> int:
    account = Account.objects.get(pk=account_id)
    return account.credits_posted - account.debits_posted


def _total_posted() -> tuple[int, int]:
    rows = Account.objects.filter(ledger="EUR").values_list("debits_posted", "credits_posted")
    return sum(row[0] for row in rows), sum(row[1] for row in rows)


def _customer_balances(*account_ids: int) -> int:
    return sum(_balance(account_id) for account_id in account_ids)


def _form_key(client, vehicle) -> str:
    page = client.get(_path(vehicle)).content.decode()
    return re.search(r'name="idempotency_key" value="([0-9a-f]+)"', page).group(1)


def _submit(client, vehicle, *, key: str, confirmed: bool, **fields: str):
    data = {"idempotency_key": key, **fields}
    if confirmed:
        data["confirmed"] = "True"
    return client.post(_path(vehicle), data)


def test_a_code_top_up_asks_for_confirmation_then_moves_the_money_once(customer):
    vehicle = vehicle_make(owner=customer, balance=0)
    code = paid_code_create(owner=customer, amount=5_000)
    client = login_client(customer)
    key = _form_key(client, vehicle)
    fields = {"source": "code", "code": code.public_id.hex, "amount": "12.50"}
    before = _customer_balances(code.account_id, vehicle.wallet_account_id)
    posted_before = _total_posted()

    confirmation = _submit(client, vehicle, key=key, confirmed=False, **fields)

    assert confirmation.status_code == 200
    assert "top-up-confirm" in confirmation.content.decode()
    assert _balance(vehicle.wallet_account_id) == 0  # nothing moved before the confirmation

    first = _submit(client, vehicle, key=key, confirmed=True, **fields)
    again = _submit(client, vehicle, key=key, confirmed=True, **fields)  # a double click, a resubmitted page

    assert (first.status_code, again.status_code) == (302, 302)
    assert first["Location"] == f"/machines/vehicles/{vehicle.pk}/"
    assert (_balance(code.account_id), _balance(vehicle.wallet_account_id)) == (3_750, 1_250)
    assert _customer_balances(code.account_id, vehicle.wallet_account_id) == before  # moved, neither made nor lost
    debits, credits = _total_posted()
    assert debits == credits == posted_before[0] + 1_250
    assert Transfer.objects.filter(credit_account_id=vehicle.wallet_account_id).count() == 1


def test_concurrent_confirmations_with_one_key_book_once(customer, transactional_db):
    assert connection.vendor == "postgresql"
    vehicle = vehicle_make(owner=customer, balance=0)
    code = paid_code_create(owner=customer, amount=5_000)
    key = uuid.uuid4().hex
    clients = [login_client(customer) for _ in range(8)]
    start = threading.Barrier(len(clients))
    fields = {"source": "code", "code": code.public_id.hex, "amount": "20.00"}

    def submit(client) -> int:
        try:
            start.wait(timeout=60)
            return _submit(client, vehicle, key=key, confirmed=True, **fields).status_code
        finally:
            connections.close_all()

    threads_outcomes: list[int] = []
    threads = [threading.Thread(target=lambda c=c: threads_outcomes.append(submit(c))) for c in clients]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=120)

    assert len(threads_outcomes) == len(clients)
    assert set(threads_outcomes) <= {302, 422}  # booked, replayed, or told the key is still being processed
    assert (_balance(code.account_id), _balance(vehicle.wallet_account_id)) == (3_000, 2_000)
    assert Transfer.objects.filter(credit_account_id=vehicle.wallet_account_id).count() == 1


def test_concurrent_service_calls_with_one_key_book_once(customer, transactional_db):
    vehicle = vehicle_make(owner=customer, balance=0)
    code = paid_code_create(owner=customer, amount=5_000)
    start = threading.Barrier(6)
    outcomes: list[object] = []

    def fund() -> None:
        try:
            start.wait(timeout=60)
            outcomes.append(
                vehicle_top_up_from_code(
                    vehicle=vehicle, owner=customer, code_public_id=code.public_id, amount=1_000, key="retry"
                )
            )
        finally:
            connections.close_all()

    threads = [threading.Thread(target=fund) for _ in range(6)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=120)

    assert len(set(outcomes)) == 1 and len(outcomes) == 6  # every retry answers the one transfer
    assert (_balance(code.account_id), _balance(vehicle.wallet_account_id)) == (4_000, 1_000)


@pytest.mark.parametrize(
    ("amount", "field_error"),
    [("0,50", "greater than or equal"), ("600", "less than or equal"), ("abc", "Enter a number"), ("", "required")],
)
def test_bad_amounts_are_refused_next_to_the_amount_field(customer, amount, field_error):
    vehicle = vehicle_make(owner=customer, balance=0)
    code = paid_code_create(owner=customer, amount=5_000)
    client = login_client(customer)
    before = database_snapshot()

    response = _submit(
        client, vehicle, key=uuid.uuid4().hex, confirmed=True, source="code", code=code.public_id.hex, amount=amount
    )

    assert response.status_code == 422
    assert field_error in str(response.context["form"].errors["amount"])
    assert database_snapshot() == before


def test_more_than_the_code_holds_is_refused_next_to_the_amount(customer):
    vehicle = vehicle_make(owner=customer, balance=0)
    code = paid_code_create(owner=customer, amount=1_000)
    client = login_client(customer)
    before = database_snapshot()

    response = _submit(
        client, vehicle, key=uuid.uuid4().hex, confirmed=True, source="code", code=code.public_id.hex, amount="10.01"
    )

    assert response.status_code == 422
    assert response.context["form"].errors["amount"] == ["The code's balance does not cover this amount."]
    assert database_snapshot() == before


def test_german_reader_gets_german_errors_and_writes_german_amounts(customer):
    vehicle = vehicle_make(owner=customer, balance=0)
    code = paid_code_create(owner=customer, amount=5_000)
    client = login_client(customer)
    client.cookies["django_language"] = "de"

    refused = client.post(
        _path(vehicle), {"idempotency_key": uuid.uuid4().hex, "source": "code", "amount": "1.000,00"},
        headers={"Accept-Language": "de"},
    )  # fmt: skip
    accepted = client.post(
        _path(vehicle),
        {"idempotency_key": uuid.uuid4().hex, "source": "code", "code": code.public_id.hex, "amount": "12,50"},
        headers={"Accept-Language": "de"},
    )

    errors = refused.context["form"].errors
    assert errors["code"] == ["Wählen Sie einen Ihrer Codes."]
    assert "kleiner oder gleich" in str(errors["amount"])
    assert accepted.status_code == 200
    assert "12,50\xa0€" in accepted.content.decode()


def test_a_stranger_cannot_top_up_someone_elses_vehicle(customer, make_user):
    vehicle = vehicle_make(owner=customer, balance=0)
    stranger = make_user(Role.CUSTOMER)
    code = paid_code_create(owner=stranger, amount=5_000)
    before = database_snapshot()

    for visitor, status in ((stranger, 404), (make_user(Role.BACK_OFFICE), 403)):
        client = login_client(visitor)
        assert client.get(_path(vehicle)).status_code == status
        response = _submit(
            client, vehicle, key=uuid.uuid4().hex, confirmed=True, source="code", code=code.public_id.hex, amount="5"
        )
        assert response.status_code == status

    assert database_snapshot() == before


def test_an_owner_cannot_spend_someone_elses_code(customer, make_user):
    vehicle = vehicle_make(owner=customer, balance=0)
    code = paid_code_create(owner=make_user(Role.CUSTOMER), amount=5_000)
    client = login_client(customer)
    before = database_snapshot()

    response = _submit(
        client, vehicle, key=uuid.uuid4().hex, confirmed=True, source="code", code=code.public_id.hex, amount="5"
    )

    assert response.status_code == 422
    assert "code" in response.context["form"].errors  # not among the owner's choices
    assert database_snapshot() == before
    with pytest.raises(Exception) as refusal:
        vehicle_top_up_from_code(vehicle=vehicle, owner=customer, code_public_id=code.public_id, amount=500, key="k")
    assert refusal.value.code == "code_unknown"
    assert database_snapshot() == before


def test_a_dealer_restricted_code_funds_only_a_wallet_that_pays_that_dealer(customer, make_user, dealer_organisation):
    vehicle = vehicle_make(owner=customer, balance=0)
    restricted = paid_code_create(
        owner=customer, amount=5_000, product=product_create(accepted_by=[dealer_organisation])
    )
    before = database_snapshot()

    with pytest.raises(Exception) as refusal:  # the vehicle may charge nowhere yet: no dealer the code fits
        vehicle_top_up_from_code(
            vehicle=vehicle, owner=customer, code_public_id=restricted.public_id, amount=500, key="a"
        )
    assert (refusal.value.code, refusal.value.fields) == ("code_not_accepted_here", {"code": []})
    station_make(owner=make_user(Role.DEALER), accepted_by=[vehicle])
    before = database_snapshot()
    with pytest.raises(Exception) as refusal:  # it may charge at another dealer's stations
        vehicle_top_up_from_code(
            vehicle=vehicle, owner=customer, code_public_id=restricted.public_id, amount=500, key="b"
        )
    assert refusal.value.code == "code_not_accepted_here"
    assert database_snapshot() == before

    fitting = make_user(Role.CUSTOMER)
    fitting_vehicle = vehicle_make(owner=fitting, balance=0)
    station_make(owner=make_user(Role.DEALER, dealer_organisation=dealer_organisation), accepted_by=[fitting_vehicle])
    fitting_code = paid_code_create(
        owner=fitting, amount=5_000, product=product_create(accepted_by=[dealer_organisation])
    )
    vehicle_top_up_from_code(
        vehicle=fitting_vehicle, owner=fitting, code_public_id=fitting_code.public_id, amount=500, key="c"
    )
    assert _balance(fitting_vehicle.wallet_account_id) == 500


def test_a_card_top_up_credits_the_wallet_once_when_the_payment_is_confirmed(
    customer, django_capture_on_commit_callbacks
):
    vehicle = vehicle_make(owner=customer, balance=0)
    client = login_client(customer)
    key = _form_key(client, vehicle)
    posted_before = _total_posted()

    response = _submit(client, vehicle, key=key, confirmed=True, source="card", amount="25")
    replay = _submit(client, vehicle, key=key, confirmed=True, source="card", amount="25")

    order = CheckoutOrder.objects.get(customer=customer)
    assert order.kind == CheckoutOrderKind.WALLET_TOP_UP
    assert response["Location"] == replay["Location"] == f"/payments/checkout/sandbox/{order.public_id}/"
    assert _balance(vehicle.wallet_account_id) == 0  # nothing until the acquirer confirms
    with django_capture_on_commit_callbacks(execute=True):
        sandbox_card_payment_create(order_id=order.pk, card_number="4242 4242 4242 4242")
    order.refresh_from_db()
    assert order.status == CheckoutOrderStatus.PAID
    assert _balance(vehicle.wallet_account_id) == 2_500
    debits, credits = _total_posted()
    assert debits == credits == posted_before[0] + 2_500  # the card inflow, booked once
    page = client.get(f"/payments/qr/orders/{order.public_id}/").content.decode()
    assert "top-up-booked" in page


def test_the_customer_vehicle_form_has_no_owner_field_and_back_office_keeps_it(customer, make_user):
    customer_page = login_client(customer).get("/machines/vehicles/new").content.decode()
    back_office_page = login_client(make_user(Role.BACK_OFFICE)).get("/machines/vehicles/new").content.decode()

    assert 'name="owner_email"' not in customer_page
    assert "back office only" not in customer_page
    assert 'name="owner_email"' in back_office_page
