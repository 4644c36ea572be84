"""Connections and BootNotifications of many stations recorded together (a restart storm): each station gets its
own values, the later of two entries for one station wins, and the writes are a few statements, not one each."""

from __future__ import annotations

import pytest

from accounts.roles import Role
from machines.models import ChargingStation, StationStatus
from machines.services import charging
from machines.tests.factories import station_make

pytestmark = pytest.mark.django_db


def _rows(*stations: ChargingStation, fields: tuple[str, ...]) -> list[tuple]:
    by_id = {row[0]: row for row in ChargingStation.objects.values_list("station_id", *fields)}
    return [by_id[station.station_id][1:] for station in stations]


def test_connections_recorded_together_are_one_statement_and_the_later_one_wins(make_user, django_assert_num_queries):
    owner = make_user(Role.DEALER)
    first, second, untouched = station_make(owner=owner), station_make(owner=owner), station_make(owner=owner)

    with django_assert_num_queries(1):
        charging.stations_connected_record(
            connections=[
                (first.station_id, "c-old", "1.6"),
                (second.station_id, "c-2", "2.0.1"),
                (first.station_id, "c-new", "2.0.1"),
            ]
        )

    fields = ("is_connected", "connection_id", "ocpp_version")
    assert _rows(first, second, untouched, fields=fields) == [
        (True, "c-new", "2.0.1"),
        (True, "c-2", "2.0.1"),
        (False, "", untouched.ocpp_version),
    ]
    ChargingStation.objects.filter(pk=first.pk).update(connection_id="c-newer")
    charging.station_disconnected(station_id=first.station_id, connection_id="c-new")  # an older one ends
    assert _rows(first, fields=fields) == [(True, "c-newer", "2.0.1")]


def test_boots_recorded_together_write_once_per_kind_of_station_and_the_later_one_wins(
    make_user, django_assert_num_queries
):
    owner = make_user(Role.DEALER)
    first, second, third, untouched = (station_make(owner=owner) for _ in range(4))

    with django_assert_num_queries(2):
        charging.stations_boot_record(
            boots=[
                (first.station_id, "Old vendor", "Old", "0.9"),
                (second.station_id, "FinLab", "Sim", "1.0"),
                (third.station_id, "Other" * 20, "Model", ""),
                (first.station_id, "FinLab", "Sim", "1.0"),
            ]
        )

    fields = ("vendor", "model", "firmware_version", "status")
    assert _rows(first, second, third, fields=fields) == [
        ("FinLab", "Sim", "1.0", StationStatus.AVAILABLE),
        ("FinLab", "Sim", "1.0", StationStatus.AVAILABLE),
        (("Other" * 20)[:50], "Model", "", StationStatus.AVAILABLE),
    ]
    assert _rows(untouched, fields=("vendor", "last_seen_at")) == [(untouched.vendor, untouched.last_seen_at)]


def test_disconnections_recorded_together_are_one_statement_and_spare_stations_on_a_newer_connection(
    make_user, django_assert_num_queries
):
    owner = make_user(Role.DEALER)
    left, reconnected, other = (station_make(owner=owner) for _ in range(3))
    charging.stations_connected_record(
        connections=[
            (left.station_id, "c-1", "1.6"),
            (reconnected.station_id, "c-2", "1.6"),
            (other.station_id, "c-3", "1.6"),
        ]
    )
    charging.station_connected(station_id=reconnected.station_id, connection_id="c-2-new", ocpp_version="1.6")

    with django_assert_num_queries(1):
        # The old connection of `reconnected` ends after its new one began; "c-3" belongs to `other`, not to `left`.
        charging.stations_disconnected_record(
            disconnections=[(left.station_id, "c-1"), (reconnected.station_id, "c-2"), (left.station_id, "c-9")]
        )

    assert _rows(left, reconnected, other, fields=("is_connected", "connection_id")) == [
        (False, ""),
        (True, "c-2-new"),
        (True, "c-3"),
    ]


def test_connections_recorded_through_the_orm_as_on_databases_other_than_postgresql(make_user):
    owner = make_user(Role.DEALER)
    first, second = station_make(owner=owner), station_make(owner=owner)

    charging._stations_connected_record_portable(
        latest={first.station_id: ("c-1", "1.6"), second.station_id: ("c-2", "2.0.1")}
    )

    assert _rows(first, second, fields=("is_connected", "connection_id", "ocpp_version")) == [
        (True, "c-1", "1.6"),
        (True, "c-2", "2.0.1"),
    ]
