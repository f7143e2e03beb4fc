/*
 * The planning panel: when the Dispatch page mounts with this tab's last planning ticket (kept
 * in session storage), hand it to the follow callback once, so a job that kept running while
 * the dispatcher was on another page is followed again. Without a ticket nothing fires: the
 * background callback (a process per call) starts only when there is a job to follow.
 */
window.dash_clientside = Object.assign({}, window.dash_clientside, {
  fleetOptimize: {
    resume: function (_mounted, ticket) {
      if (ticket && typeof ticket.request_id === "string") return ticket;
      return window.dash_clientside.no_update;
    },
  },
});
