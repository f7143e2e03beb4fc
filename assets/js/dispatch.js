/*
 * Dispatch map in the browser: marker styles for the GeoJSON layers (window.fleetMap, named by
 * components/dispatch.py) and the clientside callbacks (window.dash_clientside.fleetDispatch)
 * that restyle orders by status and move vehicles to the live positions that
 * assets/js/realtime.js receives, without a round trip to the server.
 */
(function () {
  "use strict";

  var FALLBACK_COLOUR = "#64748b";

  function colourOf(status, context) {
    var colours = (context && context.hideout && context.hideout.colors) || {};
    return colours[status] || FALLBACK_COLOUR;
  }

  // The one escaper for HTML built here from data (labels in divIcons); tooltips arrive from
  // Python already escaped by components/markup.py.
  function escapeHtml(text) {
    return String(text == null ? "" : text).replace(/[&<>"']/g, function (c) {
      return { "&": "&amp;", "<": "&lt;", ">": "&gt;", '"': "&quot;", "'": "&#39;" }[c];
    });
  }

  window.fleetMap = Object.assign({}, window.fleetMap, {
    orderPoint: function (feature, latlng, context) {
      var status = (feature.properties && feature.properties.status) || "new";
      return L.circleMarker(latlng, {
        radius: 6,
        weight: 1.5,
        color: "#ffffff",
        fillColor: colourOf(status, context),
        fillOpacity: 0.95,
        className: "order-marker order-" + status,
      });
    },
    orderFilter: function (feature, context) {
      var statuses = context && context.hideout && context.hideout.statuses;
      if (!statuses) {
        return true;
      }
      return statuses.indexOf(feature.properties.status) !== -1;
    },
    // Parked vehicles sit on their depot: listed beside the map, not stacked on it.
    vehicleFilter: function (feature) {
      return !(feature.properties && feature.properties.parked);
    },
    depotPoint: function (feature, latlng) {
      var name = (feature.properties && feature.properties.name) || "";
      return L.marker(latlng, {
        icon: L.divIcon({
          className: "depot-marker",
          html:
            '<span class="depot-mark" aria-hidden="true">D</span>' +
            '<span class="depot-label">' + escapeHtml(name) + "</span>",
          iconSize: [26, 26],
          iconAnchor: [13, 13],
        }),
        zIndexOffset: 500,
        keyboard: false,
      });
    },
    vehiclePoint: function (feature, latlng, context) {
      var props = feature.properties || {};
      var activity = props.activity || "parked";
      var heading = typeof props.heading === "number" ? props.heading : null;
      var arrow =
        heading === null
          ? ""
          : '<span class="vehicle-heading" style="transform: rotate(' + heading + 'deg)">▲</span>';
      return L.marker(latlng, {
        icon: L.divIcon({
          className: "vehicle-marker vehicle-" + escapeHtml(activity),
          html:
            arrow +
            '<span class="vehicle-dot" style="background:' +
            escapeHtml(colourOf(activity, context)) +
            '"></span><span class="vehicle-label">' +
            escapeHtml(props.name) +
            "</span>",
          iconSize: [18, 18],
          iconAnchor: [9, 9],
        }),
        zIndexOffset: 1000,
        keyboard: false,
      });
    },
    // `finished` and `tentative` come from the route's status in components/dispatch.py.
    routeStyle: function (feature) {
      var props = feature.properties || {};
      return {
        color: props.finished ? "#94a3b8" : "#6366f1",
        weight: 3,
        opacity: 0.55,
        dashArray: props.tentative ? "6 6" : null,
      };
    },
  });

  var lastSignature = null;
  // Route and order changes announced by the realtime client reload the day's layers, at most
  // once per RELOAD_EVERY_MS (positions never do: they are applied in the browser).
  var RELOAD_MESSAGES = {
    route_event: true,
    route_optimization_update: true,
    route_optimization_response: true,
    order_update: true,
    notification: true,
  };
  var RELOAD_EVERY_MS = 10000;
  var changes = 0;
  var reloadedAt = 0;
  var reloadedChanges = 0;
  window.addEventListener("fleet:message", function (event) {
    var message = event && event.detail;
    if (message && RELOAD_MESSAGES[message.type]) {
      changes += 1;
    }
  });
  // The activity of a fix newer than the one the server judged: the rule of
  // backend/db/queries/fleet_state.py:vehicle_activity with its thresholds (`rules`, from the
  // layer's hideout). Such a fix arrived live, so it is not silent; older ones keep the
  // server's verdict.
  function liveActivity(live, props, rules) {
    var moving =
      typeof live.speed === "number" ? live.speed > rules.movingSpeed : props.activity === rules.moving;
    var depot = props.depot;
    var atDepot =
      !!depot &&
      Math.abs(live.lat - depot[0]) < rules.parkedLat &&
      Math.abs(live.lon - depot[1]) < rules.parkedLon;
    if (!moving && atDepot) return rules.parked;
    return moving ? rules.moving : rules.stopped;
  }

  function newerThan(live, props) {
    if (!props.recorded_at) return true;
    var liveAt = Date.parse(live.recordedAt);
    var seenAt = Date.parse(props.recorded_at);
    return !(liveAt <= seenAt);
  }

  function signatureOf(latest) {
    if (!latest) {
      return "";
    }
    return Object.keys(latest)
      .sort()
      .map(function (id) {
        var p = latest[id] || {};
        return id + ":" + p.lat + "," + p.lon + "," + p.recordedAt;
      })
      .join("|");
  }

  function latestPositions() {
    var realtime = window.fleetRealtime;
    if (!realtime || typeof realtime.latest !== "function") {
      return null;
    }
    try {
      return realtime.latest() || null;
    } catch (err) {
      return null;
    }
  }

  window.dash_clientside = Object.assign({}, window.dash_clientside, {
    fleetDispatch: {
      // The order status checklist becomes the orders layer's hideout (a restyle, no refetch).
      statusHideout: function (statuses, hideout) {
        return Object.assign({}, hideout || {}, { statuses: statuses || [] });
      },
      // A new value for the refresh store when changes arrived and the last reload is old enough.
      reloadOnChanges: function (_nIntervals) {
        var now = Date.now();
        if (changes === reloadedChanges || now - reloadedAt < RELOAD_EVERY_MS) {
          return window.dash_clientside.no_update;
        }
        reloadedChanges = changes;
        reloadedAt = now;
        return changes;
      },
      // Fly to the vehicle whose name was clicked in the side list.
      focusVehicle: function (_clicks, layer) {
        var noUpdate = window.dash_clientside.no_update;
        var ctx = window.dash_clientside.callback_context;
        var hit = ctx && ctx.triggered && ctx.triggered[0];
        if (!hit || !hit.value || !layer || !layer.features) {
          return noUpdate;
        }
        var vehicleId;
        try {
          vehicleId = JSON.parse(hit.prop_id.slice(0, hit.prop_id.lastIndexOf("."))).index;
        } catch (err) {
          return noUpdate;
        }
        var feature = layer.features.find(function (f) {
          return f.properties && f.properties.vehicle_id === vehicleId;
        });
        if (!feature) {
          return noUpdate;
        }
        var coords = feature.geometry.coordinates;
        return { center: [coords[1], coords[0]], zoom: 15, transition: "flyTo" };
      },
      // The vehicles layer = the server's initial positions overlaid with the latest live ones.
      applyPositions: function (_nIntervals, base, hideout) {
        var noUpdate = window.dash_clientside.no_update;
        if (!base || !base.features) {
          return noUpdate;
        }
        var ctx = window.dash_clientside.callback_context;
        var baseChanged = !!(
          ctx &&
          ctx.triggered &&
          ctx.triggered.some(function (t) {
            return t.prop_id.indexOf("dispatch-vehicles-base") === 0;
          })
        );
        var latest = latestPositions();
        var signature = signatureOf(latest);
        if (!baseChanged && signature === lastSignature) {
          return noUpdate;
        }
        lastSignature = signature;
        var rules = hideout && hideout.activity;
        var features = base.features.map(function (feature) {
          var live = latest && latest[String(feature.properties.vehicle_id)];
          if (!live || typeof live.lat !== "number" || typeof live.lon !== "number") {
            return feature;
          }
          var props = Object.assign({}, feature.properties, {
            heading: typeof live.heading === "number" ? live.heading : feature.properties.heading,
          });
          if (rules && newerThan(live, feature.properties)) {
            props.activity = liveActivity(live, feature.properties, rules);
            props.parked = props.activity === rules.parked;
          }
          return {
            type: "Feature",
            geometry: { type: "Point", coordinates: [live.lon, live.lat] },
            properties: props,
          };
        });
        return { type: "FeatureCollection", features: features };
      },
    },
  });
})();
