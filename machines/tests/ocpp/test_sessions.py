"""Acceptance 1: real charge points (ocpp 1.6J and 2.0.1) over real websockets run full sessions and are settled."""

from __future__ import annotations

import asyncio
import datetime as dt
from decimal import Decimal

import pytest

from accounts.roles import Role
from machines import wallets
from machines.models import ChargingSession, ChargingStation, SessionStatus
from machines.services.settlement import charging_invoice_check
from machines.testing import session16, session201, station_connection
from machines.tests.factories import STATION_PASSWORD, station_make, vehicle_make

pytestmark = pytest.mark.django_db(transaction=True)

START = dt.datetime(2026, 3, 2, 9, 0, tzinfo=dt.UTC)
STEP = dt.timedelta(minutes=10)


def _operator_balance(station: ChargingStation) -> int:
    return wallets.wallet_balance_get(account_id=station.operator.account_id).posted


def test_ocpp16_session_debits_the_metered_amount_and_credits_the_operator(server_url, make_user):
    vehicle = vehicle_make(owner=make_user(Role.CUSTOMER), balance=5_000)
    station = station_make(owner=make_user(Role.DEALER), price_per_kwh=39, session_fee=50, accepted_by=[vehicle])

    async def run() -> tuple[int, str]:
        async with station_connection(
            base_url=server_url, station_id=station.station_id, password=STATION_PASSWORD, version="1.6"
        ) as client:
            return await session16(
                client, id_tag=vehicle.id_token, start=START, registers_wh=[1_000, 4_000, 9_000, 13_500], step=STEP
            )

    transaction_id, status = asyncio.run(run())

    assert status == "Accepted"
    session = ChargingSession.objects.get(station=station, transaction_id=str(transaction_id))
    assert session.status == SessionStatus.SETTLED
    invoice = session.invoice
    # 12,500 Wh x 39 cents/kWh = 487.5 -> 488 cents, + 50 cents session fee.
    assert (invoice.energy_wh, invoice.energy_amount, invoice.total_amount, invoice.charged_amount) == (
        12_500,
        488,
        538,
        538,
    )
    assert invoice.iota_rate == Decimal("0.15")
    assert invoice.iota_amount_micros == 35_866_667
    assert invoice.reading_count == 4
    balance = wallets.wallet_balance_get(account_id=vehicle.wallet_account_id)
    assert (balance.posted, balance.held, balance.available) == (4_462, 0, 4_462)
    assert _operator_balance(station) == 538
    assert charging_invoice_check(invoice=invoice).is_valid is True


def test_ocpp201_session_debits_the_metered_amount_and_credits_the_operator(server_url, make_user):
    vehicle = vehicle_make(owner=make_user(Role.CUSTOMER), balance=5_000)
    station = station_make(owner=make_user(Role.DEALER), price_per_kwh=45, session_fee=0, accepted_by=[vehicle])

    async def run() -> str:
        async with station_connection(
            base_url=server_url, station_id=station.station_id, password=STATION_PASSWORD, version="2.0.1"
        ) as client:
            return await session201(
                client,
                id_tag=vehicle.id_token,
                transaction_id="tx-201-a",
                start=START,
                registers_wh=[20_000, 22_000, 27_000, 31_000],
                step=STEP,
            )

    status = asyncio.run(run())

    assert status == "Accepted"
    session = ChargingSession.objects.get(station=station, transaction_id="tx-201-a")
    assert (session.status, session.ocpp_version, session.energy_wh) == (SessionStatus.SETTLED, "2.0.1", 11_000)
    # 11,000 Wh x 45 cents/kWh = 495 cents, no session fee.
    assert (session.invoice.total_amount, session.invoice.charged_amount) == (495, 495)
    balance = wallets.wallet_balance_get(account_id=vehicle.wallet_account_id)
    assert (balance.posted, balance.held) == (4_505, 0)
    assert _operator_balance(station) == 495
