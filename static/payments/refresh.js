// Keeps a page that waits for something asynchronous up to date, without inline script (strict CSP):
// - an element with data-refresh="<seconds>" alone reloads the page after that many seconds;
// - with data-status-url="<url>" and data-status="<state>" as well, it asks that JSON endpoint every <seconds>
//   instead and reloads only once its "status" differs from the state the page was drawn with. Polling slows down
//   after ten minutes and stops after an hour; a failed request is simply tried again on the next turn.
(function () {
  "use strict";
  var element = document.querySelector("[data-refresh]");
  if (!element) return;
  var seconds = parseInt(element.getAttribute("data-refresh"), 10) || 3;
  var url = element.getAttribute("data-status-url");
  if (!url) {
    window.setTimeout(function () { window.location.reload(); }, seconds * 1000);
    return;
  }
  var shown = element.getAttribute("data-status") || "";
  var started = Date.now();
  function next() {
    var waited = Date.now() - started;
    if (waited > 60 * 60 * 1000) return;
    window.setTimeout(poll, (waited > 10 * 60 * 1000 ? seconds * 4 : seconds) * 1000);
  }
  function poll() {
    if (document.hidden) { next(); return; }
    fetch(url, { credentials: "same-origin", headers: { Accept: "application/json" }, cache: "no-store" })
      .then(function (response) { return response.ok ? response.json() : null; })
      .then(function (body) {
        if (body && typeof body.status === "string" && body.status !== shown) { window.location.reload(); return; }
        next();
      })
      .catch(next);
  }
  next();
})();
