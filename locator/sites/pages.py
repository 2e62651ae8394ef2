"""Pages for people: the courier's map and list, the station page, the problem report."""

from __future__ import annotations

import datetime as dt

from flask import (
    Blueprint,
    Flask,
    Response,
    abort,
    flash,
    redirect,
    render_template,
    request,
    url_for,
)
from flask_babel import gettext as _

from locator.errors import LocatorError
from locator.geo import hours
from locator.geo.navigation import navigation_links
from locator.jsonio import dumps
from locator.reports.filing import NOTE_MAX, file_report
from locator.store import throttle
from locator.vocabulary import KINDS, REPORT_CATEGORIES, SERVICE_TERMS, SERVICES
from locator.web.shell import map_shell
from locator.web.staff import client_source
from locator.web.state import get_state

bp = Blueprint("pages", __name__)
#: Problem reports per client address: 5, then a pause until 10 minutes have passed since
#: the last attempt. Counted in the database, so every worker and server sees one count.
REPORT_RULE = throttle.Rule(free=5, first_wait_s=600.0, max_wait_s=600.0, forget_s=600.0)


def _now() -> dt.datetime:
    return dt.datetime.now(dt.UTC)


def _no_cache(html: str) -> Response:
    response = Response(html, mimetype="text/html")
    response.headers["Cache-Control"] = "no-cache"
    return response


def _client_config(snap) -> dict:
    """Everything app.js needs, including every string it shows, in the current language."""
    return {
        "map": map_shell().name,
        "sites": url_for("pages.sites_json", v=snap.version),
        "search": url_for("pages.search_json", v=snap.version),
        "nearest": url_for("api.nearest"),
        "stationUrl": url_for("pages.station", site_id="ID"),
        "displayDatum": get_state().basemap.datum,
        "synthetic": snap.synthetic,
        "kinds": list(KINDS),
        "services": [{"code": t.code, "label": _(t.zh), "icon": t.icon}
                     for t in SERVICE_TERMS],
        "rangeM": 2000,
        "t": {
            "station": _("工会驿站"), "mother_room": _("爱心妈妈小屋"),
            "open": _("营业中"), "closed": _("已打烊"), "unknown": _("营业时间未知"),
            "tempClosed": _("暂停开放"), "reopens": _("预计 %(date)s 恢复开放", date="{date}"),
            "allDay": _("24小时"), "m": _("%(n)s 米", n="{n}"), "km": _("%(n)s 公里", n="{n}"),
            "walk": _("步行约 %(n)s 分钟", n="{n}"),
            "none": _("附近 %(range)s内没有符合条件的站点，最近的在 %(dist)s外。",
                      range="{range}", dist="{dist}"),
            "nothing": _("没有符合条件的站点。"),
            "loading": _("正在加载站点…"), "searching": _("正在查找最近的站点…"),
            "loadFailed": _("站点数据加载失败，请稍后刷新。"),
            "offline": _("网络不可用：以下按直线距离估算，营业状态未知。"),
            "last": _("上次的结果（%(time)s）", time="{time}"),
            "locating": _("正在定位…"),
            "geoInsecure": _("定位需要安全连接（https）。请用 https 打开本页，或在地图上点一下你的位置。"),
            "geoUnsupported": _("这个浏览器不能定位。请在地图上点一下你的位置，或输入地址搜索。"),
            "geoDenied": _("没有定位权限。请在浏览器或微信设置中允许定位，或在地图上点一下你的位置。"),
            "geoUnavailable": _("暂时无法获取位置（信号弱或没开 GPS）。请稍后再试，或在地图上点一下。"),
            "geoTimeout": _("定位超时。请到开阔处再试，或在地图上点一下你的位置。"),
            "you": _("你的位置"), "here": _("从这里查找"), "details": _("详情"),
            "navigate": _("导航"), "call": _("电话"), "noResults": _("没有找到匹配的地方或站点。"),
            "place": _("地区"), "demo": _("示例数据（虚构）"),
        },
    }


@bp.get("/")
def index():
    """The courier's page: map, filters, search and the nearest list."""
    snap = get_state().snapshot()
    return _no_cache(render_template(
        "index.html", shell=map_shell(), counts=snap.counts(), synthetic=snap.synthetic,
        config=_client_config(snap), services=SERVICES))


@bp.get("/data/sites.json")
def sites_json():
    """Compact station payload for the map; the URL carries the data version."""
    snap = get_state().snapshot()
    response = Response(snap.compact_json, mimetype="application/json")
    response.set_etag(f"v{snap.version}")
    if request.args.get("v") == str(snap.version):
        response.headers["Cache-Control"] = "public, max-age=31536000, immutable"
    else:
        response.headers["Cache-Control"] = "no-cache"
    return response.make_conditional(request)


@bp.get("/data/search.json")
def search_json():
    """What the offline search box needs beyond the map payload: places, and per site its
    address and pinyin initials. Fetched on first use of the search box."""
    state = get_state()
    snap = state.snapshot()
    body = dumps({"version": snap.version, "places": state.places(),
                  "sites": snap.search_rows})
    response = Response(body, mimetype="application/json")
    response.set_etag(f"s{snap.version}")
    response.headers["Cache-Control"] = ("public, max-age=31536000, immutable"
                                         if request.args.get("v") == str(snap.version)
                                         else "no-cache")
    return response.make_conditional(request)


def _station_or_404(snap, site_id: str):
    pos = snap.position_of.get(site_id)
    if pos is None:
        abort(404)
    return snap.sites.iloc[pos]


@bp.get("/stations/<site_id>")
def station(site_id: str):
    """A site's own page: a stable link to share."""
    snap = get_state().snapshot()
    site = _station_or_404(snap, site_id)
    now = dt.datetime.now(hours.TZ)
    return _no_cache(render_template(
        "station.html", site=site, open_now=hours.open_at(site.opening_hours, now),
        links=navigation_links(site.lon, site.lat, site["name"], site.address),
        categories=REPORT_CATEGORIES, note_max=NOTE_MAX, synthetic=bool(site.synthetic)))


@bp.post("/stations/<site_id>/report")
def report(site_id: str):
    """Store a "信息有误？" report for the district's staff; no login, rate-limited."""
    store, now = get_state().store, _now()
    if throttle.attempt(store, throttle.key_of("report", client_source()), REPORT_RULE, now):
        flash(_("提交太频繁了，请稍后再试。"), "error")
        return redirect(url_for("pages.station", site_id=site_id, _anchor="report"))
    try:
        file_report(store, site_id, request.form.get("category", ""),
                    request.form.get("note", ""), now)
    except LocatorError as e:
        if e.status == 404:
            raise
        flash(e.message, "error")
        return redirect(url_for("pages.station", site_id=site_id, _anchor="report"))
    flash(_("谢谢！你的反馈已交给工会工作人员核实。"), "ok")
    return redirect(url_for("pages.station", site_id=site_id, _anchor="report"))


@bp.get("/about")
def about():
    """Where the data comes from, what is synthetic, what we keep about you (nothing)."""
    snap = get_state().snapshot()
    return render_template("about.html", counts=snap.counts(), synthetic=snap.synthetic,
                           basemap=get_state().basemap)


def init_app(app: Flask) -> None:
    app.register_blueprint(bp)
