"""Strict parsing of query parameters: unknown names, bad numbers, NaN and inf are refused.

Each parser raises :class:`~locator.errors.BadRequest` naming the parameter, in Chinese
with the English code, so a client can fix its request.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping

from locator.errors import BadRequest, shown

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
