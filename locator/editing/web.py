"""Staff 站点管理: the station list, the edit form with its map, status, stamp, history.

Thin views over :mod:`locator.editing.stations`, which holds every rule (validation as the
import does it, districts, concurrency, history).
"""

from __future__ import annotations

from flask import (
    Blueprint,
    Flask,
    flash,
    jsonify,
    redirect,
    render_template,
    request,
    url_for,
)
from flask_babel import gettext as _
from flask_login import current_user, login_required

from locator.editing import stations as editing
from locator.jsonio import dumps
from locator.sites.maps import latlon
from locator.vocabulary import KINDS, SERVICES, STATUSES
from locator.web.i18n import select_locale
from locator.web.state import get_state

bp = Blueprint("staff_stations", __name__, url_prefix="/staff/stations")


def init_app(app: Flask) -> None:
    app.register_blueprint(bp)


def _user():
    return current_user.user


def flash_ok(message: str) -> None:
    flash(message, "ok")


def _form_input() -> editing.StationInput:
    form = request.form
    return editing.StationInput(services=form.getlist("services"),
                                **{f: form.get(f, "") for f in editing.StationInput.TEXT_FIELDS})


def _map_config(record: dict | None, relocate: bool) -> str:
    """What staff_station.js needs, as JSON for a <script> element (locator.escape)."""
    base = get_state().basemap
    view = editing.map_view(record, get_state().regions(), _user(), base.datum)
    return dumps({
        "tiles": [{"url": t.url, "attribution": t.attribution, "subdomains": t.subdomains}
                  for t in base.layers],
        "displayDatum": base.datum, "locateUrl": url_for("staff_stations.locate"),
        "pin": latlon(*view.pin) if view.pin else None, "center": latlon(*view.center),
        "zoom": view.zoom, "relocate": relocate,
        "t": {"outside": _("不在河北省内"), "checking": _("正在核对位置…"),
              "failed": _("暂时无法核对位置，保存时会再检查。"),
              "pinHint": _("拖动图钉或在地图上点一下，坐标会自动填写（WGS-84）。")},
    })


def _render_form(record: dict | None, inp: editing.StationInput, *, errors=None,
                 status_errors=None, status_input=None, message=None, code=200):
    inp.services = editing.form_services(inp.services)
    return render_template(
        "staff/station_form.html", record=record, inp=inp, errors=errors or {},
        status_errors=status_errors or {}, status_input=status_input or {}, message=message,
        kinds=KINDS, services=SERVICES, today=editing.today(),
        verified_stale=record is not None and editing.is_stale(record["verified_at"]),
        map_config=_map_config(record, relocate=bool(errors or message)),
        leaflet_js=url_for("vendor", package="leaflet", filename="leaflet.js"),
        leaflet_css=url_for("vendor", package="leaflet", filename="leaflet.css"),
    ), code


@bp.get("")
@login_required
def index():
    """The station list: search, filters, 50 per page."""
    args = request.args
    page = editing.list_stations(
        get_state().store, _user(), q=args.get("q", ""), district=args.get("district") or None,
        kind=args.get("kind") or None, status=args.get("status") or None,
        stale=args.get("stale") == "1", page=args.get("page", 1, type=int) or 1)
    return render_template("staff/station_list.html", result=page, args=args, kinds=KINDS,
                           statuses=STATUSES, districts=get_state().regions().district_names())


@bp.get("/locate")
@login_required
def locate():
    """Where typed or dragged coordinates are (JSON for the form's map)."""
    a = request.args
    return jsonify(editing.locate_input(
        a.get("lon", ""), a.get("lat", ""), a.get("datum", "wgs84"),
        regions=get_state().regions(), user=_user(),
        display_datum=get_state().basemap.datum, lang=select_locale()))


@bp.route("/new", methods=["GET", "POST"])
@login_required
def new():
    """A new site, with the same form."""
    if request.method == "GET":
        return _render_form(None, editing.StationInput())
    inp = _form_input()
    try:
        new_id = editing.create_station(get_state().store, _user(), inp,
                                        regions=get_state().regions())
    except editing.Invalid as e:
        return _render_form(None, inp, errors=e.by_field(select_locale()), code=422)
    flash_ok(_("已新建站点 %(id)s。", id=new_id))
    return redirect(url_for("staff_stations.edit", station_id=new_id))


@bp.route("/<station_id>", methods=["GET", "POST"])
@login_required
def edit(station_id: str):
    """The edit form (GET) and saving it (POST)."""
    store = get_state().store
    record = editing.get_station(store, _user(), station_id)
    if request.method == "GET":
        return _render_form(record, editing.form_input(record))
    inp = _form_input()
    try:
        result = editing.save_station(store, _user(), station_id, inp,
                                      regions=get_state().regions())
    except editing.Invalid as e:
        return _render_form(record, inp, errors=e.by_field(select_locale()), code=422)
    except editing.StaleEdit as e:
        return _render_form(record, inp, message=e.message_for(select_locale()), code=409)
    flash_ok(_("已保存。") if result.changed else _("没有改动，未保存。"))
    return redirect(url_for("staff_stations.edit", station_id=station_id))


@bp.post("/<station_id>/status")
@login_required
def status(station_id: str):
    """Close temporarily, remove, or reopen."""
    store, form = get_state().store, request.form
    try:
        editing.change_status(store, _user(), station_id, form.get("action", ""),
                              version=form.get("version", ""),
                              reopen_date=form.get("reopen_date", ""),
                              reason=form.get("reason", ""))
    except (editing.Invalid, editing.StaleEdit) as e:
        return _status_failed(station_id, e)
    flash_ok(_("状态已更新。"))
    return redirect(url_for("staff_stations.edit", station_id=station_id))


@bp.post("/<station_id>/verify")
@login_required
def verify(station_id: str):
    """"仍然正确": stamp today's date as verified."""
    try:
        editing.verify_station(get_state().store, _user(), station_id,
                               version=request.form.get("version", ""))
    except editing.StaleEdit as e:
        return _status_failed(station_id, e)
    flash_ok(_("已记录：信息仍然正确（%(date)s）。", date=editing.today().isoformat()))
    return redirect(url_for("staff_stations.edit", station_id=station_id))


def _status_failed(station_id: str, e):
    """Show the site as it is now, with the problem and what was typed kept."""
    record = editing.get_station(get_state().store, _user(), station_id)
    lang = select_locale()
    stale = isinstance(e, editing.StaleEdit)
    return _render_form(record, editing.form_input(record),
                        status_errors={} if stale else e.by_field(lang),
                        status_input=dict(request.form),
                        message=e.message_for(lang) if stale else None,
                        code=e.status)


@bp.get("/<station_id>/history")
@login_required
def history(station_id: str):
    """Every change of one site, newest first."""
    record, entries = editing.station_history(get_state().store, _user(), station_id)
    return render_template("staff/station_history.html", station_id=station_id, record=record,
                           entries=entries, service_codes=SERVICES)
