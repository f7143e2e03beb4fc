/*
 * The notification bell in the app shell (components/notifications.py renders it empty).
 *
 * Unread notifications come from GET /api/v1/notifications?unread=true when the page loads
 * and after every socket `welcome` (so a reconnect brings back what was missed), then from
 * live `notification` frames of assets/js/realtime.js. Acknowledging sends the socket's
 * `notification_ack` (POST /api/v1/notifications/ack when the socket is down); both mark
 * the notification read on the server. Text is written with textContent only: no
 * notification field is ever parsed as HTML.
 */
(function () {
  "use strict";

  var API = "/api/v1/notifications";
  var BELL_ID = "shell-bell";
  var unread = []; // latest first: {id, severity, title, body, createdAt}
  var renderedInto = null;

  function normalize(n) {
    return {
      id: n.id,
      severity: String(n.severity || "info"),
      title: String(n.title || ""),
      body: String(n.body || ""),
      createdAt: n.createdAt || n.created_at || null,
    };
  }

  function latestFirst(a, b) {
    var ta = Date.parse(a.createdAt) || 0;
    var tb = Date.parse(b.createdAt) || 0;
    return tb - ta || b.id - a.id;
  }

  function replaceAll(items) {
    unread = items.filter(function (n) { return typeof n.id === "number"; }).map(normalize);
    unread.sort(latestFirst);
    render();
  }

  function add(n) {
    if (n && typeof n.id === "number" && (n.resolvedAt || n.resolved_at)) return removeIds([n.id]);
    if (!n || typeof n.id !== "number" || n.acknowledgedAt || n.acknowledged_at) return;
    for (var i = 0; i < unread.length; i++) if (unread[i].id === n.id) return;
    unread.push(normalize(n));
    unread.sort(latestFirst);
    render();
  }

  function removeIds(ids) {
    unread = unread.filter(function (n) { return ids.indexOf(n.id) === -1; });
    render();
  }

  function fetchUnread() {
    if (!document.getElementById(BELL_ID) || typeof fetch !== "function") return;
    fetch(API + "?unread=true", { credentials: "same-origin", headers: { Accept: "application/json" } })
      .then(function (r) { return r.ok ? r.json() : null; })
      .then(function (data) { if (data && data.items) replaceAll(data.items); })
      .catch(function () {});
  }

  function acknowledge(ids) {
    if (!ids.length) return;
    var realtime = window.fleetRealtime;
    var sent =
      realtime && realtime.state && realtime.state() === "live"
        ? realtime.request({ type: "notification_ack", ids: ids })
        : fetch(API + "/ack", {
            method: "POST",
            credentials: "same-origin",
            headers: { "Content-Type": "application/json", Accept: "application/json" },
            body: JSON.stringify({ ids: ids }),
          }).then(function (r) {
            if (!r.ok) throw new Error("acknowledge failed: " + r.status);
            return r.json();
          });
    // Read either way once the server answered: the ones it did not mark were already read.
    sent.then(function () { removeIds(ids); }).catch(function () {});
  }

  function timeOf(iso) {
    var t = Date.parse(iso);
    if (!t) return "";
    return new Date(t).toLocaleTimeString([], { hour: "2-digit", minute: "2-digit" });
  }

  function el(tag, className, text) {
    var node = document.createElement(tag);
    if (className) node.className = className;
    if (text != null) node.textContent = text;
    return node;
  }

  function render() {
    var root = document.getElementById(BELL_ID);
    if (!root) return;
    renderedInto = root;
    var count = document.getElementById("shell-bell-count");
    var list = document.getElementById("shell-bell-list");
    var ackAll = document.getElementById("shell-bell-ack-all");
    if (count) {
      count.textContent = String(unread.length);
      count.className = "bell-count" + (unread.length ? "" : " bell-empty");
    }
    if (ackAll) ackAll.disabled = !unread.length;
    if (!list) return;
    while (list.firstChild) list.removeChild(list.firstChild);
    if (!unread.length) {
      list.appendChild(el("li", "bell-none muted", "No unread notifications"));
      return;
    }
    unread.forEach(function (n) {
      var item = el("li", "bell-item bell-" + n.severity.replace(/[^a-z_]/gi, ""));
      item.setAttribute("data-notification-id", String(n.id));
      var head = el("div", "bell-item-head");
      head.appendChild(el("span", "pill pill-" + n.severity.replace(/[^a-z_]/gi, ""), n.severity));
      head.appendChild(el("time", "bell-time", timeOf(n.createdAt)));
      item.appendChild(head);
      item.appendChild(el("div", "bell-item-title", n.title));
      if (n.body) item.appendChild(el("div", "bell-item-body", n.body));
      var button = el("button", "link-button bell-ack", "Acknowledge");
      button.type = "button";
      button.setAttribute("data-ack-id", String(n.id));
      item.appendChild(button);
      list.appendChild(item);
    });
  }

  document.addEventListener("click", function (event) {
    var target = event.target;
    if (!target || !target.closest) return;
    var toggle = target.closest("#shell-bell-button");
    if (toggle) {
      var panel = document.getElementById("shell-bell-panel");
      if (panel) {
        panel.hidden = !panel.hidden;
        toggle.setAttribute("aria-expanded", String(!panel.hidden));
      }
      return;
    }
    var one = target.closest("[data-ack-id]");
    if (one) {
      acknowledge([Number(one.getAttribute("data-ack-id"))]);
      return;
    }
    if (target.closest("#shell-bell-ack-all")) {
      acknowledge(unread.map(function (n) { return n.id; }));
    }
  });

  window.addEventListener("fleet:message", function (event) {
    var message = event && event.detail;
    if (!message) return;
    if (message.type === "welcome") fetchUnread();
    else if (message.type === "notification") add(message.notification);
  });

  window.fleetNotifications = {
    unread: function () {
      return unread.map(function (n) { return n.id; });
    },
    refresh: fetchUnread,
  };

  // Dash renders the shell after this script runs: load once the bell exists, and again if a
  // re-render replaced it.
  setInterval(function () {
    var root = document.getElementById(BELL_ID);
    if (root && root !== renderedInto) {
      render();
      fetchUnread();
    }
  }, 1000);
})();
