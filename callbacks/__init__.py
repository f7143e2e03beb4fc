"""Callbacks, one module per page, each registered through `register(app)`."""

from __future__ import annotations

import importlib
import pkgutil

import dash


def register_callbacks(app: dash.Dash) -> None:
    """Register every callbacks module's callbacks on `app`."""
    for module_info in sorted(pkgutil.iter_modules(__path__), key=lambda m: m.name):
        module = importlib.import_module(f"{__name__}.{module_info.name}")
        register = getattr(module, "register", None)
        if callable(register):
            register(app)
