/* The import job page follows its job: every second it asks /jobs/<id>.json for the progress,
 * moves the bar and shows the job's message; when the job has finished it reloads the page,
 * which then shows the result or the error. Without JavaScript the page refreshes itself. */
(function () {
  "use strict";

  var url = document.body.getAttribute("data-job-status-url");
  var bar = document.getElementById("job-progress");
  var message = document.getElementById("job-message");
  if (!url || !bar) {
    return;
  }
  var failures = 0;

  function show(status) {
    bar.value = status.progress;
    bar.textContent = Math.round(status.progress * 100) + "%";
    if (message && message.textContent !== status.message) {
      message.textContent = status.message;
    }
  }

  function poll() {
    fetch(url, { credentials: "same-origin", headers: { Accept: "application/json" } })
      .then(function (response) {
        if (!response.ok) {
          throw new Error("status " + response.status);
        }
        return response.json();
      })
      .then(function (status) {
        failures = 0;
        show(status);
        if (status.finished) {
          window.location.reload();
        } else {
          window.setTimeout(poll, 1000);
        }
      })
      .catch(function () {
        failures += 1;
        if (message && failures === 3) {
          message.textContent = "Cannot reach the server; still trying.";
        }
        window.setTimeout(poll, Math.min(10000, 1000 * (failures + 1)));
      });
  }

  window.setTimeout(poll, 1000);
})();
