// percl console: the live parts of a page. The server's WebSocket (/console/live) says which
// call changed; the page then fetches its live part again (?fragment=live) and swaps it in.
// No framework, no build step.
(function () {
  "use strict";
  var live = document.getElementById("live");
  if (!live || !window.WebSocket) { return; }
  var only = live.getAttribute("data-live");
  var pending = null;
  var open = function () { return live.querySelectorAll("details[open]").length > 0; };

  function refresh() {
    pending = null;
    if (open()) { pending = setTimeout(refresh, 1000); return; } // do not close what the user opened
    var url = new URL(window.location.href);
    url.searchParams.set("fragment", "live");
    fetch(url, { credentials: "same-origin" }).then(function (response) {
      return response.ok ? response.text() : null;
    }).then(function (html) {
      if (html !== null) { live.innerHTML = html; live.setAttribute("data-refreshed", String(Date.now())); }
    });
  }

  function connect(delay) {
    var scheme = window.location.protocol === "https:" ? "wss://" : "ws://";
    var socket = new WebSocket(scheme + window.location.host + "/console/live");
    socket.onopen = function () { delay = 1000; document.body.setAttribute("data-live", "on"); };
    socket.onmessage = function (event) {
      var notice = JSON.parse(event.data);
      var calls = Array.prototype.map.call(live.querySelectorAll("[data-call]"), function (el) {
        return el.getAttribute("data-call");
      });
      if (only !== "*" && only !== notice.callId && calls.indexOf(notice.callId) < 0) { return; }
      if (pending === null) { pending = setTimeout(refresh, 250); }
    };
    socket.onclose = function () {
      document.body.setAttribute("data-live", "off");
      setTimeout(function () { connect(Math.min(delay * 2, 30000)); }, delay);
    };
  }
  connect(1000);
})();
