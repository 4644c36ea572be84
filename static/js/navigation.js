// The header's menu button on narrow screens: shows and hides the main navigation. Without this script (or on wide
// screens) the navigation is simply always shown; the stylesheet hides it only under `html.nav-collapsible`.
(function () {
  "use strict";
  var button = document.querySelector(".nav-toggle");
  var nav = document.getElementById("site-nav");
  if (!button || !nav) return;
  document.documentElement.classList.add("nav-collapsible");
  button.hidden = false;
  button.addEventListener("click", function () {
    var isOpen = button.getAttribute("aria-expanded") === "true";
    button.setAttribute("aria-expanded", isOpen ? "false" : "true");
    nav.classList.toggle("is-open", !isOpen);
  });
})();
