// The network page opens one level at a time: opening a customer (<details
// data-network-level="URL">) fetches the level below it once and puts it in place.
// Without this script each node links to the same level on a page of its own.
(function () {
  "use strict";

  function load(details) {
    if (details.getAttribute("data-loaded")) {
      return;
    }
    details.setAttribute("data-loaded", "1");
    var below = details.querySelector(".network-below");
    fetch(details.getAttribute("data-network-level") + "&fragment=1", {
      credentials: "same-origin",
    })
      .then(function (response) {
        if (!response.ok) {
          throw new Error(String(response.status));
        }
        return response.text();
      })
      .then(function (html) {
        below.classList.remove("small", "text-muted");
        below.innerHTML = html;
      })
      .catch(function () {
        details.removeAttribute("data-loaded");
      });
  }

  // "toggle" does not bubble: listen in the capture phase, for levels added later too.
  document.addEventListener(
    "toggle",
    function (event) {
      var details = event.target;
      if (details.matches && details.matches("details[data-network-level]") && details.open) {
        load(details);
      }
    },
    true
  );
})();
