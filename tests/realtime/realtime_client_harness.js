// Drives assets/js/realtime.js with a fake WebSocket and clock (see test_realtime_js.py).
const assert = require("assert");
const src = require("fs").readFileSync(process.argv[2], "utf8");
let now = 0;
let timers = [];
let nextId = 1;
global.setTimeout = (fn, ms) => { const id = nextId++; timers.push({ id, fn, at: now + ms }); return id; };
global.clearTimeout = (id) => { timers = timers.filter((t) => t.id !== id); };
global.setInterval = () => nextId++;
global.clearInterval = () => {};
Date.now = () => now;
function advance(ms) {
  const end = now + ms;
  for (;;) {
    timers.sort((a, b) => a.at - b.at);
    const due = timers[0];
    if (!due || due.at > end) break;
    timers.shift();
    now = due.at;
    due.fn();
  }
  now = end;
}
const listeners = {};
const badge = { textContent: "offline", className: "conn-badge conn-offline" };
global.window = {
  location: { protocol: "http:", host: "dash:8050" },
  addEventListener: (type, fn) => (listeners[type] = listeners[type] || []).push(fn),
  dispatchEvent: (event) => (listeners[event.type] || []).forEach((fn) => fn(event)),
};
global.document = {
  readyState: "complete",
  getElementById: (id) => (id === "shell-connection" ? badge : null),
  addEventListener() {},
};
global.CustomEvent = class { constructor(type, init) { this.type = type; this.detail = init.detail; } };
const sockets = [];
global.WebSocket = class {
  constructor(url) { this.url = url; this.readyState = 1; this.sent = []; sockets.push(this); }
  send(data) { this.sent.push(JSON.parse(data)); }
  close(code) { this.closedWith = code; }
};
global.WebSocket.OPEN = 1;
let random = 0.5;
Math.random = () => random;
eval(src);
const rt = window.fleetRealtime;
const last = () => sockets[sockets.length - 1];
const say = (msg) => last().onmessage({ data: JSON.stringify(msg) });
const drop = (code) => last().onclose({ code });

// Connects at once to the same origin, goes live on welcome.
assert.strictEqual(sockets.length, 1);
assert.strictEqual(last().url, "ws://dash:8050/ws");
say({ type: "welcome", connectionId: "c1" });
assert.deepStrictEqual([badge.textContent, badge.className], ["live", "conn-badge conn-live"]);
assert.strictEqual(rt.state(), "live");

// Positions: callback, DOM event, latest(); a snapshot replaces, stale fixes are dropped.
const batches = [];
const events = [];
rt.onPositions((positions, info) => batches.push([positions.length, info.snapshot]));
window.addEventListener("fleet:positions", (e) => events.push(e.detail.positions.length));
const fix = (id, seq, at, lat) => ({ vehicleId: id, seq, lat, lon: -87.6, speed: 5, heading: 90,
  recordedAt: at });
say({ type: "vehicle_location_update", snapshot: true,
      positions: [fix(1, 1, "2026-01-01T10:00:00.000Z", 41.1), fix(2, 1, "2026-01-01T10:00:00.000Z", 41.2)] });
say({ type: "vehicle_location_update",
      positions: [fix(1, 3, "2026-01-01T10:00:03.000Z", 41.3), fix(2, 0, "2026-01-01T09:59:00.000Z", 40.0)] });
assert.deepStrictEqual(batches, [[2, true], [1, false]]);
assert.deepStrictEqual(events, [2, 1]);
assert.deepStrictEqual(rt.latest()["1"], { lat: 41.3, lon: -87.6, heading: 90, speed: 5,
  recordedAt: "2026-01-01T10:00:03.000Z" });
assert.strictEqual(rt.latest()["2"].lat, 41.2);
say({ type: "vehicle_location_update", snapshot: true, positions: [fix(2, 5, "2026-01-01T10:01:00.000Z", 41.5)] });
assert.deepStrictEqual(Object.keys(rt.latest()), ["2"]);

// Backoff: 1 s, 2 s, 4 s ... capped at 30 s, with +/-10% jitter.
random = 0.999;
drop(1006);
assert.strictEqual(badge.className, "conn-badge conn-reconnecting");
const delays = [];
for (let i = 0; i < 7; i++) {
  const before = sockets.length;
  let waited = 0;
  while (sockets.length === before) { advance(10); waited += 10; }
  delays.push(waited);
  if (i < 6) drop(1006);
}
const expected = [1000, 2000, 4000, 8000, 16000, 30000, 30000];
delays.forEach((d, i) => assert.ok(d >= expected[i] * 0.9 && d <= expected[i] * 1.1 + 10, `${i}: ${d}`));
// Reset after a successful connection; 1001 and 1011 (restart, crash) reconnect.
say({ type: "welcome" });
drop(1001);
let before = sockets.length;
advance(1110);
assert.strictEqual(sockets.length, before + 1);
say({ type: "welcome" });
drop(1011);
assert.strictEqual(badge.textContent, "reconnecting");
// Back online: reconnect at once, without waiting for the timer.
before = sockets.length;
window.dispatchEvent({ type: "online" });
assert.strictEqual(sockets.length, before + 1);
say({ type: "welcome" });

// Requests resolve on their acknowledgment.
let acked = null;
rt.request({ type: "vehicle_status_subscription", subscribe: true }).then((ack) => (acked = ack));
const sent = last().sent[last().sent.length - 1];
say({ type: "acknowledgment", requestId: sent.requestId, subscribed: true });

// 1008 (login expired) and 1000: offline, and no reconnect, not even when back online.
drop(1008);
assert.deepStrictEqual([badge.textContent, badge.className], ["offline", "conn-badge conn-offline"]);
before = sockets.length;
advance(120000);
window.dispatchEvent({ type: "online" });
assert.strictEqual(sockets.length, before);
Promise.resolve().then(() => { assert.strictEqual(acked.subscribed, true); console.log("ok"); });
