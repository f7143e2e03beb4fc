// Loads assets/js/dispatch.js in a bare context with fake window, L and dash_clientside,
// then checks the clientside functions. Prints "ok" or throws.
"use strict";
const fs = require("fs");
const vm = require("vm");
const assert = require("assert");

// Objects made inside the vm context have its own prototypes: compare them as JSON.
const same = (actual, expected) => assert.strictEqual(JSON.stringify(actual), JSON.stringify(expected));

const source = fs.readFileSync(process.argv[2], "utf8");
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
const FakeDate = { now: () => now };
vm.runInNewContext(source, { window, L, JSON, Object, Math, String, Date: FakeDate });
const map = window.fleetMap;
const fns = window.dash_clientside.fleetDispatch;
const hideout = { colors: { new: "#111111", delivered: "#222222" }, statuses: ["new"] };

// Orders: coloured by status from the hideout, filtered by the chosen statuses.
const dot = map.orderPoint({ properties: { status: "delivered" } }, [1, 2], { hideout });
assert.strictEqual(dot.options.fillColor, "#222222");
assert.ok(dot.options.className.includes("order-delivered"));
assert.strictEqual(map.orderFilter({ properties: { status: "new" } }, { hideout }), true);
assert.strictEqual(map.orderFilter({ properties: { status: "delivered" } }, { hideout }), false);
same(fns.statusHideout(["failed"], hideout).statuses, ["failed"]);
assert.strictEqual(fns.statusHideout(["failed"], hideout).colors, hideout.colors);

// Vehicle names are escaped in their labels; parked vehicles are filtered out.
const icon = map.vehiclePoint({ properties: { name: "<b>x</b>", status: "idle" } }, [1, 2], { hideout });
assert.ok(icon.options.icon.html.includes("&lt;b&gt;x&lt;/b&gt;"));
assert.strictEqual(map.vehicleFilter({ properties: { parked: true } }), false);

// Live positions: none known -> the base as is; then moved vehicles, parked ones stay parked.
const base = {
  type: "FeatureCollection",
  features: [
    { type: "Feature", geometry: { type: "Point", coordinates: [-87.6, 41.9] },
      properties: { vehicle_id: 1, status: "idle", parked: true, depot: [41.9, -87.6] } },
    { type: "Feature", geometry: { type: "Point", coordinates: [-87.6, 41.9] },
      properties: { vehicle_id: 2, status: "idle", parked: true, depot: [41.9, -87.6] } },
  ],
};
window.dash_clientside.callback_context = { triggered: [{ prop_id: "dispatch-vehicles-base.data", value: base }] };
same(fns.applyPositions(0, base).features, base.features);
window.dash_clientside.callback_context = { triggered: [{ prop_id: "dispatch-live-tick.n_intervals", value: 2 }] };
assert.strictEqual(fns.applyPositions(2, base), "NO_UPDATE");
window.fleetRealtime = {
  latest: () => ({
    1: { lat: 41.95, lon: -87.7, heading: 45, speed: 8, recordedAt: "t1" },
    2: { lat: 41.9002, lon: -87.6002, heading: 0, speed: 0, recordedAt: "t1" },
  }),
};
const moved = fns.applyPositions(3, base);
same(moved.features[0].geometry.coordinates, [-87.7, 41.95]);
assert.strictEqual(moved.features[0].properties.parked, false);
assert.strictEqual(moved.features[0].properties.status, "moving");
assert.strictEqual(moved.features[1].properties.parked, true);
assert.strictEqual(fns.applyPositions(4, base), "NO_UPDATE"); // nothing new since
window.fleetRealtime = { latest: () => { throw new Error("broken"); } };
assert.strictEqual(fns.applyPositions(5, base).features[0].geometry.coordinates[0], -87.6);

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
