// Fills in the period from an XML submission's header (the ISTV minimum data set's REPORTING
// PERIOD START DATE and END DATE) when such a file is chosen for upload. The names those
// elements may have come from the catalogue, on the file input; the hub checks the period
// against the header again when it processes the file, so this only saves typing.
(function () {
  "use strict";
  var input = document.getElementById("id_file");
  var start = document.getElementById("id_period_start");
  var end = document.getElementById("id_period_end");
  if (!input || !start || !end || !input.dataset.xmlPeriodStart || !window.FileReader) {
    return;
  }
  var startNames = input.dataset.xmlPeriodStart.split(" ");
  var endNames = input.dataset.xmlPeriodEnd.split(" ");
  // The header comes before the records: the start of the file is enough, however long it is.
  var HEAD_BYTES = 256 * 1024;
  // An element holding text: its name (without a namespace prefix) and the text.
  var ELEMENT = /<(?:[A-Za-z_][\w.-]*:)?([A-Za-z_][\w.-]*)[^<>]*>\s*([^<]*?)\s*<\//g;

  // As the hub compares column names: case, spacing and punctuation do not matter.
  function normalise(name) {
    return name.toLowerCase().replace(/[^0-9a-z]+/g, "_").replace(/^_+|_+$/g, "");
  }

  function isoDate(text) {
    var found = /^(\d{4}-\d{2}-\d{2})/.exec(text);
    return found ? found[1] : null;
  }

  function fill(text) {
    var first = null;
    var last = null;
    var match;
    ELEMENT.lastIndex = 0;
    while ((match = ELEMENT.exec(text)) !== null && !(first && last)) {
      var name = normalise(match[1]);
      if (!first && startNames.indexOf(name) >= 0) {
        first = isoDate(match[2]);
      } else if (!last && endNames.indexOf(name) >= 0) {
        last = isoDate(match[2]);
      }
    }
    if (first && last) {
      start.value = first;
      end.value = last;
    }
  }

  input.addEventListener("change", function () {
    var file = input.files && input.files[0];
    if (!file || !/\.xml$/i.test(file.name)) {
      return;
    }
    var reader = new FileReader();
    reader.onload = function () {
      fill(String(reader.result));
    };
    reader.readAsText(file.slice(0, HEAD_BYTES));
  });
})();
