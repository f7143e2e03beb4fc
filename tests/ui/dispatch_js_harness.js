// Loads assets/js/dispatch.js in a bare context with fake window, L and dash_clientside,
// then checks the clientside functions. Prints "ok" or throws.
"use strict";
const fs = require("fs");
const vm = require("vm");
const assert = require("assert");

// Objects made inside the vm context have its own prototypes: compare them as JSON.
const same = (actual, expected) => assert.strictEqual(JSON.stringify(actual), JSON.stringify(expected));

const source = fs.readFileSync(process.argv[2], "utf8");
// The activity rules as Python's backend.db.queries.fleet_state.activity_rules() gives them.
const rules = JSON.parse(process.argv[3]);
const L = {
  circleMarker: (latlng, options) => ({ kind: "circle", latlng, options }),
  marker: (latlng, options) => ({ kind: "marker", latlng, options }),
  divIcon: (options) => options,
};
const listeners = {};
const window = {
  dash_clientside: { no_update: "NO_UPDATE", callback_context: { triggered: [] } },
  addEventListener: (type, fn) => (listeners[type] = listeners[type] || []).push(fn),
};
const emit = (type, detail) => (listeners[type] || []).forEach((fn) => fn({ detail }));
let now = 1_000_000;
const FakeDate = { now: () => now, parse: (text) => Date.parse(text) };
vm.runInNewContext(source, { window, L, JSON, Object, Math, String, Date: FakeDate });
const map = window.fleetMap;
const fns = window.dash_clientside.fleetDispatch;
const hideout = {
  colors: { new: "#111111", delivered: "#222222", moving: "#333333" },
  statuses: ["new"],
  activity: rules,
};

// Orders: coloured by status from the hideout, filtered by the chosen statuses.
const dot = map.orderPoint({ properties: { status: "delivered" } }, [1, 2], { hideout });
assert.strictEqual(dot.options.fillColor, "#222222");
assert.ok(dot.options.className.includes("order-delivered"));
assert.strictEqual(map.orderFilter({ properties: { status: "new" } }, { hideout }), true);
assert.strictEqual(map.orderFilter({ properties: { status: "delivered" } }, { hideout }), false);
same(fns.statusHideout(["failed"], hideout).statuses, ["failed"]);
assert.strictEqual(fns.statusHideout(["failed"], hideout).colors, hideout.colors);

// Vehicle names are escaped in their labels; parked vehicles are filtered out.
const icon = map.vehiclePoint({ properties: { name: "<b>x</b>", activity: "moving" } }, [1, 2], { hideout });
assert.ok(icon.options.icon.html.includes("&lt;b&gt;x&lt;/b&gt;"));
assert.ok(icon.options.icon.html.includes("#333333"));
assert.ok(icon.options.icon.className.includes("vehicle-moving"));
// Route lines: faded when finished, dashed while tentative (flags set in Python).
assert.strictEqual(map.routeStyle({ properties: { finished: true } }).color, "#94a3b8");
assert.strictEqual(map.routeStyle({ properties: { tentative: true } }).dashArray, "6 6");
assert.strictEqual(map.routeStyle({ properties: {} }).dashArray, null);
assert.strictEqual(map.vehicleFilter({ properties: { parked: true } }), false);

// Live positions: none known -> the base as is; then moved vehicles, parked ones stay parked.
const base = {
  type: "FeatureCollection",
  features: [
    { type: "Feature", geometry: { type: "Point", coordinates: [-87.6, 41.9] },
      properties: { vehicle_id: 1, activity: "parked", recorded_at: "2026-11-27T06:00:00.000Z", parked: true, depot: [41.9, -87.6] } },
    { type: "Feature", geometry: { type: "Point", coordinates: [-87.6, 41.9] },
      properties: { vehicle_id: 2, activity: "parked", recorded_at: null, parked: true, depot: [41.9, -87.6] } },
    { type: "Feature", geometry: { type: "Point", coordinates: [-87.6, 41.9] },
      properties: { vehicle_id: 3, activity: "offline", recorded_at: "2026-11-27T08:00:00.000Z", parked: false, depot: [41.9, -87.6] } },
    { type: "Feature", geometry: { type: "Point", coordinates: [-87.6, 41.9] },
      properties: { vehicle_id: 4, activity: "parked", recorded_at: "2026-11-27T06:00:00.000Z", parked: true, depot: [41.9, -87.6] } },
  ],
};
window.dash_clientside.callback_context = { triggered: [{ prop_id: "dispatch-vehicles-base.data", value: base }] };
same(fns.applyPositions(0, base, hideout).features, base.features);
window.dash_clientside.callback_context = { triggered: [{ prop_id: "dispatch-live-tick.n_intervals", value: 2 }] };
assert.strictEqual(fns.applyPositions(2, base, hideout), "NO_UPDATE");
window.fleetRealtime = {
  latest: () => ({
    1: { lat: 41.95, lon: -87.7, heading: 45, speed: 8, recordedAt: "2026-11-27T09:00:00.000Z" },
    2: { lat: 41.9002, lon: -87.6002, heading: 0, speed: 0, recordedAt: "2026-11-27T09:00:00.000Z" },
    // The very fix the server already judged (offline): its verdict stands.
    3: { lat: 41.95, lon: -87.7, heading: 0, speed: 0, recordedAt: "2026-11-27T08:00:00.000Z" },
    // Standing still away from the depot: on the road, stopped.
    4: { lat: 41.95, lon: -87.7, heading: 0, speed: 0.2, recordedAt: "2026-11-27T09:00:00.000Z" },
  }),
};
const moved = fns.applyPositions(3, base, hideout);
same(moved.features[0].geometry.coordinates, [-87.7, 41.95]);
assert.strictEqual(moved.features[0].properties.parked, false);
assert.strictEqual(moved.features[0].properties.activity, "moving");
assert.strictEqual(moved.features[1].properties.parked, true);
assert.strictEqual(moved.features[1].properties.activity, "parked");
assert.strictEqual(moved.features[2].properties.activity, "offline");
assert.strictEqual(moved.features[3].properties.activity, "stopped");
assert.strictEqual(moved.features[3].properties.parked, false);
assert.strictEqual(fns.applyPositions(4, base, hideout), "NO_UPDATE"); // nothing new since
window.fleetRealtime = { latest: () => { throw new Error("broken"); } };
assert.strictEqual(fns.applyPositions(5, base, hideout).features[0].geometry.coordinates[0], -87.6);

// Focus: the clicked vehicle's current position, zoomed in; nothing before any click.
const focusCtx = (value) => ({ triggered: [{ prop_id: '{"index":1,"type":"dispatch-vehicle-focus"}.n_clicks', value }] });
window.dash_clientside.callback_context = focusCtx(null);
assert.strictEqual(fns.focusVehicle([null], moved), "NO_UPDATE");
window.dash_clientside.callback_context = focusCtx(1);
same(fns.focusVehicle([1], moved), { center: [41.95, -87.7], zoom: 15, transition: "flyTo" });
// Route changes from the socket reload the layers, at most once per 10 s; positions never do.
assert.strictEqual(fns.reloadOnChanges(1), "NO_UPDATE");
emit("fleet:message", { type: "vehicle_location_update" });
assert.strictEqual(fns.reloadOnChanges(2), "NO_UPDATE");
emit("fleet:message", { type: "route_event" });
assert.strictEqual(fns.reloadOnChanges(3), 1);
emit("fleet:message", { type: "route_optimization_update" });
now += 5000;
assert.strictEqual(fns.reloadOnChanges(4), "NO_UPDATE");
now += 5000;
assert.strictEqual(fns.reloadOnChanges(5), 2);
console.log("ok");
