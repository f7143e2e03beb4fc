/*
 * Marks the navigation link of the current page (aria-current="page", class "active").
 * Dash's dcc.Link has no active state; the page changes through history.pushState, so the
 * path is compared on navigation events and, cheaply, on a slow timer for first render.
 */
(function () {
  "use strict";

  var lastPath = null;

  function mark() {
    var nav = document.getElementById("shell-nav");
    if (!nav) {
      return;
    }
    var path = window.location.pathname.replace(/\/+$/, "") || "/";
    var links = nav.querySelectorAll("a.nav-link");
    if (path === lastPath && nav.querySelector("a.nav-link.active")) {
      return;
    }
    lastPath = path;
    for (var i = 0; i < links.length; i++) {
      var href = (links[i].getAttribute("href") || "").replace(/\/+$/, "") || "/";
      var current = href === path;
      links[i].classList.toggle("active", current);
      if (current) {
        links[i].setAttribute("aria-current", "page");
      } else {
        links[i].removeAttribute("aria-current");
      }
    }
  }

  window.addEventListener("popstate", mark);
  window.addEventListener("_dashprivate_pushstate", mark);
  window.setInterval(mark, 400);
})();
