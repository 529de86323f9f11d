// Report progress without a meta refresh: poll the status URL on the element with data-status-url.
// data-kind="batch": update the <progress> bar and the "N of M ready" text, reload the page once the batch
// is finished (the server then shows the ZIP download and any failures).
// data-kind="file": reveal the download link once the PDF is ready, or say that it could not be made.
// Without JavaScript the pages still work: each has a plain link to check again.
(function () {
  "use strict";
  var box = document.querySelector("[data-status-url]");
  if (!box || !window.fetch) { return; }
  var url = box.getAttribute("data-status-url");
  var kind = box.getAttribute("data-kind");
  var text = box.querySelector("[data-progress-text]");
  var bar = box.querySelector("progress");
  var readyLink = box.querySelector("[data-ready-link]");
  var hint = box.querySelector("[data-waiting-hint]");
  var delay = 1500;
  var maxDelay = 10000;
  var giveUpAfter = 10 * 60 * 1000;
  var started = Date.now();

  function say(message) {
    if (text && text.textContent !== message) { text.textContent = message; }
  }

  function showBatch(state) {
    if (bar) {
      bar.max = Math.max(1, state.total);
      bar.value = state.done;
      bar.textContent = state.text;
    }
    say(state.text + (state.failed ? ", " + state.failed + " failed." : "."));
    if (state.finished) {
      window.location.reload();
      return true;
    }
    return false;
  }

  function showFile(state) {
    if (state.ready) {
      say("Your PDF is ready.");
      if (readyLink) { readyLink.hidden = false; }
      if (hint) { hint.hidden = true; }
      return true;
    }
    if (state.failed) {
      say("The PDF could not be made just now. Please try again later, or ask the agency that sent it.");
      if (hint) { hint.hidden = true; }
      return true;
    }
    return false;
  }

  function later() {
    if (Date.now() - started > giveUpAfter) {
      say("This is taking longer than usual. Please try again in a few minutes.");
      return;
    }
    window.setTimeout(poll, delay);
    delay = Math.min(maxDelay, Math.round(delay * 1.3));
  }

  function poll() {
    window.fetch(url, { credentials: "same-origin", headers: { "Accept": "application/json" } })
      .then(function (response) {
        if (!response.ok) { throw new Error("status " + response.status); }
        return response.json();
      })
      .then(function (state) {
        var done = kind === "batch" ? showBatch(state) : showFile(state);
        if (!done) { later(); }
      })
      .catch(later);
  }

  window.setTimeout(poll, delay);
}());
