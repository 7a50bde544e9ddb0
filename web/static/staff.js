// Process page: a toggle button shrinks the map to fit the page, or shows it at full size.
(function () {
  "use strict";
  document.querySelectorAll("[data-map-toggle]").forEach(function (button) {
    var map = document.getElementById(button.getAttribute("aria-controls"));
    if (!map) return;
    var tools = button.closest("[hidden]");
    if (tools) tools.removeAttribute("hidden");
    button.addEventListener("click", function () {
      var fits = map.classList.toggle("fit");
      button.setAttribute("aria-pressed", fits ? "true" : "false");
    });
  });
})();
