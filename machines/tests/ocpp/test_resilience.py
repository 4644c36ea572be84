"""Acceptance 2: dropped connections, repeated and out-of-order messages never charge twice nor lose a session."""

from __future__ import annotations

import asyncio
import datetime as dt

import pytest
from ocpp.v16 import call as call16

from accounts.roles import Role
from machines import wallets
from machines.models import ChargingSession, MeterReading, SessionStatus
from machines.testing import energy_sample16, iso, station_connection, transaction_event201
from machines.tests.factories import STATION_PASSWORD, station_make, vehicle_make

pytestmark = pytest.mark.django_db(transaction=True)

START = dt.datetime(2026, 3, 2, 9, 0, tzinfo=dt.UTC)
MINUTE = dt.timedelta(minutes=1)


def test_ocpp16_reconnect_with_repeated_and_out_of_order_messages_settles_once(server_url, make_user):
    vehicle = vehicle_make(owner=make_user(Role.CUSTOMER), balance=5_000)
    station = station_make(owner=make_user(Role.DEALER), price_per_kwh=40, session_fee=0, accepted_by=[vehicle])
    start = call16.StartTransaction(connector_id=1, id_tag=vehicle.id_token, meter_start=0, timestamp=iso(START))
    stop_kwargs = {"meter_stop": 10_000, "timestamp": iso(START + 40 * MINUTE), "reason": "EVDisconnected"}

    def meter(transaction_id: int, minutes: int, energy: int) -> call16.MeterValues:
        sample = energy_sample16(moment=START + minutes * MINUTE, energy_wh=energy)
        return call16.MeterValues(connector_id=1, transaction_id=transaction_id, meter_value=[sample])

    async def run() -> tuple[int, int, str, str]:
        connect = {"base_url": server_url, "station_id": station.station_id, "password": STATION_PASSWORD}
        async with station_connection(**connect, version="1.6") as client:
            first = await client.call(start)
            await client.call(meter(first.transaction_id, 10, 2_500))
        # The connection dropped; the station reconnects and replays what it is not sure was delivered.
        async with station_connection(**connect, version="1.6") as client:
            again = await client.call(start)
            await client.call(meter(first.transaction_id, 30, 7_500))
            await client.call(meter(first.transaction_id, 20, 5_000))  # late, but consistent
            await client.call(meter(first.transaction_id, 10, 2_500))  # repeated
            stopped = await client.call(call16.StopTransaction(transaction_id=first.transaction_id, **stop_kwargs))
            repeated = await client.call(call16.StopTransaction(transaction_id=first.transaction_id, **stop_kwargs))
        return first.transaction_id, again.transaction_id, stopped.id_tag_info["status"], repeated.id_tag_info["status"]

    first_id, again_id, stopped, repeated = asyncio.run(run())

    assert first_id == again_id
    assert (stopped, repeated) == ("Accepted", "Accepted")
    assert ChargingSession.objects.filter(station=station).count() == 1
    session = ChargingSession.objects.get(station=station)
    assert session.status == SessionStatus.SETTLED
    assert list(MeterReading.objects.filter(session=session).values_list("energy_wh", flat=True)) == [
        0,
        2_500,
        7_500,
        5_000,
        10_000,
    ]
    assert session.invoice.total_amount == 400  # 10 kWh x 40 cents
    balance = wallets.wallet_balance_get(account_id=vehicle.wallet_account_id)
    assert (balance.posted, balance.held) == (4_600, 0)
    assert wallets.wallet_balance_get(account_id=station.operator.account_id).posted == 400


def test_ocpp201_reconnect_with_repeated_ended_event_settles_once(server_url, make_user):
    vehicle = vehicle_make(owner=make_user(Role.CUSTOMER), balance=5_000)
    station = station_make(owner=make_user(Role.DEALER), price_per_kwh=50, session_fee=25, accepted_by=[vehicle])

    def event(event_type: str, minutes: int, seq_no: int, energy: int) -> object:
        return transaction_event201(
            event_type=event_type,
            transaction_id="tx-77",
            moment=START + minutes * MINUTE,
            seq_no=seq_no,
            energy_wh=energy,
            id_tag=vehicle.id_token if event_type == "Started" else None,
        )

    async def run() -> list[str]:
        connect = {"base_url": server_url, "station_id": station.station_id, "password": STATION_PASSWORD}
        async with station_connection(**connect, version="2.0.1") as client:
            started = await client.call(event("Started", 0, 0, 100_000))
            await client.call(event("Updated", 20, 2, 104_000))
            await client.call(event("Updated", 10, 1, 102_000))  # arrives after seq 2
        async with station_connection(**connect, version="2.0.1") as client:
            again = await client.call(event("Started", 0, 0, 100_000))
            await client.call(event("Updated", 20, 2, 104_000))
            await client.call(event("Ended", 30, 3, 106_000))
            await client.call(event("Ended", 30, 3, 106_000))
        return [started.id_token_info["status"], again.id_token_info["status"]]

    statuses = asyncio.run(run())

    assert statuses == ["Accepted", "Accepted"]
    session = ChargingSession.objects.get(station=station, transaction_id="tx-77")
    assert (session.status, session.energy_wh, session.readings.count()) == (SessionStatus.SETTLED, 6_000, 4)
    assert session.invoice.total_amount == 325  # 6 kWh x 50 cents + 25 cents
    balance = wallets.wallet_balance_get(account_id=vehicle.wallet_account_id)
    assert (balance.posted, balance.held) == (4_675, 0)
    assert wallets.wallet_balance_get(account_id=station.operator.account_id).posted == 325
