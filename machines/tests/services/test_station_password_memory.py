"""A station's password that matched its hash is not hashed again at its next handshake in the same process
(`registry._VerifiedPasswords`), and that memory never lets in what the stored hash would not: a changed password,
an inactive or locked-out station, a wrong password, another station."""

from __future__ import annotations

import pytest
from django.contrib.auth.hashers import make_password

from accounts.roles import Role
from machines.models import ChargingStation
from machines.ocpp.consumer import station_authenticate
from machines.services import registry
from machines.tests.factories import STATION_PASSWORD, station_make

pytestmark = pytest.mark.django_db
NEW_PASSWORD = "a-new-station-password-42"


@pytest.fixture
def hashings(monkeypatch) -> list[str]:
    """The passwords the password hasher was run for, in order."""
    seen: list[str] = []
    check = registry.check_password

    def counting(password: str, encoded: str) -> bool:
        seen.append(password)
        return check(password, encoded)

    monkeypatch.setattr(registry, "check_password", counting)
    return seen


def _handshake(station: ChargingStation, password: str) -> str:
    return station_authenticate(station_id=station.station_id, credentials=(station.station_id, password))


def test_a_station_reconnecting_with_its_password_is_hashed_once(make_user, hashings):
    station = station_make(owner=make_user(Role.DEALER))

    answers = [_handshake(station, STATION_PASSWORD) for _ in range(3)]

    assert answers == ["", "", ""]
    assert hashings == [STATION_PASSWORD]


def test_a_password_changed_here_refuses_the_remembered_one(make_user, hashings):
    station = station_make(owner=make_user(Role.DEALER))
    assert _handshake(station, STATION_PASSWORD) == ""

    registry.station_password_set(station=station, password=NEW_PASSWORD)

    assert _handshake(station, STATION_PASSWORD) == "station_authentication_failed"
    assert _handshake(station, NEW_PASSWORD) == ""


def test_a_password_changed_by_another_process_refuses_the_remembered_one(make_user, hashings):
    station = station_make(owner=make_user(Role.DEALER))
    assert _handshake(station, STATION_PASSWORD) == ""

    # Another server process changes it: this process's memory is not told.
    ChargingStation.objects.filter(pk=station.pk).update(password_hash=make_password(NEW_PASSWORD))

    assert _handshake(station, STATION_PASSWORD) == "station_authentication_failed"
    assert _handshake(station, NEW_PASSWORD) == ""
    assert hashings == [STATION_PASSWORD, STATION_PASSWORD, NEW_PASSWORD]


def test_the_same_password_set_again_is_hashed_again(make_user, hashings):
    station = station_make(owner=make_user(Role.DEALER))
    assert _handshake(station, STATION_PASSWORD) == ""

    ChargingStation.objects.filter(pk=station.pk).update(password_hash=make_password(STATION_PASSWORD))

    assert _handshake(station, STATION_PASSWORD) == ""
    assert hashings == [STATION_PASSWORD, STATION_PASSWORD]  # a new hash: the memory did not answer for it


def test_an_inactive_station_is_refused_with_its_remembered_password(make_user, hashings):
    station = station_make(owner=make_user(Role.DEALER))
    assert _handshake(station, STATION_PASSWORD) == ""

    ChargingStation.objects.filter(pk=station.pk).update(is_active=False)

    assert _handshake(station, STATION_PASSWORD) == "station_authentication_failed"


def test_a_locked_out_station_is_refused_with_its_remembered_password(make_user, settings, hashings):
    settings.MACHINES_STATION_AUTH_FAILURE_LIMIT = 3
    station = station_make(owner=make_user(Role.DEALER))
    assert _handshake(station, STATION_PASSWORD) == ""

    guesses = [_handshake(station, f"guess-{number}") for number in range(3)]

    assert guesses == ["station_authentication_failed"] * 3
    assert _handshake(station, STATION_PASSWORD) == "station_locked_out"


def test_a_wrong_password_for_a_remembered_station_is_hashed_and_refused(make_user, hashings):
    station = station_make(owner=make_user(Role.DEALER))
    assert _handshake(station, STATION_PASSWORD) == ""

    assert _handshake(station, STATION_PASSWORD + "x") == "station_authentication_failed"
    assert _handshake(station, "") == "station_authentication_failed"
    assert hashings == [STATION_PASSWORD, STATION_PASSWORD + "x", ""]


def test_another_station_with_the_same_password_is_not_let_in_by_the_memory(make_user, hashings):
    owner = make_user(Role.DEALER)
    station, other = station_make(owner=owner), station_make(owner=owner)
    assert _handshake(station, STATION_PASSWORD) == ""

    assert _handshake(other, STATION_PASSWORD) == ""  # its own password too, but hashed: not the first's memory
    assert hashings == [STATION_PASSWORD, STATION_PASSWORD]
    ChargingStation.objects.filter(pk=other.pk).update(password_hash=make_password(NEW_PASSWORD))
    assert _handshake(other, STATION_PASSWORD) == "station_authentication_failed"


def test_the_memory_is_keyed_per_process_and_keeps_at_most_its_limit(make_user):
    owner = make_user(Role.DEALER)
    stations = [station_make(owner=owner) for _ in range(3)]
    memory, elsewhere = registry._VerifiedPasswords(limit=2), registry._VerifiedPasswords(limit=2)
    for station in stations:
        memory.remember(station=station, password=STATION_PASSWORD)
    elsewhere.remember(station=stations[2], password=STATION_PASSWORD)

    assert [memory.matches(station=station, password=STATION_PASSWORD) for station in stations] == [False, True, True]
    assert memory._digests[stations[2].pk] != elsewhere._digests[stations[2].pk]
    assert STATION_PASSWORD.encode() not in b"".join(memory._digests.values())
