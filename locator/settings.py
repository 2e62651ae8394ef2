"""The one table of settings: name, default, help.

Every setting can be overridden by an environment variable ``LOCATOR_<NAME>`` and, in
tests, by ``create_app(test_config)``. The README's configuration table is generated
from :data:`SETTINGS` by :func:`markdown_table`, and a test keeps the two equal.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

__all__ = ["SETTINGS", "Setting", "SettingError", "check", "load", "markdown_table"]

ENV_PREFIX = "LOCATOR_"


def _bool(value: str | bool) -> bool:
    if isinstance(value, bool):
        return value
    v = value.strip().lower()
    if v in {"1", "true", "yes", "on"}:
        return True
    if v in {"0", "false", "no", "off", ""}:
        return False
    raise ValueError(f"not a boolean: {value!r}")


def _str(value: Any) -> str:
    return str(value)


def _count(value: Any) -> int:
    if isinstance(value, bool):
        raise ValueError(f"not a number: {value!r}")
    n = int(str(value).strip()) if not isinstance(value, int) else value
    if n < 0:
        raise ValueError(f"must be 0 or a positive whole number: {value!r}")
    return n


def _positive_int(value: Any) -> int:
    if isinstance(value, bool):
        raise ValueError(f"not a number: {value!r}")
    n = int(str(value).strip()) if not isinstance(value, int) else value
    if n <= 0:
        raise ValueError(f"must be a positive whole number: {value!r}")
    return n


#: What each parser accepts, for the one line that refuses a bad value.
ACCEPTS = {
    _bool: "1 或 0（1/0, true/false, yes/no, on/off）",
    _count: "0 或正整数（a whole number ≥ 0）",
    _positive_int: "正整数（a whole number ≥ 1）",
}


class SettingError(ValueError):
    """A setting the app cannot start with; ``str()`` is one line naming the environment
    variable, the value and what is allowed."""

    def __init__(self, name: str, value: Any, allowed: str):
        self.name, self.value, self.allowed = name, value, allowed
        shown = repr(value) if len(repr(value)) <= 60 else repr(value)[:59] + "…"
        super().__init__(f"设置有误 bad setting {ENV_PREFIX}{name}={shown}：{allowed}")


@dataclass(frozen=True)
class Setting:
    """One row of the settings table.

    Attributes
    ----------
    name : str
        Read from the environment as ``LOCATOR_<name>``.
    default : object
        Used when neither the environment nor the overrides give a value.
    help : str
        Markdown for the README's table; says the unit (bytes, days, …) where there is one.
    parse : callable
        Turns the text of an environment variable (or an override) into the value;
        raises ``ValueError`` for a bad one.
    choices : tuple of str
        When not empty, the only values allowed (compared after ``parse``).
    """

    name: str
    default: Any
    help: str
    parse: Callable[[Any], Any] = _str
    choices: tuple[str, ...] = ()

    @property
    def allowed(self) -> str:
        if self.choices:
            return "可选 one of " + ", ".join(self.choices)
        return ACCEPTS.get(self.parse, "")

    def value(self, raw: Any) -> Any:
        """``raw`` parsed; :class:`SettingError` when it is not allowed."""
        try:
            value = self.parse(raw)
        except ValueError:
            raise SettingError(self.name, raw, self.allowed) from None
        if self.choices and value not in self.choices:
            raise SettingError(self.name, raw, self.allowed)
        return value


SETTINGS: tuple[Setting, ...] = (
    Setting(
        "DATABASE_URL", "",
        "SQLAlchemy URL of the store. Empty: the SQLite file `locator.sqlite3` in the "
        "instance folder (WAL, foreign keys on).",
    ),
    Setting(
        "SECRET_KEY", "",
        "Key that signs sessions and forms, at least 32 characters (e.g. `python3 -c "
        "'import secrets; print(secrets.token_hex(32))'`). Empty: a random key made once and "
        "kept in `instance/secret_key`, which is refused with a PostgreSQL database: every "
        "server must then be given the same key.",
    ),
    Setting(
        "SECURE_COOKIES", False,
        "Set to `1` when the app is served over https (production): staff session cookies "
        "then travel only over https. Cookies are always HttpOnly and SameSite=Lax.",
        _bool,
    ),
    Setting(
        "TRUSTED_PROXIES", 0,
        "How many reverse proxies stand in front of the app and append to "
        "`X-Forwarded-For` / `X-Forwarded-Proto`. `0`: the connection's address is the "
        "client's. Behind one nginx, `1`: the per-address limits (sign-in, problem reports) "
        "then see each "
        "client, not the proxy. Never more than there are, or clients can forge their address.",
        _count,
    ),
    Setting("HOST", "127.0.0.1",
            "Address `locator serve` listens on. Behind a reverse proxy on the same machine "
            "keep `127.0.0.1`; `0.0.0.0` listens on every interface."),
    Setting("PORT", 5000, "Port `locator serve` listens on.", _positive_int),
    Setting(
        "WORKERS", 0,
        "Worker processes of `locator serve` (gunicorn). `0`: 2 × cores + 1, at most 8 "
        "(each keeps its own index, 200-400 MB once the coverage page is used).",
        _count,
    ),
    Setting(
        "THREADS", 4,
        "Threads per worker of `locator serve`: a slow request (a province PDF) does not "
        "hold up the quick ones in the same worker. `1`: gunicorn's sync workers.",
        _positive_int,
    ),
    Setting(
        "TIMEOUT", 120,
        "Seconds a `locator serve` worker may go silent before gunicorn restarts it. "
        "Also allow this long in the reverse proxy (`proxy_read_timeout`).",
        _positive_int,
    ),
    Setting(
        "INSTANCE_PATH", "",
        "Folder for everything mutable (database, secret key). Empty: Flask's instance "
        "folder, `instance/` in the repository.",
    ),
    Setting(
        "LOAD_DEMO", True,
        "`locator init` (and `make run`) loads the bundled synthetic demo sites when the "
        "database has no sites.",
        _bool,
    ),
    Setting(
        "GEODATA_DIR", "",
        "Folder holding `hebei_regions.geojson` and `demo_sites.geojson`. Empty: the "
        "repository's `geodata/`.",
    ),
    Setting(
        "BASEMAP", "osm",
        "Basemap: `osm` (OpenStreetMap, WGS-84), `tianditu` (天地图, needs "
        "`LOCATOR_TIANDITU_KEY`), `gaode` (高德, GCJ-02: every overlay and the you-are-here "
        "dot are shifted to match) or `custom` (`LOCATOR_TILE_URL` with "
        "`LOCATOR_TILE_DATUM`). Lower case; anything else stops the app at start.",
        choices=("osm", "tianditu", "gaode", "custom"),
    ),
    Setting("TIANDITU_KEY", "",
            "Your 天地图 developer key (`tk`), for `LOCATOR_BASEMAP=tianditu`."),
    Setting(
        "TILE_URL", "",
        "Tile URL template for `LOCATOR_BASEMAP=custom`, e.g. "
        "`https://tiles.example/{z}/{x}/{y}.png`. "
        "Map tiles are the only requests the pages make to another origin: the tile host goes "
        "into the pages' Content-Security-Policy (`img-src`), so `{s}` is the only "
        "placeholder it may hold.",
    ),
    Setting("TILE_DATUM", "wgs84", "Datum of the custom tiles: `wgs84` or `gcj02`.",
            choices=("wgs84", "gcj02")),
    Setting(
        "TILE_ATTRIBUTION", "",
        "Attribution (HTML) for custom tiles. The built-in basemaps bring their own.",
    ),
    Setting(
        "IMPORT_MAX_BYTES", 20 * 1024 * 1024,
        "Largest station file accepted for import, in bytes; a larger one is refused before "
        "it is parsed.",
        _positive_int,
    ),
    Setting(
        "IMPORT_MAX_ROWS", 20_000,
        "Most data rows (or features) in one import file; more is refused (`too_many_rows`).",
        _positive_int,
    ),
    Setting(
        "IMPORT_ZIP_MAX_MEMBERS", 100,
        "Most members in an uploaded zip archive (a zipped Shapefile, and XLSX, which is a "
        "zip too).",
        _positive_int,
    ),
    Setting(
        "IMPORT_ZIP_MAX_BYTES", 200 * 1024 * 1024,
        "Most bytes all members of an uploaded archive may unpack to, checked before "
        "unpacking and counted while unpacking.",
        _positive_int,
    ),
    Setting(
        "IMPORT_ZIP_MAX_MEMBER_BYTES", 100 * 1024 * 1024,
        "Most bytes one member of an uploaded archive may unpack to.",
        _positive_int,
    ),
    Setting(
        "IMPORT_ZIP_MAX_RATIO", 100,
        "Highest compression ratio (unpacked / packed) of an archive member larger than "
        "1 MiB; a higher one is treated as a zip bomb.",
        _positive_int,
    ),
    Setting(
        "COUNT_SEARCHES", True,
        "Count nearest-station searches per coarse area (H3 cell of about 0.5 km²) and day, "
        "and whether the nearest result was beyond 1 km, for the coverage analysis "
        "(`demand=searches`). Only counts are stored: no coordinates, IP addresses or user "
        "ids. `0` turns counting off.",
        _bool,
    ),
    Setting(
        "SEARCH_COUNTS_KEEP_DAYS", 400,
        "Search counts of days older than this are deleted whenever counts are written "
        "(400 days: a year's comparison, no more). The coverage analysis uses the last 30.",
        _positive_int,
    ),
)


def load(environ: Mapping[str, str] | None = None,
         overrides: Mapping[str, Any] | None = None) -> dict[str, Any]:
    """Resolve every setting: default, then ``LOCATOR_<NAME>``, then ``overrides``.

    Parameters
    ----------
    environ : mapping of str to str, optional
        Defaults to :data:`os.environ`.
    overrides : mapping, optional
        Values that win over the environment (``create_app(test_config)``); parsed the
        same way.

    Returns
    -------
    dict
        Setting name (without the prefix) → value, for every row of :data:`SETTINGS`.

    Raises
    ------
    SettingError
        A ``ValueError`` whose text is one line naming the variable, the value and what is
        allowed, when a value does not parse or is not one of the setting's choices
        (``LOCATOR_TRUSTED_PROXIES=-1``, ``=maybe`` for a boolean, ``LOCATOR_BASEMAP=GAODE``).

    Examples
    --------
    >>> settings = load({"LOCATOR_TRUSTED_PROXIES": "1"}, {"IMPORT_MAX_ROWS": "500"})
    >>> settings["TRUSTED_PROXIES"], settings["IMPORT_MAX_ROWS"], settings["BASEMAP"]
    (1, 500, 'osm')
    """
    environ = os.environ if environ is None else environ
    overrides = overrides or {}
    resolved = {}
    for s in SETTINGS:
        value = s.default
        if ENV_PREFIX + s.name in environ:
            value = s.value(environ[ENV_PREFIX + s.name])
        if s.name in overrides:
            value = s.value(overrides[s.name])
        resolved[s.name] = value
    return resolved


#: Shorter keys are refused: the key signs every session and form.
MIN_SECRET_KEY = 32


def check(resolved: Mapping[str, Any]) -> None:
    """Refuse settings that parse but cannot work together (:class:`SettingError`)."""
    key, url = resolved["SECRET_KEY"], resolved["DATABASE_URL"]
    if key and len(key) < MIN_SECRET_KEY:
        raise SettingError("SECRET_KEY", "…", f"至少 {MIN_SECRET_KEY} 个字符 at least "
                           f"{MIN_SECRET_KEY} characters (this one has {len(key)})")
    if not key and url.split(":", 1)[0].split("+", 1)[0] in ("postgresql", "postgres"):
        raise SettingError("SECRET_KEY", "", "共享数据库（PostgreSQL）需要设置，且每台服务器相同 "
                           "a shared PostgreSQL database needs one key, the same on every "
                           "server")


def _show(value: Any) -> str:
    if isinstance(value, bool):
        return "`1`" if value else "`0`"
    if value == "":
        return "(empty)"
    return f"`{value}`"


def markdown_table() -> str:
    """The README's configuration table, one row per setting.

    Returns
    -------
    str
        Markdown, without a trailing newline.

    Examples
    --------
    >>> markdown_table().splitlines()[0]
    '| environment variable | default | what it does |'
    """
    lines = ["| environment variable | default | what it does |", "|---|---|---|"]
    for s in SETTINGS:
        default = _show(s.default).replace("|", "\\|")
        lines.append(f"| `{ENV_PREFIX}{s.name}` | {default} | {s.help} |")
    return "\n".join(lines)
