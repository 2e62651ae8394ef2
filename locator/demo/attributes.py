"""What the demo sites are called and say about themselves: invented, from word lists.

Names, hosts, addresses, phones and hours are composed from generic word lists (no real
station names); each host category (sanitation, bank, fuel, ...) has its share, its
opening hours and its services' probabilities. Every draw comes from the random stream
the caller passes, in a fixed order, so the records depend only on the seed.
"""

from __future__ import annotations

from bisect import bisect_right
from collections.abc import Mapping, Sequence
from datetime import date, datetime, time, timedelta, timezone
from itertools import accumulate
from typing import Any

import numpy as np

from locator.geo.census import District
from locator.vocabulary import SERVICES

__all__ = ["REFERENCE_DATE", "attributes"]

#: "Today" for the demo data: ``verified_at`` falls in the year before it.
REFERENCE_DATE = date(2026, 11, 1)
_TZ = timezone(timedelta(hours=8))  # Asia/Shanghai has no DST

_STREETS = (
    "中华大街", "建设路", "人民路", "解放路", "胜利路", "和平路", "新华路", "裕华路", "友谊大街",
    "育才街", "光明路", "朝阳路", "振兴路", "团结路", "东风路", "红旗大街", "文化路", "长江道",
    "黄河道", "迎宾路", "青年路", "工农路", "民主街", "健康路", "学府路", "府前街", "复兴路",
    "站前街", "滨河路", "北环路", "南环路", "东环路", "西环路", "新兴路", "幸福街", "平安大街",
    "永安街", "富强路", "前进街", "向阳路", "金桥路", "银河路", "建华大街", "钢城路", "利民街",
    "兴业路", "开元路", "泰山路",
)
_COMMUNITY_WORDS = (
    "幸福", "和平", "阳光", "康乐", "东苑", "西苑", "花园", "丽景", "金桥", "新华", "育才",
    "光明", "朝阳", "振兴", "团结", "民生", "安居", "福康", "锦绣", "翠园", "华苑", "春晖",
    "明珠", "嘉园", "绿洲", "馨园", "怡景", "南苑", "北苑", "兴华", "文明", "长青", "瑞祥",
    "泰安", "欣园", "颐和", "书香", "滨河", "青园", "恒润",
)
_COMMUNITY_SUFFIXES = ("", "", "里", "东", "西", "南", "北", "新村")
_TRADE_WORDS = (
    "鑫源", "恒泰", "瑞丰", "宏达", "嘉和", "福润", "佳乐", "裕隆", "天润", "泰和", "永盛",
    "金鼎", "华瑞", "盛源", "润通", "广信", "博远", "中诚", "德顺", "同创", "万和", "众邦",
    "远航", "安泰", "康达", "凯越", "鼎盛", "聚源", "荣昌", "新亿", "宝丰", "顺和", "启航",
    "瑞祥", "锦程", "恒信", "合力", "通达",
)
_INDUSTRIES = (
    ("物流", "物流有限公司"), ("快递", "快递服务有限公司"), ("物业", "物业服务有限公司"),
    ("建工", "建设工程有限公司"), ("城服", "城市服务有限公司"), ("市政", "市政工程有限公司"),
    ("运输", "运输有限公司"), ("环境", "环境工程有限公司"),
)
_MALL_SUFFIXES = ("购物广场", "百货大楼", "商业中心", "时代广场", "生活广场", "商厦")
_PARKS = (
    "人民", "滨河", "文化", "体育", "植物", "中心", "湿地", "森林", "儿童", "劳动", "青年",
    "世纪", "东湖", "南湖", "龙泉", "翠屏", "迎宾", "凤凰", "月季", "健身",
)
_SURNAMES = (
    "王", "李", "张", "刘", "赵", "陈", "杨", "马", "高", "孙", "郭", "黄", "周", "吴", "徐",
    "胡", "朱", "何", "冯", "崔", "东", "西", "南", "北", "前", "后", "大", "小", "新", "中",
)
_VILLAGE_SUFFIXES = (
    "庄", "家庄", "各庄", "官庄", "营", "屯", "店", "寨", "堡", "口", "疃", "坊", "辛庄",
)
_TOWN_SUFFIXES = ("集", "庄", "店", "营", "口", "城", "堡", "寨", "河", "桥")
_BANKS = {
    "中国工商银行": 0.2, "中国建设银行": 0.2, "中国农业银行": 0.2, "中国银行": 0.15,
    "中国邮政储蓄银行": 0.15, "河北银行": 0.1,
}
_HOSPITAL_TYPES = ("人民医院", "中医医院", "妇幼保健院", "第二人民医院", "中心医院")
_CLOSURE_REASONS = ("装修改造", "设备维修", "道路施工", "供暖设施检修", "场地调整", "水电改造")

_STATION_SUFFIX = ("工会驿站", "户外劳动者服务站", "爱心驿站", "劳动者港湾")

# Host categories and their shares (urban points / rural points / mother rooms).
_STATION_HOSTS = {
    "sanitation": 0.18, "bank": 0.21, "fuel": 0.12, "community": 0.16, "grid": 0.05,
    "mobile": 0.05, "company": 0.07, "mall": 0.05, "park": 0.04, "union": 0.07,
}
_RURAL_HOSTS = {"fuel": 0.35, "village": 0.40, "grid": 0.10, "sanitation": 0.15}
_MOTHER_HOSTS = {
    "hospital": 0.35, "mall": 0.18, "bank": 0.10, "union": 0.10, "government": 0.10,
    "company": 0.17,
}

_HOURS = {
    "sanitation": (("24/7", 0.5), ("Mo-Su 05:00-21:00", 0.3), ("Mo-Su 06:00-20:00", 0.2)),
    "bank": (
        ("Mo-Fr 09:00-17:00; Sa,Su 09:00-16:00", 0.45),
        ("Mo-Fr 08:30-17:30; Sa,Su 09:00-16:00", 0.25),
        ("Mo-Fr 09:00-17:00; Sa,Su 09:00-16:00; PH off", 0.2),
        ("Mo-Su 09:00-17:00", 0.1),
    ),
    "fuel": (("24/7", 0.85), ("Mo-Su 06:00-22:00", 0.15)),
    "community": (
        ("Mo-Su 08:00-20:00; PH 09:00-17:00", 0.35),
        ("Mo-Fr 08:30-17:30; PH off", 0.25),
        ("Mo-Su 07:00-21:00", 0.25),
        ("Mo-Fr 08:00-18:00; Sa,Su 09:00-17:00", 0.15),
    ),
    "grid": (("Mo-Su 08:30-18:00", 0.6), ("Mo-Su 09:00-18:00; PH 09:00-16:00", 0.4)),
    "mobile": (("Mo-Su 08:30-18:00", 0.5), ("Mo-Su 09:00-21:00", 0.5)),
    "company": (("Mo-Su 07:00-21:00", 0.5), ("Mo-Fr 08:00-18:00", 0.3), ("24/7", 0.2)),
    "mall": (("Mo-Su 10:00-22:00", 0.6), ("Mo-Su 09:30-21:30", 0.4)),
    "park": (
        ("Mo-Su 06:00-21:00", 0.6),
        ("Apr-Oct Mo-Su 05:30-21:30; Nov-Mar Mo-Su 06:30-19:00", 0.4),
    ),
    "union": (
        ("Mo-Fr 08:30-17:30; PH off", 0.5),
        ("Mo-Su 08:00-20:00; PH 09:00-17:00", 0.3),
        ("24/7", 0.2),
    ),
    "village": (("Mo-Su 07:00-19:00", 0.6), ("Mo-Su 08:00-18:00; PH off", 0.4)),
    "hospital": (("24/7", 0.6), ("Mo-Su 08:00-17:30", 0.4)),
    "government": (
        ("Mo-Fr 08:30-12:00,14:30-17:30; PH off", 0.6),
        ("Mo-Fr 09:00-17:00; PH off", 0.4),
    ),
}

# Probability of each service (vocabulary order is taken from ``SERVICES``).
_STATION_SERVICES = {
    "drinking_water": 0.99, "hot_water": 0.96, "heating": 0.70, "air_conditioning": 0.72,
    "rest_area": 0.98, "toilet": 0.55, "phone_charging": 0.88, "ebike_charging": 0.22,
    "microwave": 0.62, "first_aid_kit": 0.82, "aed": 0.03, "wifi": 0.55, "repair_tools": 0.30,
    "reading": 0.28, "fridge": 0.12,
}
_STATION_SERVICE_TWEAKS = {
    "fuel": {"toilet": 0.95},
    "bank": {"wifi": 0.90, "toilet": 0.40, "aed": 0.08},
    "mall": {"toilet": 0.98, "aed": 0.12},
    "park": {"toilet": 0.90},
    "sanitation": {"repair_tools": 0.50, "ebike_charging": 0.35},
    "community": {"reading": 0.50},
    "union": {"reading": 0.60, "aed": 0.10},
}
_MOTHER_SERVICES = {
    "nursing_room": 1.0, "lockable_door": 1.0, "fridge": 0.85, "changing_table": 0.80,
    "hot_water": 0.90, "rest_area": 0.90, "drinking_water": 0.75, "air_conditioning": 0.70,
    "heating": 0.50, "wifi": 0.35, "first_aid_kit": 0.30, "toilet": 0.25,
}


_NAME_SUFFIXES = ("满族蒙古族自治县", "满族自治县", "回族自治县", "新区", "矿区", "县", "市", "区")


def _short(name: str) -> str:
    """``"正定县"`` → ``"正定"``, ``"石家庄市"`` → ``"石家庄"``; one-character stems stay whole."""
    for suffix in _NAME_SUFFIXES:
        if name.endswith(suffix) and len(name) - len(suffix) >= 2:
            return name[: -len(suffix)]
    return name


def _pick(rng: np.random.Generator, options: Sequence[Any]) -> Any:
    return options[int(rng.integers(len(options)))]


def _pick_weighted(
    rng: np.random.Generator, table: Mapping[Any, float] | Sequence[tuple[Any, float]],
) -> Any:
    items = list(table.items()) if isinstance(table, Mapping) else list(table)
    cumulative = list(accumulate(w for _, w in items))
    i = bisect_right(cumulative, rng.random() * cumulative[-1])
    return items[min(i, len(items) - 1)][0]


def _community(rng: np.random.Generator) -> str:
    return _pick(rng, _COMMUNITY_WORDS) + _pick(rng, _COMMUNITY_SUFFIXES)


def _village(rng: np.random.Generator) -> str:
    return _pick(rng, _SURNAMES) + _pick(rng, _VILLAGE_SUFFIXES) + "村"


def _town(rng: np.random.Generator) -> str:
    return _pick(rng, _SURNAMES) + _pick(rng, _TOWN_SUFFIXES) + "镇"


def _bank_branch(rng: np.random.Generator, place: str, street: str) -> str:
    return f"{_pick_weighted(rng, _BANKS)}{place}{street}支行"


def _company(rng: np.random.Generator, district: District) -> tuple[str, str]:
    word = _pick(rng, _TRADE_WORDS)
    short, full = _pick(rng, _INDUSTRIES)
    return f"{word}{short}", f"{_short(district.name)}{word}{full}"


def _mall(rng: np.random.Generator) -> str:
    return _pick(rng, _TRADE_WORDS) + _pick(rng, _MALL_SUFFIXES)


def _name_host(
    rng: np.random.Generator, kind: str, category: str, district: District, county: str,
    street: str, village: str,
) -> tuple[str, str]:
    """Compose (name, host) for one site; all words come from the generic lists above."""
    city, place = _short(district.name), _short(county)
    urban_place = city if county.endswith("区") else place
    if kind == "mother_room":
        return _mother_room_name_host(rng, category, district, county, street, urban_place)
    return _station_name_host(rng, category, district, county, street, village, urban_place)


def _mother_room_name_host(
    rng: np.random.Generator, category: str, district: District, county: str, street: str,
    urban_place: str,
) -> tuple[str, str]:
    if category == "hospital":
        hospital = county + _pick(rng, _HOSPITAL_TYPES)
        return f"{hospital}爱心妈妈小屋", hospital
    if category == "mall":
        mall = _mall(rng)
        return f"{mall}母婴室（爱心妈妈小屋）", mall
    if category == "bank":
        branch = _bank_branch(rng, urban_place, street)
        return f"{branch}爱心妈妈小屋", branch
    if category == "union":
        if rng.random() < 0.5:
            host = f"{county}总工会"
        else:
            host = f"{_pick(rng, _COMMUNITY_WORDS)}街道总工会"
        return f"{host}职工之家爱心妈妈小屋", host
    if category == "government":
        host = f"{county}政务服务中心"
        return f"{host}爱心妈妈小屋", host
    short, full = _company(rng, district)
    return f"{short}爱心妈妈小屋", full


def _station_name_host(
    rng: np.random.Generator, category: str, district: District, county: str, street: str,
    village: str, urban_place: str,
) -> tuple[str, str]:
    suffix = _pick(rng, _STATION_SUFFIX)
    if category == "sanitation":
        host = f"{county}环卫所"
        name = f"{street}环卫工人爱心驿站" if rng.random() < 0.6 else f"{street}环卫{suffix}"
        return name, host
    if category == "bank":
        branch = _bank_branch(rng, urban_place, street)
        return f"{branch}{suffix}", branch
    if category == "fuel":
        brand = "中国石化" if rng.random() < 0.55 else "中国石油"
        where = village.removesuffix("村") if village else street
        host = f"{brand}{where}加油站"
        tail = "户外劳动者服务站" if rng.random() < 0.6 else _pick(rng, _STATION_SUFFIX[:3])
        return f"{host}{tail}", host
    if category == "community":
        community = _community(rng)
        return f"{community}社区{suffix}", f"{community}社区居委会"
    if category == "grid":
        host = f"国网{urban_place}供电公司"
        return f"{host}{street}营业厅{suffix}", host
    if category == "mobile":
        return f"中国移动{street}营业厅{suffix}", f"中国移动{_short(district.name)}分公司"
    if category == "company":
        short, full = _company(rng, district)
        return f"{short}职工{suffix}", full
    if category == "mall":
        mall = _mall(rng)
        return f"{mall}{suffix}", mall
    if category == "park":
        park = _pick(rng, _PARKS) + "公园"
        return f"{park}{suffix}", f"{park}管理处"
    if category == "village":
        return f"{village}党群服务中心{suffix}", f"{village}村民委员会"
    subdistrict = _pick(rng, _COMMUNITY_WORDS) + "街道"  # union
    return f"{subdistrict}工会服务中心{suffix}", f"{subdistrict}总工会"


def _services(rng: np.random.Generator, kind: str, category: str) -> list[str]:
    if kind == "mother_room":
        p = _MOTHER_SERVICES
    else:
        p = {**_STATION_SERVICES, **_STATION_SERVICE_TWEAKS.get(category, {})}
    draws = rng.random(len(SERVICES))
    return [s for s, u in zip(SERVICES, draws, strict=True) if u < p.get(s, 0.0)]


def _phone(rng: np.random.Generator, district: District) -> str:
    u = rng.random()
    if u < 0.05:
        return ""
    if u < 0.15:
        return _pick(rng, ("139", "138", "135", "150", "152", "158", "187", "189", "133")) + (
            f"{int(rng.integers(0, 10**8)):08d}")
    digits = 8 if district.area_code == "0311" else 7
    first = int(rng.integers(2, 9))
    rest = int(rng.integers(0, 10 ** (digits - 1)))
    return f"{district.area_code}-{first}{rest:0{digits - 1}d}"


def attributes(
    rng: np.random.Generator, site: dict[str, Any], district: District, used: set[str],
) -> dict[str, Any]:
    """Draw the descriptive fields of one site.

    Parameters
    ----------
    rng : numpy.random.Generator
        The district's attribute stream (draws happen in a fixed order).
    site : dict
        The placed site: ``kind``, ``county_name``, ``rural``.
    district : District
        Its union district.
    used : set of str
        The names given in its county so far; the new name is added (names are unique
        per county).

    Returns
    -------
    dict
        ``name``, ``address``, ``services``, ``opening_hours`` (OSM syntax), ``host``,
        ``phone``, ``status``, ``reopen_date``, ``status_reason``, ``verified_at`` (in
        the year before :data:`REFERENCE_DATE`) and ``updated_at`` (ISO 8601, +08:00).
    """
    kind, county = site["kind"], site["county_name"]
    if kind == "mother_room":
        hosts = _MOTHER_HOSTS
    else:
        hosts = _RURAL_HOSTS if site["rural"] else _STATION_HOSTS
    category = _pick_weighted(rng, hosts)
    place = county if district.name == county else district.name + county
    for _ in range(40):
        street = _pick(rng, _STREETS)
        village = _village(rng) if category in ("village", "fuel") and site["rural"] else ""
        name, host = _name_host(rng, kind, category, district, county, street, village)
        if name not in used:
            break
    else:  # forty collisions in a row: number it, which is what real lists do
        base, k = name, 2
        while name in used:
            name, k = f"{base}（{k}号）", k + 1
    used.add(name)
    number = int(rng.integers(1, 400))
    if village:
        address = f"{place}{_town(rng)}{village}{number}号"
    else:
        address = f"{place}{street}{number}号"
    hours = _pick_weighted(rng, _HOURS[category])
    verified = REFERENCE_DATE - timedelta(days=int(rng.integers(1, 366)))
    updated_day = min(verified + timedelta(days=int(rng.integers(0, 21))),
                      REFERENCE_DATE - timedelta(days=1))
    updated = datetime.combine(
        updated_day, time(int(rng.integers(8, 19)), int(rng.integers(0, 60)),
                          int(rng.integers(0, 60))), tzinfo=_TZ)
    status, reopen, reason = "active", None, None
    if rng.random() < 0.01:
        status = "temporarily_closed"
        reopen = (REFERENCE_DATE + timedelta(days=int(rng.integers(7, 121)))).isoformat()
        reason = _pick(rng, _CLOSURE_REASONS)
    return {
        "name": name, "address": address, "services": _services(rng, kind, category),
        "opening_hours": hours, "host": host, "phone": _phone(rng, district), "status": status,
        "reopen_date": reopen, "status_reason": reason, "verified_at": verified.isoformat(),
        "updated_at": updated.isoformat(timespec="seconds"),
    }
