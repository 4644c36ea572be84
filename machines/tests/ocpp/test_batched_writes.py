"""What the gateway keeps in memory between writes (heartbeats' "last seen") and what it never does (meter values,
session starts and ends are written before they are answered), including across a crash of the server; and the
schema check that still refuses a malformed payload now that it runs inline."""

from __future__ import annotations

import asyncio
import contextlib
import datetime as dt
import os
import signal
import subprocess
import time

import pytest
import websockets
from ocpp.exceptions import FormatViolationError, TypeConstraintViolationError
from ocpp.messages import Call, validate_payload
from ocpp.v16 import call as call16

from accounts.roles import Role
from core.serving import web_server_command
from core.testing import PROCESS_START_TIMEOUT_SECONDS, output_size
from machines.models import ChargingSession, ChargingStation, MeterReading, SessionStatus
from machines.ocpp import central_system
from machines.services import charging
from machines.testing import BASE_DIR, _wait_until_up, energy_sample16, free_port, iso, station_connection
from machines.tests.factories import STATION_PASSWORD, station_make, vehicle_make
from machines.tests.ocpp.conftest import LOG_PATH
from portal.testing import child_environment

START = dt.datetime(2026, 3, 2, 9, 0, tzinfo=dt.UTC)
MINUTE = dt.timedelta(minutes=1)


def _until(condition, timeout: float = 60.0) -> None:
    deadline = time.monotonic() + timeout
    while not condition() and time.monotonic() < deadline:
        time.sleep(0.05)


def test_heartbeats_are_answered_before_any_write_then_written_together_once(monkeypatch, settings):
    written: list[dict[str, dt.datetime]] = []
    monkeypatch.setattr(charging, "stations_last_seen_record", lambda *, seen: written.append(dict(seen)))
    settings.MACHINES_OCPP_LAST_SEEN_FLUSH_SECONDS = 0.05

    async def run() -> list[int]:
        last_seen = central_system.LastSeen()
        for station_id in ("a", "b", "a", "c"):
            last_seen.note(station_id)
        before_any_write = len(written)
        deadline = time.monotonic() + 60
        while not written and time.monotonic() < deadline:
            await asyncio.sleep(0.05)
        last_seen.note("d")
        await last_seen.flush()  # as a disconnect does: at once
        await last_seen.flush()  # nothing pending: no write
        return [before_any_write]

    assert asyncio.run(run()) == [0]
    assert [sorted(batch) for batch in written] == [["a", "b", "c"], ["d"]]


def test_meter_values_of_stations_arriving_together_are_one_batch_and_a_refusal_stays_with_its_station(monkeypatch):
    """Each station's meter values are still written before they are answered, but those of stations arriving
    together go to `charging.meter_readings_record_many` as one batch; a refused message fails its own call only."""
    from ocpp.exceptions import OCPPError

    from machines.errors import TransactionUnknown
    from machines.metering import Reading

    batches: list[list[str]] = []

    def record_many(*, messages):
        batches.append([message.transaction_id for message in messages])
        return [
            TransactionUnknown("unknown", code="transaction_unknown") if message.transaction_id == "999" else 1
            for message in messages
        ]

    monkeypatch.setattr(charging, "meter_readings_record_many", record_many)

    async def run() -> list[object]:
        systems = [central_system.CentralSystem16(f"station-{number}", None) for number in range(5)]
        for system in systems:
            system._station = ChargingStation(station_id=system.id)  # as the connection read it
        return await asyncio.gather(
            *(
                system._meter_readings_record(
                    transaction_id="999" if number == 3 else str(number),
                    readings=[Reading(START, 100)],
                    source="meter_values",
                )
                for number, system in enumerate(systems)
            ),
            return_exceptions=True,
        )

    outcomes = asyncio.run(run())

    assert batches == [["0", "1", "2", "999", "4"]]
    assert [outcome is None for outcome in outcomes] == [True, True, True, False, True]
    assert isinstance(outcomes[3], OCPPError)
    assert outcomes[3].details["code"] == "transaction_unknown"


@pytest.mark.django_db
def test_last_seen_of_many_stations_is_one_statement_and_never_moves_back(make_user, django_assert_num_queries):
    owner = make_user(Role.DEALER)
    quiet, busy = station_make(owner=owner), station_make(owner=owner)
    later = dt.datetime(2030, 1, 1, 12, 0, tzinfo=dt.UTC)
    ChargingStation.objects.filter(pk=busy.pk).update(last_seen_at=later)
    moment = later - dt.timedelta(minutes=5)

    with django_assert_num_queries(1):
        charging.stations_last_seen_record(
            seen={quiet.station_id: moment - dt.timedelta(seconds=4), busy.station_id: moment}
        )

    quiet.refresh_from_db()
    busy.refresh_from_db()
    assert (quiet.last_seen_at, busy.last_seen_at) == (moment, later)


@pytest.mark.parametrize(
    ("action", "payload", "error"),
    [
        ("Heartbeat", {"unexpected": 1}, FormatViolationError),
        (
            "MeterValues",
            {"connectorId": "one", "meterValue": [{"timestamp": iso(START), "sampledValue": [{"value": "1"}]}]},
            TypeConstraintViolationError,
        ),
    ],
)
def test_a_payload_breaking_the_schema_is_still_refused_inline(action, payload, error):
    assert central_system.ocpp_messages.ASYNC_VALIDATION is False

    async def validate() -> None:
        await validate_payload(Call("m1", action, payload), "1.6")

    with pytest.raises(error):
        asyncio.run(validate())
    asyncio.run(validate_payload(Call("m2", "Heartbeat", {}), "1.6"))  # a good one passes


@pytest.mark.django_db(transaction=True)
def test_a_crash_between_flushes_loses_only_last_seen_and_the_session_settles_once(make_user):
    vehicle = vehicle_make(owner=make_user(Role.CUSTOMER), balance=5_000)
    station = station_make(owner=make_user(Role.DEALER), price_per_kwh=40, session_fee=0, accepted_by=[vehicle])
    environment = child_environment(
        CELERY_TASK_ALWAYS_EAGER="true",
        MACHINES_OCPP_LAST_SEEN_FLUSH_SECONDS="3600",  # no flush comes before the crash
    )
    port = free_port()
    command = web_server_command(host="127.0.0.1", port=port, workers=1)
    connect = {"base_url": f"ws://127.0.0.1:{port}", "station_id": station.station_id, "password": STATION_PASSWORD}

    def server() -> subprocess.Popen[bytes]:
        offset = output_size(LOG_PATH)
        with LOG_PATH.open("ab") as log:
            process = subprocess.Popen(command, cwd=BASE_DIR, env=environment, stdout=log, stderr=subprocess.STDOUT)
        _wait_until_up(
            port=port, process=process, timeout=PROCESS_START_TIMEOUT_SECONDS, log_path=LOG_PATH, offset=offset
        )
        return process

    def meter(transaction_id: int, minutes: int, energy: int) -> call16.MeterValues:
        sample = energy_sample16(moment=START + minutes * MINUTE, energy_wh=energy)
        return call16.MeterValues(connector_id=1, transaction_id=transaction_id, meter_value=[sample])

    async def before_crash() -> tuple[int, dt.datetime]:
        with contextlib.suppress(websockets.ConnectionClosed, OSError):
            async with station_connection(**connect, version="1.6") as client:
                await client.call(call16.BootNotification(charge_point_model="M", charge_point_vendor="V"))
                heartbeat_sent = dt.datetime.now(dt.UTC)
                await client.call(call16.Heartbeat())
                started = await client.call(
                    call16.StartTransaction(
                        connector_id=1, id_tag=vehicle.id_token, meter_start=0, timestamp=iso(START)
                    )
                )
                await client.call(meter(started.transaction_id, 10, 2_500))
                await client.call(meter(started.transaction_id, 20, 5_000))
                os.kill(process.pid, signal.SIGKILL)  # the server dies with the heartbeat still in memory
                process.wait()
        return started.transaction_id, heartbeat_sent

    async def after_restart(transaction_id: int) -> str:
        async with station_connection(**connect, version="1.6") as client:
            stop = call16.StopTransaction(
                transaction_id=transaction_id, meter_stop=7_500, timestamp=iso(START + 30 * MINUTE)
            )
            stopped = await client.call(stop)
            await client.call(stop)  # repeated after the reconnect: settled once all the same
        return stopped.id_tag_info["status"]

    process = server()
    try:
        transaction_id, heartbeat_sent = asyncio.run(before_crash())
        station.refresh_from_db()
        assert station.last_seen_at < heartbeat_sent  # lost: the heartbeat's "last seen", nothing else
        session = ChargingSession.objects.get(station=station)
        assert list(session.readings.values_list("energy_wh", flat=True)) == [0, 2_500, 5_000]

        process = server()
        assert asyncio.run(after_restart(transaction_id)) == "Accepted"
    finally:
        process.terminate()
        process.wait(timeout=30)

    _until(lambda: ChargingSession.objects.get(pk=session.pk).status == SessionStatus.SETTLED)
    session.refresh_from_db()
    assert session.status == SessionStatus.SETTLED
    assert list(MeterReading.objects.filter(session=session).values_list("energy_wh", flat=True)) == [
        0,
        2_500,
        5_000,
        7_500,
    ]
    assert session.invoice.total_amount == 300  # 7.5 kWh x 40 cents, billed once
