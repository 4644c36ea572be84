// Reloads a page that waits for an asynchronous confirmation (element with data-refresh="<seconds>").
(function () {
  "use strict";
  var element = document.querySelector("[data-refresh]");
  if (element) {
    var seconds = parseInt(element.getAttribute("data-refresh"), 10) || 3;
    window.setTimeout(function () { window.location.reload(); }, seconds * 1000);
  }
})();
