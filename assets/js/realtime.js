/*
 * Fleet realtime client: the dashboard's one WebSocket to /ws (login cookie, same origin).
 *
 * CONTRACT with the pages (e.g. the dispatch map's clientside callback / dash-leaflet layer):
 *
 *   window.fleetRealtime.onPositions(callback) -> unsubscribe()
 *       callback(positions, info) runs for every batch; positions is an array of
 *       {vehicleId, depotId, seq, lat, lon, speed, heading, recordedAt, status?};
 *       info = {snapshot: true|false}. A snapshot (sent after every (re)connect) holds every
 *       vehicle in the user's scope and replaces what was known; other batches hold only the
 *       vehicles that moved. Older fixes than the one already known for a vehicle are dropped.
 *   window.fleetRealtime.latest() -> {[vehicleId]: {lat, lon, heading, speed, recordedAt}}
 *       the newest known position of every vehicle (a fresh copy).
 *   window.addEventListener("fleet:positions", (e) => e.detail.positions / e.detail.snapshot)
 *       the same batches as a DOM event on window.
 *   window.addEventListener("fleet:message", (e) => e.detail)   every other server message
 *       (route_event, notification, route_optimization_update, ...); or
 *   window.fleetRealtime.on(type, callback) -> unsubscribe()
 *   window.fleetRealtime.request(message) -> Promise   sends with a requestId; resolves with the
 *       acknowledgment (or pong), rejects with the error frame or after 30 s.
 *   window.fleetRealtime.state() -> "live" | "reconnecting" | "offline"
 *
 * Live positions never go through a Python callback. Reconnection: exponential backoff with
 * jitter (1 s base, factor 2, +/-10%, capped at 30 s, reset once connected); no reconnect after
 * close codes 1000 (normal) and 1008 (not authenticated: the login expired); reconnects after
 * 1001/1011/1013 (server restart, crash, "slow consumer") and at once when the browser comes back
 * online. The state is shown in the shell's #shell-connection badge.
 */
(function () {
  "use strict";

  var BADGE_ID = "shell-connection";
  var BASE_DELAY_MS = 1000;
  var FACTOR = 2;
  var JITTER = 0.1;
  var MAX_DELAY_MS = 30000;
  var OFFLINE_AFTER_ATTEMPTS = 10;
  var PING_EVERY_MS = 30000;
  var REQUEST_TIMEOUT_MS = 30000;
  var NO_RECONNECT = { 1000: true, 1008: true };

  var socket = null;
  var state = "offline";
  var attempts = 0;
  var retryTimer = null;
  var pingTimer = null;
  var lastMessageAt = 0;
  var stopped = false;
  var closedForGood = false; // after 1000/1008: only a page reload reconnects
  var nextRequestId = 1;
  var pending = {};
  var latestByVehicle = {};
  var positionListeners = [];
  var typeListeners = {};

  function setState(next) {
    state = next;
    paintBadge();
  }

  function paintBadge() {
    var badge = document.getElementById(BADGE_ID);
    if (!badge) return;
    var cls = "conn-badge conn-" + state;
    if (badge.textContent !== state) badge.textContent = state;
    if (badge.className !== cls) badge.className = cls;
  }

  function backoffDelay(attempt) {
    var delay = Math.min(MAX_DELAY_MS, BASE_DELAY_MS * Math.pow(FACTOR, attempt));
    return Math.round(delay * (1 - JITTER + Math.random() * 2 * JITTER));
  }

  function socketUrl() {
    var scheme = window.location.protocol === "https:" ? "wss://" : "ws://";
    return scheme + window.location.host + "/ws";
  }

  function connect() {
    if (stopped || socket) return;
    clearTimeout(retryTimer);
    var ws;
    try {
      ws = new WebSocket(socketUrl());
    } catch (err) {
      scheduleReconnect();
      return;
    }
    socket = ws;
    ws.onmessage = function (event) {
      lastMessageAt = Date.now();
      var message;
      try {
        message = JSON.parse(event.data);
      } catch (err) {
        return;
      }
      handle(message);
    };
    ws.onclose = function (event) {
      if (socket !== ws) return;
      socket = null;
      clearInterval(pingTimer);
      failPending("connection closed");
      if (NO_RECONNECT[event.code] || stopped) {
        closedForGood = true;
        setState("offline");
        return;
      }
      scheduleReconnect();
    };
    ws.onerror = function () {
      /* onclose follows and decides */
    };
  }

  function scheduleReconnect() {
    var delay = backoffDelay(attempts);
    attempts += 1;
    setState(attempts > OFFLINE_AFTER_ATTEMPTS ? "offline" : "reconnecting");
    clearTimeout(retryTimer);
    retryTimer = setTimeout(connect, delay);
  }

  function handle(message) {
    switch (message.type) {
      case "welcome":
        attempts = 0;
        setState("live");
        startPinging();
        break;
      case "vehicle_location_update":
        applyPositions(message.positions || [], message.snapshot === true);
        return;
      case "acknowledgment":
      case "pong":
      case "error":
        settle(message);
        break;
      default:
        break;
    }
    emit(message);
  }

  function emit(message) {
    var listeners = (typeListeners[message.type] || []).slice();
    for (var i = 0; i < listeners.length; i++) safeCall(listeners[i], message);
    window.dispatchEvent(new CustomEvent("fleet:message", { detail: message }));
  }

  function newer(known, fix) {
    if (!known) return true;
    if (fix.recordedAt !== known.recordedAt) return fix.recordedAt > known.recordedAt;
    return (fix.seq || 0) >= (known.seq || 0);
  }

  function applyPositions(positions, snapshot) {
    if (snapshot) latestByVehicle = {};
    var applied = [];
    for (var i = 0; i < positions.length; i++) {
      var p = positions[i];
      var known = latestByVehicle[p.vehicleId];
      if (!newer(known, p)) continue;
      latestByVehicle[p.vehicleId] = {
        lat: p.lat,
        lon: p.lon,
        heading: p.heading,
        speed: p.speed,
        recordedAt: p.recordedAt,
        seq: p.seq,
        depotId: p.depotId,
      };
      applied.push(p);
    }
    if (!applied.length && !snapshot) return;
    var info = { snapshot: snapshot };
    var listeners = positionListeners.slice();
    for (var j = 0; j < listeners.length; j++) safeCall(listeners[j], applied, info);
    window.dispatchEvent(
      new CustomEvent("fleet:positions", { detail: { positions: applied, snapshot: snapshot } })
    );
  }

  function safeCall(fn, a, b) {
    try {
      fn(a, b);
    } catch (err) {
      if (window.console) console.error("fleetRealtime listener failed", err);
    }
  }

  function startPinging() {
    clearInterval(pingTimer);
    lastMessageAt = Date.now();
    pingTimer = setInterval(function () {
      if (!socket) return;
      // Silent for two ping periods: the connection is dead even if the browser has not noticed.
      if (Date.now() - lastMessageAt > 2 * PING_EVERY_MS) {
        var dead = socket;
        socket = null;
        try {
          dead.close(4000, "no answer");
        } catch (err) {
          /* already closing */
        }
        clearInterval(pingTimer);
        failPending("connection lost");
        scheduleReconnect();
        return;
      }
      request({ type: "ping" }).catch(function () {});
    }, PING_EVERY_MS);
  }

  function request(message) {
    return new Promise(function (resolve, reject) {
      if (!socket || socket.readyState !== WebSocket.OPEN) {
        reject({ type: "error", errorCode: "invalid_connection", errorMessage: "not connected" });
        return;
      }
      var id = "web-" + nextRequestId++;
      var timer = setTimeout(function () {
        delete pending[id];
        reject({ type: "error", errorCode: "timeout", errorMessage: "no answer in 30 s" });
      }, REQUEST_TIMEOUT_MS);
      pending[id] = { resolve: resolve, reject: reject, timer: timer };
      socket.send(JSON.stringify(Object.assign({}, message, { requestId: id })));
    });
  }

  function settle(message) {
    var entry = pending[message.requestId];
    if (!entry) return;
    delete pending[message.requestId];
    clearTimeout(entry.timer);
    if (message.type === "error") entry.reject(message);
    else entry.resolve(message);
  }

  function failPending(reason) {
    for (var id in pending) {
      if (!Object.prototype.hasOwnProperty.call(pending, id)) continue;
      clearTimeout(pending[id].timer);
      pending[id].reject({ type: "error", errorCode: "invalid_connection", errorMessage: reason });
    }
    pending = {};
  }

  function subscribe(list, callback) {
    list.push(callback);
    return function () {
      var at = list.indexOf(callback);
      if (at >= 0) list.splice(at, 1);
    };
  }

  window.fleetRealtime = {
    onPositions: function (callback) {
      return subscribe(positionListeners, callback);
    },
    latest: function () {
      var copy = {};
      for (var id in latestByVehicle) {
        if (!Object.prototype.hasOwnProperty.call(latestByVehicle, id)) continue;
        var p = latestByVehicle[id];
        copy[id] = {
          lat: p.lat,
          lon: p.lon,
          heading: p.heading,
          speed: p.speed,
          recordedAt: p.recordedAt,
        };
      }
      return copy;
    },
    on: function (type, callback) {
      typeListeners[type] = typeListeners[type] || [];
      return subscribe(typeListeners[type], callback);
    },
    request: request,
    state: function () {
      return state;
    },
    backoffDelay: backoffDelay,
  };

  window.addEventListener("online", function () {
    if (stopped || closedForGood) return;
    attempts = 0;
    if (!socket) connect();
  });
  window.addEventListener("offline", function () {
    setState("offline");
  });
  window.addEventListener("beforeunload", function () {
    stopped = true;
    if (socket) socket.close(1000, "page closed");
  });

  // Dash renders the shell after this script runs: connect once the badge exists (it exists
  // only for a logged-in user), and repaint it if a re-render resets it.
  var started = false;
  function start() {
    if (!document.getElementById(BADGE_ID)) return;
    paintBadge();
    if (!started) {
      started = true;
      connect();
    }
  }
  setInterval(start, 1000);
  if (document.readyState !== "loading") start();
  else document.addEventListener("DOMContentLoaded", start);
})();
