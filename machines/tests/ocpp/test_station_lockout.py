"""Station handshakes: after repeated wrong passwords a station id is locked out for a while, even with the right
password, so passwords cannot be guessed at the speed of the network (and each guess costs a password hash)."""

from __future__ import annotations

import pytest

from accounts.roles import Role
from machines.models import ChargingStation
from machines.ocpp.consumer import station_authenticate, stations_authenticate
from machines.tests.factories import STATION_PASSWORD, station_make

pytestmark = pytest.mark.django_db


def test_repeated_wrong_passwords_lock_the_station_id_out_and_only_that_one(settings, make_user):
    settings.MACHINES_STATION_AUTH_FAILURE_LIMIT = 3
    owner = make_user(Role.DEALER)
    station, other = station_make(owner=owner), station_make(owner=owner)

    wrong = [
        station_authenticate(station_id=station.station_id, credentials=(station.station_id, f"guess-{n}"))
        for n in range(3)
    ]
    right = station_authenticate(station_id=station.station_id, credentials=(station.station_id, STATION_PASSWORD))
    neighbour = station_authenticate(station_id=other.station_id, credentials=(other.station_id, STATION_PASSWORD))

    assert wrong == ["station_authentication_failed"] * 3
    assert right == "station_locked_out"
    assert neighbour == ""


def test_a_successful_handshake_forgets_earlier_failures(settings, make_user):
    settings.MACHINES_STATION_AUTH_FAILURE_LIMIT = 3
    station = station_make(owner=make_user(Role.DEALER))
    credentials = (station.station_id, STATION_PASSWORD)

    for n in range(2):
        station_authenticate(station_id=station.station_id, credentials=(station.station_id, f"typo-{n}"))
    assert station_authenticate(station_id=station.station_id, credentials=credentials) == ""
    for n in range(2):
        station_authenticate(station_id=station.station_id, credentials=(station.station_id, f"typo-again-{n}"))

    assert station_authenticate(station_id=station.station_id, credentials=credentials) == ""


def test_guesses_arriving_together_stop_at_the_limit_like_guesses_one_after_another(settings, make_user):
    settings.MACHINES_STATION_AUTH_FAILURE_LIMIT = 3
    station = station_make(owner=make_user(Role.DEALER))
    guesses = [(station.station_id, (station.station_id, f"guess-{n}")) for n in range(5)]

    answers = stations_authenticate([*guesses, (station.station_id, (station.station_id, STATION_PASSWORD))])

    assert answers == ["station_authentication_failed"] * 3 + ["station_locked_out"] * 3
    assert (
        station_authenticate(station_id=station.station_id, credentials=(station.station_id, STATION_PASSWORD))
        == "station_locked_out"
    )


def test_handshakes_arriving_together_are_answered_each_with_one_query_for_their_stations(
    settings, make_user, django_assert_num_queries
):
    owner = make_user(Role.DEALER)
    first, second, inactive = station_make(owner=owner), station_make(owner=owner), station_make(owner=owner)
    ChargingStation.objects.filter(pk=inactive.pk).update(is_active=False)
    attempts = [
        (first.station_id, (first.station_id, STATION_PASSWORD)),
        ("cs-unknown", ("cs-unknown", STATION_PASSWORD)),
        (second.station_id, None),
        (second.station_id, (first.station_id, STATION_PASSWORD)),  # another station's name as user
        (inactive.station_id, (inactive.station_id, STATION_PASSWORD)),
        (second.station_id, (second.station_id, STATION_PASSWORD)),
    ]

    with django_assert_num_queries(1):
        answers = stations_authenticate(attempts)

    assert answers == [
        "",
        "station_authentication_failed",
        "station_credentials_missing",
        "station_authentication_failed",
        "station_authentication_failed",
        "",
    ]
