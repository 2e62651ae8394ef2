"""Typed errors: each carries its HTTP status, a machine code and a user message.

The core raises these; the web layer translates them once (JSON under ``/api``, a page
elsewhere). No Flask here, so the core can raise them freely.
"""

from __future__ import annotations


class LocatorError(Exception):
    """Base of every error a user may see.

    Attributes
    ----------
    status : int
        HTTP status the web layer answers with.
    code : str
        Stable machine-readable code, e.g. ``bad_parameter``.
    message : str
        Human text, Chinese first; safe to show (never a stack trace).
    """

    status = 500
    code = "internal_error"
    message = "服务器内部错误，请稍后再试。"

    def __init__(self, message: str | None = None, *, code: str | None = None,
                 status: int | None = None):
        if message is not None:
            self.message = message
        if code is not None:
            self.code = code
        if status is not None:
            self.status = status
        super().__init__(self.message)

    def to_dict(self) -> dict:
        return {"error": self.code, "message": self.message}


class BadRequest(LocatorError):
    status = 400
    code = "bad_parameter"
    message = "请求参数有误。"


class BadDatum(BadRequest):
    code = "bad_datum"

    def __init__(self, datum: object):
        super().__init__(f"不支持的坐标系 {datum!r}，可选 wgs84、gcj02、bd09。")


class NotFound(LocatorError):
    status = 404
    code = "not_found"
    message = "没有找到这个页面或站点。"


class Conflict(LocatorError):
    status = 409
    code = "conflict"
    message = "数据已被修改，请刷新后重试。"
