/*
 * Live ETAs on the Dispatch page: the `eta_update` frames of the socket (one per depot room
 * about every 10 s, backend/services/late_risk.py; see backend/realtime/PROTOCOL.md) applied in
 * the browser, with no Dash callback.
 *
 *   - The vehicle list (#dispatch-vehicle-list, drawn by dispatch.js): the `.vehicle-next` line
 *     of each row `[data-vehicle-id]` becomes "Next <ref> · ETA 10:32 (10:25–10:41)" (P50, then
 *     P10–P90, in the depot's time zone). A row with `data-route-id` follows its route: the
 *     next stop as it advances, "All stops done" once none is open. A row without it (the page
 *     may show another day) is updated only while it shows the same next stop (by reference).
 *   - Any element with `data-eta-stop="<stop id>"` (the stop details card's ETA) shows that
 *     stop's ETA the same way.
 *   Both get the class `eta-late` while the stop's P90 is past its window end, and a title that
 *   says where the figure came from. Elements drawn later (a card opened, the list redrawn)
 *   get the latest ETAs as soon as they appear.
 *
 *   window.fleetEta.stop(stopId) -> {p10, p50, p90, late, text, source, ...} | null
 *   window.fleetEta.apply(frame)  applies one frame (what the socket listener calls)
 *
 * Text only: every value from a frame is written with textContent, never as HTML.
 */
(function () {
  "use strict";

  var LIST_ROWS = "#dispatch-vehicle-list [data-vehicle-id]";
  var STOP_HOOK = "data-eta-stop";
  var LATE_CLASS = "eta-late";
  // The line components.dispatch.vehicle_list_rows writes: "Next <ref> · ETA <time>".
  var NEXT_LINE = /^Next (.+?) · ETA /;

  // By depot: {stops: {stopId: entry}, byRoute: {routeId: next entry}, byVehicle: {vehicleId:
  // next entry}}. A frame is its depot's whole state, so it replaces what that depot had.
  var depots = {};
  // Routes seen open in a frame: one missing from a later frame has no open stop left.
  var seenRoutes = {};
  var formats = {};

  function timeFormat(zone) {
    var key = zone || "UTC";
    if (!formats[key]) {
      try {
        formats[key] = new Intl.DateTimeFormat("en-GB", {
          hour: "2-digit",
          minute: "2-digit",
          hourCycle: "h23",
          timeZone: key,
        });
      } catch (err) {
        formats[key] = key === "UTC" ? null : timeFormat("UTC");
      }
    }
    return formats[key];
  }

  function hm(ms, zone) {
    var format = timeFormat(zone);
    return format ? format.format(new Date(ms)) : "";
  }

  function etaText(stop, zone) {
    var mid = hm(stop.p50, zone);
    var low = hm(stop.p10, zone);
    var high = hm(stop.p90, zone);
    return low === high ? mid : mid + " (" + low + "–" + high + ")";
  }

  // Formatted when first shown, not for every stop of every frame: a depot's frame holds all
  // its open stops, and only the next ones and the open cards are on screen.
  function textOf(entry) {
    if (entry.text === undefined) entry.text = etaText(entry, entry.timezone);
    return entry.text;
  }

  function sourceText(source) {
    return source === "plan" || !source ? "Plan estimate" : "ETA " + String(source);
  }

  function apply(frame) {
    if (!frame || frame.type !== "eta_update" || frame.depotId === undefined) return;
    var zone = frame.timezone || "UTC";
    var state = { stops: {}, byRoute: {}, byVehicle: {} };
    var stops = Array.isArray(frame.stops) ? frame.stops : [];
    for (var i = 0; i < stops.length; i++) {
      var s = stops[i];
      if (!s || typeof s.p50 !== "number") continue;
      var entry = {
        stopId: s.stopId,
        routeId: s.routeId,
        vehicleId: s.vehicleId,
        p10: typeof s.p10 === "number" ? s.p10 : s.p50,
        p50: s.p50,
        p90: typeof s.p90 === "number" ? s.p90 : s.p50,
        late: s.late === true,
        ref: s.ref === undefined ? null : s.ref,
        source: s.source || frame.source || "plan",
        timezone: zone,
        at: frame.at,
      };
      state.stops[String(s.stopId)] = entry;
      seenRoutes[String(s.routeId)] = true;
      if (!s.next) continue;
      state.byRoute[String(s.routeId)] = entry;
      // A vehicle with tomorrow's route planned already has two next stops: today's is sooner.
      var known = state.byVehicle[String(s.vehicleId)];
      if (!known || entry.p50 < known.p50) state.byVehicle[String(s.vehicleId)] = entry;
    }
    depots[String(frame.depotId)] = state;
    paintStops(document.querySelectorAll("[" + STOP_HOOK + "]"));
    paintRows(document.querySelectorAll(LIST_ROWS), String(frame.depotId));
  }

  function findStop(stopId) {
    var key = String(stopId);
    for (var depot in depots) {
      if (!Object.prototype.hasOwnProperty.call(depots, depot)) continue;
      var found = depots[depot].stops[key];
      if (found) return found;
    }
    return null;
  }

  function setText(el, text) {
    if (el.textContent !== text) el.textContent = text;
  }

  function mark(el, entry) {
    if (el.classList) el.classList.toggle(LATE_CLASS, !!(entry && entry.late));
    var title = entry
      ? sourceText(entry.source) + (entry.late ? " · may miss its window (P90 past its end)" : "")
      : "";
    if (el.title !== title) el.title = title;
  }

  function paintStops(elements) {
    for (var i = 0; i < elements.length; i++) {
      var el = elements[i];
      var entry = findStop(el.getAttribute(STOP_HOOK));
      if (!entry) continue; // not open (or not known yet): the server's text stays
      setText(el, textOf(entry));
      mark(el, entry);
    }
  }

  // `onlyDepot`: the rows of that depot (the frame just applied); none: every known depot.
  function paintRows(rows, onlyDepot) {
    for (var i = 0; i < rows.length; i++) {
      var row = rows[i];
      var depot = row.getAttribute("data-depot");
      if (onlyDepot !== undefined && depot !== onlyDepot) continue;
      var state = depots[depot];
      if (!state) continue;
      var line = row.querySelector(".vehicle-next");
      if (!line) continue;
      var shown = NEXT_LINE.exec(line.textContent || "");
      var route = row.getAttribute("data-route-id");
      var entry = route
        ? state.byRoute[route]
        : state.byVehicle[row.getAttribute("data-vehicle-id")];
      if (entry && (route || (shown && entry.ref !== null && shown[1] === String(entry.ref)))) {
        setText(line, "Next " + (entry.ref || "stop") + " · ETA " + textOf(entry));
        mark(line, entry);
      } else if (route && !entry && shown && seenRoutes[route]) {
        // Its route's open stops are all gone from the depot's frame (served, or planned away).
        setText(line, "All stops done");
        mark(line, null);
      }
    }
  }

  function hasEtaTargets(node) {
    if (!node || node.nodeType !== 1) return false;
    if (node.hasAttribute && (node.hasAttribute(STOP_HOOK) || node.hasAttribute("data-vehicle-id")))
      return true;
    return !!(node.querySelector && node.querySelector("[" + STOP_HOOK + "], [data-vehicle-id]"));
  }

  // Cards are built when opened and the list is redrawn with the day's data: repaint them
  // with the latest frames (at most once a frame of the browser).
  var repaintQueued = false;
  function repaint() {
    repaintQueued = false;
    paintStops(document.querySelectorAll("[" + STOP_HOOK + "]"));
    paintRows(document.querySelectorAll(LIST_ROWS));
  }

  function watchDom() {
    if (typeof MutationObserver === "undefined" || !document.body) return;
    new MutationObserver(function (records) {
      if (repaintQueued || !Object.keys(depots).length) return;
      for (var i = 0; i < records.length; i++) {
        var added = records[i].addedNodes || [];
        for (var j = 0; j < added.length; j++) {
          if (hasEtaTargets(added[j])) {
            repaintQueued = true;
            (window.requestAnimationFrame || setTimeout)(repaint);
            return;
          }
        }
      }
    }).observe(document.body, { childList: true, subtree: true });
  }

  var hooked = false;
  function hook() {
    if (hooked || !window.fleetRealtime || !window.fleetRealtime.on) return;
    hooked = true;
    window.fleetRealtime.on("eta_update", apply);
    watchDom();
  }

  window.fleetEta = {
    stop: function (stopId) {
      var found = findStop(stopId);
      return found ? Object.assign({}, found, { text: textOf(found) }) : null;
    },
    apply: apply,
  };

  // Assets load in name order: realtime.js (which defines fleetRealtime) comes after this file.
  hook();
  if (!hooked) {
    if (document.readyState === "loading") document.addEventListener("DOMContentLoaded", hook);
    else setTimeout(hook, 0);
  }
})();
