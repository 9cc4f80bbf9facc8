// percl console: the live parts of a page. The server's WebSocket (/console/live) says which
// call changed; the page then fetches its live part again (?fragment=live) and swaps it in.
// No framework, no build step.
(function () {
  "use strict";
  var live = document.getElementById("live");
  if (!live || !window.WebSocket) { return; }
  var only = live.getAttribute("data-live");
  var pending = null;

  function openKeys() {
    return Array.prototype.map.call(live.querySelectorAll("details[open][data-key]"), function (d) {
      return d.getAttribute("data-key");
    });
  }

  function refresh() {
    pending = null;
    var url = new URL(window.location.href);
    url.searchParams.set("fragment", "live");
    fetch(url, { credentials: "same-origin" }).then(function (response) {
      return response.ok ? response.text() : null;
    }).then(function (html) {
      if (html === null) { return; }
      var keep = openKeys(); // what the user opened stays open
      live.innerHTML = html;
      keep.forEach(function (key) {
        var details = live.querySelector('details[data-key="' + CSS.escape(key) + '"]');
        if (details) { details.open = true; }
      });
      live.setAttribute("data-refreshed", String(Date.now()));
    });
  }

  function connect(delay) {
    var scheme = window.location.protocol === "https:" ? "wss://" : "ws://";
    var socket = new WebSocket(scheme + window.location.host + "/console/live");
    socket.onopen = function () {
      delay = 1000;
      document.body.setAttribute("data-live", "on");
      // What changed while the page loaded or the socket was down was not announced here.
      if (pending === null) { pending = setTimeout(refresh, 0); }
    };
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
