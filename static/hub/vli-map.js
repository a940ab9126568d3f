// The Vulnerable Localities Index's choropleth: the areas' boundaries shaded by the class of
// their VLI, priority neighbourhoods (VLI over 200) outlined. The page writes every number
// into the "vli-data" JSON block (json_script), as the user's access allows; nothing is fetched.
(function () {
  "use strict";
  var element = document.getElementById("vli-map");
  var data = document.getElementById("vli-data");
  if (!element || !data || !window.L) {
    return;
  }
  var choropleth = JSON.parse(data.textContent);
  var status = document.getElementById("map-status");
  var legend = document.getElementById("map-legend");
  // ColorBrewer YlOrRd, one colour per class, lowest first; grey for an area with no VLI.
  var palette = ["#ffffb2", "#fecc5c", "#fd8d3c", "#f03b20", "#bd0026"];
  var noValue = "#b1b4b6";

  var map = L.map(element, { zoomSnap: 0.5 });
  map.attributionControl.addAttribution(choropleth.attribution);
  if (choropleth.tileUrl) {
    L.tileLayer(choropleth.tileUrl, {
      maxZoom: 19, attribution: choropleth.tileAttribution || ""
    }).addTo(map);
  }

  function colour(properties) {
    return properties["class"] > 0 ? palette[properties["class"] - 1] : noValue;
  }

  function describe(properties) {
    var text = properties.name + " (" + properties.code + "): ";
    if (properties.vli === null) {
      return text + "no VLI";
    }
    text += "VLI " + properties.vli + ", rank " + properties.rank;
    return properties.priority ? text + ", a priority neighbourhood" : text;
  }

  function legendRow(fill, text) {
    var row = document.createElement("li");
    var swatch = document.createElement("span");
    swatch.className = "swatch";
    swatch.style.backgroundColor = fill;
    row.appendChild(swatch);
    row.appendChild(document.createTextNode(text));
    return row;
  }

  function drawLegend() {
    var list = document.createElement("ul");
    choropleth.legend.forEach(function (label, level) {
      list.appendChild(legendRow(palette[level], "VLI " + label));
    });
    list.appendChild(legendRow(noValue, "No VLI (a statistic is missing)"));
    var caption = document.createElement("p");
    caption.textContent = "Areas shaded by their VLI; a thick outline marks a priority neighbourhood (VLI over 200).";
    legend.textContent = "";
    legend.appendChild(caption);
    legend.appendChild(list);
  }

  var areas = L.geoJSON(choropleth.areas, {
    style: function (feature) {
      var priority = feature.properties.priority;
      return {
        className: "hub-area" + (priority ? " hub-priority" : ""),
        color: priority ? "#0b0c0c" : "#6f4e37",
        weight: priority ? 3 : 0.5,
        fillColor: colour(feature.properties),
        fillOpacity: 0.75
      };
    },
    onEachFeature: function (feature, layer) {
      layer.bindTooltip(window.hubText(describe(feature.properties)));
    }
  }).addTo(map);

  var bounds = areas.getBounds();
  if (bounds.isValid()) {
    map.fitBounds(bounds, { padding: [20, 20] });
    status.textContent = choropleth.areas.features.length + " areas drawn.";
  } else {
    map.setView([54, -2], 6);
    status.textContent = "No boundaries of these areas have been imported: the table below has every area.";
  }
  drawLegend();
  element.dataset.drawn = "true";
})();
