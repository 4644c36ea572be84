"""What a start and a stop cost in statements: under load the OCPP gateway's stations wait for its CPU, most of which
goes into building statements and reading their answers (bench/stations.py, docs/benchmarks.md)."""

from __future__ import annotations

import datetime as dt

import pytest

from accounts.roles import Role
from machines import metering
from machines.services import charging
from machines.services.charging import AuthorizationStatus
from machines.tests.factories import station_make, vehicle_make

pytestmark = pytest.mark.django_db

START = dt.datetime(2026, 3, 2, 9, 0, tzinfo=dt.UTC)


def test_a_start_reads_the_vehicles_facts_in_one_statement_and_a_stop_with_its_stations_identity_in_none(
    make_user, django_assert_num_queries
):
    vehicle = vehicle_make(owner=make_user(Role.CUSTOMER), balance=5_000)
    station = station_make(owner=make_user(Role.DEALER), price_per_kwh=40, session_fee=0, accepted_by=[vehicle])
    connection_station = charging.station_for_connection(station_id=station.station_id)

    # Savepoint and release; station, vehicle (locked), its facts, tariff, wallet balance; session, reading,
    # transaction id and meter fields; the hold.
    with django_assert_num_queries(11):
        started = charging.charging_session_start(
            station_id=station.station_id, connector_id=1, id_token=vehicle.id_token, started_at=START,
            start_key="k", ocpp_version="1.6", readings=[metering.Reading(START, 0)],
        )  # fmt: skip
    # Savepoint and release; the session locked, its chain, the stop's reading, the session's end, the outbox message.
    with django_assert_num_queries(7):
        ended = charging.charging_session_end(
            station_id=station.station_id, station=connection_station, transaction_id=started.transaction_id,
            ended_at=START + dt.timedelta(minutes=30), readings=[metering.Reading(START + dt.timedelta(minutes=30), 9)],
        )  # fmt: skip

    assert started.status is AuthorizationStatus.ACCEPTED
    assert (ended.status, ended.meter_start_wh, ended.meter_stop_wh, ended.stop_reason) == ("ended", 0, 9, "")
    ended.refresh_from_db()
    assert (ended.status, ended.meter_start_wh, ended.meter_stop_wh, ended.ended_at) == (
        "ended", 0, 9, START + dt.timedelta(minutes=30),
    )  # fmt: skip
