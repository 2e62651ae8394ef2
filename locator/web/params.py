"""Strict parsing of request parameters (the query string, or the body of a POST that keeps
them out of the URL): unknown names, bad numbers, NaN and inf are refused.

Each parser raises :class:`~locator.errors.BadRequest` naming the parameter, in Chinese
with the English code, so a client can fix its request.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping
from urllib.parse import urlsplit

from werkzeug.datastructures import MultiDict

from locator.errors import BadRequest, LocatorError, shown

TRUE = {"1", "true", "yes"}
FALSE = {"0", "false", "no"}


def reject_unknown(args: Mapping[str, str], allowed: Iterable[str]) -> None:
    unknown = sorted(set(args) - set(allowed))
    if unknown:
        raise BadRequest(f"不认识的参数：{', '.join(map(shown, unknown))}（unknown parameter）。",
                         code="unknown_parameter")
    repeated = [k for k in args if len(args.getlist(k)) > 1] if hasattr(args, "getlist") else []
    if repeated:
        names = ", ".join(map(shown, sorted(repeated)))
        raise BadRequest(f"参数重复：{names}（repeated parameter）。",
                         code="repeated_parameter")


FORM = "application/x-www-form-urlencoded"
JSON = "application/json"


class CrossSite(LocatorError):
    status = 403
    code = "cross_site_request"
    message = "不接受其他网站页面发来的这种请求（cross-site request refused）。"


class UnsupportedBody(LocatorError):
    status = 415
    code = "unsupported_media_type"
    message = ("请求体应是表单（application/x-www-form-urlencoded）或 JSON 对象"
               "（application/json）。")


def body_params(request) -> MultiDict:
    """The parameters of a POST that carries them in its body instead of its URL: a form,
    or a JSON object of strings, numbers, booleans (and lists of strings, joined by
    commas). Nothing may come in the query string then. A browser request from another
    site's page (``Origin`` or ``Sec-Fetch-Site`` says so) is refused: the endpoint is
    exempt from the CSRF token, and only our own pages post to it."""
    origin = request.headers.get("Origin")
    # Host names only: behind a proxy that is not declared (LOCATOR_TRUSTED_PROXIES) our
    # own page's https origin would otherwise look foreign to an http app.
    if origin is not None:
        mine = _hostname("//" + request.host)
        if mine is None or _hostname(origin) != mine:
            raise CrossSite()
    if request.headers.get("Sec-Fetch-Site", "same-origin") not in ("same-origin", "none"):
        raise CrossSite()
    reject_unknown(request.args, ())
    if request.mimetype == FORM:
        return request.form
    if request.mimetype != JSON:
        raise UnsupportedBody()
    body = request.get_json(silent=True)
    if not isinstance(body, dict):
        raise BadRequest("请求体应是一个 JSON 对象（the body must be a JSON object）。",
                         code="bad_body")
    return MultiDict({str(k): _json_text(str(k), v) for k, v in body.items()})


def _hostname(url: str) -> str | None:
    try:
        return urlsplit(url).hostname
    except ValueError:  # e.g. "http://[" (an unclosed IPv6 bracket)
        return None


def _json_text(name: str, value) -> str:
    if isinstance(value, bool):
        return "1" if value else "0"
    if isinstance(value, str):
        return value
    if isinstance(value, int | float):
        return repr(value)
    if value is None:
        return ""
    if isinstance(value, list) and all(isinstance(v, str) for v in value):
        return ",".join(value)
    raise BadRequest(f"参数 {shown(name)} 的值应是字符串、数或真假值（got {shown(value)}）。",
                     code="bad_parameter")


def number(args, name: str, *, low: float, high: float, default=None, required=False) -> float:
    raw = args.get(name)
    if raw is None or raw == "":
        if required:
            raise BadRequest(f"缺少参数 {name}（missing parameter）。", code="missing_parameter")
        return default
    return _float(raw, name, low, high)


def _float(raw: str, name: str, low: float, high: float) -> float:
    try:
        value = float(raw)
    except ValueError:
        value = math.nan
    # float() accepts full-width and other Unicode digits, '1_000' and 'nan': only plain ASCII
    # decimal numbers are accepted, and the range test is written so that NaN fails it.
    if not raw.isascii() or "_" in raw or not (low <= value <= high):
        raise BadRequest(f"参数 {name} 应是 {low:g} 到 {high:g} 之间的数（got {shown(raw)}）。",
                         code="bad_parameter")
    return value


def integer(args, name: str, *, low: int, high: int, default: int) -> int:
    raw = args.get(name)
    if raw is None or raw == "":
        return default
    if not (raw.isascii() and raw.isdigit()) or not (low <= int(raw) <= high):
        raise BadRequest(f"参数 {name} 应是 {low} 到 {high} 之间的整数（got {shown(raw)}）。",
                         code="bad_parameter")
    return int(raw)


def boolean(args, name: str, default: bool = False) -> bool:
    raw = args.get(name)
    if raw is None or raw == "":
        return default
    if raw.lower() in TRUE:
        return True
    if raw.lower() in FALSE:
        return False
    raise BadRequest(f"参数 {name} 应是 1 或 0（got {shown(raw)}）。", code="bad_parameter")


def choice(args, name: str, options: Iterable[str], default=None):
    raw = args.get(name)
    if raw is None or raw == "":
        return default
    options = tuple(options)
    if raw not in options:
        raise BadRequest(f"参数 {name} 只能是 {'、'.join(options)}（got {shown(raw)}）。",
                         code="bad_parameter")
    return raw


def choices(args, name: str, options: Iterable[str]) -> tuple[str, ...]:
    raw = args.get(name)
    if raw is None or raw == "":
        return ()
    options = set(options)
    values = tuple(dict.fromkeys(v.strip() for v in raw.split(",") if v.strip()))
    bad = [v for v in values if v not in options]
    if bad:
        values = ", ".join(map(shown, bad))
        raise BadRequest(f"参数 {name} 中有不认识的值：{values}（unknown value）。",
                         code="bad_parameter")
    return values


def bbox(args, name: str = "bbox"):
    raw = args.get(name)
    if raw is None or raw == "":
        return None
    parts = raw.split(",")
    if len(parts) != 4:
        raise BadRequest("参数 bbox 应是 minlon,minlat,maxlon,maxlat 四个数。",
                         code="bad_parameter")
    w, s, e, n = (_float(p.strip(), name, lo, hi)
                  for p, (lo, hi) in zip(parts, [(-180, 180), (-90, 90)] * 2, strict=True))
    if not (w <= e and s <= n):
        raise BadRequest("参数 bbox 的最小值不能大于最大值（minlon ≤ maxlon, minlat ≤ maxlat）。",
                         code="bad_parameter")
    return w, s, e, n
