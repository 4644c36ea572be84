"""In headless Chromium on a German phone (360 x 740) on Playwright's fake clock: the operator's live station table is
kept current by static/js/refresh.js alone (no page script of its own), in place, with the change read out, and the
table fits the screen. No test here waits for real time: the clock is moved on by hand."""

from __future__ import annotations

import datetime as dt

import pytest
from django.conf import settings

from accounts.roles import Role
from conftest import login_client
from machines.models import ChargingStation
from machines.tests.factories import station_make

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.browser]
PHONE = {"width": 360, "height": 740}


def test_the_station_table_is_updated_in_place_by_the_refresh_module(
    _playwright_browser, live_server, make_user, dealer_organisation, screenshot
):
    operator = make_user(Role.DEALER, dealer_organisation=dealer_organisation)  # language: follow the browser (de-DE)
    station = station_make(owner=operator, station_id="cs-live-1")
    session = login_client(operator).cookies[settings.SESSION_COOKIE_NAME].value
    context = _playwright_browser.new_context(base_url=live_server.url, viewport=PHONE, locale="de-DE")
    context.add_cookies([{"name": settings.SESSION_COOKIE_NAME, "value": session, "url": live_server.url}])
    page = context.new_page()
    page.set_default_timeout(20_000)
    scripts: list[str] = []
    asked: list[str] = []
    page.on("request", lambda request: scripts.append(request.url) if request.resource_type == "script" else None)
    page.on("request", lambda request: asked.append(request.url) if "live.json" in request.url else None)
    try:
        page.clock.install()
        page.goto("/machines/stations/live/")
        page.wait_for_function("document.readyState === 'complete'")
        page.evaluate("window.drawnOnce = true")  # gone if the page reloads
        row = page.locator("[data-station=cs-live-1]")
        assert "getrennt" in row.inner_text()

        ChargingStation.objects.filter(pk=station.pk).update(
            is_connected=True, status="charging", last_seen_at=dt.datetime(2026, 12, 6, 13, 5, 9, tzinfo=dt.UTC)
        )
        page.clock.run_for(5_000)
        page.get_by_text("Lädt").wait_for()

        assert "verbunden" in row.inner_text() and "06.12.2026, 14:05:09" in row.inner_text()  # Berlin time
        assert page.evaluate("window.drawnOnce") is True  # in place, no reload
        assert page.get_by_test_id("refresh-announcement").text_content() == "Die Stationstabelle hat sich geändert."
        assert f"{live_server.url}/static/js/refresh.js" in scripts
        assert not [url for url in scripts if "machines/" in url]  # no page poller of its own
        assert len(asked) == 1
        overflow = page.evaluate("document.querySelector('main').scrollWidth > window.innerWidth")
        assert overflow is False
        screenshot(page, "updated")

        with page.expect_request(lambda request: "live.json" in request.url):
            page.clock.run_for(5_000)  # it goes on asking after a change (the wait starts over at 5 s)
    finally:
        context.close()
