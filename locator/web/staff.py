"""Staff pages: login, logout and the problem-report queue. Views stay thin."""

from __future__ import annotations

import hashlib
import hmac
from dataclasses import dataclass

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
from flask_login import LoginManager, current_user, login_required, login_user, logout_user

from locator.errors import LocatorError
from locator.reports import queue as report_queue
from locator.store import accounts
from locator.store.models import User
from locator.vocabulary import REPORT_STATUSES
from locator.web.i18n import select_locale
from locator.web.redirects import redirect_to_next
from locator.web.state import get_state

bp = Blueprint("staff", __name__, url_prefix="/staff")
# The staff sections in menu order; each shows once its blueprint is registered.
SECTIONS = ("staff.reports", "staff_imports.index", "staff_stations.index",
            "staff_coverage.index", "staff_demand.index")


@dataclass
class SessionUser:
    """What Flask-Login keeps: the account plus the session version it was issued for."""

    user: User

    is_authenticated = True
    is_active = True
    is_anonymous = False

    def get_id(self) -> str:
        return f"{self.user.id}:{self.user.session_version}"


def init_app(app: Flask) -> None:
    manager = LoginManager(app)
    manager.login_view = "staff.login"
    manager.login_message = "请先登录。"
    manager.session_protection = "strong"

    @manager.user_loader
    def load(user_key: str):
        try:
            user_id, version = (int(part) for part in user_key.split(":"))
        except ValueError:
            return None
        user = accounts.load_session_user(get_state().store, user_id, version)
        return SessionUser(user) if user else None

    app.register_blueprint(bp)

    @app.context_processor
    def staff_helpers():
        def staff_sections() -> list[str]:
            return [e for e in SECTIONS if e in app.view_functions]

        def staff_district_name() -> str:
            code = current_user.user.district_code or ""
            return get_state().regions().district_names().get(code, code)

        return {"staff_sections": staff_sections, "staff_district_name": staff_district_name}


def client_source() -> str:
    """The client's address keyed with the app's secret: stable per address, and the
    address itself cannot be read back from what the throttle stores."""
    secret = str(current_app.config["SECRET_KEY"]).encode()
    address = (request.remote_addr or "?").encode()
    return hmac.new(secret, address, hashlib.sha256).hexdigest()


@bp.route("/login", methods=["GET", "POST"])
def login():
    """Sign in (accounts are made with `locator users create`)."""
    if request.method == "POST":
        try:
            user = accounts.authenticate(get_state().store, request.form.get("username", ""),
                                         request.form.get("password", ""),
                                         source=client_source())
        except LocatorError as e:
            flash(e.message_for(select_locale()), "error")
            return render_template("staff/login.html"), e.status
        if user is None:
            flash(_("用户名或密码不对。"), "error")
            return render_template("staff/login.html"), 401
        login_user(SessionUser(user))
        return redirect_to_next(request.args.get("next"), url_for("staff.reports"))
    return render_template("staff/login.html")


@bp.post("/logout")
@login_required
def logout():
    """Sign out everywhere: the account's sessions are revoked on the server."""
    accounts.revoke_sessions(get_state().store, current_user.user.id)
    logout_user()
    flash(_("已退出登录。"), "ok")
    return redirect(url_for("staff.login"))


@bp.get("/")
@bp.get("/reports")
@login_required
def reports():
    """The problem-report queue of the user's district (all districts for admins)."""
    status = request.args.get("status") or None
    if status is not None and status not in REPORT_STATUSES:
        abort(400)
    items = report_queue.queue(get_state().store, current_user.user, status)
    return render_template("staff/reports.html", items=items, status=status,
                           statuses=REPORT_STATUSES, districts=get_state().regions()
                           .district_names())


@bp.post("/reports/<int:report_id>")
@login_required
def update_report(report_id: int):
    """Change a report's status and resolution note."""
    try:
        report_queue.update_report(get_state().store, current_user.user, report_id,
                                   request.form.get("status", ""),
                                   request.form.get("resolution_note", ""))
    except LocatorError as e:
        if e.status == 404:
            abort(404)
        flash(e.message, "error")
    else:
        flash(_("已更新。"), "ok")
    return redirect(url_for("staff.reports", status=request.args.get("status")))
