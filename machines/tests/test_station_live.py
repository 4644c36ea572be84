"""The operator's live station table is kept current by the portal's one refresh module (static/js/refresh.js): the
page names the state it was drawn with, the data endpoint answers the same state while nothing changed and the new
table (words in the reader's language, times in their zone) once something did."""

from __future__ import annotations

import datetime as dt

import pytest

from accounts.roles import Role
from machines.models import ChargingStation
from machines.tests.factories import station_make

pytestmark = pytest.mark.django_db
PAGE = "/machines/stations/live/"
DATA = "/machines/stations/live.json"


@pytest.fixture
def operator(make_user, dealer_organisation):
    return make_user(Role.DEALER, dealer_organisation=dealer_organisation)


@pytest.fixture
def station(operator):
    return station_make(owner=operator, station_id="cs-live-1")


def test_the_page_uses_the_one_refresh_module_and_names_the_state_it_shows(operator, station, client_for):
    browser = client_for(operator)

    page = browser.get(PAGE).text
    data = browser.get(DATA)

    assert "js/refresh.js" in page and "machines/live.js" not in page and "<script>" not in page
    assert 'data-refresh="5"' in page and "data-refresh-keep" in page
    assert f'data-status-url="{DATA}"' in page and f'data-status="{data.json()["status"]}"' in page
    assert data["Cache-Control"] == "no-store"
    assert 'data-station="cs-live-1"' in data.json()["outcomeHtml"]
    assert data.json()["stations"][0]["station_id"] == "cs-live-1"


def test_a_changed_station_changes_the_state_and_the_table_in_the_readers_language_and_zone(
    operator, station, client_for
):
    operator.language, operator.time_zone = "de", "America/New_York"
    operator.save(update_fields=["language", "time_zone"])
    browser = client_for(operator)
    before = browser.get(DATA).json()
    assert browser.get(DATA).json()["status"] == before["status"]  # nothing changed, nothing to redraw

    ChargingStation.objects.filter(pk=station.pk).update(
        is_connected=True, status="charging", last_seen_at=dt.datetime(2026, 12, 6, 13, 5, 9, tzinfo=dt.UTC)
    )
    after = browser.get(DATA).json()

    assert after["status"] != before["status"]
    assert ">verbunden<" in after["outcomeHtml"] and ">Lädt<" in after["outcomeHtml"]
    assert "06.12.2026, 08:05:09" in after["outcomeHtml"]  # New York's time, written the German way
