// Live preview for the scenario form: posts the form (with its CSRF token) to the preview endpoint
// after a pause in typing and shows the candidate's view. The server renders and sanitizes it.
(function () {
  "use strict";
  var form = document.getElementById("scenario-form");
  var target = document.getElementById("preview");
  if (!form || !target || !window.fetch) { return; }
  var timer = null;
  var pending = null;
  function refresh() {
    if (pending) { pending.abort(); }
    pending = new AbortController();
    fetch(form.dataset.previewUrl, {
      method: "POST",
      body: new FormData(form),
      credentials: "same-origin",
      signal: pending.signal
    }).then(function (response) {
      return response.ok ? response.text() : null;
    }).then(function (html) {
      if (html !== null) { target.innerHTML = html; }
    }).catch(function () { /* keep the last preview */ });
  }
  function schedule() {
    window.clearTimeout(timer);
    timer = window.setTimeout(refresh, 400);
  }
  form.addEventListener("input", schedule);
  form.addEventListener("change", schedule);
}());
