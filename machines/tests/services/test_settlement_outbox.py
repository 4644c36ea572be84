"""Ending a session queues its settlement through the kernel's outbox, and sessions ended before that are queued by
the migration that removed machines' own sweep."""

from __future__ import annotations

import datetime as dt
import importlib

import pytest
from django.apps import apps

from accounts.roles import Role
from core.models import OutboxMessage, OutboxState
from machines import metering
from machines.models import ChargingSession, SessionStatus
from machines.services import charging
from machines.tests.factories import station_make, vehicle_make

pytestmark = pytest.mark.django_db(transaction=True)

START = dt.datetime(2026, 3, 2, 9, 0, tzinfo=dt.UTC)


def _session_ended(make_user) -> ChargingSession:
    vehicle = vehicle_make(owner=make_user(Role.CUSTOMER), balance=5_000)
    station = station_make(owner=make_user(Role.DEALER), price_per_kwh=40, session_fee=0, accepted_by=[vehicle])
    outcome = charging.charging_session_start(
        station_id=station.station_id, connector_id=1, id_token=vehicle.id_token, started_at=START,
        start_key="outbox", ocpp_version="1.6", readings=[metering.Reading(START, 0)],
    )  # fmt: skip
    return charging.charging_session_end(
        station_id=station.station_id, transaction_id=outcome.transaction_id,
        ended_at=START + dt.timedelta(minutes=30), readings=[metering.Reading(START + dt.timedelta(minutes=30), 9_000)],
    )  # fmt: skip


def test_ending_a_session_settles_it_through_one_outbox_message(make_user):
    session = _session_ended(make_user)

    session.refresh_from_db()
    message = OutboxMessage.objects.get(topic="machines.charging_session_settle")
    assert (message.topic, message.key, message.payload, message.state) == (
        "machines.charging_session_settle",
        f"charging_session:{session.pk}",
        {"session_id": session.pk},
        OutboxState.DONE,
    )
    assert session.status == SessionStatus.SETTLED


def test_sessions_ended_before_the_outbox_are_queued_once_by_the_migration(make_user):
    session = _session_ended(make_user)
    OutboxMessage.objects.all().delete()
    ChargingSession.objects.filter(pk=session.pk).update(status=SessionStatus.ENDED)  # as if its task was lost
    migration = importlib.import_module("machines.migrations.0004_ended_sessions_settle_through_the_outbox")

    migration.ended_sessions_queue(apps, None)
    migration.ended_sessions_queue(apps, None)

    assert list(OutboxMessage.objects.values_list("topic", "key", "payload", "state", "attempts")) == [
        (
            "machines.charging_session_settle",
            f"charging_session:{session.pk}",
            {"session_id": session.pk},
            OutboxState.PENDING,
            0,
        )
    ]
