// Loads assets/js/dispatch.js in a bare context with fake window, L and dash_clientside,
// then checks the style functions, live updates and cards. Prints "ok" or throws.
"use strict";
const fs = require("fs");
const vm = require("vm");
const assert = require("assert");

const same = (actual, expected) => assert.strictEqual(JSON.stringify(actual), JSON.stringify(expected));
const source = fs.readFileSync(process.argv[2], "utf8");
// The hideout as Python's components.dispatch.map_hideout() gives it.
const hideout = JSON.parse(process.argv[3]);

function fakeMarker(latlng, options) {
  const element = { className: (options.icon && options.icon.className) || "", style: {},
    querySelector: () => null, setAttribute: () => {} };
  return {
    latlng, options, _map: {}, tooltip: null, popup: null,
    setLatLng(ll) { this.latlng = ll; }, getLatLng() { return { lat: this.latlng[0], lng: this.latlng[1] }; },
    getElement() { return element; }, bindTooltip(fn) { this.tooltip = fn; }, bindPopup(fn) { this.popup = fn; },
    setStyle(style) { Object.assign(this.options, style); },
  };
}
const L = {
  circleMarker: (latlng, options) => fakeMarker(latlng, options),
  marker: (latlng, options) => fakeMarker(latlng, options),
  divIcon: (options) => options,
  latLng: (lat, lon) => [lat, lon],
};
const listeners = {};
const window = {
  dash_clientside: { no_update: "NO_UPDATE", callback_context: { triggered: [] }, set_props: () => {} },
  addEventListener: (type, fn) => (listeners[type] = listeners[type] || []).push(fn),
};
const emit = (type, detail) => (listeners[type] || []).forEach((fn) => fn({ detail }));
const document = { addEventListener: () => {}, querySelectorAll: () => [], querySelector: () => null, getElementById: () => null };
let now = Date.parse("2026-11-27T15:00:00.000Z");
const FakeDate = { now: () => now, parse: (text) => Date.parse(text) };
vm.runInNewContext(source, { window, L, JSON, Object, Math, String, Number, Date: FakeDate, document, setInterval: () => 0, setTimeout: () => 0, isNaN });
const map = window.fleetMap;
const fns = window.dash_clientside.fleetDispatch;
const ctx = { hideout };

// Stops: the palette's colour for their state, a ring when at risk, cards escaped.
const evil = '<img src=x onerror="alert(1)">';
fns.keepStopDetails({ fields: ["customer", "address"], rows: { 5: [evil, "1 St"] } });
const stop = map.stopPoint({ properties: { stop_id: 5, state: "failed", ref: "R-5", at_risk: true } }, [41.9, -87.6], ctx);
assert.strictEqual(stop.options.fillColor, hideout.palette.stops.failed);
assert.ok(stop.options.className.includes("stop-failed"));
assert.ok(!stop.options.className.includes("stop-at-risk")); // served: no longer at risk
const risky = map.stopPoint({ properties: { stop_id: 6, state: "next", ref: "R-6", at_risk: true } }, [41.9, -87.6], ctx);
assert.strictEqual(risky.options.color, hideout.palette.atRisk);
assert.ok(risky.options.className.includes("stop-at-risk"));
const card = stop.popup();
assert.ok(!card.includes("<img") && card.includes("&lt;img src=x onerror=&quot;alert(1)&quot;&gt;"));
assert.ok(!stop.tooltip().includes("<img") && stop.tooltip().includes("&lt;img"));

// Vehicles: route colour, status class, escaped name; silent ones grey with "last seen".
const props = { vehicle_id: 7, name: "<b>x</b>", status: "on_route", activity: "moving", route: 1,
  has_route: true, stops_left: 3, next: [41.95, -87.7], recorded_at: "2026-11-27T14:59:30.000Z",
  heading: 90, depot: [41.8, -87.6], driver: evil };
const van = map.vehiclePoint({ properties: props }, [41.9, -87.6], ctx);
assert.ok(van.options.icon.html.includes("&lt;b&gt;x&lt;/b&gt;"));
assert.ok(van.options.icon.html.includes(hideout.palette.routes[1]));
assert.ok(van.options.icon.className.includes("vehicle-status-on_route"));
assert.ok(!van.options.icon.className.includes("vehicle-silent"));
assert.ok(!van.popup().includes("<img") && !van.tooltip().includes("<img"));
now += (hideout.rules.silentAfterS + 120) * 1000;
const quiet = map.vehiclePoint({ properties: props }, [41.9, -87.6], ctx);
assert.ok(quiet.options.icon.className.includes("vehicle-silent"));
assert.ok(quiet.options.icon.className.includes("vehicle-status-offline"));
assert.ok(quiet.options.icon.html.includes("last seen 12 min ago"));

// A live batch moves only the vehicle in it, and a later redraw puts it where it is now.
emit("fleet:positions", { positions: [{ vehicleId: 7, lat: 41.95, lon: -87.7, heading: 180, speed: 0.1, recordedAt: new Date(now).toISOString() }], snapshot: false });
same(quiet.latlng, [41.95, -87.7]);
const redrawn = map.vehiclePoint({ properties: props }, [41.9, -87.6], ctx);
same(redrawn.latlng, [41.95, -87.7]);
// Standing at its next stop: at a stop (the rule of fleet_state.dispatch_status).
assert.ok(redrawn.options.icon.className.includes("vehicle-status-at_stop"));
const stats = map.stats();
assert.strictEqual(stats.fixes, 1);
assert.strictEqual(stats.moved, 1);

// Routes: the driven part muted, the rest bold in its colour, dashed while tentative.
assert.strictEqual(map.routeStyle({ properties: { driven: true, route: 2 } }, ctx).color, hideout.palette.driven);
const bold = map.routeStyle({ properties: { driven: false, route: 2, tentative: true } }, ctx);
assert.strictEqual(bold.color, hideout.palette.routes[2]);
assert.strictEqual(bold.dashArray, "8 6");

// A route_update restyles only its stop.
emit("fleet:message", { type: "route_update", routeId: 1, stops: [{ stopId: 6, status: "done", actualDepartureAt: "x" }] });
assert.strictEqual(risky.options.fillColor, hideout.palette.stops.delivered);
assert.strictEqual(stop.options.fillColor, hideout.palette.stops.failed);

// A timeline click selects its stop on the map.
const picked = fns.selectFromTimeline({ points: [{ customdata: [6, 41.9, -87.6] }] }, hideout);
same(picked[0], { center: [41.9, -87.6], zoom: 15, transition: "flyTo" });
assert.strictEqual(picked[1].selected, 6);
same(fns.selectFromTimeline(null, hideout), ["NO_UPDATE", "NO_UPDATE"]);
assert.strictEqual(map.escapeHtml("<a href='x'>&"), "&lt;a href=&#39;x&#39;&gt;&amp;");
console.log("ok");
