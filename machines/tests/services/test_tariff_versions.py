"""Tariffs are versioned: a session is priced by the version in force when it started, even if the operator changes
the tariff while it runs; the next session pays the new version."""

from __future__ import annotations

import datetime as dt

import pytest

from accounts.roles import Role
from machines import metering, wallets
from machines.models import StationTariff
from machines.services import charging, registry
from machines.services.settlement import charging_session_settle
from machines.tests.factories import station_make, vehicle_make

pytestmark = pytest.mark.django_db(transaction=True)

START = dt.datetime(2026, 3, 2, 9, 0, tzinfo=dt.UTC)


def _session(*, station, vehicle, start: dt.datetime, key: str, registers: tuple[int, int, int], change=None):
    outcome = charging.charging_session_start(
        station_id=station.station_id,
        connector_id=1,
        id_token=vehicle.id_token,
        started_at=start,
        start_key=key,
        ocpp_version="1.6",
        readings=[metering.Reading(start, registers[0])],
    )
    assert outcome.status is charging.AuthorizationStatus.ACCEPTED
    charging.meter_readings_record(
        station_id=station.station_id,
        transaction_id=outcome.transaction_id,
        readings=[metering.Reading(start + dt.timedelta(minutes=15), registers[1])],
        source="meter_values",
    )
    if change is not None:
        change()
    session = charging.charging_session_end(
        station_id=station.station_id,
        transaction_id=outcome.transaction_id,
        ended_at=start + dt.timedelta(minutes=30),
        readings=[metering.Reading(start + dt.timedelta(minutes=30), registers[2])],
    )
    return charging_session_settle(session_id=session.pk)


def test_a_session_is_priced_by_the_tariff_version_in_force_at_its_start(make_user):
    vehicle = vehicle_make(owner=make_user(Role.CUSTOMER), balance=10_000)
    station = station_make(owner=make_user(Role.DEALER), price_per_kwh=39, session_fee=50, accepted_by=[vehicle])

    def raise_tariff() -> None:
        registry.station_tariff_set(station=station, price_per_kwh=90, session_fee=400, idle_fee_per_minute=0)

    first = _session(
        station=station, vehicle=vehicle, start=START, key="a", registers=(0, 5_000, 10_000), change=raise_tariff
    )
    second = _session(
        station=station,
        vehicle=vehicle,
        start=START + dt.timedelta(hours=1),
        key="b",
        registers=(10_000, 12_000, 14_000),
    )

    assert list(
        StationTariff.objects.filter(station=station).values_list("version", "price_per_kwh", "session_fee")
    ) == [
        (2, 90, 400),
        (1, 39, 50),
    ]
    assert (first.tariff.version, second.tariff.version) == (1, 2)
    # 10,000 Wh x 39 cents/kWh = 390, + 50 session fee; then 4,000 Wh x 90 = 360, + 400.
    assert (first.invoice.price_per_kwh, first.invoice.session_fee, first.invoice.total_amount) == (39, 50, 440)
    assert (second.invoice.price_per_kwh, second.invoice.session_fee, second.invoice.total_amount) == (90, 400, 760)
    balance = wallets.wallet_balance_get(account_id=vehicle.wallet_account_id)
    assert (balance.posted, balance.held) == (10_000 - 440 - 760, 0)
    assert wallets.wallet_balance_get(account_id=station.operator.account_id).posted == 1_200


def test_a_negative_tariff_is_refused_and_adds_no_version(make_user):
    station = station_make(owner=make_user(Role.DEALER))

    with pytest.raises(registry.ValidationFailed) as refused:
        registry.station_tariff_set(station=station, price_per_kwh=-1, session_fee=0, idle_fee_per_minute=0)

    assert refused.value.code == "tariff_invalid"
    assert list(StationTariff.objects.filter(station=station).values_list("version", flat=True)) == [1]
    station.refresh_from_db()
    assert (station.price_per_kwh, station.session_fee) == (39, 50)
