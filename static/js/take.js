// The candidate's item page: save each change at once, keep answers while offline and send them when
// the connection returns, and show the time left (announced to screen readers at 10, 5 and 1 minutes).
// Without this script the page still works: each button submits the form.
(function () {
  "use strict";
  var form = document.getElementById("answer-form");
  if (!form) { return; }
  var statusBox = document.getElementById("save-status");
  var revisionInput = form.querySelector("input[name=revision]");
  var csrfInput = form.querySelector("input[name=csrf_token]");
  var item = parseInt(form.dataset.item, 10);
  var queueKey = "rapport-unsent-" + window.location.pathname;
  var sending = false;

  // `problem` marks a message the candidate must act on (offline, changed elsewhere, refused).
  function say(text, problem) {
    if (statusBox) {
      statusBox.textContent = text;
      statusBox.classList.toggle("is-problem", !!problem);
    }
  }

  function queue(answer) {
    var body = JSON.stringify({ item: item, answer: answer, revision: parseInt(revisionInput.value, 10) });
    window.localStorage.setItem(queueKey, body);
    return body;
  }

  // An answer kept on this device from an earlier visit to this page: show it again, to send it.
  function restore(body) {
    var answer = body.answer || {};
    function pick(name, value) {
      var field = form.querySelector("input[name='" + name + "'][value='" + CSS.escape(String(value)) + "']");
      if (field) { field.checked = true; }
    }
    Object.keys(answer.ratings || {}).forEach(function (label) { pick("answer-rate-" + label, answer.ratings[label]); });
    Object.keys(answer.ranks || {}).forEach(function (label) {
      var select = form.querySelector("select[name='answer-rank-" + CSS.escape(label) + "']");
      if (select) { select.value = String(answer.ranks[label]); }
    });
    ["most", "least", "choice"].forEach(function (kind) { if (answer[kind]) { pick("answer-" + kind, answer[kind]); } });
    revisionInput.value = body.revision;  // what it was based on: a newer answer from elsewhere wins
  }

  function readAnswer() {
    var answer = {};
    var ratings = {}, ranks = {}, any = false;
    form.querySelectorAll("input[type=radio]:checked, select").forEach(function (field) {
      var match = field.name.match(/^answer-(rate|rank)-([A-E])$/);
      if (match && field.value) {
        (match[1] === "rate" ? ratings : ranks)[match[2]] = parseInt(field.value, 10);
        any = true;
      } else if (field.name === "answer-most" || field.name === "answer-least") {
        answer[field.name.slice(7)] = field.value;
      } else if (field.name === "answer-choice") {
        answer.choice = field.value;
      }
    });
    if (Object.keys(ratings).length) { answer.ratings = ratings; }
    if (Object.keys(ranks).length) { answer.ranks = ranks; }
    return (any || Object.keys(answer).length) ? answer : null;
  }

  function send() {
    var answer = readAnswer();
    if (!answer || sending) { return; }
    sending = true;
    say("Saving…");
    var body = queue(answer);
    fetch(form.dataset.autosaveUrl, {
      method: "POST",
      credentials: "same-origin",
      headers: { "Content-Type": "application/json", "X-CSRFToken": csrfInput.value },
      body: body
    }).then(function (response) {
      return response.json().then(
        function (data) { return { status: response.status, data: data }; },
        function () { return { status: response.status, data: {}, unreadable: true }; }  // an HTML error page
      );
    }).then(function (reply) {
      sending = false;
      if (reply.status === 200) {
        revisionInput.value = reply.data.revision;
        if (reply.data.csrf_token) { csrfInput.value = reply.data.csrf_token; }
        window.localStorage.removeItem(queueKey);
        retryDelay = 2000;
        if (retryTimer) { window.clearTimeout(retryTimer); retryTimer = null; }
        say("Your answer is saved.");
        var now = readAnswer();
        if (JSON.stringify(now) !== JSON.stringify(answer)) { send(); }
      } else if (reply.status >= 500 || reply.status === 429) {
        keepAndRetry(answer, "The connection to Rapport is busy. Your answer is kept on this device and will be sent again in a moment.");
      } else if (reply.unreadable) {
        sending = false;
        queue(readAnswer() || answer);
        say("Your answer is kept on this device. Reload the page to send it.", true);
      } else if (reply.status === 410 || (reply.data && reply.data.submitted)) {
        window.localStorage.removeItem(queueKey);
        window.location.assign(form.action.replace(/\/item\/\d+$/, ""));
      } else {
        window.localStorage.removeItem(queueKey);
        say(reply.data.error || "Your answer could not be saved. Please try again.", true);
      }
    }).catch(function () {
      keepAndRetry(answer, "You seem to be offline. Your answer is kept on this device and will be saved when you are back online.");
    });
  }

  // Keep the answer on this device and try again later, waiting longer each time (2 s, 4 s ... 30 s).
  var retryDelay = 2000, retryTimer = null;
  function keepAndRetry(answer, message) {
    sending = false;
    queue(readAnswer() || answer);  // the latest choice, made while this one was on its way
    say(message, true);
    if (retryTimer) { return; }
    retryTimer = window.setTimeout(function () {
      retryTimer = null;
      if (window.localStorage.getItem(queueKey)) { send(); }
    }, retryDelay);
    retryDelay = Math.min(retryDelay * 2, 30000);
  }

  // Context for recruiters, never a score: the page was left, text was pasted, the page was reloaded.
  function signal(kind, seconds) {
    var url = form.dataset.autosaveUrl.replace(/answers$/, "signals");
    var body = { kind: kind, item: item };
    if (seconds) { body.seconds = seconds; }
    fetch(url, {
      method: "POST",
      credentials: "same-origin",
      keepalive: true,
      headers: { "Content-Type": "application/json", "X-CSRFToken": csrfInput.value },
      body: JSON.stringify(body)
    }).catch(function () { /* context only: nothing to retry */ });
  }
  // Time on this situation: counted while the page is in view, sent when it is hidden or left.
  var shownSince = document.visibilityState === "visible" ? Date.now() : null;
  function sendTime() {
    if (shownSince === null) { return; }
    var seconds = Math.round((Date.now() - shownSince) / 1000);
    shownSince = null;
    if (seconds >= 1) { signal("time", seconds); }
  }
  // Leaving for another page of the test fires pagehide first: that is moving on, not leaving the test.
  var leaving = false;
  window.addEventListener("pagehide", function () { leaving = true; sendTime(); });
  document.addEventListener("visibilitychange", function () {
    if (document.visibilityState === "hidden") {
      sendTime();
      if (!leaving) { signal("focus_lost"); }
    } else {
      shownSince = Date.now();
    }
  });
  document.addEventListener("paste", function () { signal("paste"); });
  var navigation = window.performance && performance.getEntriesByType && performance.getEntriesByType("navigation")[0];
  if (navigation && navigation.type === "reload") { signal("reload"); }

  form.addEventListener("change", send);
  window.addEventListener("online", send);
  var unsent = window.localStorage.getItem(queueKey);
  if (unsent) {
    try {
      var kept = JSON.parse(unsent);
      if (kept.item === item) { restore(kept); }
    } catch (ignored) { /* not ours: send what the page shows */ }
    send();
  }

  var timer = document.getElementById("timer");
  var announce = document.getElementById("timer-announce");
  if (timer) {
    var left = parseInt(timer.dataset.secondsLeft, 10);
    var end = Date.now() + (left + 1) * 1000;  // the server rounds the seconds down: never end early
    var announced = {};
    window.setInterval(function () {
      var seconds = Math.max(0, Math.round((end - Date.now()) / 1000));
      var minutes = Math.ceil(seconds / 60);
      timer.textContent = seconds > 60 ? minutes + " min left" : seconds + " seconds left";
      [10, 5, 1].forEach(function (mark) {
        if (minutes === mark && !announced[mark] && announce) {
          announced[mark] = true;
          announce.textContent = mark + (mark === 1 ? " minute" : " minutes") + " left.";
        }
      });
      if (seconds === 0) { window.location.assign(form.action.replace(/\/item\/\d+$/, "")); }
    }, 1000);
  }
}());
