"""Staff page /staff/demand: which demand the coverage figures use, the uploaded
population grid (admins upload it), and what the search counts say. Views stay thin:
the figures come from :func:`locator.coverage.demand.demand_overview`, an upload goes
through :func:`locator.coverage.demand.upload_grid`.

Also sets up the per-worker search counter the nearest API writes to (counts only).
"""

from __future__ import annotations

from flask import (
    Blueprint,
    Flask,
    abort,
    current_app,
    flash,
    redirect,
    render_template,
    request,
    url_for,
)
from flask_babel import gettext as _
from flask_login import current_user, login_required

from locator.coverage import demand
from locator.errors import LocatorError
from locator.web.state import get_state

bp = Blueprint("staff_demand", __name__, url_prefix="/staff/demand")


def init_app(app: Flask) -> None:
    app.register_blueprint(bp)


@bp.get("/")
@login_required
def index():
    """What demand is in use, the last upload, and the search counts per district."""
    return _page()


def _page(plan_report: dict | None = None, status: int = 200):
    state = get_state()
    overview = demand.demand_overview(state.store, state.regions(),
                                      state.searches, days=30)
    return render_template(
        "staff/demand.html", **overview, report=plan_report, tz=demand.TZ,
        keep_days=current_app.config.get("SEARCH_COUNTS_KEEP_DAYS", 400),
        min_shown=demand.MIN_SHOWN, max_mb=demand.MAX_GRID_BYTES // 2**20,
        is_admin=current_user.user.role == "admin",
    ), status


def _admin_only() -> None:
    if current_user.user.role != "admin":
        abort(403)


@bp.post("/upload")
@login_required
def upload():
    """Check an uploaded population grid and, when it has no problem, put it in use."""
    _admin_only()
    file = request.files.get("file")
    if file is None or not file.filename:
        flash(_("请选择要上传的 CSV 文件。"), "error")
        return redirect(url_for("staff_demand.index"))
    state = get_state()
    plan = demand.upload_grid(state.store, state.coverage().grid,
                              file.stream.read(demand.MAX_GRID_BYTES + 1),
                              source_name=file.filename, user=current_user.user.username)
    if not plan.ok:
        flash(_("人口网格有问题，没有保存任何内容。请改正后重新上传。"), "error")
        return _page(plan.report("en" if request.cookies.get("lang") == "en" else "zh"), 400)
    flash(_("已启用上传的人口网格：%(cells)s 个网格，共 %(persons)s 人。", cells=format(
        len(plan.cells), ","), persons=format(plan.inside_weight, ",.0f")), "ok")
    return redirect(url_for("staff_demand.index"))


@bp.post("/withdraw")
@login_required
def withdraw():
    """Stop using the uploaded grid: the coverage figures return to the census proxy."""
    _admin_only()
    try:
        demand.withdraw_grid(get_state().store, user=current_user.user.username)
    except LocatorError as e:
        flash(e.message, "error")
    else:
        flash(_("已停用上传的人口网格，恢复使用人口普查粗略代理。"), "ok")
    return redirect(url_for("staff_demand.index"))
