/*
 * Driver page: reload the route as soon as the realtime client (assets/js/realtime.js) reports
 * a change for this driver (a new plan, a route event), instead of waiting for the periodic
 * refresh. The event only raises a flag; a clientside callback turns it into a store change.
 */
(function () {
  "use strict";

  var ROUTE_MESSAGES = { route_optimization_update: true, route_optimization_response: true, route_event: true };
  var changes = 0;
  var seen = 0;

  window.addEventListener("fleet:message", function (event) {
    var message = event && event.detail;
    if (message && ROUTE_MESSAGES[message.type]) {
      changes += 1;
    }
  });

  window.dash_clientside = Object.assign({}, window.dash_clientside, {
    fleetDriver: {
      // A new value for the bump store when route messages arrived since the last tick.
      routeChanged: function () {
        if (changes === seen) {
          return window.dash_clientside.no_update;
        }
        seen = changes;
        return changes;
      },
    },
  });
})();
