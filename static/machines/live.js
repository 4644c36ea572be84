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
      row.appendChild(cell(connected, "machines-state-" + connected));
      row.appendChild(cell(station.status, "machines-state-" + station.status));
      row.appendChild(cell(String(station.active_sessions)));
      row.appendChild(cell(station.last_seen_at ? station.last_seen_at.replace("T", " ").slice(0, 19) : ""));
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
