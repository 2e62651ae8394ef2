"""The private request log: one line per request, with a request id, never a client
address, a query string or a coordinate.

A line (logger ``locator.web.requestlog``; on stderr, or gunicorn's error log, unless
logging is configured)::

    2026-12-08T10:15:02+0800 INFO locator.web.requestlog: id=4f9c2d1e0a7b4c3d8e6f5a4b3c2d1e0f \
method=POST path=/api/v1/nearest status=200 ms=2.4

(one line; cut here to fit).

``id`` is also sent back as ``X-Request-Id``; a request id set by a trusted proxy
(``LOCATOR_TRUSTED_PROXIES`` ≥ 1, nginx's ``$request_id``) is kept when it is 8-64 letters,
digits, ``-``, ``_`` or ``.``. ``path`` is the path alone, percent-encoded (so a line is
always one line of printable ASCII) and cut at 200 characters. Every other line the app
writes (errors, tracebacks) carries the request's id too, and has IP addresses and query
strings blotted out, as have gunicorn's own messages.
"""

from __future__ import annotations

import logging
import re
import secrets
import time
from urllib.parse import quote

from flask import Flask, Response, g, has_request_context, request
from flask.logging import wsgi_errors_stream

__all__ = ["LOGGER", "Private", "init_app", "redact"]

LOGGER = logging.getLogger("locator.web.requestlog")
REQUEST_ID = re.compile(r"[A-Za-z0-9._-]{8,64}")
PATH_MAX = 200
FORMAT = "%(asctime)s %(levelname)s %(name)s: %(message)s"
DATE_FORMAT = "%Y-%m-%dT%H:%M:%S%z"

_IPV4 = re.compile(r"(?<![\w.])(?:\d{1,3}\.){3}\d{1,3}(?![\w.])")
# An IPv6 address has "::" or seven colons; a time of day (12:34:56) has neither.
_IPV6 = re.compile(r"(?<![\w:])(?:[0-9A-Fa-f]{0,4}:){2,7}[0-9A-Fa-f]{0,4}(?:%\w+)?(?![\w:])")
_METHOD = re.compile(r"[^A-Z]")
_QUERY = re.compile(r"(/[^\s?\"']*)\?[^\s\"']*")


def redact(text: str) -> str:
    """``text`` without IP addresses or query strings.

    >>> redact("Invalid request from ip=203.0.113.9: GET /api/v1/nearest?lat=38.04&lon=114.5")
    'Invalid request from ip=[address]: GET /api/v1/nearest?[query]'
    >>> redact("fe80::1%eth0 and 2001:db8:0:0:0:0:2:1 at 12:34:56")
    '[address] and [address] at 12:34:56'
    """
    text = _QUERY.sub(r"\1?[query]", text)
    text = _IPV4.sub("[address]", text)
    return _IPV6.sub(lambda m: "[address]" if "::" in m.group() or m.group().count(":") == 7
                     else m.group(), text)


class Private(logging.Formatter):
    """Our line format; whatever a line holds (a message, a traceback) is :func:`redact`-ed,
    and a line written during a request ends with that request's ``id=``."""

    def __init__(self):
        super().__init__(FORMAT, DATE_FORMAT)

    def format(self, record: logging.LogRecord) -> str:
        text = super().format(record)
        if record.name != LOGGER.name and has_request_context() and "request_id" in g:
            text += f" id={g.request_id}"
        return redact(text)


class _Redacting(logging.Filter):
    """For loggers that keep their own format (gunicorn's): the message, redacted."""

    def filter(self, record: logging.LogRecord) -> bool:
        record.msg, record.args = redact(record.getMessage()), None
        return True


class _NoDevAccessLines(logging.Filter):
    """Werkzeug's development server writes the client's address and the full URL of every
    request; our own line replaces it."""

    def filter(self, record: logging.LogRecord) -> bool:
        return " - - [" not in str(record.msg)


def _shown_path(path: str) -> str:
    text = quote(path, safe="/-._~!$&'()*+,;=:@%")
    return text if len(text) <= PATH_MAX else text[:PATH_MAX] + "…"


def init_app(app: Flask) -> None:
    root = logging.getLogger("locator")  # the app's logger: app.logger
    if not root.handlers:  # unless the operator configured logging: stderr, our format
        handler = logging.StreamHandler(wsgi_errors_stream)  # as Flask's own handler
        handler.setFormatter(Private())
        root.addHandler(handler)
    LOGGER.setLevel(logging.INFO)
    for name in ("gunicorn.error", "gunicorn.access"):
        logging.getLogger(name).addFilter(_Redacting())
    logging.getLogger("werkzeug").addFilter(_NoDevAccessLines())
    from_proxy = app.config["TRUSTED_PROXIES"] > 0

    @app.before_request
    def start():
        g.request_started = time.perf_counter()
        given = request.headers.get("X-Request-Id", "") if from_proxy else ""
        g.request_id = given if REQUEST_ID.fullmatch(given) else secrets.token_hex(16)

    @app.after_request
    def log_request(response: Response) -> Response:
        rid = g.get("request_id") or secrets.token_hex(16)
        response.headers["X-Request-Id"] = rid
        started = g.get("request_started")
        ms = (time.perf_counter() - started) * 1000 if started else 0.0
        LOGGER.info("id=%s method=%s path=%s status=%d ms=%.1f", rid,
                    _METHOD.sub("?", request.method[:16]), _shown_path(request.path),
                    response.status_code, ms)
        return response
