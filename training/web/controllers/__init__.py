"""Every route handler of the application, pages and /api/v1.

Each module in this package lists its handlers in ``ROUTES``; they are collected here, so adding
an area means adding a module, not editing a shared list.
"""

from __future__ import annotations

import importlib
import pkgutil


def collect_routes() -> list:
    handlers: list = []
    for info in sorted(pkgutil.iter_modules(__path__), key=lambda m: m.name):
        module = importlib.import_module(f"{__name__}.{info.name}")
        handlers.extend(getattr(module, "ROUTES", []))
    return handlers
