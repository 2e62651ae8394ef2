"""驿站地图 — the Hebei union station locator.

Importing this package loads no Flask: ``create_app`` lives in :mod:`locator.app` and is
looked up only when asked for (``from locator import create_app``).
"""

from __future__ import annotations

# First of all: allowlist GDAL's drivers before anything can import pyogrio (F6-F8 in
# ../shared/research/reliability.md). Importing ``locator.<anything>`` runs this file first;
# gdal_guard imports nothing but the standard library.
from locator.imports import gdal_guard

gdal_guard.install()

__version__ = "0.1.0"


def __getattr__(name: str):
    """``locator.create_app``, imported on first use (PEP 562) so the core loads no Flask."""
    if name == "create_app":
        from locator.app import create_app

        return create_app
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
