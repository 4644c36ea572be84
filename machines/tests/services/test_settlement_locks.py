"""Settling a session locks the session row only, so a station's next session can start while the last one settles.

Found under load: settlement locked the session over its join with station and vehicle; the station's next
StartTransaction locked the vehicle and, at commit, checked its foreign key to the station (KEY SHARE), and the two
transactions deadlocked. Real PostgreSQL, two connections.
"""

from __future__ import annotations

import datetime as dt
import threading

import pytest
from django.db import connection, transaction

from accounts.roles import Role
from machines import metering
from machines.services import charging
from machines.services.settlement import charging_session_settle
from machines.tests.factories import station_make, vehicle_make

pytestmark = pytest.mark.django_db(transaction=True)

START = dt.datetime(2026, 3, 2, 9, 0, tzinfo=dt.UTC)


def _lock_from_another_connection(sql: str, pk: int) -> str:
    """Runs ``sql`` (with NOWAIT) on a second connection; returns "free" or the error it met."""
    outcome: list[str] = []

    def attempt() -> None:
        from django.db import connection as other

        try:
            with transaction.atomic(), other.cursor() as cursor:
                cursor.execute(sql, [pk])
            outcome.append("free")
        except Exception as error:  # noqa: BLE001 - the lock error is the result under test
            outcome.append(type(error).__name__)
        finally:
            other.close()

    thread = threading.Thread(target=attempt)
    thread.start()
    thread.join()
    return outcome[0]


def test_settling_a_session_leaves_its_station_and_vehicle_unlocked(make_user):
    vehicle = vehicle_make(owner=make_user(Role.CUSTOMER), balance=5_000)
    station = station_make(owner=make_user(Role.DEALER), price_per_kwh=40, session_fee=0, accepted_by=[vehicle])
    outcome = charging.charging_session_start(
        station_id=station.station_id, connector_id=1, id_token=vehicle.id_token, started_at=START,
        start_key="locks", ocpp_version="1.6", readings=[metering.Reading(START, 0)],
    )  # fmt: skip
    session = charging.charging_session_end(
        station_id=station.station_id, transaction_id=outcome.transaction_id,
        ended_at=START + dt.timedelta(minutes=30), readings=[metering.Reading(START + dt.timedelta(minutes=30), 9_000)],
    )  # fmt: skip

    with transaction.atomic():
        settled = charging_session_settle(session_id=session.pk)
        assert settled.status == "settled"
        station_lock = _lock_from_another_connection(
            "SELECT 1 FROM machines_chargingstation WHERE id = %s FOR KEY SHARE NOWAIT", station.pk
        )
        vehicle_lock = _lock_from_another_connection(
            "SELECT 1 FROM machines_vehicle WHERE id = %s FOR UPDATE NOWAIT", vehicle.pk
        )
        session_lock = _lock_from_another_connection(
            "SELECT 1 FROM machines_chargingsession WHERE id = %s FOR UPDATE NOWAIT", session.pk
        )
        assert connection.in_atomic_block

    assert (station_lock, vehicle_lock, session_lock) == ("free", "free", "OperationalError")
