// The review page: answers made offline wait on this device (take.js keeps them in localStorage, one per
// situation). Mark those situations, send them now, and ask before sending the test without them.
(function () {
  "use strict";
  var form = document.getElementById("submit-form");
  var note = document.getElementById("unsent-note");
  var list = document.getElementById("unsent-list");
  if (!form || !note) { return; }
  var csrfInput = form.querySelector("input[name=csrf_token]");
  var confirmed = false;

  function waiting() {
    var rows = [];
    document.querySelectorAll("li[data-item-path]").forEach(function (row) {
      if (window.localStorage.getItem("rapport-unsent-" + row.dataset.itemPath)) { rows.push(row); }
    });
    return rows;
  }

  function show() {
    var rows = waiting();
    document.querySelectorAll("li[data-item-path]").forEach(function (row) {
      var state = row.querySelector(".review-state");
      if (rows.indexOf(row) >= 0) {
        state.textContent = "waiting on this device, not sent yet";
        row.classList.add("is-problem");
      } else if (row.classList.contains("is-problem")) {
        state.textContent = "sent";
        row.classList.remove("is-problem");
      }
    });
    note.hidden = rows.length === 0;
    list.textContent = rows.map(function (row) { return row.querySelector("a").textContent; }).join(", ");
    return rows;
  }

  function sendAll() {
    waiting().forEach(function (row) {
      var key = "rapport-unsent-" + row.dataset.itemPath;
      var body = window.localStorage.getItem(key);
      fetch(form.dataset.autosaveUrl, {
        method: "POST",
        credentials: "same-origin",
        headers: { "Content-Type": "application/json", "X-CSRFToken": csrfInput.value },
        body: body
      }).then(function (response) {
        return response.json().then(function (data) { return { status: response.status, data: data }; });
      }).then(function (reply) {
        if (reply.status === 200) {
          if (reply.data.csrf_token) { csrfInput.value = reply.data.csrf_token; }
          window.localStorage.removeItem(key);
        } else if (reply.status === 409 || reply.status === 422 || reply.status === 404) {
          window.localStorage.removeItem(key);  // changed elsewhere or refused: the saved answer stands
        }
        show();
      }).catch(function () { show(); });
    });
  }

  form.addEventListener("submit", function (event) {
    if (waiting().length && !confirmed) {
      event.preventDefault();
      confirmed = true;
      show();
      list.textContent += ". Press Send my answers again to send the test without them";
      note.focus();
    }
  });
  note.tabIndex = -1;
  window.addEventListener("online", sendAll);
  if (show().length) { sendAll(); }
}());
