"""HTML built in Python as text: the one place user text is escaped before it becomes markup.

Dash components escape their children themselves, but some props are HTML strings that the
browser parses: dash-leaflet passes a feature's `tooltip`/`popup` to Leaflet's `bindTooltip`,
which sets it as innerHTML. Customer names, addresses, references and vehicle names are typed
by people (or by anyone with API access), so every value goes through `escape_text` here.
"""

from __future__ import annotations

import html

# Separates a title from its tag on the first line of a tooltip.
TAG_SEPARATOR = " · "


def escape_text(value: object) -> str:
    """`value` as text that HTML shows literally (&, <, >, quotes escaped; None -> "")."""
    return html.escape("" if value is None else str(value), quote=True)


def tooltip_html(title: object, *lines: object, tag: object = None) -> str:
    """A tooltip: a bold title (with an optional tag after it), then one line per value.

    Every piece is escaped; empty or None lines are left out.
    """
    head = f"<b>{escape_text(title)}</b>"
    if tag not in (None, ""):
        head += escape_text(TAG_SEPARATOR) + escape_text(tag)
    body = [escape_text(line) for line in lines if line not in (None, "")]
    return "<br>".join([head, *body])
