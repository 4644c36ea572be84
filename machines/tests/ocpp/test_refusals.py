"""Acceptance 3 (OCPP side): unknown stations, wrong passwords, malformed frames, unknown transactions, negative and
decreasing readings and wallets that cannot cover the hold are refused with clear errors and change nothing.

Frames, transactions and readings are refused alike on OCPP 1.6J and 2.0.1, each in its own version's error codes."""

from __future__ import annotations

import asyncio
import datetime as dt
import json

import pytest
import websockets
from ocpp.exceptions import OCPPError
from ocpp.v16 import call as call16

from accounts.roles import Role
from machines import wallets
from machines.models import ChargingSession, ChargingStation, MeterReading
from machines.testing import basic_auth, energy_sample16, iso, station_connection, transaction_event201
from machines.tests.factories import STATION_PASSWORD, station_make, vehicle_make

pytestmark = pytest.mark.django_db(transaction=True)

START = dt.datetime(2026, 3, 2, 9, 0, tzinfo=dt.UTC)


async def _handshake_refusal(url: str, *, headers: dict[str, str], subprotocols: list[str]) -> tuple[int, dict]:
    with pytest.raises(websockets.InvalidStatus) as refused:
        async with websockets.connect(url, subprotocols=subprotocols, additional_headers=headers):
            pass
    response = refused.value.response
    return response.status_code, json.loads(response.body)


def test_unknown_station_wrong_password_and_missing_subprotocol_are_refused_at_the_handshake(server_url, make_user):
    station = station_make(owner=make_user(Role.DEALER))
    url = f"{server_url}/ocpp/{station.station_id}"

    async def run() -> list[tuple[int, dict]]:
        return [
            await _handshake_refusal(
                f"{server_url}/ocpp/no-such-station",
                headers=basic_auth("no-such-station", STATION_PASSWORD),
                subprotocols=["ocpp1.6"],
            ),
            await _handshake_refusal(
                url, headers=basic_auth(station.station_id, "wrong-password-0000"), subprotocols=["ocpp1.6"]
            ),
            await _handshake_refusal(url, headers={}, subprotocols=["ocpp2.0.1"]),
            await _handshake_refusal(
                url, headers=basic_auth(station.station_id, STATION_PASSWORD), subprotocols=["ocpp1.5"]
            ),
        ]

    refusals = asyncio.run(run())

    assert [(status, body["code"]) for status, body in refusals] == [
        (401, "station_authentication_failed"),
        (401, "station_authentication_failed"),
        (401, "station_credentials_missing"),
        (400, "ocpp_subprotocol_missing"),
    ]
    station.refresh_from_db()
    assert (station.is_connected, station.vendor) == (False, "")


# The CALLERROR codes each version defines (OCPP-J 1.6 §4.2.3 with its errata spellings; OCPP 2.0.1 part 4 §4.3).
ERROR_CODES = {
    "1.6": {
        "NotImplemented",
        "NotSupported",
        "InternalError",
        "ProtocolError",
        "SecurityError",
        "FormationViolation",
        "PropertyConstraintViolation",
        "OccurenceConstraintViolation",
        "TypeConstraintViolation",
        "GenericError",
    },
    "2.0.1": {
        "FormatViolation",
        "GenericError",
        "InternalError",
        "MessageTypeNotSupported",
        "NotImplemented",
        "NotSupported",
        "OccurrenceConstraintViolation",
        "PropertyConstraintViolation",
        "ProtocolError",
        "RpcFrameworkError",
        "SecurityError",
        "TypeConstraintViolation",
    },
}
SUBPROTOCOL = {"1.6": "ocpp1.6", "2.0.1": "ocpp2.0.1"}
MALFORMED_FRAMES = {
    "1.6": [
        ("this is not json", [4, "-1", "FormationViolation"]),
        ('{"not": "a list"}', [4, "-1", "ProtocolError"]),
        ('[2, "m-3", "Heartbeat", "no object"]', [4, "m-3", "ProtocolError"]),
        ('[2, "m-4", "BootNotification", {"chargePointVendor": 7}]', [4, "m-4", "TypeConstraintViolation"]),
        (
            '[2,"m12","StatusNotification",{"connectorId":1,"errorCode":"NoError","status":"Exploding"}]',
            [4, "m12", "FormationViolation"],
        ),
        ('[2, "m-6", "Heartbeat", {"unexpected": 1}]', [4, "m-6", "FormationViolation"]),
        ('[9, "q1", "Heartbeat", {}]', [4, "q1", "PropertyConstraintViolation"]),
    ],
    "2.0.1": [
        ("this is not json", [4, "-1", "RpcFrameworkError"]),
        ('{"not": "a list"}', [4, "-1", "RpcFrameworkError"]),
        ('[2, "m-3", "Heartbeat", "no object"]', [4, "m-3", "ProtocolError"]),
        (
            '[2, "m-4", "BootNotification", {"chargingStation": {"model": 7, "vendorName": "X"}, "reason": "PowerUp"}]',
            [4, "m-4", "TypeConstraintViolation"],
        ),
        (
            '[2,"m12","StatusNotification",{"timestamp":"2026-03-02T09:00:00Z","connectorStatus":"Exploding",'
            '"evseId":1,"connectorId":1}]',
            [4, "m12", "FormatViolation"],
        ),
        ('[2, "m-6", "Heartbeat", {"unexpected": 1}]', [4, "m-6", "FormatViolation"]),
        ('[9, "q1", "Heartbeat", {}]', [4, "q1", "MessageTypeNotSupported"]),
    ],
}


@pytest.mark.parametrize("version", ["1.6", "2.0.1"])
def test_malformed_frames_get_call_errors_in_the_versions_own_codes_and_the_connection_stays_usable(
    server_url, make_user, version
):
    station = station_make(owner=make_user(Role.DEALER))
    frames = [frame for frame, _ in MALFORMED_FRAMES[version]] + ['[2, "m-9", "Heartbeat", {}]']
    connectors_before = list(station.connectors.values_list("connector_id", "status", "error_code"))

    async def run() -> list[list]:
        answers = []
        async with websockets.connect(
            f"{server_url}/ocpp/{station.station_id}",
            subprotocols=[SUBPROTOCOL[version]],
            additional_headers=basic_auth(station.station_id, STATION_PASSWORD),
        ) as websocket:
            for frame in frames:
                await websocket.send(frame)
                answers.append(json.loads(await websocket.recv()))
        return answers

    answers = asyncio.run(run())

    assert [answer[:3] for answer in answers[:-1]] == [expected for _, expected in MALFORMED_FRAMES[version]]
    assert {answer[2] for answer in answers[:-1]} <= ERROR_CODES[version]
    assert answers[0][4]["code"] == "frame_malformed"
    assert answers[-1][:2] == [3, "m-9"]
    station.refresh_from_db()
    assert (station.vendor, station.last_seen_at is not None) == ("", True)
    assert list(station.connectors.values_list("connector_id", "status", "error_code")) == connectors_before


def _refusal_of(error: OCPPError) -> tuple[str, str]:
    return error.code, error.details["code"]


def test_ocpp16_unknown_transactions_negative_and_decreasing_readings_are_refused_and_change_nothing(
    server_url, make_user
):
    vehicle = vehicle_make(owner=make_user(Role.CUSTOMER), balance=5_000)
    station = station_make(owner=make_user(Role.DEALER), accepted_by=[vehicle])

    def meter(transaction_id: int, minutes: int, value: str) -> call16.MeterValues:
        sample = energy_sample16(moment=START + dt.timedelta(minutes=minutes), energy_wh=0)
        sample["sampledValue"][0]["value"] = value
        return call16.MeterValues(connector_id=1, transaction_id=transaction_id, meter_value=[sample])

    async def attempt(client, payload) -> tuple[str, str]:
        with pytest.raises(OCPPError) as refused:
            await client.call(payload, suppress=False)
        return _refusal_of(refused.value)

    async def run() -> tuple[int, list[tuple[str, str]]]:
        async with station_connection(
            base_url=server_url, station_id=station.station_id, password=STATION_PASSWORD, version="1.6"
        ) as client:
            started = await client.call(
                call16.StartTransaction(
                    connector_id=1, id_tag=vehicle.id_token, meter_start=1_000, timestamp=iso(START)
                )
            )
            tx = started.transaction_id
            await client.call(meter(tx, 10, "3000"))
            refusals = [
                await attempt(client, meter(999_999, 5, "2000")),
                await attempt(
                    client, call16.StopTransaction(meter_stop=5_000, timestamp=iso(START), transaction_id=999_999)
                ),
                await attempt(client, meter(tx, 20, "-5")),
                await attempt(client, meter(tx, 20, "2500")),
                await attempt(client, meter(tx, 5, "3500")),
                await attempt(client, meter(tx, 10, "3100")),
                await attempt(
                    client,
                    call16.StopTransaction(
                        meter_stop=2_000, timestamp=iso(START + dt.timedelta(minutes=30)), transaction_id=tx
                    ),
                ),
            ]
        return tx, refusals

    transaction_id, refusals = asyncio.run(run())

    assert refusals == [
        ("PropertyConstraintViolation", "transaction_unknown"),
        ("PropertyConstraintViolation", "transaction_unknown"),
        ("PropertyConstraintViolation", "meter_reading_negative"),
        ("PropertyConstraintViolation", "meter_reading_decreasing"),
        ("PropertyConstraintViolation", "meter_reading_decreasing"),
        ("PropertyConstraintViolation", "meter_reading_conflict"),
        ("PropertyConstraintViolation", "meter_reading_decreasing"),
    ]
    session = ChargingSession.objects.get(station=station, transaction_id=str(transaction_id))
    assert (session.status, session.meter_start_wh, session.meter_stop_wh) == ("active", 1_000, 3_000)
    assert list(MeterReading.objects.filter(session=session).values_list("energy_wh", flat=True)) == [1_000, 3_000]
    balance = wallets.wallet_balance_get(account_id=vehicle.wallet_account_id)
    assert (balance.posted, balance.held) == (5_000, 3_000)


def test_ocpp201_unknown_transactions_negative_and_decreasing_readings_are_refused_and_change_nothing(
    server_url, make_user
):
    vehicle = vehicle_make(owner=make_user(Role.CUSTOMER), balance=5_000)
    station = station_make(owner=make_user(Role.DEALER), accepted_by=[vehicle])

    def event(event_type: str, transaction_id: str, minutes: int, energy_wh: int, seq_no: int):
        return transaction_event201(
            event_type=event_type,
            transaction_id=transaction_id,
            moment=START + dt.timedelta(minutes=minutes),
            seq_no=seq_no,
            energy_wh=energy_wh,
            id_tag=vehicle.id_token if event_type == "Started" else None,
            trigger="Authorized" if event_type == "Started" else "MeterValuePeriodic",
        )

    async def attempt(client, payload) -> tuple[str, str]:
        with pytest.raises(OCPPError) as refused:
            await client.call(payload, suppress=False)
        return _refusal_of(refused.value)

    async def run() -> tuple[str, list[tuple[str, str]]]:
        async with station_connection(
            base_url=server_url, station_id=station.station_id, password=STATION_PASSWORD, version="2.0.1"
        ) as client:
            started = await client.call(event("Started", "tx-refusals", 0, 1_000, 0))
            await client.call(event("Updated", "tx-refusals", 10, 3_000, 1))
            refusals = [
                await attempt(client, event("Updated", "tx-no-such", 5, 2_000, 2)),
                await attempt(client, event("Ended", "tx-no-such", 0, 5_000, 3)),
                await attempt(client, event("Updated", "tx-refusals", 20, -5, 4)),
                await attempt(client, event("Updated", "tx-refusals", 20, 2_500, 5)),
                await attempt(client, event("Updated", "tx-refusals", 5, 3_500, 6)),
                await attempt(client, event("Updated", "tx-refusals", 10, 3_100, 7)),
                await attempt(client, event("Ended", "tx-refusals", 30, 2_000, 8)),
            ]
        return started.id_token_info["status"], refusals

    status, refusals = asyncio.run(run())

    assert status == "Accepted"
    assert refusals == [
        ("PropertyConstraintViolation", "transaction_unknown"),
        ("PropertyConstraintViolation", "transaction_unknown"),
        ("PropertyConstraintViolation", "meter_reading_negative"),
        ("PropertyConstraintViolation", "meter_reading_decreasing"),
        ("PropertyConstraintViolation", "meter_reading_decreasing"),
        ("PropertyConstraintViolation", "meter_reading_conflict"),
        ("PropertyConstraintViolation", "meter_reading_decreasing"),
    ]
    assert ChargingSession.objects.filter(station=station).count() == 1
    session = ChargingSession.objects.get(station=station, transaction_id="tx-refusals")
    assert (session.status, session.meter_start_wh, session.meter_stop_wh) == ("active", 1_000, 3_000)
    assert list(MeterReading.objects.filter(session=session).values_list("energy_wh", flat=True)) == [1_000, 3_000]
    balance = wallets.wallet_balance_get(account_id=vehicle.wallet_account_id)
    assert (balance.posted, balance.held) == (5_000, 3_000)


def test_a_wallet_that_cannot_cover_the_hold_is_refused_at_authorize_and_start(server_url, make_user):
    vehicle = vehicle_make(owner=make_user(Role.CUSTOMER), balance=2_999, session_limit=3_000)
    station = station_make(owner=make_user(Role.DEALER), accepted_by=[vehicle])

    async def run() -> tuple[str, str, int]:
        async with station_connection(
            base_url=server_url, station_id=station.station_id, password=STATION_PASSWORD, version="1.6"
        ) as client:
            authorized = await client.call(call16.Authorize(id_tag=vehicle.id_token))
            started = await client.call(
                call16.StartTransaction(connector_id=1, id_tag=vehicle.id_token, meter_start=0, timestamp=iso(START))
            )
            unknown = await client.call(call16.Authorize(id_tag="NOSUCHTAG"))
        return authorized.id_tag_info["status"], unknown.id_tag_info["status"], started.transaction_id

    authorized, unknown, transaction_id = asyncio.run(run())

    assert (authorized, unknown, transaction_id) == ("Blocked", "Invalid", 0)
    assert ChargingSession.objects.filter(station=station).count() == 0
    balance = wallets.wallet_balance_get(account_id=vehicle.wallet_account_id)
    assert (balance.posted, balance.held) == (2_999, 0)
    assert ChargingStation.objects.get(pk=station.pk).status == "unavailable"
