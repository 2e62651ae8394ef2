"""The import file's vocabulary (DESIGN.md §5): columns, service labels, kinds, statuses.

Columns are recognised by their Chinese header or English alias, in any order, ignoring
case, spaces, full-width forms and marks such as ``*`` or ``（必填）``.
"""

from __future__ import annotations

import re
import unicodedata

from locator.vocabulary import KIND_TERMS, SERVICE_TERMS, STATUS_TERMS, accepted

__all__ = [
    "COLUMNS",
    "HEADERS",
    "KIND_LABELS",
    "SERVICE_LABELS",
    "STATUS_LABELS",
    "field_of_header",
    "header_key",
]

#: field -> (Chinese header used by the template and in messages, accepted aliases).
COLUMNS: dict[str, tuple[str, tuple[str, ...]]] = {
    "name": ("名称", ("名称", "站点名称", "驿站名称", "name")),
    "kind": ("类型", ("类型", "站点类型", "kind", "type")),
    "lon": ("经度", ("经度", "lon", "lng", "long", "longitude")),
    "lat": ("纬度", ("纬度", "lat", "latitude")),
    "address": ("地址", ("地址", "详细地址", "站点地址", "address")),
    "services": ("服务", ("服务", "服务项目", "服务内容", "services")),
    "opening_hours": ("开放时间", ("开放时间", "营业时间", "opening_hours", "openinghours",
                                   "hours")),
    "host": ("主办单位", ("主办单位", "建设单位", "承办单位", "host")),
    "phone": ("电话", ("电话", "联系电话", "phone", "tel", "telephone")),
    "district": ("所属地区", ("所属地区", "地区", "所属城市", "district", "city")),
    "county": ("区县", ("区县", "所属区县", "县区", "county")),
    "id": ("编号", ("编号", "站点编号", "id")),
    "status": ("状态", ("状态", "status")),
}

#: Column order of the template and of the annotated problems sheet.
HEADERS = tuple(zh for zh, _ in COLUMNS.values())

_MARKS = re.compile(r"[*＊]|[(（][^)）]*[)）]|[\s_\-]")


def header_key(text: object) -> str:
    """Canonical form of a header cell: NFKC, casefolded, without marks and spaces.

    >>> header_key(" 名称（必填）* "), header_key("Opening_Hours")
    ('名称', 'openinghours')
    """
    if text is None:
        return ""
    s = unicodedata.normalize("NFKC", str(text)).casefold()
    return _MARKS.sub("", s)


_HEADER_FIELD = {header_key(alias): field for field, (_, aliases) in COLUMNS.items()
                 for alias in aliases}


def field_of_header(text: object) -> str | None:
    """The record field a header cell names, or ``None``."""
    return _HEADER_FIELD.get(header_key(text))


# The import file's spellings of services, kinds and statuses, from the one vocabulary
# table (locator/vocabulary.py).

#: Chinese label -> service code (DESIGN.md §5). The code itself is accepted too.
SERVICE_LABELS: dict[str, str] = {t.zh: t.code for t in SERVICE_TERMS}

#: Accepted values of 类型 -> kind (case-folded, without spaces).
KIND_LABELS: dict[str, str] = accepted(KIND_TERMS)

#: Accepted values of 状态 -> status (case-folded).
STATUS_LABELS: dict[str, str] = accepted(STATUS_TERMS)

#: The Chinese label of each kind, status and service (for the template and messages).
KIND_NAMES = {t.code: t.zh for t in KIND_TERMS}
STATUS_NAMES = {t.code: t.zh for t in STATUS_TERMS}
SERVICE_NAMES = {t.code: t.zh for t in SERVICE_TERMS}
