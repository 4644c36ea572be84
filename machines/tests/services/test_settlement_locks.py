"""Settling a session locks the session row only, so a station's next session can start while the last one settles;
starts and settlements lock the operator's ledger account only for their last, ledger statements.

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


@pytest.fixture(autouse=True)
def _settled_only_when_called(monkeypatch):
    """An ended session waits for the call below instead of being settled by the outbox's eager relay at commit."""
    monkeypatch.setattr("core.outbox.outbox_relay", lambda *, message_ids: 0)


def _started_and_ended(make_user, *, key: str):
    vehicle = vehicle_make(owner=make_user(Role.CUSTOMER), balance=5_000)
    station = station_make(owner=make_user(Role.DEALER), price_per_kwh=40, session_fee=0, accepted_by=[vehicle])
    outcome = charging.charging_session_start(
        station_id=station.station_id, connector_id=1, id_token=vehicle.id_token, started_at=START,
        start_key=key, ocpp_version="1.6", readings=[metering.Reading(START, 0)],
    )  # fmt: skip
    session = charging.charging_session_end(
        station_id=station.station_id, transaction_id=outcome.transaction_id,
        ended_at=START + dt.timedelta(minutes=30), readings=[metering.Reading(START + dt.timedelta(minutes=30), 9_000)],
    )  # fmt: skip
    return vehicle, station, session


def test_settling_a_session_leaves_its_station_and_vehicle_unlocked(make_user):
    vehicle, station, session = _started_and_ended(make_user, key="locks")

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


def test_a_start_and_a_settlement_lock_the_operators_account_only_for_their_ledger_statements(make_user):
    """Every start and settlement at an operator's stations books against the operator's one ledger account, whose
    row stays locked until commit: the ledger's statements come last, so nothing else of either waits inside that
    lock. (Found under 5,000 stations: starts and settlements queued behind each other's session, reading, invoice
    and notification statements.)"""
    from django.test.utils import CaptureQueriesContext

    vehicle = vehicle_make(owner=make_user(Role.CUSTOMER), balance=5_000)
    station = station_make(owner=make_user(Role.DEALER), price_per_kwh=40, session_fee=0, accepted_by=[vehicle])
    with CaptureQueriesContext(connection) as start:
        outcome = charging.charging_session_start(
            station_id=station.station_id, connector_id=1, id_token=vehicle.id_token, started_at=START,
            start_key="last", ocpp_version="1.6", readings=[metering.Reading(START, 0)],
        )  # fmt: skip
    session = charging.charging_session_end(
        station_id=station.station_id, transaction_id=outcome.transaction_id,
        ended_at=START + dt.timedelta(minutes=30), readings=[metering.Reading(START + dt.timedelta(minutes=30), 9_000)],
    )  # fmt: skip
    with CaptureQueriesContext(connection) as settle:
        assert charging_session_settle(session_id=session.pk).status == "settled"

    def sent(statements) -> list[str]:
        return [query["sql"] for query in statements.captured_queries if query["sql"] not in ("BEGIN", "COMMIT")]

    def after_the_account_lock(statements) -> list[str]:
        sql = sent(statements)
        first = next(
            index
            for index, text in enumerate(sql)
            if "payments_transfer_post" in text or ("payments_account" in text and "FOR UPDATE" in text)
        )
        return sql[first:]

    assert "payments_transfer_post" in sent(start)[-1]
    assert "payments_transfer_post" in after_the_account_lock(start)[0]
    rest = after_the_account_lock(settle)
    assert rest and all("payments_" in text or "SAVEPOINT" in text for text in rest), rest


def test_a_settlement_the_ledger_refuses_fails_the_session_and_keeps_no_invoice_notification_or_anchor_leaf(make_user):
    from core.models import OutboxMessage
    from identity.models import AnchorLeaf
    from machines import wallets
    from machines.models import ChargingInvoice

    vehicle, _, session = _started_and_ended(make_user, key="refused")
    wallets.session_hold_resolve(  # the hold released elsewhere first: the settlement's own post is refused
        hold_id=session.hold_transfer_id, resolution_id=wallets.transfer_id_for(key="released elsewhere"),
        hold_amount=session.hold_amount, charged_amount=0, currency="EUR", reference="released elsewhere",
    )  # fmt: skip
    outbox_before = OutboxMessage.objects.count()

    settled = charging_session_settle(session_id=session.pk)

    assert (settled.status, settled.failure_code) == ("failed", "pending_transfer_already_voided")
    assert not ChargingInvoice.objects.filter(session=session).exists()
    assert not AnchorLeaf.objects.filter(reference=f"machines.charging_session:{session.pk}").exists()
    assert OutboxMessage.objects.count() == outbox_before
    balance = wallets.wallet_balance_get(account_id=vehicle.wallet_account_id)
    assert (balance.posted, balance.held) == (5_000, 0)
    assert charging_session_settle(session_id=session.pk).status == "failed"  # and stays so
