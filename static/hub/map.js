// The hotspot map: fetches the map API for the page's filters and draws the partnership's
// outline, the hexagons and (for record-level access) the points. Every number on the map
// comes from the API, which leaves them out for aggregate-level access.
(function () {
  "use strict";
  var element = document.getElementById("map");
  if (!element || !window.L) {
    return;
  }
  var status = document.getElementById("map-status");
  var legend = document.getElementById("map-legend");
  var smallNumber = element.dataset.smallNumber;
  // ColorBrewer YlOrRd, one colour per class: fifths of the largest count for record-level
// access, fifths by rank (no magnitude) for aggregate-level access.
  var palette = ["#ffffb2", "#fecc5c", "#fd8d3c", "#f03b20", "#bd0026"];
  var fifths = ["Lowest fifth", "Second fifth", "Middle fifth", "Fourth fifth", "Highest fifth"];

  var map = L.map(element, { zoomSnap: 0.5 });
  map.attributionControl.addAttribution(element.dataset.attribution);
  if (element.dataset.tileUrl) {
    L.tileLayer(element.dataset.tileUrl, {
      maxZoom: 19, attribution: element.dataset.tileAttribution || ""
    }).addTo(map);
  }
  // Own panes so that the wards and LSOAs and the outline stay under the hexagons and the
  // points above them; the hexagons keep Leaflet's overlay pane.
  map.createPane("hub-areas").style.zIndex = 340;
  map.createPane("hub-outline").style.zIndex = 350;
  map.createPane("hub-points").style.zIndex = 450;

  function plural(count, word) {
    return count.toLocaleString("en-GB") + " " + word + (count === 1 ? "" : "s");
  }

  function say(text, isError) {
    status.textContent = text;
    status.className = "map-status" + (isError ? " error" : "");
  }

  function outlineLayer(outline) {
    return L.geoJSON(outline, {
      pane: "hub-outline",
      interactive: false,
      style: { color: "#505a5f", weight: 1.5, dashArray: "4 4", fill: false },
      pointToLayer: function (feature, latlng) {
        return L.circleMarker(latlng, {
          pane: "hub-outline", radius: 1.5, stroke: false, fillColor: "#505a5f",
          fillOpacity: 0.5, interactive: false
        });
      }
    });
  }

  // The partnership's wards (named on the map) or LSOAs (named on hovering): where things are
  // without tiles. Names and boundaries only.
  function areaLayer(areas, kind) {
    return L.geoJSON(areas, {
      pane: "hub-areas",
      style: function (feature) {
        return {
          className: "hub-area-outline hub-area-" + kind,
          color: kind === "ward" ? "#0b0c0c" : "#505a5f",
          weight: kind === "ward" ? 1.2 : 0.6, fill: true, fillOpacity: 0,
          dashArray: feature.properties.approximate ? "3 3" : null
        };
      },
      onEachFeature: function (feature, layer) {
        // Ward names stay on the map, so short; whether a boundary is approximate shows in its
        // dashed outline and the note under the map.
        var name = feature.properties.name;
        if (kind !== "ward" && feature.properties.approximate) {
          name += " (approximate boundary)";
        }
        layer.bindTooltip(window.hubText(name), kind === "ward"
          ? { permanent: true, direction: "center", className: "hub-area-label" }
          : { sticky: true });
      }
    });
  }

  function hexLayer(hexes, recordsAllowed) {
    return L.geoJSON(hexes, {
      style: function (feature) {
        return {
          className: "hub-hex", color: "#6f4e37", weight: 0.5,
          fillColor: palette[feature.properties["class"] - 1], fillOpacity: 0.75
        };
      },
      onEachFeature: function (feature, layer) {
        layer.bindTooltip(recordsAllowed
          ? plural(feature.properties.count, "record")
          : fifths[feature.properties["class"] - 1] + " of the areas shown");
      }
    });
  }

  function pointLayer(points) {
    return L.geoJSON(points, {
      pane: "hub-points",
      pointToLayer: function (feature, latlng) {
        return L.circleMarker(latlng, {
          pane: "hub-points", className: "hub-point",
          radius: Math.min(3 + 2 * Math.sqrt(feature.properties.count), 16),
          color: "#0b0c0c", weight: 1, fillColor: "#1d70b8", fillOpacity: 0.6
        }).bindTooltip(plural(feature.properties.count, "record") + " at this location");
      }
    });
  }

  function legendRow(colour, text) {
    var row = document.createElement("li");
    var swatch = document.createElement("span");
    swatch.className = "swatch";
    swatch.style.backgroundColor = colour;
    row.appendChild(swatch);
    row.appendChild(document.createTextNode(text));
    return row;
  }

  function drawLegend(layers) {
    var list = document.createElement("ul");
    var ranges = [];
    layers.hexes.features.forEach(function (feature) {
      var level = feature.properties["class"] - 1;
      var count = feature.properties.count;
      if (layers.precise) {
        ranges[level] = ranges[level] || [count, count];
        ranges[level] = [Math.min(ranges[level][0], count), Math.max(ranges[level][1], count)];
      } else {
        ranges[level] = true;
      }
    });
    palette.forEach(function (colour, level) {
      if (!ranges[level]) {
        return;
      }
      var text = fifths[level] + " of the areas shown";
      if (layers.precise) {
        text = ranges[level][0] === ranges[level][1]
          ? plural(ranges[level][0], "record") + " per hexagon"
          : ranges[level][0] + "–" + ranges[level][1] + " records per hexagon";
      }
      list.appendChild(legendRow(colour, text));
    });
    var caption = document.createElement("p");
    caption.textContent = layers.precise
      ? "Hexagons " + layers.hex + " m across, shaded by their counts; circles are sanitised locations, sized by their records."
      : "Concentrations only, as your access to this dataset gives no exact locations: hexagons " +
        layers.hex + " m across holding fewer than about " + smallNumber + " records are not shown.";
    legend.textContent = "";
    legend.appendChild(caption);
    legend.appendChild(list);
  }

  // "2026-10-01" as the hub writes days everywhere: "01/10/2026".
  function day(iso) {
    var parts = String(iso).split("-");
    return parts.length === 3 ? parts[2] + "/" + parts[1] + "/" + parts[0] : String(iso);
  }

  function describe(layers) {
    var hexCount = layers.hexes.features.length;
    if (!layers.precise) {
      return hexCount ? "Where these records are concentrated." :
        "No area has " + smallNumber + " or more records for these filters.";
    }
    if (!layers.total) {
      return "No records match these filters.";
    }
    var text = plural(layers.total, "record") + " from " + day(layers.period[0]) + " to " + day(layers.period[1]);
    if (layers.unlocated) {
      text += "; " + plural(layers.unlocated, "record") + " without a location cannot be shown";
    }
    return text + ".";
  }

  function draw(layers) {
    var outline = outlineLayer(layers.outline).addTo(map);
    var hexes = hexLayer(layers.hexes, layers.precise).addTo(map);
    var overlays = { "Partnership": outline };
    var areas = layers.areas || { wards: { features: [] }, lsoas: { features: [] } };
    if (areas.wards.features.length) {
      overlays.Wards = areaLayer(areas.wards, "ward").addTo(map);
    }
    if (areas.lsoas.features.length) {
      overlays.LSOAs = areaLayer(areas.lsoas, "lsoa");
    }
    if (areas.wards.features.length || areas.lsoas.features.length) {
      map.attributionControl.addAttribution(
        "Source: Office for National Statistics licensed under the Open Government Licence v.3.0");
    }
    overlays.Hexagons = hexes;
    if (layers.points) {
      overlays.Points = pointLayer(layers.points).addTo(map);
    }
    L.control.layers(null, overlays, { collapsed: false }).addTo(map);
    var bounds = hexes.getBounds().isValid() ? hexes.getBounds() : outline.getBounds();
    if (bounds.isValid()) {
      map.fitBounds(bounds, { padding: [20, 20], maxZoom: 15 });
    } else {
      map.setView([54, -2], 6);
    }
    drawLegend(layers);
    say(describe(layers), false);
    element.dataset.drawn = "true";
  }

  fetch(element.dataset.apiUrl + "?" + element.dataset.query, {
    credentials: "same-origin", headers: { Accept: "application/json" }
  })
    .then(function (response) {
      return response.json().then(function (body) {
        return response.ok ? body : Promise.reject(body.detail || "The map could not be loaded.");
      });
    })
    .then(draw)
    .catch(function (reason) {
      map.setView([54, -2], 6);
      say(typeof reason === "string" ? reason : "The map could not be loaded.", true);
    });
})();
