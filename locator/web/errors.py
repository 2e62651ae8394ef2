"""Translate errors once: JSON under /api and /healthz, a Chinese page elsewhere.

A message is plain text, never markup, whatever it quotes (a parameter the user sent, a
file name): the page escapes it (``{{ message }}`` under autoescape) and the JSON body
\\u-escapes ``<``, ``>`` and ``&`` (every JSON is written so, see
``locator.web.state.SafeJSONProvider``). One rule for both;
the message is looked up in the catalogue with Python's ``gettext``, which never applies
``%`` formatting to it.
"""

from __future__ import annotations

from flask import Flask, render_template, request
from flask_babel import gettext
from sqlalchemy.exc import DBAPIError
from werkzeug.exceptions import HTTPException

from locator.errors import LocatorError

HTTP_MESSAGES = {
    400: ("bad_request", "请求有误。"),
    404: ("not_found", "没有找到这个页面或站点。"),
    405: ("method_not_allowed", "不支持这种请求方式。"),
    413: ("too_large", "上传的文件太大。"),
    429: ("too_many_requests", "请求太频繁，请稍后再试。"),
    500: ("internal_error", "服务器内部错误，请稍后再试。"),
}


def _wants_json() -> bool:
    return request.path.startswith(("/api/", "/healthz", "/data/"))


def _respond(status: int, code: str, message: str):
    message = str(message)  # plain text: a Markup would skip the page's escaping
    if _wants_json():
        return {"error": code, "message": message}, status
    return render_template("error.html", status=status, message=str(gettext(message))), status


def init_app(app: Flask) -> None:
    @app.errorhandler(LocatorError)
    def locator_error(e: LocatorError):
        return _respond(e.status, e.code, e.message)

    @app.errorhandler(HTTPException)
    def http_error(e: HTTPException):
        status = e.code or 500
        code, message = HTTP_MESSAGES.get(status, ("http_error", e.description or "请求有误。"))
        return _respond(status, code, message)

    @app.errorhandler(Exception)
    def unexpected(e: Exception):
        app.logger.exception("unhandled error")
        if isinstance(e, DBAPIError):
            schema = _schema_is_current(app)
            if schema is None:  # the database does not answer at all
                return _respond(503, "database_unavailable", DOWN_MESSAGE)
            if not schema:  # e.g. new code with a migration, before `locator init`
                return _respond(503, "database_not_initialised", SCHEMA_MESSAGE)
        code, message = HTTP_MESSAGES[500]
        return _respond(500, code, message)


SCHEMA_MESSAGE = "数据库尚未初始化或需要升级：请在服务器上运行 locator init。"
DOWN_MESSAGE = "数据库暂时连不上，请稍后再试。"


def _schema_is_current(app: Flask) -> bool | None:
    """Whether the database is at the newest migration; None when it cannot be read."""
    try:
        return app.extensions["locator"].store.schema_is_current()
    except Exception:  # the database cannot even be read: not a schema question
        return None
