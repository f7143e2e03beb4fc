"""Browser security headers on every response: CSP, no framing, no sniffing, a tight referrer.

The Content-Security-Policy allows scripts only from our own origin plus the hashes of the few
inline scripts Dash writes into its index page (`dash.Dash.csp_hashes()`), so an injected
`<script>` or `onerror=` handler does not run. Styles need 'unsafe-inline': plotly.js and Leaflet
add <style> elements and style attributes at run time. No map tiles are loaded (the map draws
on a plain backdrop), so images come from us or data:/blob: URLs (plotly's exports). The realtime
socket is on our own host, named per request so `ws:`/`wss:` never open to any other host.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

from flask import Flask, request
from werkzeug.wrappers import Response

STATIC_HEADERS = {
    "X-Frame-Options": "DENY",
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "strict-origin-when-cross-origin",
    "Cross-Origin-Opener-Policy": "same-origin",
}


def content_security_policy(script_hashes: Sequence[str], host: str) -> str:
    """The CSP for pages served from `host` whose inline scripts have `script_hashes`."""
    sources = {
        "default-src": ["'self'"],
        "script-src": ["'self'", *script_hashes],
        "style-src": ["'self'", "'unsafe-inline'"],
        "img-src": ["'self'", "data:", "blob:"],
        "font-src": ["'self'", "data:"],
        "connect-src": ["'self'", f"ws://{host}", f"wss://{host}"],
        "worker-src": ["'self'", "blob:"],
        "object-src": ["'none'"],
        "base-uri": ["'self'"],
        "form-action": ["'self'"],
        "frame-ancestors": ["'none'"],
    }
    return "; ".join(f"{name} {' '.join(values)}" for name, values in sources.items())


def install_security_headers(server: Flask, *, script_hashes: Callable[[], Sequence[str]]) -> None:
    """Add the security headers to every response (an existing header is left as it is).

    `script_hashes` is asked once, at the first response: by then every page module and
    clientside callback has added its inline script (`app.csp_hashes` fits).
    """
    cached: list[tuple[str, ...]] = []

    @server.after_request
    def _headers(response: Response) -> Response:
        if not cached:
            cached.append(tuple(script_hashes()))
        hashes = cached[0]
        for name, value in STATIC_HEADERS.items():
            response.headers.setdefault(name, value)
        # request.host is what the browser asked for; a forged Host only hurts its sender.
        host = request.host.replace(";", "").replace(" ", "")
        response.headers.setdefault(
            "Content-Security-Policy", content_security_policy(hashes, host)
        )
        return response
