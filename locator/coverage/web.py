"""The managers' coverage page (/staff/coverage): figures, map and downloads. Views are
thin: the figures come from :mod:`locator.coverage.page`, the files from
:mod:`locator.exports.downloads`."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from urllib.parse import quote

from flask import Blueprint, Flask, Response, render_template, request, send_file, url_for
from flask_babel import gettext as _
from flask_login import current_user, login_required

from locator.coverage.demand import DEMAND_SOURCES, coverage_engine, current_upload
from locator.coverage.engine import DEFAULT_RADIUS_M, RADII_M, area_name
from locator.coverage.page import DISTANCE_CLASSES_M, MapPayloads, coverage_view, suggestion_rows
from locator.errors import BadRequest
from locator.exports.downloads import DownloadCache, download_name
from locator.exports.registry import FORMAT_LABELS, KINDS, formats_of
from locator.jsonio import dumps
from locator.web import params as p
from locator.web.shell import map_shell
from locator.web.state import get_state

bp = Blueprint("staff_coverage", __name__, url_prefix="/staff/coverage")
PROVINCE = "all"  # the district picker's value for the whole province
#: Fill colours of the distance classes (≤ 500 m, ≤ 1 km, ≤ 2 km, farther), ColorBrewer RdYlGn.
GRID_COLOURS = ("#1a9850", "#91cf60", "#fee08b", "#fc8d59")


@dataclass
class _Caches:
    payloads: MapPayloads
    downloads: DownloadCache


def init_app(app: Flask) -> None:
    app.extensions["staff_coverage"] = _Caches(
        payloads=MapPayloads(),
        downloads=DownloadCache(Path(app.instance_path) / "cache" / "downloads"))
    app.register_blueprint(bp)


def _caches() -> _Caches:
    from flask import current_app

    return current_app.extensions["staff_coverage"]


def _query() -> tuple[str | None, int, str | None]:
    """(district code or None for the province, radius in metres, demand source or None
    for the default) of the request.

    Without ``district``, district staff see their own district and admins the province.
    """
    raw = request.args.get("district")
    if raw is None or raw == "":
        district = None if current_user.user.role == "admin" else current_user.user.district_code
    elif raw == PROVINCE:
        district = None
    elif raw in get_state().district_codes():
        district = raw
    else:
        raise BadRequest(_("没有这个地区。请从列表中选择。"), code="bad_parameter")
    radius_m = int(p.choice(request.args, "radius_m", [str(r) for r in RADII_M],
                            default=str(DEFAULT_RADIUS_M)))
    demand = p.choice(request.args, "demand", DEMAND_SOURCES)
    return district, radius_m, demand


def _engine(demand: str | None):
    """The coverage engine of the current data with the asked demand (default: the
    uploaded grid when one is in use, else the census proxy)."""
    state = get_state()
    return coverage_engine(state.coverage(), state.store, demand)


def distance_label(m: int) -> str:
    """500 → "500 米", 1000 → "1 公里" (in the current language)."""
    if m >= 1000:
        return _("%(n)s 公里", n=format(m / 1000, "g"))
    return _("%(n)s 米", n=m)


def _client_config(district: str | None, radius_m: int, engine, map_name: str) -> dict:
    """What staff_coverage.js needs, with every string it shows in the current language."""
    area, demand = district or PROVINCE, engine.grid.source
    searches = demand == "searches"
    return {
        "map": map_name,
        "data": url_for("staff_coverage.map_json", district=area, radius_m=radius_m,
                        demand=demand, v=_caches().payloads.stamp(engine)),
        "suggestions": url_for("staff_coverage.suggestions_json", district=area,
                               radius_m=radius_m, demand=demand,
                               v=_caches().payloads.stamp(engine)),
        "stationUrl": url_for("pages.station", site_id="ID"),
        "colours": list(GRID_COLOURS), "proxy": bool(engine.grid.coarse_proxy),
        "t": {
            "loading": _("正在加载地图数据…"), "failed": _("地图数据加载失败，请刷新重试。"),
            "generating": _("正在生成…"), "downloadFailed": _("生成失败，请稍后再试。"),
            "grid": _("到最近驿站的距离"),
            "covered": _("%(r)s 服务范围", r=distance_label(radius_m)),
            "stations": _("在用驿站"), "suggestions": _("建议新站"), "counties": _("区县界"),
            "suggestion": _("建议新站 #%(n)s", n="{n}"),
            "adds": (_("新增覆盖查询约 %(n)s 次", n="{n}") if searches
                     else _("新增覆盖人口约 %(n)s 人", n="{n}")), "proxy": _("粗略估算"),
            "details": _("详情"), "noSuggestions": _("没有可以新增覆盖的位置。"),
            "suggestionsFailed": _("建议新站计算失败，请刷新重试。"),
        },
    }


@bp.get("")
@login_required
def index():
    """Coverage of the province or a district: figures, map, suggested sites, downloads."""
    district, radius_m, demand = _query()
    state = get_state()
    engine = _engine(demand)
    shell = map_shell()
    return render_template(
        "staff/coverage.html", view=coverage_view(engine, radius_m, district), shell=shell,
        districts=state.regions().district_names(), radii=RADII_M,
        classes_m=DISTANCE_CLASSES_M, colours=GRID_COLOURS, demand=engine.grid.source,
        uploaded=current_upload(state.store) is not None,
        downloads=_downloads(district, radius_m, engine.grid.source), synthetic=engine.synthetic,
        format_labels=FORMAT_LABELS,
        metres=distance_label, config=_client_config(district, radius_m, engine, shell.name))


def _downloads(district: str | None, radius_m: int,
               demand: str) -> list[tuple[str, str, str, str]]:
    """(kind, format, URL, file name) of every download button."""
    area = district or PROVINCE
    return [(kind, fmt, url_for("staff_coverage.download", kind=kind, fmt=fmt,
                                district=area, radius_m=radius_m,
                                **({"demand": demand} if kind == "coverage" else {})),
             download_name(kind, fmt, area_name(get_state().regions(), district), radius_m))
            for kind in KINDS for fmt in formats_of(kind)]


@bp.get("/map.json")
@login_required
def map_json():
    """The map's layers (outlines, distance grid, covered area, stations, suggestions)."""
    district, radius_m, demand = _query()
    engine = _engine(demand)
    payloads = _caches().payloads
    payload = payloads.get(engine, radius_m, district,
                           display_datum=get_state().basemap.datum)
    return _json_payload(payload, fresh=request.args.get("v") == payloads.stamp(engine))


def _json_payload(payload, *, fresh: bool) -> Response:
    """A map payload, gzipped when the browser takes it, cached for good when its URL
    carries the current stamp (``fresh``), with an ETag."""
    gz = "gzip" in request.headers.get("Accept-Encoding", "")
    response = Response(payload.gzipped if gz else payload.body, mimetype="application/json")
    if gz:
        response.headers["Content-Encoding"] = "gzip"
    response.headers["Vary"] = "Accept-Encoding"
    response.headers["Cache-Control"] = ("private, max-age=31536000, immutable" if fresh
                                         else "private, no-cache")
    response.set_etag(payload.etag + ("-gz" if gz else ""))
    return response.make_conditional(request)


@bp.get("/suggestions.json")
@login_required
def suggestions_json():
    """Suggested new sites (the slowest figures: the page asks for them last)."""
    district, radius_m, demand = _query()
    body = dumps(suggestion_rows(_engine(demand), radius_m, district,
                                 display_datum=get_state().basemap.datum))
    response = Response(body, mimetype="application/json")
    response.headers["Cache-Control"] = "private, no-cache"
    return response


@bp.get("/download/<any(coverage, stations):kind>/<fmt>")
@login_required
def download(kind: str, fmt: str):
    """A coverage export or the station list of the area, made once per data version."""
    district, radius_m, demand = _query()
    state = get_state()
    cache = _caches().downloads
    if kind == "coverage":
        file = cache.coverage(_engine(demand), fmt, radius_m=radius_m, district=district)
    else:
        snap = state.snapshot()
        file = cache.stations(snap.sites, snap.version, fmt, regions=state.regions(),
                              district=district)
    return _attachment(file)


def _attachment(file) -> Response:
    """A made download (:class:`locator.exports.downloads.Download`) as an attachment."""
    response = send_file(file.file, mimetype=file.mimetype, conditional=False, etag=False)
    response.content_length = file.size
    # RFC 6266: an ASCII name made by the server, and the Chinese one as filename*
    response.headers["Content-Disposition"] = (
        f'attachment; filename="{file.ascii_name}"; '
        f"filename*=UTF-8''{quote(file.name, safe='')}")
    response.headers["Cache-Control"] = "private, no-cache"
    response.headers["X-Content-Type-Options"] = "nosniff"
    return response
