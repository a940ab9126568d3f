// Text for Leaflet's tooltips. Leaflet writes a string tooltip as HTML, and area names come
// from imported files, so the maps hand it an element holding the text instead.
window.hubText = function (text) {
  "use strict";
  var span = document.createElement("span");
  span.textContent = text;
  return span;
};
