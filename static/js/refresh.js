/*
 * Keeps a page that waits for something asynchronous up to date, without inline script (strict CSP). The one
 * element with data-refresh="<seconds>" opts in:
 * - alone, the page reloads after that many seconds (the payment page waiting for the card payment's confirmation);
 * - with data-status-url="<url>" and data-status="<state>" as well, it asks that JSON endpoint ({"status": ...})
 *   instead. Once "status" differs from the state the page was drawn with, it stops asking and either puts the
 *   answer's "outcomeHtml" in place of the element's content (the dealer's credit check) or, without one, reloads
 *   the page (a lease application).
 * - with data-refresh-keep as well, a live view (the operator's station table): after each in-place update it goes on
 *   asking, the wait starting over from the first, until the page is left, hidden or the hour is up.
 * Backoff: the wait grows by half after every unchanged answer or failed request, up to four times the first; after
 * an hour of asking it stops and says so. Nothing is asked while the page is hidden; shown again, it asks at once and
 * starts over from the first wait.
 * Screen readers hear the change in a polite live region: the element's data-text-changed after an in-place update,
 * or after the reload (carried over it in sessionStorage), and data-text-stopped when it gives up. The texts come
 * from the template, in the page's language.
 */
(function () {
  "use strict";
  var GROWTH = 1.5;
  var LONGEST_WAIT_FACTOR = 4;
  var GIVE_UP_AFTER_MILLISECONDS = 60 * 60 * 1000;
  var CARRIED_KEY = "finlab.refresh.announcement";

  function liveRegion(after) {
    var region = document.createElement("p");
    region.className = "visually-hidden";
    region.setAttribute("role", "status");
    region.setAttribute("aria-live", "polite");
    region.setAttribute("data-testid", "refresh-announcement");
    if (after) {
      after.insertAdjacentElement("afterend", region); // outside the element, whose content may be replaced
    } else {
      (document.querySelector("main") || document.body).appendChild(region);
    }
    return region;
  }

  function carriedAnnouncement() {
    try {
      var carried = JSON.parse(window.sessionStorage.getItem(CARRIED_KEY) || "null");
      window.sessionStorage.removeItem(CARRIED_KEY);
      return carried && carried.path === window.location.pathname ? carried.text : "";
    } catch (failure) {
      return ""; // storage refused (private mode): the reloaded page speaks for itself
    }
  }

  var element = document.querySelector("[data-refresh]");
  var live = null;
  function say(text) {
    if (!text) return;
    live = live || liveRegion(element);
    live.textContent = text;
  }

  var afterReload = carriedAnnouncement();
  if (afterReload) {
    live = liveRegion(element);
    // The region must be in the page before its text changes, or it is not read out.
    window.setTimeout(function () { say(afterReload); }, 250);
  }
  if (!element) return;

  var firstWait = (parseFloat(element.getAttribute("data-refresh")) || 3) * 1000;
  var url = element.getAttribute("data-status-url");
  var shown = element.getAttribute("data-status") || "";
  var keepsAsking = element.hasAttribute("data-refresh-keep");
  var wait = firstWait;
  var started = Date.now();
  var timer = null;
  var asking = false;
  var isDone = false;
  live = live || liveRegion(element);

  function finish(text) {
    isDone = true;
    if (timer !== null) window.clearTimeout(timer);
    timer = null;
    say(text);
  }

  function reload() {
    isDone = true;
    var text = element.getAttribute("data-text-changed");
    if (text && url) {
      try {
        window.sessionStorage.setItem(CARRIED_KEY, JSON.stringify({ path: window.location.pathname, text: text }));
      } catch (failure) {
        // announced by the reloaded page itself, if at all
      }
    }
    window.location.reload();
  }

  function arrive(body) {
    if (typeof body.outcomeHtml !== "string") {
      reload();
      return;
    }
    element.setAttribute("data-status", body.status);
    element.innerHTML = body.outcomeHtml;
    if (!keepsAsking) {
      finish(element.getAttribute("data-text-changed"));
      return;
    }
    shown = body.status;
    wait = firstWait;
    say(element.getAttribute("data-text-changed"));
    schedule();
  }

  function schedule() {
    if (isDone || document.hidden) return;
    if (Date.now() - started > GIVE_UP_AFTER_MILLISECONDS) {
      finish(element.getAttribute("data-text-stopped"));
      return;
    }
    timer = window.setTimeout(ask, wait);
    wait = Math.min(wait * GROWTH, firstWait * LONGEST_WAIT_FACTOR);
  }

  function ask() {
    timer = null;
    if (isDone) return;
    if (!url) {
      reload();
      return;
    }
    asking = true;
    fetch(url, { credentials: "same-origin", headers: { Accept: "application/json" }, cache: "no-store" })
      .then(function (response) { return response.ok ? response.json() : null; })
      .catch(function () { return null; }) // the network may come back: ask again later
      .then(function (body) {
        asking = false;
        if (isDone) return;
        if (body && typeof body.status === "string" && body.status !== shown) {
          arrive(body);
          return;
        }
        schedule();
      });
  }

  document.addEventListener("visibilitychange", function () {
    if (isDone) return;
    if (document.hidden) {
      if (timer !== null) window.clearTimeout(timer);
      timer = null;
      return;
    }
    if (timer === null && !asking) {
      wait = firstWait;
      started = Date.now();
      ask();
    }
  });

  schedule();
})();
