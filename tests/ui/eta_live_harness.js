// Loads assets/js/eta_live.js in a bare context with a fake DOM and a fake fleetRealtime, feeds
// it eta_update frames and checks the vehicle list's next-stop line and the stop card's ETA.
// argv: the script, then one vehicle list row as components.dispatch.vehicle_list_rows makes it
// (its `next` line and `route_id`). Prints "ok" or throws.
"use strict";
const fs = require("fs");
const vm = require("vm");
const assert = require("assert");

const source = fs.readFileSync(process.argv[2], "utf8");
const serverRow = JSON.parse(process.argv[3]);

function element(attrs, text, children) {
  const classes = new Set();
  const el = {
    nodeType: 1,
    attrs: Object.assign({}, attrs),
    textContent: text || "",
    title: "",
    children: children || {},
    classList: {
      toggle: (name, on) => (on ? classes.add(name) : classes.delete(name)),
      contains: (name) => classes.has(name),
    },
    getAttribute(name) {
      return name in this.attrs ? this.attrs[name] : null;
    },
    hasAttribute(name) {
      return name in this.attrs;
    },
    querySelector(selector) {
      return this.children[selector] || null;
    },
  };
  // Nothing from a frame may ever be written as HTML.
  Object.defineProperty(el, "innerHTML", {
    set() {
      throw new Error("innerHTML written");
    },
  });
  return el;
}

function row(vehicleId, depot, routeId, nextText) {
  const line = element({}, nextText);
  const attrs = { "data-vehicle-id": String(vehicleId), "data-depot": String(depot) };
  if (routeId !== null) attrs["data-route-id"] = String(routeId);
  return { row: element(attrs, "", { ".vehicle-next": line }), line };
}

const rows = [];
const cards = [];
const document = {
  readyState: "complete",
  body: {},
  addEventListener: () => {},
  querySelectorAll(selector) {
    if (selector === "[data-eta-stop]") return cards.slice();
    if (selector === "#dispatch-vehicle-list [data-vehicle-id]") return rows.map((r) => r.row);
    throw new Error("unexpected selector " + selector);
  },
};
let observer = null;
function MutationObserver(callback) {
  observer = callback;
  return { observe: () => {} };
}
const listeners = {};
const window = {
  fleetRealtime: { on: (type, cb) => ((listeners[type] = listeners[type] || []).push(cb), () => {}) },
  requestAnimationFrame: (fn) => fn(),
};
vm.runInNewContext(source, { window, document, MutationObserver, setTimeout, Object, Array, String, Date, Intl, JSON });

// Hooked through fleetRealtime.on at load.
assert.strictEqual((listeners.eta_update || []).length, 1);
const send = (frame) => listeners.eta_update.forEach((cb) => cb(frame));

const at = (hh, mm) => Date.UTC(2026, 11, 1, hh, mm); // 09:30 UTC is 03:30 in Chicago (CST)
const evil = '<img src=x onerror="alert(1)">';
// The row as the server drew it (its real text), following route 4 of vehicle 2 in depot 1.
const routed = row(2, 1, serverRow.route_id, serverRow.next);
// A row without the route hook showing the same next stop, one showing another day's stop, and
// one of depot 2.
const same = row(5, 1, null, "Next ORD-50 · ETA 08:00");
const otherDay = row(6, 1, null, "Next OLD-1 · ETA 08:00");
const depot2 = row(7, 2, 9, "Next ORD-70 · ETA 08:00");
rows.push(routed, same, otherDay, depot2);
const card = element({ "data-eta-stop": "18" }, "03:00");
const unknownCard = element({ "data-eta-stop": "999" }, "07:07");
cards.push(card, unknownCard);

send({ type: "route_update", depotId: 1, stops: [] }); // not ours: nothing happens
send({
  type: "eta_update", depotId: 1, at: "2026-12-01T09:00:00.000Z", source: "model v3",
  timezone: "America/Chicago",
  stops: [
    { stopId: 17, routeId: 4, vehicleId: 2, p10: at(9, 25), p50: at(9, 30), p90: at(9, 38), late: false, next: true, ref: "ORD-12" },
    { stopId: 18, routeId: 4, vehicleId: 2, p10: at(10, 0), p50: at(10, 10), p90: at(10, 40), late: true },
    { stopId: 50, routeId: 5, vehicleId: 5, p10: at(14, 0), p50: at(14, 0), p90: at(14, 0), late: false, next: true, ref: "ORD-50", source: "plan" },
    { stopId: 60, routeId: 6, vehicleId: 6, p10: at(15, 0), p50: at(15, 5), p90: at(15, 9), late: false, next: true, ref: evil },
  ],
});
assert.strictEqual(routed.line.textContent, "Next ORD-12 · ETA 03:30 (03:25–03:38)");
assert.strictEqual(routed.line.title, "ETA model v3");
assert.ok(!routed.line.classList.contains("eta-late"));
assert.strictEqual(same.line.textContent, "Next ORD-50 · ETA 08:00"); // the plan: P10 = P90
assert.strictEqual(same.line.title, "Plan estimate");
assert.strictEqual(otherDay.line.textContent, "Next OLD-1 · ETA 08:00"); // not the stop shown
assert.strictEqual(depot2.line.textContent, "Next ORD-70 · ETA 08:00"); // another depot's row
assert.strictEqual(card.textContent, "04:10 (04:00–04:40)");
assert.ok(card.classList.contains("eta-late") && card.title.includes("P90 past"));
assert.strictEqual(unknownCard.textContent, "07:07"); // no live figure: the server's stays

// Live state for cards built later, as a copy.
const known = window.fleetEta.stop(18);
assert.strictEqual(known.text, "04:10 (04:00–04:40)");
assert.ok(known.late && known.source === "model v3");
known.text = "changed";
assert.strictEqual(window.fleetEta.stop("18").text, "04:10 (04:00–04:40)");
assert.strictEqual(window.fleetEta.stop(12345), null);

// A card opened after the frame shows the latest figure as soon as it is in the DOM.
const opened = element({ "data-eta-stop": "17" }, "03:00");
cards.push(opened);
observer([{ addedNodes: [element({}, "", {}), opened] }]);
assert.strictEqual(opened.textContent, "03:30 (03:25–03:38)");

// The first stop is served: the route's row moves on to the next one, text only.
send({
  type: "eta_update", depotId: 1, at: "2026-12-01T09:40:00.000Z", source: "plan", timezone: "America/Chicago",
  stops: [
    { stopId: 18, routeId: 4, vehicleId: 2, p10: at(10, 5), p50: at(10, 5), p90: at(10, 5), late: false, next: true, ref: evil },
  ],
});
assert.strictEqual(routed.line.textContent, "Next " + evil + " · ETA 04:05");
assert.strictEqual(card.textContent, "04:05");
assert.ok(!card.classList.contains("eta-late"));
assert.strictEqual(window.fleetEta.stop(17), null); // no longer open
assert.strictEqual(opened.textContent, "03:30 (03:25–03:38)"); // left as it was

// Every stop of route 4 done: the row says so.
send({ type: "eta_update", depotId: 1, at: "2026-12-01T10:10:00.000Z", source: "plan", timezone: "America/Chicago", stops: [] });
assert.strictEqual(routed.line.textContent, "All stops done");
assert.strictEqual(routed.line.title, "");

// A bad time zone falls back to UTC instead of breaking the page.
send({
  type: "eta_update", depotId: 2, at: "2026-12-01T10:10:00.000Z", source: "plan", timezone: "Not/AZone",
  stops: [{ stopId: 70, routeId: 9, vehicleId: 7, p10: at(11, 0), p50: at(11, 0), p90: at(11, 0), late: false, next: true, ref: "ORD-70" }],
});
assert.strictEqual(depot2.line.textContent, "Next ORD-70 · ETA 11:00");
console.log("ok");
