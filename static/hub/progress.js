// Live progress for a supply or an extract: polls its API until the work ends, then reloads
// the page so that the report or the download shows.
(function () {
  "use strict";
  var panel = document.getElementById("progress");
  if (!panel || panel.dataset.finished === "true") {
    return;
  }
  var bar = document.getElementById("progress-bar");
  var percent = document.getElementById("progress-percent");
  var label = document.getElementById("progress-status");
  var labels = {
    queued: "Queued", loading: "Checking and loading", reporting: "Writing the report",
    running: "Running", completed: "Completed", rejected: "Rejected", failed: "Failed",
    expired: "Expired and deleted"
  };
  var finished = ["completed", "rejected", "failed", "expired"];

  function poll() {
    fetch(panel.dataset.statusUrl, { credentials: "same-origin", headers: { Accept: "application/json" } })
      .then(function (response) { return response.ok ? response.json() : Promise.reject(response.status); })
      .then(function (supply) {
        bar.value = supply.progress;
        bar.textContent = supply.progress + "%";
        if (percent) {
          percent.textContent = supply.progress + "%";
        }
        label.textContent = labels[supply.status] || supply.status;
        if (finished.indexOf(supply.status) >= 0) {
          window.location.reload();
        } else {
          window.setTimeout(poll, 1000);
        }
      })
      .catch(function () { window.setTimeout(poll, 3000); });
  }
  window.setTimeout(poll, 500);
})();
