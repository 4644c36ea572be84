"""Hole: a dealer of another organisation registers a station with a 9,999.99 EUR session fee and bills a stranger's
vehicle by presenting its id tag over OCPP. Now a station charges nobody before back office approves it, and even
approved it charges only vehicles whose owners approved its operator, within their price ceilings; id-tag answers are
throttled per station and per operator and do not tell an unknown tag from a tag that is not for this operator."""

from __future__ import annotations

import asyncio
import datetime as dt

import pytest
from ocpp.exceptions import OCPPError
from ocpp.v16 import call as call16
from ocpp.v201 import call as call201

from accounts.roles import Role
from machines import wallets
from machines.models import (
    ChargingInvoice,
    ChargingSession,
    ChargingStation,
    MeterReading,
    StationReview,
    Vehicle,
)
from machines.testing import iso, station_connection
from machines.tests.factories import STATION_PASSWORD, station_make, vehicle_make
from payments.ledger.selectors import transfer_search

pytestmark = pytest.mark.django_db(transaction=True)

START = dt.datetime(2026, 3, 2, 9, 0, tzinfo=dt.UTC)
ATTACKER_PASSWORD = "attacker-station-password-01"


def _money_state(*, vehicle: Vehicle, station: ChargingStation) -> dict[str, object]:
    """Everything the attack could change: the victim's wallet, the attacker's earnings, the ledger, session rows."""
    wallet = wallets.wallet_balance_get(account_id=vehicle.wallet_account_id)
    operator = wallets.wallet_balance_get(account_id=station.operator.account_id)
    return {
        "wallet": (wallet.posted, wallet.held, wallet.available),
        "operator": (operator.posted, operator.held),
        "transfers": transfer_search().count(),
        "sessions": ChargingSession.objects.count(),
        "readings": MeterReading.objects.count(),
        "invoices": ChargingInvoice.objects.count(),
    }


async def _attack16(*, server_url: str, station_id: str, id_tag: str) -> tuple[str, str, int, tuple[str, str]]:
    """Authorize, StartTransaction with the victim's tag, StopTransaction 1 Wh later; returns every answer."""
    async with station_connection(
        base_url=server_url, station_id=station_id, password=ATTACKER_PASSWORD, version="1.6"
    ) as client:
        await client.call(call16.BootNotification(charge_point_model="Sim", charge_point_vendor="Evil"))
        authorized = await client.call(call16.Authorize(id_tag=id_tag))
        started = await client.call(
            call16.StartTransaction(connector_id=1, id_tag=id_tag, meter_start=1_000, timestamp=iso(START))
        )
        with pytest.raises(OCPPError) as stopped:
            await client.call(
                call16.StopTransaction(
                    meter_stop=1_001,
                    timestamp=iso(START + dt.timedelta(minutes=1)),
                    transaction_id=started.transaction_id,
                ),
                suppress=False,
            )
    return (
        authorized.id_tag_info["status"],
        started.id_tag_info["status"],
        started.transaction_id,
        (stopped.value.code, stopped.value.details["code"]),
    )


def test_a_stranger_dealer_station_cannot_bill_a_vehicle_before_or_after_back_office_approval(
    server_url, make_user, client_for
):
    victim = make_user(Role.CUSTOMER)
    vehicle = vehicle_make(owner=victim, balance=50_000, session_limit=30_000, daily_limit=100_000)
    own_network = station_make(owner=make_user(Role.DEALER), accepted_by=[vehicle])
    attacker = make_user(Role.DEALER)
    assert attacker.dealer_organisation_id != own_network.owner.dealer_organisation_id

    registered = client_for(attacker).post(
        "/machines/stations/new",
        {
            "station_id": "stranger-1",
            "name": "Roadside charger",
            "password": ATTACKER_PASSWORD,
            "price_per_kwh": "0.39",
            "session_fee": "9999.99",
            "idle_fee_per_minute": "0.00",
            "connector_count": "1",
        },
    )
    station = ChargingStation.objects.select_related("operator").get(station_id="stranger-1")
    assert registered.status_code == 302
    assert (station.review_status, station.session_fee) == (StationReview.PENDING, 999_999)
    before = _money_state(vehicle=vehicle, station=station)
    assert before == {
        "wallet": (50_000, 0, 50_000),
        "operator": (0, 0),
        "transfers": 1,  # the victim's top-up
        "sessions": 0,
        "readings": 0,
        "invoices": 0,
    }

    while_pending = asyncio.run(_attack16(server_url=server_url, station_id="stranger-1", id_tag=vehicle.id_token))

    assert while_pending == ("Invalid", "Invalid", 0, ("PropertyConstraintViolation", "transaction_unknown"))
    assert _money_state(vehicle=vehicle, station=station) == before

    reviewed = client_for(make_user(Role.BACK_OFFICE)).post(
        f"/machines/stations/{station.pk}/review", {"decision": "approve"}
    )
    station.refresh_from_db()
    assert (reviewed.status_code, station.review_status) == (302, StationReview.APPROVED)

    once_approved = asyncio.run(_attack16(server_url=server_url, station_id="stranger-1", id_tag=vehicle.id_token))

    assert once_approved == ("Invalid", "Invalid", 0, ("PropertyConstraintViolation", "transaction_unknown"))
    assert _money_state(vehicle=vehicle, station=station) == before


async def _authorize_all(*, server_url: str, station_id: str, id_tags: list[str]) -> list[str]:
    async with station_connection(
        base_url=server_url, station_id=station_id, password=STATION_PASSWORD, version="1.6"
    ) as client:
        return [(await client.call(call16.Authorize(id_tag=tag))).id_tag_info["status"] for tag in id_tags]


def test_authorize_guessing_locks_out_the_station_then_the_operator(server_url, make_user, settings):
    assert (settings.MACHINES_AUTHORIZE_FAILURE_LIMIT_STATION, settings.MACHINES_AUTHORIZE_FAILURE_LIMIT_OPERATOR) == (
        10,
        30,
    )
    vehicle = vehicle_make(owner=make_user(Role.CUSTOMER), balance=5_000)
    dealer = make_user(Role.DEALER)
    stations = [station_make(owner=dealer, accepted_by=[vehicle]) for _ in range(4)]
    guesses = [f"GUESS{number:04d}" for number in range(10)]

    first = asyncio.run(
        _authorize_all(
            server_url=server_url,
            station_id=stations[0].station_id,
            id_tags=[vehicle.id_token, *guesses, vehicle.id_token],
        )
    )
    neighbour = asyncio.run(
        _authorize_all(server_url=server_url, station_id=stations[1].station_id, id_tags=[vehicle.id_token])
    )

    # Ten refusals lock the station: the genuine tag is refused there too, while another station still answers.
    assert first == ["Accepted"] + ["Invalid"] * 10 + ["Invalid"]
    assert neighbour == ["Accepted"]

    for station in stations[1:3]:
        asyncio.run(_authorize_all(server_url=server_url, station_id=station.station_id, id_tags=guesses))
    fresh_station = asyncio.run(
        _authorize_all(server_url=server_url, station_id=stations[3].station_id, id_tags=[vehicle.id_token])
    )

    # 30 refusals over the operator's stations lock all of them, also one that never guessed.
    assert fresh_station == ["Invalid"]
    other_operator = station_make(owner=make_user(Role.DEALER), accepted_by=[vehicle])
    assert asyncio.run(
        _authorize_all(server_url=server_url, station_id=other_operator.station_id, id_tags=[vehicle.id_token])
    ) == ["Accepted"]
    assert ChargingSession.objects.count() == 0
    balance = wallets.wallet_balance_get(account_id=vehicle.wallet_account_id)
    assert (balance.posted, balance.held) == (5_000, 0)


def test_an_unknown_tag_and_a_tag_not_approved_for_the_operator_get_identical_answers(server_url, make_user):
    approved_here = vehicle_make(owner=make_user(Role.CUSTOMER), balance=5_000)
    elsewhere = vehicle_make(owner=make_user(Role.CUSTOMER), balance=5_000)
    broke_elsewhere = vehicle_make(owner=make_user(Role.CUSTOMER), balance=0)
    station = station_make(owner=make_user(Role.DEALER), accepted_by=[approved_here])
    station_make(owner=make_user(Role.DEALER), accepted_by=[elsewhere, broke_elsewhere])
    unknown = "0123456789ABCDEF0123"

    async def run() -> tuple[list[object], list[object]]:
        answers16, answers201 = [], []
        async with station_connection(
            base_url=server_url, station_id=station.station_id, password=STATION_PASSWORD, version="1.6"
        ) as client:
            for number, tag in enumerate([unknown, elsewhere.id_token, broke_elsewhere.id_token]):
                authorized = await client.call(call16.Authorize(id_tag=tag))
                started = await client.call(
                    call16.StartTransaction(
                        connector_id=1, id_tag=tag, meter_start=0, timestamp=iso(START + dt.timedelta(minutes=number))
                    )
                )
                answers16.append((authorized.id_tag_info, started.transaction_id, started.id_tag_info))
        async with station_connection(
            base_url=server_url, station_id=station.station_id, password=STATION_PASSWORD, version="2.0.1"
        ) as client:
            for tag in [unknown, elsewhere.id_token, broke_elsewhere.id_token]:
                authorized = await client.call(call201.Authorize(id_token={"idToken": tag, "type": "ISO14443"}))
                answers201.append(authorized.id_token_info)
        return answers16, answers201

    answers16, answers201 = asyncio.run(run())

    assert answers16 == [({"status": "Invalid"}, 0, {"status": "Invalid"})] * 3
    assert answers201 == [{"status": "Invalid"}] * 3
    assert ChargingSession.objects.count() == 0
    assert transfer_search().count() == 2  # the two top-ups


def test_a_tariff_above_the_owners_ceiling_is_refused_until_the_owner_raises_it(server_url, make_user, client_for):
    owner = make_user(Role.CUSTOMER)
    vehicle = vehicle_make(owner=owner, balance=5_000)
    station = station_make(owner=make_user(Role.DEALER), price_per_kwh=39, session_fee=600, accepted_by=[vehicle])
    assert (vehicle.max_price_per_kwh, vehicle.max_session_fee, vehicle.max_idle_fee_per_minute) == (100, 500, 50)
    transfers = transfer_search().count()

    async def start(minutes: int) -> tuple[str, str, int]:
        async with station_connection(
            base_url=server_url, station_id=station.station_id, password=STATION_PASSWORD, version="1.6"
        ) as client:
            authorized = await client.call(call16.Authorize(id_tag=vehicle.id_token))
            started = await client.call(
                call16.StartTransaction(
                    connector_id=1,
                    id_tag=vehicle.id_token,
                    meter_start=0,
                    timestamp=iso(START + dt.timedelta(minutes=minutes)),
                )
            )
        return authorized.id_tag_info["status"], started.id_tag_info["status"], started.transaction_id

    above = asyncio.run(start(0))

    assert above == ("Blocked", "Blocked", 0)
    assert (ChargingSession.objects.count(), transfer_search().count()) == (0, transfers)
    balance = wallets.wallet_balance_get(account_id=vehicle.wallet_account_id)
    assert (balance.posted, balance.held) == (5_000, 0)

    raised = client_for(owner).post(
        f"/machines/vehicles/{vehicle.pk}/price-ceiling",
        {"max_price_per_kwh": "0.50", "max_session_fee": "6.00", "max_idle_fee_per_minute": "0.10"},
    )
    assert raised.status_code == 302

    within = asyncio.run(start(10))

    assert within[:2] == ("Accepted", "Accepted")
    session = ChargingSession.objects.get(station=station, transaction_id=str(within[2]))
    assert (session.hold_amount, session.tariff.session_fee) == (3_000, 600)
    balance = wallets.wallet_balance_get(account_id=vehicle.wallet_account_id)
    assert (balance.posted, balance.held) == (5_000, 3_000)
