/* The big screen 大屏: snapshots pushed by Server-Sent Events (the stream ends every few
   minutes and EventSource reconnects by itself); after repeated errors it polls the JSON
   snapshot every 2 s and tries the stream again now and then. Every time shown comes
   from the server's clock: the offset between it and this machine's clock is taken from
   each snapshot, and only the time elapsed since is counted here. */
(function () {
  "use strict";
  var root = document.getElementById("screen");
  var text = JSON.parse(document.getElementById("screen-text").textContent);
  var data = JSON.parse(document.getElementById("screen-data").textContent);
  var offset = data.server_ms - Date.now();
  var cells = {};
  Array.prototype.forEach.call(document.querySelectorAll("[data-unit]"), function (el) {
    cells[el.getAttribute("data-unit")] = el;
  });
  var state = document.getElementById("link-state");
  var clock = document.getElementById("clock");
  var countdown = document.getElementById("countdown");
  var countdownLabel = document.getElementById("countdown-label");

  function fill(template, n) { return template.replace("%(n)s", n); }
  function pad(n) { return (n < 10 ? "0" : "") + n; }
  function serverNow() { return Date.now() + offset; }
  function wallClock(ms) {
    var d = new Date(ms + data.utc_offset_minutes * 60000);
    return pad(d.getUTCHours()) + ":" + pad(d.getUTCMinutes()) + ":" + pad(d.getUTCSeconds());
  }
  function span(seconds) {
    var h = Math.floor(seconds / 3600), m = Math.floor((seconds % 3600) / 60), s = seconds % 60;
    return (h ? h + ":" + pad(m) : pad(m)) + ":" + pad(s);
  }

  function apply(next) {
    var changed = next.version !== data.version;
    data = next;
    offset = data.server_ms - Date.now();
    document.getElementById("event-status").textContent = data.event.status_label;
    Object.keys(data.counts).forEach(function (key) {
      var el = document.querySelector('[data-count="' + key + '"]');
      if (el) el.textContent = data.counts[key];
    });
    data.units.forEach(function (u) {
      var el = cells[String(u.id)];
      if (!el) return;
      var was = el.classList.contains("is-picked");
      el.classList.toggle("is-picked", u.picked);
      el.classList.toggle("is-free", !u.picked);
      if (changed && u.picked && !was) {
        el.classList.add("flash");
        setTimeout(function () { el.classList.remove("flash"); }, 5000);
      }
    });
    var list = document.getElementById("latest");
    list.textContent = "";
    if (!data.latest.length) {
      var none = document.createElement("li");
      none.className = "text-secondary";
      none.textContent = text.none;
      list.appendChild(none);
    }
    data.latest.forEach(function (p) {
      var li = document.createElement("li"), at = document.createElement("span");
      at.className = "at";
      at.textContent = p.at ? p.at.slice(11, 19) : "";
      li.appendChild(at);
      li.appendChild(document.createTextNode(" " + fill(text.picked, p.number)));
      list.appendChild(li);
    });
    tick();
  }

  var refreshing = false;
  function tick() {
    var now = serverNow();
    clock.textContent = wallClock(now);
    var target = null, label = text.no_batch;
    if (data.batch && now < data.batch.ends_ms) {
      target = data.batch.ends_ms;
      label = fill(text.batch, data.batch.number) + " " + text.ends_in;
    } else if (data.next_batch && now < data.next_batch.starts_ms) {
      target = data.next_batch.starts_ms;
      label = fill(text.batch, data.next_batch.number) + " " + text.starts_in;
    } else if ((data.batch || data.next_batch) && mode === "poll" && !refreshing) {
      poll();  // a boundary passed: ask for the next batch (the stream sends it itself)
    }
    countdownLabel.textContent = label;
    if (target === null) {
      countdown.textContent = "—";
      countdown.classList.remove("urgent");
    } else {
      var left = Math.max(0, Math.ceil((target - now) / 1000));
      countdown.textContent = span(left);
      countdown.classList.toggle("urgent", !!data.batch && left <= 60);
    }
  }

  function setState(name) {
    state.textContent = text[name];
    state.className = "badge " + (name === "live" ? "text-bg-success" : name === "polling" ? "text-bg-warning" : "text-bg-danger");
  }

  // --- push, then polling as the fallback -----------------------------------------------
  var mode = "stream", source = null, failures = 0, polls = 0, pollTimer = null;

  function connect() {
    mode = "stream";
    if (!window.EventSource) { startPolling(); return; }
    source = new EventSource(root.getAttribute("data-stream"));
    source.onopen = function () { failures = 0; setState("live"); };
    source.onmessage = function (e) {
      failures = 0;
      setState("live");
      apply(JSON.parse(e.data));
    };
    source.onerror = function () {
      failures += 1;
      setState("offline");
      // the server ends each stream after a few minutes: one error is normal
      if (failures >= 3 || source.readyState === EventSource.CLOSED) {
        source.close();
        startPolling();
      }
    };
  }

  function poll() {
    refreshing = true;
    return fetch(root.getAttribute("data-live"), {
      credentials: "same-origin",
      cache: "no-store",
      headers: { Accept: "application/json" },
    }).then(function (r) {
      if (!r.ok) throw new Error(r.status);
      return r.json();
    }).then(function (next) {
      setState("polling");
      apply(next);
    }).catch(function () {
      setState("offline");
    }).then(function () { refreshing = false; });
  }

  function startPolling() {
    mode = "poll";
    polls = 0;
    poll();
    pollTimer = setInterval(function () {
      polls += 1;
      if (polls >= 30) {  // about a minute: try the stream again
        clearInterval(pollTimer);
        failures = 0;
        connect();
        return;
      }
      poll();
    }, 2000);
  }

  setInterval(tick, 250);
  tick();
  connect();
})();
