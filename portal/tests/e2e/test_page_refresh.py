"""static/js/refresh.js, the one module that keeps waiting pages up to date (the dealer's credit check, a lease
application, a card payment), in Chromium on Playwright's fake clock: no test here waits for real time.

The page is served by the test itself and the status endpoint is a stand-in for `fetch` that answers at once and
notes the (fake) moment of every question, so the schedule is exact: the first wait, then half as long again after
every unchanged answer, up to four times the first; nothing while hidden; once the state changed, never again — except
on a live view (data-refresh-keep, the operator's station table), which takes in every change and goes on asking."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

pytestmark = [pytest.mark.browser]

MODULE = Path(__file__).resolve().parents[3] / "static" / "js" / "refresh.js"
ORIGIN = "http://refresh.test"

PAGE = """<!doctype html><html lang="en"><head><title>Waiting</title></head><body><main>
<section id="followed" data-refresh="2" data-status-url="/status.json" data-status="open"
  data-text-changed="The answer arrived." data-text-stopped="No longer updating."><p>Waiting</p></section>
</main><script src="/refresh.js" defer></script></body></html>"""
LIVE_PAGE = PAGE.replace('data-refresh="2"', 'data-refresh="2" data-refresh-keep')

# Replaces fetch: answers come from window.answers (the last one repeats), every question is noted in window.asked
# as milliseconds since the page's start on the fake clock. document.hidden follows window.hidden.
STAND_IN = """
window.asked = [];
window.answers = [{status: "open"}];
window.hidden = false;
const start = Date.now();
window.fetch = (url) => {
  window.asked.push(Date.now() - start);
  const body = window.answers.length > 1 ? window.answers.shift() : window.answers[0];
  return Promise.resolve({ok: true, json: () => Promise.resolve(body)});
};
Object.defineProperty(document, "hidden", {get: () => window.hidden});
window.setHidden = (value) => { window.hidden = value; document.dispatchEvent(new Event("visibilitychange")); };
"""


@pytest.fixture
def waiting_page(_playwright_browser, request):
    html = getattr(request, "param", PAGE)
    context = _playwright_browser.new_context()
    page = context.new_page()
    page.set_default_timeout(15_000)
    loads = []

    def serve(route):
        path = route.request.url.removeprefix(ORIGIN)
        if path == "/refresh.js":
            route.fulfill(path=MODULE, content_type="text/javascript")
        else:
            loads.append(path)
            route.fulfill(body=html, content_type="text/html")

    page.route(f"{ORIGIN}/**", serve)
    page.clock.install(time=0)  # before the stand-in, whose clock must be the fake one
    page.clock.pause_at(1_000)
    page.add_init_script(STAND_IN)
    page.goto(f"{ORIGIN}/page")
    page.wait_for_function("document.readyState === 'complete'")
    page.loads = loads
    yield page
    context.close()


def asked(page) -> list[int]:
    return page.evaluate("window.asked")


def announced(page) -> str:
    return page.locator("[data-testid=refresh-announcement]").text_content()


def answer(page, *answers: dict) -> None:
    page.evaluate(f"window.answers = {json.dumps(list(answers))}")


def test_the_wait_grows_by_half_after_each_unchanged_answer_up_to_four_times_the_first(waiting_page):
    waiting_page.clock.run_for(1_999)
    assert asked(waiting_page) == []

    waiting_page.clock.run_for(50_000)

    assert asked(waiting_page)[:8] == [2_000, 5_000, 9_500, 16_250, 24_250, 32_250, 40_250, 48_250]
    assert announced(waiting_page) == ""  # nothing changed, nothing said


def test_a_changed_state_is_shown_in_place_announced_and_never_asked_about_again(waiting_page):
    answer(waiting_page, {"status": "open"}, {"status": "decided", "outcomeHtml": "<p data-testid=outcome>Done</p>"})

    waiting_page.clock.run_for(5_000)
    waiting_page.get_by_test_id("outcome").wait_for()
    waiting_page.clock.run_for(3_600_000)

    assert asked(waiting_page) == [2_000, 5_000]
    assert waiting_page.locator("#followed").get_attribute("data-status") == "decided"
    assert waiting_page.locator("#followed").inner_text() == "Done"
    assert announced(waiting_page) == "The answer arrived."
    live = waiting_page.locator("[data-testid=refresh-announcement]")
    assert (live.get_attribute("role"), live.get_attribute("aria-live")) == ("status", "polite")
    assert waiting_page.loads == ["/page"]  # in place: no reload


def test_nothing_is_asked_while_hidden_and_it_asks_at_once_and_starts_over_when_shown(waiting_page):
    waiting_page.clock.run_for(6_000)  # asked at 2 s and 5 s; the next wait is 4.5 s
    waiting_page.evaluate("window.setHidden(true)")

    waiting_page.clock.run_for(600_000)
    assert asked(waiting_page) == [2_000, 5_000]

    waiting_page.evaluate("window.setHidden(false)")
    waiting_page.clock.run_for(5_000)
    assert asked(waiting_page) == [2_000, 5_000, 606_000, 608_000, 611_000]  # at once, then 2 s, 3 s again


def test_it_gives_up_after_an_hour_and_says_so(waiting_page):
    waiting_page.clock.run_for(3_600_000 + 10_000)
    count = len(asked(waiting_page))

    waiting_page.clock.run_for(3_600_000)

    assert len(asked(waiting_page)) == count and asked(waiting_page)[-1] <= 3_600_000 + 8_000
    assert announced(waiting_page) == "No longer updating."


def test_a_change_without_an_outcome_reloads_the_page_which_then_announces_it(waiting_page):
    answer(waiting_page, {"status": "approved"})

    with waiting_page.expect_navigation():
        waiting_page.clock.run_for(2_000)
    waiting_page.wait_for_function("document.readyState === 'complete'")
    waiting_page.clock.run_for(1_000)

    assert waiting_page.loads == ["/page", "/page"]
    assert announced(waiting_page) == "The answer arrived."
    assert waiting_page.evaluate("sessionStorage.length") == 0  # said once, not after the next reload


@pytest.mark.parametrize("waiting_page", [LIVE_PAGE], indirect=True)
def test_a_live_view_takes_in_every_change_in_place_and_goes_on_asking_from_the_first_wait(waiting_page):
    first = {"status": "a", "outcomeHtml": "<p data-testid=outcome>A</p>"}
    second = {"status": "b", "outcomeHtml": "<p data-testid=outcome>B</p>"}
    answer(waiting_page, {"status": "open"}, first, first, second)

    waiting_page.clock.run_for(16_000)

    # 2 s, +3 s (unchanged); A arrives: 2 s, +3 s; B arrives: 2 s, +3 s
    assert asked(waiting_page) == [2_000, 5_000, 7_000, 10_000, 12_000, 15_000]
    assert waiting_page.locator("#followed").get_attribute("data-status") == "b"
    assert waiting_page.locator("#followed").inner_text() == "B"
    assert announced(waiting_page) == "The answer arrived."
    assert waiting_page.loads == ["/page"]  # in place: no reload

    waiting_page.clock.run_for(3_600_000)
    count = len(asked(waiting_page))
    waiting_page.clock.run_for(600_000)
    assert len(asked(waiting_page)) == count  # the hour is up: it stops, as every waiting page does
    assert announced(waiting_page) == "No longer updating."
