// Suggestions for a supplier box (<input data-supplier-search="URL">): as the user types a
// name or reference, the customers they may see are listed; picking one fills in its
// reference. Without this script the box still takes a reference typed in full.
(function () {
  "use strict";

  function attach(input) {
    var url = input.getAttribute("data-supplier-search");
    var exclude = input.getAttribute("data-exclude");
    var list = document.createElement("div");
    list.className = "list-group supplier-suggestions position-absolute shadow-sm";
    list.setAttribute("role", "listbox");
    list.hidden = true;
    var chosen = document.createElement("div");
    chosen.className = "form-text supplier-chosen";
    input.parentNode.style.position = "relative";
    input.insertAdjacentElement("afterend", list);
    list.insertAdjacentElement("afterend", chosen);
    var timer = null;
    var asked = 0;

    function show(results) {
      list.textContent = "";
      results.forEach(function (row) {
        var item = document.createElement("button");
        item.type = "button";
        item.className = "list-group-item list-group-item-action small";
        item.setAttribute("role", "option");
        item.textContent = row.name + " · " + row.ref + " · " + row.role + (row.region ? " · " + row.region : "");
        item.addEventListener("click", function () {
          input.value = row.ref;
          chosen.textContent = row.name;
          list.hidden = true;
          input.focus();
        });
        list.appendChild(item);
      });
      list.hidden = results.length === 0;
    }

    function ask() {
      var text = input.value.trim();
      chosen.textContent = "";
      if (!text) {
        show([]);
        return;
      }
      var number = ++asked;
      var query = "?q=" + encodeURIComponent(text) + (exclude ? "&exclude=" + encodeURIComponent(exclude) : "");
      fetch(url + query, { headers: { Accept: "application/json" }, credentials: "same-origin" })
        .then(function (response) { return response.ok ? response.json() : { results: [] }; })
        .then(function (data) { if (number === asked) show(data.results); })
        .catch(function () { show([]); });
    }

    input.addEventListener("input", function () {
      clearTimeout(timer);
      timer = setTimeout(ask, 200);
    });
    input.addEventListener("keydown", function (event) {
      if (event.key === "Escape") list.hidden = true;
      if (event.key === "ArrowDown" && !list.hidden && list.firstChild) {
        event.preventDefault();
        list.firstChild.focus();
      }
    });
    list.addEventListener("keydown", function (event) {
      var item = document.activeElement;
      if (event.key === "ArrowDown" && item.nextSibling) { event.preventDefault(); item.nextSibling.focus(); }
      if (event.key === "ArrowUp") { event.preventDefault(); (item.previousSibling || input).focus(); }
      if (event.key === "Escape") { list.hidden = true; input.focus(); }
    });
    document.addEventListener("click", function (event) {
      if (event.target !== input && !list.contains(event.target)) list.hidden = true;
    });
  }

  document.querySelectorAll("input[data-supplier-search]").forEach(attach);
})();
