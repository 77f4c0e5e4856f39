// A run's page: while the run is queued or running, its state is polled and the progress
// shown; once it ends the page reloads to show the results (or why it failed). The methods
// paragraph has a copy button.
(function () {
  "use strict";
  const panel = document.querySelector("[data-run-state]");
  if (panel) {
    const status = document.getElementById("run-status");
    const stage = document.getElementById("run-stage");
    const bar = document.getElementById("run-progress");
    const active = ["queued", "running"];
    let delay = 500;
    function poll() {
      fetch(panel.dataset.runState, { headers: { Accept: "application/json" } })
        .then(function (response) { return response.ok ? response.json() : null; })
        .then(function (state) {
          if (state === null) { window.setTimeout(poll, 5000); return; }
          if (active.indexOf(state.status) < 0) { window.location.reload(); return; }
          const progress = state.progress || {};
          status.textContent = state.status;
          stage.textContent = progress.stage || "";
          if (progress.iterations_total) {
            bar.max = progress.iterations_total;
            bar.value = progress.iterations_done || 0;
            bar.textContent = bar.value + " / " + bar.max;
            bar.hidden = false;
          }
          delay = Math.min(delay * 1.5, 3000);
          window.setTimeout(poll, delay);
        })
        .catch(function () { window.setTimeout(poll, 5000); });
    }
    window.setTimeout(poll, delay);
  }
  const copy = document.getElementById("copy-methods");
  if (copy) {
    copy.hidden = false;
    copy.addEventListener("click", function () {
      const text = document.getElementById("methods").innerText;
      const done = function () { document.getElementById("copy-status").textContent = "Copied."; };
      if (navigator.clipboard && window.isSecureContext) {
        navigator.clipboard.writeText(text).then(done);
      } else {  // plain http (a laptop's own server): select the text and copy it
        const range = document.createRange();
        range.selectNodeContents(document.getElementById("methods"));
        const selection = window.getSelection();
        selection.removeAllRanges();
        selection.addRange(range);
        if (document.execCommand("copy")) done();
      }
    });
  }
})();
