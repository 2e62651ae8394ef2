"""The project's vocabulary, one table per kind of term: site kinds, statuses, services.

Each :class:`Term` holds everything the product knows about one code: the code stored in
the database and used by the API (DESIGN.md §4-§5), its Chinese label (shown, written in
the import template, accepted on import), its English label (the English catalogue says
the same; a test keeps them equal), an icon, more spellings an import file may use, and
for services the **bit** the nearest index's filter mask uses. Bits are fixed here, never
by position, and a test holds them: an existing service never changes bit.

Adding a service is one row of :data:`SERVICE_TERMS` (with the next free bit) and its
English line in the catalogue. This is the bottom layer: the geo core, the store and
every feature read it.
"""

from __future__ import annotations

from dataclasses import dataclass

__all__ = [
    "KINDS", "KIND_TERMS", "REPORT_CATEGORIES", "REPORT_STATUSES", "ROLES", "SERVICES",
    "SERVICE_BIT", "SERVICE_TERMS", "STATUSES", "STATUS_TERMS", "Term", "accepted", "by_code",
]


@dataclass(frozen=True)
class Term:
    """One code of the vocabulary and every way it is written.

    Attributes
    ----------
    code : str
        Stored in the database, used by the API and the JS (``drinking_water``).
    zh, en : str
        The label in Chinese and in English (``饮水``, ``Drinking water``).
    icon : str
        An emoji shown beside the label (services), or ``""``.
    aliases : tuple of str
        More spellings an import file may use, besides ``zh`` and ``code``.
    bit : int
        Services only: the bit of the nearest index's filter mask (``-1`` otherwise).
    """

    code: str
    zh: str
    en: str
    icon: str = ""
    aliases: tuple[str, ...] = ()
    bit: int = -1


KIND_TERMS: tuple[Term, ...] = (
    Term("station", "驿站", "Station", aliases=("工会驿站", "户外劳动者服务站")),
    Term("mother_room", "爱心妈妈小屋", "Mother room", aliases=("妈妈小屋", "motherroom")),
)

STATUS_TERMS: tuple[Term, ...] = (
    Term("active", "正常", "Active", aliases=("开放", "运行")),
    Term("temporarily_closed", "暂停", "Temporarily closed",
         aliases=("暂时关闭", "暂停开放", "closed")),
    Term("removed", "撤销", "Removed", aliases=("已撤销", "撤除")),
)

SERVICE_TERMS: tuple[Term, ...] = (
    Term("drinking_water", "饮水", "Drinking water", "💧", bit=0),
    Term("hot_water", "热水", "Hot water", "♨️", bit=1),
    Term("heating", "供暖", "Heating", "🔥", bit=2),
    Term("air_conditioning", "空调", "Air conditioning", "❄️", bit=3),
    Term("rest_area", "休息", "Rest area", "🪑", bit=4),
    Term("toilet", "卫生间", "Toilet", "🚻", bit=5),
    Term("phone_charging", "手机充电", "Phone charging", "🔌", bit=6),
    Term("ebike_charging", "电动车充电", "E-bike charging", "🛵", bit=7),
    Term("microwave", "微波炉", "Microwave", "🍲", bit=8),
    Term("first_aid_kit", "急救药箱", "First-aid kit", "🩹", bit=9),
    Term("aed", "AED", "AED", "❤️", bit=10),
    Term("wifi", "无线网络", "Wi-Fi", "📶", bit=11),
    Term("repair_tools", "维修工具", "Repair tools", "🔧", bit=12),
    Term("reading", "阅读", "Reading", "📖", bit=13),
    Term("nursing_room", "哺乳间", "Nursing room", "🤱", bit=14),
    Term("fridge", "冰箱", "Fridge", "🧊", bit=15),
    Term("changing_table", "尿布台", "Changing table", "🚼", bit=16),
    Term("lockable_door", "可锁门", "Lockable door", "🔒", bit=17),
)

KINDS = tuple(t.code for t in KIND_TERMS)
STATUSES = tuple(t.code for t in STATUS_TERMS)
SERVICES = tuple(t.code for t in SERVICE_TERMS)
#: service code → its mask bit (``1 << Term.bit``).
SERVICE_BIT = {t.code: 1 << t.bit for t in SERVICE_TERMS}
assert sorted(t.bit for t in SERVICE_TERMS) == list(range(len(SERVICE_TERMS))), "bits"

REPORT_CATEGORIES = ("closed_when_open", "wrong_place", "missing_service", "other")
REPORT_STATUSES = ("new", "in_progress", "resolved")

ROLES = ("admin", "district")


def by_code(terms: tuple[Term, ...]) -> dict[str, Term]:
    """``{code: term}`` of a table.

    Parameters
    ----------
    terms : tuple of Term
        One of the tables, e.g. :data:`SERVICE_TERMS`.

    Returns
    -------
    dict of str to Term

    Examples
    --------
    >>> by_code(SERVICE_TERMS)["toilet"].zh
    '卫生间'
    """
    return {t.code: t for t in terms}


def accepted(terms: tuple[Term, ...]) -> dict[str, str]:
    """Every spelling an import file may use (``zh``, ``code``, aliases), case-folded and
    without spaces → code.

    Parameters
    ----------
    terms : tuple of Term
        One of the tables, e.g. :data:`KIND_TERMS`.

    Returns
    -------
    dict of str to str
        Look up a cell after ``.casefold().replace(" ", "")``.

    Examples
    --------
    >>> accepted(KIND_TERMS)["妈妈小屋"], accepted(STATUS_TERMS)["closed"]
    ('mother_room', 'temporarily_closed')
    """
    return {spelling.casefold().replace(" ", ""): t.code for t in terms
            for spelling in (t.zh, t.code, *t.aliases)}
