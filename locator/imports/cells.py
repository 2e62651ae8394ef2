"""The rules for one cell of an import row (or one field of the staff form), but coordinates.

* **text** (名称, 地址, 主办单位, 电话, 所属地区, 区县, 编号): :func:`clean_text`;
* **类型** and **状态** from a fixed list: :func:`parse_kind`, :func:`parse_status`;
* **服务** by Chinese label or code: :func:`parse_services`;
* **开放时间** to OSM ``opening_hours``: :func:`normalise_hours`;
* the duplicate rule's name key: :func:`name_key`.

A rule returns the normalised value or raises :class:`~locator.imports.problems.CellError`
with the problem code and a message in Chinese and English. Coordinates have their own
module, :mod:`locator.imports.coordinates`.
"""

from __future__ import annotations

import datetime as dt
import functools
import math
import re
import unicodedata
from typing import Any

from locator.geo import hours as hours_mod
from locator.imports.columns import KIND_LABELS, SERVICE_LABELS, STATUS_LABELS
from locator.imports.problems import CellError
from locator.vocabulary import SERVICES

__all__ = [
    "LABELS",
    "MAX_LENGTH",
    "TEXT_FIELDS",
    "as_text",
    "clean_text",
    "name_key",
    "normalise_hours",
    "parse_kind",
    "parse_services",
    "parse_status",
    "unknown_service",
]

#: Longest text per field, in characters, after normalisation.
MAX_LENGTH = {"name": 100, "address": 200, "host": 100, "phone": 40, "district": 40,
              "county": 40, "id": 20, "opening_hours": 200}
#: The text fields, in the order a row's cells are checked.
TEXT_FIELDS = ("name", "address", "host", "phone", "district", "county", "id")
#: How messages name each text field: (Chinese, English).
LABELS = {
    "name": ("名称", "name"), "address": ("地址", "address"), "host": ("主办单位", "host"),
    "phone": ("电话", "phone"), "district": ("所属地区", "district"),
    "county": ("区县", "county"), "id": ("编号", "id"),
}

_BAD_CATEGORIES = {"Cc": ("控制字符", "a control character"),
                   "Cf": ("不可见的格式字符", "an invisible format character"),
                   "Co": ("私用区字符", "a private-use character"),
                   "Cs": ("无效的代理字符", "an invalid surrogate")}
_WHITESPACE = re.compile(r"\s+")


def as_text(value: Any) -> str:
    """A cell as the text a user typed.

    Parameters
    ----------
    value : str, int, float, bool, datetime.date or None
        A cell as a reader gives it.

    Returns
    -------
    str
        Numbers without a spurious ``.0``, dates in ISO 8601, booleans as 是/否, ``None``
        and NaN as the empty string.

    Examples
    --------
    >>> as_text(13800000000.0), as_text(None), as_text(True), as_text(dt.date(2026, 5, 1))
    ('13800000000', '', '是', '2026-05-01')
    """
    if value is None:
        return ""
    if isinstance(value, bool):
        return "是" if value else "否"
    if isinstance(value, int):
        return str(value)
    if isinstance(value, float):
        if not math.isfinite(value):
            return ""
        return str(int(value)) if value.is_integer() and abs(value) < 1e15 else repr(value)
    if isinstance(value, dt.datetime | dt.date):
        return value.isoformat()
    return str(value)


def clean_text(value: Any, *, max_length: int, label: tuple[str, str] = ("文字", "text"),
               required: bool = False) -> str:
    """Normalise one text cell.

    NFC; every run of whitespace becomes one space and the ends are trimmed; control,
    format, private-use and surrogate characters are refused, naming the first one.

    Parameters
    ----------
    value : str, number, date or None
        The cell (see :func:`as_text`).
    max_length : int
        Most characters after normalisation (:data:`MAX_LENGTH`).
    label : (str, str)
        How messages name the field, in Chinese and English (:data:`LABELS`).
    required : bool
        Refuse an empty value.

    Returns
    -------
    str

    Raises
    ------
    CellError
        Code ``bad_text``.

    Examples
    --------
    >>> clean_text(" 裕华路\\n驿站 ", max_length=100)
    '裕华路 驿站'
    """
    text = unicodedata.normalize("NFC", as_text(value))
    text = _WHITESPACE.sub(" ", text).strip()
    # Fast path: printable text holds no Cc/Cf/Co/Cs (nor Cn) characters.
    for ch in ("" if text.isprintable() else text):
        category = unicodedata.category(ch)
        if category in _BAD_CATEGORIES:
            zh, en = _BAD_CATEGORIES[category]
            code = f"U+{ord(ch):04X}"
            raise CellError(f"{label[0]}中含有{zh}（{code}），请删除它",
                            f"the {label[1]} contains {en} ({code}); delete it", "bad_text")
    if required and not text:
        raise CellError(f"{label[0]}不能为空", f"the {label[1]} is required", "bad_text")
    if len(text) > max_length:
        raise CellError(f"{label[0]}太长（{len(text)} 个字，最多 {max_length} 个）",
                        f"the {label[1]} is too long ({len(text)} characters; at most "
                        f"{max_length})", "bad_text")
    return text


_KEY_DROP = re.compile(r"[\s\W_]+")


def name_key(name: str) -> str:
    """The duplicate-detection key of a name.

    Parameters
    ----------
    name : str

    Returns
    -------
    str
        NFKC, case-folded, letters and digits only.

    Examples
    --------
    >>> name_key("石家庄站 ") == name_key("石家庄站") == name_key("石家庄·站")
    True
    """
    return _KEY_DROP.sub("", unicodedata.normalize("NFKC", name).casefold())


# --------------------------------------------------------------------------- kind, status

def parse_kind(value: Any) -> str:
    """类型 as a kind code.

    Parameters
    ----------
    value : str or None
        A Chinese label, an alias or the code (``KIND_LABELS``).

    Returns
    -------
    str
        ``station`` or ``mother_room``; an empty cell is ``station``.

    Raises
    ------
    CellError
        Code ``bad_value``: not one of the accepted labels (``KIND_LABELS``).

    Examples
    --------
    >>> parse_kind("爱心妈妈小屋"), parse_kind("")
    ('mother_room', 'station')
    """
    text = unicodedata.normalize("NFKC", as_text(value)).strip()
    kind = KIND_LABELS.get(text.casefold().replace(" ", ""), None) if text else "station"
    if kind is None:
        raise CellError(f"类型「{text[:20]}」无法识别，应为 驿站 或 爱心妈妈小屋",
                        f"kind {text[:20]!r} not understood: use 驿站 (station) or "
                        "爱心妈妈小屋 (mother_room)", "bad_value")
    return kind


def parse_status(value: Any) -> str | None:
    """状态 as a status code.

    Parameters
    ----------
    value : str or None
        A Chinese label, an alias or the code (``STATUS_LABELS``).

    Returns
    -------
    str or None
        ``active``, ``temporarily_closed`` or ``removed``; ``None`` for an empty cell
        (the site keeps its status).

    Raises
    ------
    CellError
        Code ``bad_value``: not one of the accepted labels (``STATUS_LABELS``).

    Examples
    --------
    >>> parse_status("暂停"), parse_status(None)
    ('temporarily_closed', None)
    """
    text = unicodedata.normalize("NFKC", as_text(value)).strip()
    if not text:
        return None
    status = STATUS_LABELS.get(text.casefold())
    if status is None:
        raise CellError(f"状态「{text[:20]}」无法识别，应为 正常、暂停 或 撤销",
                        f"status {text[:20]!r} not understood: use active, "
                        "temporarily_closed or removed", "bad_value")
    return status


# --------------------------------------------------------------------------- services

_SERVICE_LOOKUP = {**{k.casefold(): v for k, v in SERVICE_LABELS.items()},
                   **{code: code for code in SERVICES}}
_SERVICE_SPLIT = re.compile(r"[、,，;；|｜\s]+")


def parse_services(value: Any) -> tuple[list[str], list[str]]:
    """Service codes (vocabulary order, no repeats) and the labels not recognised.

    Labels are Chinese (``SERVICE_LABELS``) or codes, separated by 、 , ， ; ； | or
    spaces; results are cached per text (the lists are copies).

    Parameters
    ----------
    value : str or None
        The 服务 cell.

    Returns
    -------
    (codes, unknown) : (list of str, list of str)

    Examples
    --------
    >>> parse_services("饮水、热水, toilet；AED")
    (['drinking_water', 'hot_water', 'toilet', 'aed'], [])
    >>> parse_services("饮水|按摩")
    (['drinking_water'], ['按摩'])
    """
    codes, unknown = _parse_services(as_text(value))
    return list(codes), list(unknown)


@functools.lru_cache(maxsize=4096)
def _parse_services(text: str) -> tuple[tuple[str, ...], tuple[str, ...]]:
    text = unicodedata.normalize("NFKC", text)
    found, unknown = set(), []
    for label in _SERVICE_SPLIT.split(text):
        if not label:
            continue
        code = _SERVICE_LOOKUP.get(label.casefold())
        if code is None:
            unknown.append(label)
        else:
            found.add(code)
    return tuple(s for s in SERVICES if s in found), tuple(unknown)


def unknown_service(label: str) -> CellError:
    """The problem of a label :func:`parse_services` did not recognise.

    Parameters
    ----------
    label : str
        As written (messages show at most 20 characters).

    Returns
    -------
    CellError
        Code ``unknown_service``; the message lists the known labels.
    """
    return CellError(f"不认识的服务「{label[:20]}」，可选：{'、'.join(SERVICE_LABELS)}",
                     f"unknown service {label[:20]!r}; known: {', '.join(SERVICES)}",
                     "unknown_service")


# --------------------------------------------------------------------------- hours

_ALWAYS = {"全天", "24小时", "24h", "24H", "全天候", "24小时开放", "全天开放", "24小时营业",
           "24/7", "全年无休", "7*24小时", "7x24小时", "7×24小时"}
_DAYS = [("星期一", "Mo"), ("星期二", "Tu"), ("星期三", "We"), ("星期四", "Th"),
         ("星期五", "Fr"), ("星期六", "Sa"), ("星期日", "Su"), ("星期天", "Su"),
         ("礼拜一", "Mo"), ("礼拜二", "Tu"), ("礼拜三", "We"), ("礼拜四", "Th"),
         ("礼拜五", "Fr"), ("礼拜六", "Sa"), ("礼拜日", "Su"), ("礼拜天", "Su"),
         ("周一", "Mo"), ("周二", "Tu"), ("周三", "We"), ("周四", "Th"), ("周五", "Fr"),
         ("周六", "Sa"), ("周日", "Su"), ("周天", "Su"), ("工作日", "Mo-Fr"),
         ("周末", "Sa,Su"), ("每天", "Mo-Su"), ("每日", "Mo-Su"), ("法定节假日", "PH"),
         ("节假日", "PH"), ("休息", "off"), ("关闭", "off")]
_TIME_RANGE = r"[0-9]{1,2}:[0-9]{2}-[0-9]{1,2}:[0-9]{2}"


def normalise_hours(value: Any) -> str:
    """Staff-style opening hours to OSM ``opening_hours`` (China time).

    ``全天`` → ``24/7``, ``08:00-20:00`` → ``Mo-Su 08:00-20:00``, 周一至周五 → ``Mo-Fr``;
    the result must parse (:func:`locator.geo.hours.is_valid`). Cached per text (hours
    repeat a lot).

    Parameters
    ----------
    value : str or None
        The 开放时间 cell; empty gives ``""``.

    Returns
    -------
    str

    Raises
    ------
    CellError
        Code ``bad_opening_hours``.

    Examples
    --------
    >>> normalise_hours("全天"), normalise_hours("8:00－20:00")
    ('24/7', 'Mo-Su 08:00-20:00')
    >>> normalise_hours("周一至周五 08:30-17:30")
    'Mo-Fr 08:30-17:30'
    """
    return _normalise_hours(as_text(value))


@functools.lru_cache(maxsize=4096)
def _normalise_hours(original: str) -> str:
    text = _WHITESPACE.sub(" ", unicodedata.normalize("NFKC", original)).strip()
    if not text:
        return ""
    if text.replace(" ", "") in _ALWAYS:
        return "24/7"
    for zh, osm in _DAYS:
        text = text.replace(zh, f" {osm} ")
    text = re.sub(r"\s*[~〜—–‐‑‒―至到]\s*", "-", text)
    text = text.replace("、", ",").replace("，", ",")
    text = re.sub(r"\s*-\s*", "-", text)
    text = re.sub(r"\s*,\s*", ",", text)
    text = re.sub(r"(?<=[0-9]),(?=[A-Z])", ";", text)  # "…17:00，周末 …": a new rule
    text = re.sub(r"\s*;\s*", "; ", text)
    text = _WHITESPACE.sub(" ", text).strip()
    text = re.sub(r"(?<![\d:])(\d):(\d{2})", r"0\1:\2", text)
    if re.fullmatch(rf"{_TIME_RANGE}(?:,{_TIME_RANGE})*", text):
        text = "Mo-Su " + text
    if len(text) > MAX_LENGTH["opening_hours"] or not hours_mod.is_valid(text):
        shown = original.strip()[:60]
        raise CellError(
            f"无法识别开放时间「{shown}」，可以写 08:00-20:00、全天、周一至周五 08:30-17:30 "
            "或 OSM 格式（如 Mo-Fr 08:00-18:00）",
            f"opening hours {shown!r} not understood: write 08:00-20:00, 24/7 or OSM "
            "syntax such as Mo-Fr 08:00-18:00",
            "bad_opening_hours",
        )
    return text
