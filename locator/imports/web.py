"""Staff pages for importing station lists: upload → check → publish → undo.

Thin views over :mod:`locator.imports.uploads` (the holding area),
:mod:`locator.imports.review` (preview and publish) and
:mod:`locator.imports.plan` (batches and undo). District accounts import, see and undo
only their own district's sites and batches; admins all.
"""

from __future__ import annotations

import io
from pathlib import Path

from flask import (
    Blueprint,
    Flask,
    abort,
    current_app,
    flash,
    redirect,
    render_template,
    request,
    send_file,
    url_for,
)
from flask_babel import gettext as _
from flask_login import current_user, login_required

from locator.errors import Conflict, LocatorError
from locator.geo.datum import DATUMS
from locator.imports.plan import batch_detail, list_batches, undo_import
from locator.imports.problem_sheet import problems_xlsx
from locator.imports.readers import Limits
from locator.imports.review import (
    account_district,
    field_labels,
    import_time,
    plan_upload,
    preview,
    publish_upload,
)
from locator.imports.template import template_xlsx
from locator.imports.uploads import UploadArea
from locator.jsonio import dumps
from locator.web.i18n import select_locale
from locator.web.shell import map_shell
from locator.web.state import get_state

bp = Blueprint("staff_imports", __name__, url_prefix="/staff/imports")
XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
# Room for the multipart envelope and the small form fields around the file.
FORM_OVERHEAD_BYTES = 64 * 1024


def _area() -> UploadArea:
    return UploadArea(Path(current_app.instance_path) / "uploads")


def _user():
    return current_user.user


def _district() -> str | None:
    """The district the signed-in account is restricted to (``None`` for admins)."""
    return account_district(_user())


def _plan_args() -> dict:
    return {"regions": get_state().regions(), "limits": Limits.from_settings(current_app.config),
            "tmp_root": current_app.instance_path, "district_code": _district()}


def _xlsx(data: bytes, name: str):
    return send_file(io.BytesIO(data), mimetype=XLSX, as_attachment=True, download_name=name)


bp.add_app_template_filter(import_time, "import_time")


@bp.url_value_preprocessor
def _upload_cap(endpoint, _values):
    # Runs before CSRFProtect reads the form, so the cap applies before any parsing.
    if endpoint == "staff_imports.upload":
        request.max_content_length = (current_app.config["IMPORT_MAX_BYTES"]
                                      + FORM_OVERHEAD_BYTES)


@bp.errorhandler(413)
def _too_large(_e):
    mb = "%g" % (current_app.config["IMPORT_MAX_BYTES"] / 2**20)
    message = _("文件太大：最大 %(mb)s MB。请把文件拆成几份，分别上传。", mb=mb)
    return render_template("staff/import_error.html", message=message, status=413), 413


@bp.errorhandler(LocatorError)
def _refused(e: LocatorError):
    return render_template("staff/import_error.html", message=e.message_for(select_locale()),
                           status=e.status, token=(request.view_args or {}).get("token")), \
        e.status


@bp.get("")
@login_required
def index(error: str | None = None, status: int = 200):
    """Upload a station list; the latest imports below."""
    batches = list_batches(get_state().store, 20, district_code=_district())
    return render_template("staff/import_upload.html", batches=batches, datums=DATUMS,
                           error=error, max_mb=current_app.config["IMPORT_MAX_BYTES"] / 2**20,
                           districts=get_state().regions().district_names()), status


@bp.post("")
@login_required
def upload():
    """Keep the uploaded file under a new token, then show its check (POST/redirect/GET)."""
    file = request.files.get("file")
    if file is None or not file.filename:
        return index(error=_("请先选择要上传的文件。"), status=400)
    data = file.read()
    if not data:
        return index(error=_("这个文件是空的（0 字节），请检查后重新选择。"), status=400)
    if len(data) > current_app.config["IMPORT_MAX_BYTES"]:
        abort(413)
    token = _area().put(data, owner_id=_user().id, source_name=file.filename,
                        datum=request.form.get("datum", ""))
    return redirect(url_for(".check", token=token), 303)


@bp.get("/template.xlsx")
@login_required
def template():
    """The XLSX template with the Chinese headers, dropdowns and instructions."""
    return _xlsx(template_xlsx(), "驿站导入模板.xlsx")


@bp.get("/check/<token>")
@login_required
def check(token: str):
    """The preview: summary, problems, new and changed rows, a map of new and moved points."""
    upload = _area().get(token, owner_id=_user().id)
    plan = plan_upload(get_state().store, upload, **_plan_args())
    shown = preview(plan, lang=select_locale(), display_datum=get_state().basemap.datum)
    return render_template("staff/import_check.html", upload=upload, plan=plan, pv=shown,
                           shell=map_shell(), map_json=dumps(shown["map"]))


@bp.get("/check/<token>/problems.xlsx")
@login_required
def problems(token: str):
    """The uploaded rows with their problems beside them."""
    upload = _area().get(token, owner_id=_user().id)
    plan = plan_upload(get_state().store, upload, **_plan_args())
    return _xlsx(problems_xlsx(plan, lang=select_locale()), "import-problems.xlsx")


@bp.post("/check/<token>/publish")
@login_required
def publish(token: str):
    """Apply exactly the previewed plan; refused when the data changed since."""
    upload = _area().get(token, owner_id=_user().id)
    batch_id = publish_upload(get_state().store, upload, user=_user().username,
                              seen_version=request.form.get("data_version", ""),
                              seen_sha256=request.form.get("sha256", ""), **_plan_args())
    _area().discard(token, owner_id=_user().id)
    if batch_id is None:
        flash(_("文件里没有新增或变化的站点，没有导入任何内容。"), "ok")
        return redirect(url_for(".index"))
    flash(_("已发布。如有错误，可以在本页撤销本次导入。"), "ok")
    return redirect(url_for(".batch", batch_id=batch_id))


@bp.get("/<int:batch_id>")
@login_required
def batch(batch_id: int):
    """What one import did, with its undo button."""
    detail = batch_detail(get_state().store, batch_id, district_code=_district())
    return render_template("staff/import_batch.html", batch=detail,
                           field_labels=field_labels(select_locale()),
                           districts=get_state().regions().district_names())


@bp.post("/<int:batch_id>/undo")
@login_required
def undo(batch_id: int):
    """Undo one import; a later change to one of its sites blocks it (and says which)."""
    try:
        done = undo_import(get_state().store, batch_id, user=_user().username,
                           district_code=_district())
    except Conflict as e:
        flash(e.message_for(select_locale()), "error")
    else:
        flash(_("已撤销本次导入：恢复 %(restored)s 个站点，删除 %(removed)s 个新增站点。",
                restored=done.restored, removed=done.removed), "ok")
    return redirect(url_for(".batch", batch_id=batch_id))


def init_app(app: Flask) -> None:
    app.register_blueprint(bp)
