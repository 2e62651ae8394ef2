"""Long-lived per-worker state, kept in ``app.extensions["locator"]``."""

from __future__ import annotations

import threading
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

from flask import Flask, current_app
from flask.json.provider import DefaultJSONProvider
from flask.sessions import SecureCookieSessionInterface

from locator.coverage.searches import SearchCounter
from locator.jsonio import safe_json_text
from locator.sites.maps import Basemap, basemap
from locator.sites.snapshot import SitesSnapshot, load_snapshot
from locator.store.store import Store

if TYPE_CHECKING:
    from locator.coverage.engine import CoverageEngine

# How often a worker asks the store whether the data changed (seconds).
VERSION_CHECK_INTERVAL_S = 1.0


@dataclass
class State:
    store: Store
    geodata_dir: Path
    basemap: Basemap
    #: This worker's search counter (counts only; None when LOCATOR_COUNT_SEARCHES=0).
    searches: SearchCounter | None = None
    map_shell: dict | None = None
    cache_dir: Path | None = None
    _snapshot: SitesSnapshot | None = None
    _places: list | None = None
    _coverage: CoverageEngine | None = None
    _checked_at: float = 0.0
    _lock: threading.Lock = field(default_factory=threading.Lock)
    _coverage_lock: threading.Lock = field(default_factory=threading.Lock)

    def snapshot(self) -> SitesSnapshot:
        """The sites as of the store's current ``data_version``, rebuilt when it changes.

        The version is read at most once per :data:`VERSION_CHECK_INTERVAL_S`.
        """
        now = time.monotonic()
        snap = self._snapshot
        if snap is not None and now - self._checked_at < VERSION_CHECK_INTERVAL_S:
            return snap
        with self._lock:
            version = self.store.data_version()
            self._checked_at = time.monotonic()
            if self._snapshot is None or self._snapshot.version != version:
                self._snapshot = load_snapshot(self.store)
            return self._snapshot

    def coverage(self) -> CoverageEngine:
        """The coverage engine of the current snapshot: one per ``data_version``.

        It computes lazily and caches per radius: the first request after a data change
        pays about a second for the province (plus about 3 s once per process for the
        demand grid when no cache file exists yet); later ones are instant.
        """
        from locator.coverage.engine import CoverageEngine

        snap = self.snapshot()
        with self._coverage_lock:
            if self._coverage is None or self._coverage.version != snap.version:
                self._coverage = CoverageEngine(snap.sites, self.regions(),
                                                version=snap.version, cache_dir=self.cache_dir)
            return self._coverage

    def regions(self):
        """The bundled districts and counties (read once per process)."""
        from locator.geo.regions import load_regions

        return load_regions(self.geodata_dir / "hebei_regions.geojson")

    def places(self) -> list[list]:
        """Districts and counties for the offline search box: ``[name, initials, parent,
        lon, lat, level]`` with a point inside each (WGS-84). Built once per process."""
        if self._places is None:
            from locator.sites.snapshot import initials

            r = self.regions()
            rows = []
            for level, frame in (("district", r.districts), ("county", r.counties)):
                points = frame.geometry.representative_point()
                for (_, row), pt in zip(frame.iterrows(), points, strict=True):
                    parent = "" if level == "district" else row["district_name"]
                    rows.append([row["name"], initials(row["name"]), parent,
                                 round(pt.x, 5), round(pt.y, 5), level])
            self._places = rows
        return self._places

    def district_codes(self) -> tuple[str, ...]:
        return tuple(self.regions().district_names())


class SafeJSONProvider(DefaultJSONProvider):
    """Flask's JSON (``jsonify``, a returned dict) by the rule of
    :func:`locator.jsonio.dumps`: no raw ``<``, ``>`` or ``&`` in any JSON we send."""

    ensure_ascii = False

    def dumps(self, obj, **kwargs) -> str:
        return safe_json_text(super().dumps(obj, **kwargs))


class ApiAwareSessionInterface(SecureCookieSessionInterface):
    """No cookie session for the public API and the health check: they never use one,
    and opening it is a measurable share of a nearest request."""

    def open_session(self, app, request):
        if request.path.startswith(("/api/", "/healthz", "/data/")):
            return self.null_session_class()
        return super().open_session(app, request)


def init_app(app: Flask) -> None:
    cfg = app.config
    store = Store(cfg["DATABASE_URL"])
    app.extensions["locator"] = State(
        store=store,
        searches=SearchCounter(store, keep_days=cfg.get("SEARCH_COUNTS_KEEP_DAYS", 400))
        if cfg.get("COUNT_SEARCHES", True) else None,
        geodata_dir=Path(cfg["GEODATA_DIR"]),
        basemap=basemap(cfg["BASEMAP"], tianditu_key=cfg["TIANDITU_KEY"],
                        tile_url=cfg["TILE_URL"], tile_datum=cfg["TILE_DATUM"],
                        attribution=cfg["TILE_ATTRIBUTION"]),
        cache_dir=Path(app.instance_path) / "cache",
    )


def get_state() -> State:
    return current_app.extensions["locator"]
