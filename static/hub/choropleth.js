// The areas page: draws the choropleth from the page's own data (json_script "areas-data",
// as sharing.workspace.areas released it: classes always, counts and rates only where they
// may be shown), and lets the table below be sorted by any column.
(function () {
  "use strict";
  // ColorBrewer YlOrRd, five classes; grey for an area with no value (no rate).
  var palette = ["#d9d9d9", "#ffffb2", "#fecc5c", "#fd8d3c", "#f03b20", "#bd0026"];

  function tooltipText(feature, data, labels) {
    var p = feature.properties;
    var text = p.name + (p.approximate ? " (approximate boundary)" : "");
    if (data.shown) {
      text += ": " + Number(p.count).toLocaleString("en-GB") + (p.count === 1 ? " record" : " records");
      if (p.rate !== undefined && p.rate !== null) {
        text += ", " + p.rate.toLocaleString("en-GB") + " per 1,000";
      }
    } else {
      text += ": " + (labels[p["class"]] || "no value");
    }
    return text;
  }

  function drawMap() {
    var element = document.getElementById("areas-map");
    var source = document.getElementById("areas-data");
    if (!element || !source || !window.L) {
      return;
    }
    var data = JSON.parse(source.textContent);
    var labels = {};
    data.legend.forEach(function (entry) { labels[entry["class"]] = entry.label; });
    var selected = document.getElementById("areas-selected");
    var map = L.map(element, { zoomSnap: 0.5 });
    map.attributionControl.addAttribution(element.dataset.attribution);
    if (element.dataset.tileUrl) {
      L.tileLayer(element.dataset.tileUrl, {
        maxZoom: 19, attribution: element.dataset.tileAttribution || ""
      }).addTo(map);
    }
    var layer = L.geoJSON(data.geojson, {
      style: function (feature) {
        var level = feature.properties["class"];
        return {
          className: "hub-area hub-area-class-" + level,
          color: "#505a5f", weight: 1,
          dashArray: feature.properties.approximate ? "4 3" : null,
          fillColor: palette[level] || palette[0], fillOpacity: 0.8
        };
      },
      onEachFeature: function (feature, area) {
        var text = tooltipText(feature, data, labels);
        area.bindTooltip(window.hubText(text), { sticky: true });
        area.on("click", function () {
          if (selected) {
            selected.textContent = text;
          }
        });
      }
    }).addTo(map);
    var bounds = layer.getBounds();
    if (bounds.isValid()) {
      map.fitBounds(bounds, { padding: [20, 20], maxZoom: 15 });
    } else {
      map.setView([54, -2], 6);
    }
    element.dataset.drawn = "true";
  }

  function sortValue(cell) {
    var raw = cell.dataset.sort !== undefined ? cell.dataset.sort : cell.textContent.trim();
    var number = Number(raw);
    return raw !== "" && !isNaN(number) ? number : raw.toLowerCase();
  }

  function sortable(table) {
    var headers = table.querySelectorAll("thead th");
    Array.prototype.forEach.call(headers, function (header, column) {
      var button = document.createElement("button");
      button.type = "button";
      while (header.firstChild) {
        button.appendChild(header.firstChild);
      }
      header.appendChild(button);
      button.addEventListener("click", function () {
        var ascending = header.getAttribute("aria-sort") !== "ascending";
        Array.prototype.forEach.call(headers, function (other) { other.removeAttribute("aria-sort"); });
        header.setAttribute("aria-sort", ascending ? "ascending" : "descending");
        var body = table.tBodies[0];
        var rows = Array.prototype.slice.call(body.rows);
        rows.sort(function (a, b) {
          var x = sortValue(a.cells[column]);
          var y = sortValue(b.cells[column]);
          if (typeof x !== typeof y) {
            x = String(x);
            y = String(y);
          }
          var order = x < y ? -1 : x > y ? 1 : 0;
          return ascending ? order : -order;
        });
        rows.forEach(function (row) { body.appendChild(row); });
      });
    });
  }

  drawMap();
  Array.prototype.forEach.call(document.querySelectorAll("table[data-sortable]"), sortable);
})();
