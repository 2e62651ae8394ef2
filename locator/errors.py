"""Typed errors: each carries its HTTP status, a machine code and a user message.

The core raises these; the web layer translates them once (JSON under ``/api``, a page
elsewhere). No Flask here, so the core can raise them freely.
"""

from __future__ import annotations


class LocatorError(Exception):
    """Base of every error a user may see.

    Parameters
    ----------
    message : str, optional
        Replaces the class's Chinese ``message`` (kept as plain text, see below).
    code, status : optional
        Replace the class's ``code`` and HTTP ``status``.
    message_en : str, optional
        The English message; without it English pages show the Chinese one.

    Attributes
    ----------
    status : int
        HTTP status the web layer answers with.
    code : str
        Stable machine-readable code, e.g. ``bad_parameter``.
    message : str
        Human text, Chinese first; safe to show (never a stack trace).
    message_en : str or None
        The same in English, when there is one.

    Examples
    --------
    >>> error = BadRequest("半径太大。", code="bad_radius", message_en="Radius too large.")
    >>> error.status, error.to_dict()
    (400, {'error': 'bad_radius', 'message': '半径太大。'})
    """

    status = 500
    code = "internal_error"
    message = "服务器内部错误，请稍后再试。"

    message_en: str | None = None

    def __init__(self, message: str | None = None, *, code: str | None = None,
                 status: int | None = None, message_en: str | None = None):
        # Messages are plain text, never markup: ``str()`` drops a ``Markup`` type, so
        # whatever reaches a page is escaped there (HTML) or \u-escaped (JSON).
        if message is not None:
            self.message = str(message)
        if message_en is not None:
            self.message_en = str(message_en)
        if code is not None:
            self.code = code
        if status is not None:
            self.status = status
        super().__init__(self.message)

    def to_dict(self) -> dict:
        """The error as a JSON-ready dict, in the shape of the API's error body.

        Returns
        -------
        dict
            ``{"error": code, "message": message}`` (the Chinese message).
        """
        return {"error": self.code, "message": self.message}

    def message_for(self, lang: str = "zh") -> str:
        """The message in ``lang`` (``zh`` or ``en``); Chinese when there is no English.

        Parameters
        ----------
        lang : str
            ``"en"`` for English; anything else gives Chinese.

        Returns
        -------
        str
            Plain text.
        """
        return self.message_en if lang == "en" and self.message_en else self.message


def shown(value: object, limit: int = 40) -> str:
    """A value the user sent, as it may be quoted inside an error message.

    Its ``repr`` (so blanks, control characters and lone surrogates are visible),
    cut to ``limit`` characters. The result is plain text like every message: the web layer
    escapes it when it sends it (HTML pages by Jinja's autoescape, JSON by
    :func:`locator.jsonio.dumps`), so it is never trusted as markup.

    Parameters
    ----------
    value : object
        Anything the user sent.
    limit : int
        Most characters of the result, the ellipsis included.

    Returns
    -------
    str

    Examples
    --------
    >>> shown("abc")
    "'abc'"
    >>> shown("x" * 100, limit=10)
    "'xxxxxxxx…"
    """
    text = repr(value)
    return text if len(text) <= limit else text[:limit - 1] + "…"


class BadRequest(LocatorError):
    """A request the core cannot accept (HTTP 400, code ``bad_parameter``).

    Callers usually give a precise ``code`` and message (see :class:`LocatorError`).
    """

    status = 400
    code = "bad_parameter"
    message = "请求参数有误。"


class BadDatum(BadRequest):
    """A datum name that is not ``wgs84``, ``gcj02`` or ``bd09`` (HTTP 400, ``bad_datum``).

    Parameters
    ----------
    datum : object
        The name as given; quoted in the message with :func:`shown`.
    """

    code = "bad_datum"

    def __init__(self, datum: object):
        super().__init__(f"不支持的坐标系 {shown(datum)}，可选 wgs84、gcj02、bd09。")


class NotFound(LocatorError):
    """No such page, site or record (HTTP 404, code ``not_found``)."""

    status = 404
    code = "not_found"
    message = "没有找到这个页面或站点。"


class Conflict(LocatorError):
    """The data changed since the caller read it (HTTP 409, code ``conflict``)."""

    status = 409
    code = "conflict"
    message = "数据已被修改，请刷新后重试。"


class UploadRefused(LocatorError):
    """An uploaded station file that cannot or may not be read.

    HTTP 422. The file was not imported; nothing was changed.

    Parameters
    ----------
    code : str
        One of the import report's file-level codes (DESIGN.md §5):
        ``unreadable_file``, ``unsupported_file`` or ``too_many_rows``.
    message, message_en : str
        The reason in Chinese and in English.
    """

    status = 422
    code = "unsupported_file"
    message = "不支持这种文件。"

    def __init__(self, code: str, message: str, message_en: str):
        super().__init__(message, code=code, message_en=message_en)


class StartupRefused(Exception):
    """The app will not start; ``str()`` is one line saying why: a setting it cannot work
    with, a safeguard not in force (the GDAL driver allowlist, defusedxml), a database that
    needs ``locator init``. Commands print that line and nothing else (``locator.app``)."""
