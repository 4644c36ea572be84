"""A start counts what the vehicle committed today against its daily limit: holds of open and ended sessions, charges
of settled ones and machine payments, each read in the one statement that reads the vehicle's facts."""

from __future__ import annotations

import datetime as dt

import pytest
from django.utils import timezone

from accounts.roles import Role
from machines import metering
from machines.models import ChargingSession
from machines.services import charging
from machines.services.charging import AuthorizationStatus
from machines.services.machine_api import machine_payment_create
from machines.services.registry import service_point_create
from machines.services.settlement import charging_session_settle
from machines.tests.factories import station_make, vehicle_make

pytestmark = pytest.mark.django_db


def _start(station, vehicle, moment: dt.datetime):
    return charging.charging_session_start(
        station_id=station.station_id, connector_id=1, id_token=vehicle.id_token, started_at=moment,
        start_key=f"1|{moment.isoformat()}|tag", ocpp_version="1.6", readings=[metering.Reading(moment, 0)],
    )  # fmt: skip


def _end(station, outcome, moment: dt.datetime, energy_wh: int) -> ChargingSession:
    return charging.charging_session_end(
        station_id=station.station_id, transaction_id=outcome.transaction_id, ended_at=moment,
        readings=[metering.Reading(moment, energy_wh)],
    )  # fmt: skip


@pytest.fixture
def midday(monkeypatch):
    """The clock moved to noon (UTC) of today, still ticking: the test's sessions span the half hour before now, which
    must not cross midnight (a run at 00:21 UTC counted the first session as yesterday's)."""
    clock = timezone.now
    offset = clock().replace(hour=12, minute=0, second=0, microsecond=0) - clock()
    monkeypatch.setattr(timezone, "now", lambda: clock() + offset)


def test_holds_charges_and_payments_of_today_count_and_yesterdays_do_not(make_user, midday):
    vehicle = vehicle_make(owner=make_user(Role.CUSTOMER), balance=20_000, session_limit=3_000, daily_limit=6_000)
    station = station_make(owner=make_user(Role.DEALER), price_per_kwh=40, session_fee=0, accepted_by=[vehicle])
    now = timezone.now().replace(microsecond=0)
    yesterday = now - dt.timedelta(days=1)

    old = _start(station, vehicle, yesterday)  # yesterday's session, left ended with its 3,000 hold: not today's
    _end(station, old, yesterday + dt.timedelta(minutes=5), 1_000)
    first = _start(station, vehicle, now - dt.timedelta(minutes=30))
    settled = charging_session_settle(session_id=_end(station, first, now - dt.timedelta(minutes=20), 9_000).pk)
    assert (old.status, first.status, settled.status) == ("accepted", "accepted", "settled")
    charged = settled.invoice.charged_amount
    assert charged == 360  # 9 kWh at 40 cents

    second = _start(station, vehicle, now - dt.timedelta(minutes=10))  # 360 + 3,000 <= 6,000
    _end(station, second, now - dt.timedelta(minutes=5), 2_000)  # ended, not settled: its 3,000 hold still counts
    assert second.status is AuthorizationStatus.ACCEPTED
    assert charging.vehicle_spent_today(vehicle=vehicle, now=now) == charged + 3_000

    refused = _start(station, vehicle, now - dt.timedelta(minutes=4))  # 360 + 3,000 held + 3,000 > 6,000
    assert refused.status is AuthorizationStatus.NO_CREDIT

    settled = charging_session_settle(session_id=ChargingSession.objects.get(transaction_id=second.transaction_id).pk)
    assert charging.vehicle_spent_today(vehicle=vehicle, now=now) == charged + settled.invoice.charged_amount == 440
    service_point_create(owner=make_user(Role.DEALER), slug="car-park", name="Car park", kind="parking")
    machine_payment_create(
        vehicle=vehicle, service_point_slug="car-park", amount=2_700, reference="parking", idempotency_key="p-1"
    )
    assert charging.vehicle_spent_today(vehicle=vehicle, now=now) == 3_140
    refused = _start(
        station, vehicle, now - dt.timedelta(minutes=3)
    )  # 3,140 + 3,000 > 6,000 (3,000 less and it would pass)
    accepted_tomorrow = charging.vehicle_spent_today(vehicle=vehicle, now=now + dt.timedelta(days=1))
    assert (refused.status, accepted_tomorrow) == (AuthorizationStatus.NO_CREDIT, 0)
