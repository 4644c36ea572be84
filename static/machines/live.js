// Refreshes the operator's live station table from the JSON endpoint every 5 seconds.
(function () {
  "use strict";
  var table = document.getElementById("station-live");
  if (!table) { return; }
  function cell(text, className) {
    var td = document.createElement("td");
    td.textContent = text;
    if (className) { td.className = className; }
    return td;
  }
  function render(stations) {
    var body = table.tBodies[0];
    while (body.firstChild) { body.removeChild(body.firstChild); }
    stations.forEach(function (station) {
      var row = document.createElement("tr");
      var connected = station.is_connected ? "connected" : "disconnected";
      row.dataset.station = station.station_id;
      row.appendChild(cell(station.station_id + " " + station.name));
      // Words in the page's language (data-text-* of the table), times as the server wrote them for this reader:
      // in their zone and language with the zone named, the same as the first rendering of the page.
      row.appendChild(cell(table.dataset["text" + connected.charAt(0).toUpperCase() + connected.slice(1)] || connected,
        "machines-state-" + connected));
      row.appendChild(cell(station.status_label || station.status, "machines-state-" + station.status));
      row.appendChild(cell(String(station.active_sessions)));
      row.appendChild(cell(station.last_seen_text || ""));
      body.appendChild(row);
    });
  }
  function refresh() {
    fetch(table.dataset.source, { credentials: "same-origin", headers: { "Accept": "application/json" } })
      .then(function (response) { return response.ok ? response.json() : null; })
      .then(function (data) { if (data) { render(data.stations); } })
      .catch(function () { /* keep the last table; the next tick retries */ });
  }
  window.setInterval(refresh, 5000);
}());
