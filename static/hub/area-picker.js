// The area picker: progressive enhancement of any <input data-area-picker name="areas">.
// Typing lists the partnership's matching wards, LSOAs, MSOAs, local authorities and postcode
// districts (from the search URL in data-search-url); choosing one, by keyboard or mouse,
// adds a removable chip. The areas still go in the original field, comma-separated codes
// (or the text typed), so the form sends what it sends without this script.
(function () {
  "use strict";
  var WAIT = 150; // milliseconds after the last key before asking
  var counter = 0;

  function parts(value) {
    return value.split(",").map(function (part) { return part.trim(); })
      .filter(function (part) { return part; });
  }

  function partnershipParam() {
    var partnership = new URLSearchParams(window.location.search).get("partnership");
    return partnership ? "&partnership=" + encodeURIComponent(partnership) : "";
  }

  function enhance(field) {
    counter += 1;
    var prefix = "area-picker-" + counter;
    var chosen = parts(field.value).map(function (text) { return { value: text, label: text }; });
    var options = [];
    var active = -1;
    var timer = null;
    var asked = 0;

    var wrapper = document.createElement("div");
    wrapper.className = "area-picker";
    var chips = document.createElement("ul");
    chips.className = "area-picker-chips";
    chips.setAttribute("aria-label", "Areas chosen");
    var typing = document.createElement("input");
    typing.type = "text";
    typing.autocomplete = "off";
    typing.placeholder = field.placeholder || "Type an area's name or code";
    typing.size = field.size || 20;
    typing.setAttribute("role", "combobox");
    typing.setAttribute("aria-autocomplete", "list");
    typing.setAttribute("aria-expanded", "false");
    typing.setAttribute("aria-controls", prefix + "-list");
    var list = document.createElement("ul");
    list.id = prefix + "-list";
    list.className = "area-picker-list";
    list.setAttribute("role", "listbox");
    list.hidden = true;
    var status = document.createElement("span");
    status.className = "area-picker-status";
    status.setAttribute("role", "status");
    status.setAttribute("aria-live", "polite");

    // The label points at the box one types in; the original field keeps its name and value.
    if (field.id) {
      typing.id = field.id;
      field.id = prefix + "-value";
    }
    if (field.getAttribute("aria-describedby")) {
      typing.setAttribute("aria-describedby", field.getAttribute("aria-describedby"));
    }
    field.type = "hidden";
    field.parentNode.insertBefore(wrapper, field);
    wrapper.appendChild(chips);
    wrapper.appendChild(typing);
    wrapper.appendChild(list);
    wrapper.appendChild(status);
    wrapper.appendChild(field);

    function store() {
      field.value = chosen.map(function (one) { return one.value; }).join(", ");
    }

    function drawChips() {
      chips.textContent = "";
      chosen.forEach(function (one, index) {
        var chip = document.createElement("li");
        chip.className = "area-picker-chip";
        chip.appendChild(document.createTextNode(one.label));
        var remove = document.createElement("button");
        remove.type = "button";
        remove.textContent = "×";
        remove.setAttribute("aria-label", "Remove " + one.label);
        remove.addEventListener("click", function () {
          chosen.splice(index, 1);
          store();
          drawChips();
          typing.focus();
        });
        chip.appendChild(remove);
        chips.appendChild(chip);
      });
    }

    function close() {
      list.hidden = true;
      list.textContent = "";
      options = [];
      active = -1;
      typing.setAttribute("aria-expanded", "false");
      typing.removeAttribute("aria-activedescendant");
    }

    function highlight(index) {
      var items = list.children;
      for (var i = 0; i < items.length; i += 1) {
        items[i].setAttribute("aria-selected", i === index ? "true" : "false");
      }
      active = index;
      if (index >= 0 && items[index]) {
        typing.setAttribute("aria-activedescendant", items[index].id);
        items[index].scrollIntoView({ block: "nearest" });
      } else {
        typing.removeAttribute("aria-activedescendant");
      }
    }

    function choose(index) {
      var option = options[index];
      if (!option) {
        return;
      }
      if (!chosen.some(function (one) { return one.value === option.code; })) {
        chosen.push({ value: option.code, label: option.label });
      }
      store();
      drawChips();
      typing.value = "";
      close();
      typing.focus();
    }

    function show(results) {
      list.textContent = "";
      options = results;
      active = -1;
      results.forEach(function (option, index) {
        var item = document.createElement("li");
        item.id = prefix + "-option-" + index;
        item.setAttribute("role", "option");
        item.setAttribute("aria-selected", "false");
        item.textContent = option.label;
        // mousedown, not click: it comes before the box loses focus and the list closes.
        item.addEventListener("mousedown", function (event) {
          event.preventDefault();
          choose(index);
        });
        list.appendChild(item);
      });
      list.hidden = results.length === 0;
      typing.setAttribute("aria-expanded", results.length ? "true" : "false");
      status.textContent = results.length
        ? results.length + (results.length === 1 ? " area matches" : " areas match")
        : "No area matches";
    }

    function search() {
      var text = typing.value.trim();
      if (!text) {
        close();
        return;
      }
      asked += 1;
      var ask = asked;
      fetch(field.dataset.searchUrl + "?q=" + encodeURIComponent(text) + partnershipParam(), {
        credentials: "same-origin", headers: { Accept: "application/json" }
      })
        .then(function (response) { return response.ok ? response.json() : { results: [] }; })
        .then(function (body) {
          if (ask === asked) { // an older answer arriving late is dropped
            show(body.results || []);
          }
        })
        .catch(function () { close(); });
    }

    typing.addEventListener("input", function () {
      window.clearTimeout(timer);
      timer = window.setTimeout(search, WAIT);
    });
    typing.addEventListener("keydown", function (event) {
      var open = !list.hidden && options.length > 0;
      if (event.key === "ArrowDown" && open) {
        event.preventDefault();
        highlight(Math.min(active + 1, options.length - 1));
      } else if (event.key === "ArrowUp" && open) {
        event.preventDefault();
        highlight(Math.max(active - 1, 0));
      } else if (event.key === "Enter" && open && active >= 0) {
        event.preventDefault();
        choose(active);
      } else if (event.key === "Escape" && open) {
        event.preventDefault();
        close();
      } else if (event.key === "Backspace" && !typing.value && chosen.length) {
        chosen.pop();
        store();
        drawChips();
      }
    });
    typing.addEventListener("blur", function () {
      window.setTimeout(close, 100);
    });
    // Text typed but not chosen still goes with the form, for the server to find or refuse.
    if (field.form) {
      field.form.addEventListener("submit", function () {
        var typed = typing.value.trim();
        store();
        if (typed) {
          field.value = field.value ? field.value + ", " + typed : typed;
        }
      });
    }
    drawChips();
  }

  Array.prototype.forEach.call(document.querySelectorAll("input[data-area-picker]"), enhance);
})();
