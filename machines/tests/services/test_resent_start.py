"""A StartTransaction resent while its first copy is still committing is the same start, not a concurrent one.

Found by the partition run (bench/partitions.py): a web host was cut off after its StartTransaction had locked the
vehicle but before the commit reached the station; the station reconnected through the other web host and resent
the identical StartTransaction, which waited for the vehicle's lock. The first copy committed when the link healed,
and the resend, having looked for its start key before it took the lock, found an active session and answered
ConcurrentTx with transaction 0: the station could never stop the session it had started. Real PostgreSQL, two
connections.
"""

from __future__ import annotations

import datetime as dt
import threading
import time

import pytest
from django.db import connection, transaction

from accounts.roles import Role
from machines import metering
from machines.models import ChargingSession
from machines.services import charging
from machines.services.charging import AuthorizationStatus
from machines.tests.factories import station_make, vehicle_make
from payments.ledger.selectors import account_get

pytestmark = pytest.mark.django_db(transaction=True)

START = dt.datetime(2026, 3, 2, 9, 0, tzinfo=dt.UTC)


def _start(station, vehicle, *, start_key: str = "1|2026-03-02T09:00:00+00:00|tag"):
    return charging.charging_session_start(
        station_id=station.station_id, connector_id=1, id_token=vehicle.id_token, started_at=START,
        start_key=start_key, ocpp_version="1.6", readings=[metering.Reading(START, 0)],
    )  # fmt: skip


def _wait_until_blocked(pid_holder: list[int]) -> None:
    """Polls PostgreSQL until the other connection waits for a lock (no sleeping on a guess)."""
    deadline = time.monotonic() + 60
    with connection.cursor() as cursor:
        while time.monotonic() < deadline:
            if pid_holder:
                cursor.execute("SELECT wait_event_type FROM pg_stat_activity WHERE pid = %s", [pid_holder[0]])
                row = cursor.fetchone()
                if row and row[0] == "Lock":
                    return
            time.sleep(0.05)
    raise AssertionError("the resent start never waited for the vehicle's lock")


def _start_waiting_behind(vehicle, *, first_at, then_at, start_key: str = "1|2026-03-02T09:00:00+00:00|tag"):
    """Starts `vehicle` at `first_at` in a transaction, then at `then_at` (with `start_key`) on a second connection,
    commits the first once the second waits for the vehicle's lock, and returns both outcomes."""
    second: list[object] = []
    backend_pid: list[int] = []

    def start_meanwhile() -> None:
        from django.db import connection as other

        try:
            with other.cursor() as cursor:
                cursor.execute("SELECT pg_backend_pid()")
                backend_pid.append(cursor.fetchone()[0])
            second.append(_start(then_at, vehicle, start_key=start_key))
        finally:
            other.close()

    with transaction.atomic():  # the first start: made, not committed yet
        first = _start(first_at, vehicle)
        thread = threading.Thread(target=start_meanwhile)
        thread.start()
        _wait_until_blocked(backend_pid)
    thread.join(timeout=60)
    return first, second[0]


def test_a_start_resent_while_the_first_copy_commits_gets_the_same_transaction(make_user):
    vehicle = vehicle_make(owner=make_user(Role.CUSTOMER), balance=5_000, session_limit=3_000)
    station = station_make(owner=make_user(Role.DEALER), price_per_kwh=40, session_fee=0, accepted_by=[vehicle])
    # The first copy, on the host that was cut off; the resend reaches the other host while it commits.
    first, resent = _start_waiting_behind(vehicle, first_at=station, then_at=station)

    assert first.status is AuthorizationStatus.ACCEPTED
    assert resent.status is AuthorizationStatus.ACCEPTED
    assert resent.transaction_id == first.transaction_id
    assert ChargingSession.objects.filter(station=station).count() == 1
    wallet = account_get(account_id=vehicle.wallet_account_id)
    assert wallet.debits_pending == 3_000  # one hold, not two


def test_a_different_start_while_one_is_active_is_still_concurrent(make_user):
    vehicle = vehicle_make(owner=make_user(Role.CUSTOMER), balance=9_000, session_limit=3_000)
    station = station_make(owner=make_user(Role.DEALER), price_per_kwh=40, session_fee=0, accepted_by=[vehicle])
    first = _start(station, vehicle)

    other = _start(station, vehicle, start_key="1|2026-03-02T09:05:00+00:00|tag")

    assert first.status is AuthorizationStatus.ACCEPTED
    assert other.status is AuthorizationStatus.CONCURRENT
    assert other.transaction_id == ""
    assert ChargingSession.objects.filter(station=station).count() == 1
    assert account_get(account_id=vehicle.wallet_account_id).debits_pending == 3_000


def test_a_start_at_another_station_that_waited_for_the_vehicle_sees_the_first_starts_session(make_user):
    """The vehicle's spending, active session and earlier start are read in one statement after its lock: read in
    the statement that takes the lock (its snapshot taken before the wait), the waiting start would miss the first
    one's session and place a second hold."""
    vehicle = vehicle_make(owner=make_user(Role.CUSTOMER), balance=9_000, session_limit=3_000)
    here = station_make(owner=make_user(Role.DEALER), price_per_kwh=40, session_fee=0, accepted_by=[vehicle])
    there = station_make(owner=make_user(Role.DEALER), price_per_kwh=40, session_fee=0, accepted_by=[vehicle])
    first, elsewhere = _start_waiting_behind(
        vehicle, first_at=here, then_at=there, start_key="1|2026-03-02T09:00:30+00:00|tag"
    )

    assert first.status is AuthorizationStatus.ACCEPTED
    assert elsewhere.status is AuthorizationStatus.CONCURRENT
    assert ChargingSession.objects.filter(vehicle=vehicle).count() == 1
    assert account_get(account_id=vehicle.wallet_account_id).debits_pending == 3_000
