"""The demo data loads twice without change, and the owner, operator and invoice pages render it."""

from __future__ import annotations

import pytest

from accounts.roles import Role
from machines import wallets
from machines.demo import DEMO_STATION_ID, DEMO_VEHICLE_NAME, machines_demo_data_load
from machines.models import ChargingInvoice, ChargingSession, ChargingStation, StationReview, Vehicle

pytestmark = pytest.mark.django_db


@pytest.fixture
def demo(make_user, dealer_organisation):
    customer = make_user(Role.CUSTOMER)
    dealer = make_user(Role.DEALER, dealer_organisation=dealer_organisation)
    reviewer = make_user(Role.BACK_OFFICE)
    emails = {"customer_email": customer.email, "dealer_email": dealer.email, "reviewer_email": reviewer.email}
    machines_demo_data_load(**emails)
    machines_demo_data_load(**emails)
    return customer, dealer


def test_demo_data_is_idempotent(demo):
    vehicle = Vehicle.objects.get(name=DEMO_VEHICLE_NAME)
    station = ChargingStation.objects.get(station_id=DEMO_STATION_ID)
    assert len(vehicle.id_token) == 20
    assert station.review_status == StationReview.APPROVED
    assert list(vehicle.operator_approvals.values_list("operator_id", "revoked_at")) == [(station.operator_id, None)]
    invoice = ChargingInvoice.objects.get()
    # 16,200 Wh x 39 cents = 631.8 -> 632, + 50 session fee + (60 - 45 - 15 grace) idle minutes x 10 = 0.
    assert (invoice.energy_wh, invoice.total_amount, invoice.idle_minutes) == (16_200, 682, 0)
    assert ChargingSession.objects.count() == 1
    assert wallets.wallet_balance_get(account_id=vehicle.wallet_account_id).posted == 10_000 - 682


def test_owner_operator_and_invoice_pages_render(demo, client_for):
    customer, dealer = demo
    invoice = ChargingInvoice.objects.get()

    home = client_for(customer).get("/machines/")
    live = client_for(dealer).get("/machines/stations/live.json")
    page = client_for(customer).get(f"/machines/invoices/{invoice.pk}/")

    assert home.status_code == 200
    assert b"machines-chart-bar" in home.content and b"Demo e-car" in home.content
    assert live.json()["stations"][0]["station_id"] == "demo-station-1"
    assert b'data-testid="invoice-check">valid' in page.content
    assert "EUR per IOTA (FinLab&#x27;s fixed conversion rate)" in page.content.decode()
