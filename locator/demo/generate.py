"""Deterministic generator of the synthetic demo dataset (示例数据).

The repository ships 5,790 union service stations (``kind="station"``) and 200 loving-mother
rooms (``kind="mother_room"``) so that the app is useful before real lists are uploaded
(DESIGN.md §4). Everything here is invented: names, hosts, addresses, phones and hours are
composed from generic word lists, and every record says ``synthetic: true``.

How the points are placed
-------------------------
1. Each kind's total is split over the 14 union districts in proportion to the 7th-census
   population (:data:`DISTRICTS`) with the largest-remainder method (:func:`allocate`), so
   the totals are exact.
2. Within a district every point comes from a mixture, sampled in UTM zone 50N
   (EPSG:32650, metres): an isotropic Gaussian around the city centre, Gaussians around
   each county's "seat", and (stations only) a uniform rural share over the district's
   bounding box. A county's seat is stood in for by its ``representative_point()`` — the
   geography file has no seat locations — and urban districts (names ending in 区) weigh
   more than counties.
3. Points are converted back to WGS-84 (EPSG:4326), rounded to 6 decimals (about 0.1 m),
   and kept only if ``Regions.locate`` puts the *rounded* point in a county of the intended
   district (rejection sampling). The county a record names is the county ``locate``
   returned, so every point lies in the county it names by construction.

The random streams are ``numpy.random.default_rng`` seeded from ``(seed, district code,
purpose)``, so the output depends only on the seed and the geography file: regenerate
``geodata/demo_sites.geojson`` whenever ``geodata/hebei_regions.geojson`` changes.
"""

from __future__ import annotations

from bisect import bisect_right
from collections import Counter, defaultdict
from collections.abc import Mapping, Sequence
from datetime import date, datetime, time, timedelta, timezone
from itertools import accumulate
from pathlib import Path
from typing import TYPE_CHECKING, Any, NamedTuple

import numpy as np
from pyproj import Transformer

from locator import jsonio
from locator.geo.census import DISTRICTS, District
from locator.vocabulary import SERVICES

if TYPE_CHECKING:
    from locator.geo.regions import Regions

__all__ = [
    "DEFAULT_DEMO_PATH",
    "DEFAULT_SEED",
    "DISTRICTS",
    "MOTHER_ROOM_TOTAL",
    "NOTICE",
    "PROPERTY_KEYS",
    "REFERENCE_DATE",
    "STATION_TOTAL",
    "District",
    "allocate",
    "district_allocation",
    "dumps",
    "generate",
    "write_demo",
]

DEFAULT_SEED = 20231231
DEFAULT_DEMO_PATH = Path(__file__).resolve().parents[2] / "geodata" / "demo_sites.geojson"
STATION_TOTAL = 5790
MOTHER_ROOM_TOTAL = 200
#: "Today" for the demo data: ``verified_at`` falls in the year before it.
REFERENCE_DATE = date(2026, 11, 1)
METRIC_CRS = "EPSG:32650"
GENERATOR = "locator.data.demo"  # the name recorded in geodata/demo_sites.geojson; kept
UPDATED_BY = "demo-generator"
NOTICE = (
    "示例数据：全部为程序生成的虚构站点，不是真实驿站。"
    "Synthetic demo data: every site is generated, none is real."
)

#: Record fields in the order they are written (DESIGN.md §4).
PROPERTY_KEYS = (
    "id", "kind", "name", "address", "district_code", "district_name", "county_code",
    "county_name", "lon", "lat", "source_datum", "services", "opening_hours", "host", "phone",
    "status", "reopen_date", "status_reason", "verified_at", "updated_at", "updated_by",
    "synthetic",
)

_TZ = timezone(timedelta(hours=8))  # Asia/Shanghai has no DST


# --------------------------------------------------------------------------------------
# Allocation


def allocate(total: int, weights: Mapping[str, int]) -> dict[str, int]:
    """Split ``total`` over keys in proportion to integer weights (largest remainder).

    Every key first gets the floor of its quota ``total * w / sum(w)``; the units left over
    go to the largest fractional remainders, ties broken by the keys' order in ``weights``.
    The arithmetic is exact (integers), so the result is deterministic.

    Parameters
    ----------
    total : int
        Non-negative number of items to split.
    weights : mapping of str to int
        Non-negative integer weight per key (e.g. population, persons); the sum must be > 0.

    Returns
    -------
    dict of str to int
        Items per key, in the order of ``weights``; sums to ``total`` exactly, and each value
        is its quota rounded down or up.

    Examples
    --------
    >>> allocate(10, {"a": 1, "b": 1, "c": 1})
    {'a': 4, 'b': 3, 'c': 3}
    """
    keys = list(weights)
    values = [int(weights[k]) for k in keys]
    if total < 0 or any(v < 0 for v in values) or sum(values) <= 0:
        raise ValueError("allocate needs total >= 0, weights >= 0 and a positive weight sum")
    denominator = sum(values)
    floors = [total * v // denominator for v in values]
    remainders = [total * v % denominator for v in values]
    left = total - sum(floors)
    order = sorted(range(len(keys)), key=lambda i: (-remainders[i], i))
    for i in order[:left]:
        floors[i] += 1
    return dict(zip(keys, floors, strict=True))


def district_allocation() -> dict[str, dict[str, int]]:
    """Sites per district and kind, by largest remainder over census population.

    Returns
    -------
    dict
        ``{"station": {district_code: n, ...}, "mother_room": {...}}``, 14 codes each,
        summing to :data:`STATION_TOTAL` and :data:`MOTHER_ROOM_TOTAL`.
    """
    population = {d.code: d.population for d in DISTRICTS}
    return {
        "station": allocate(STATION_TOTAL, population),
        "mother_room": allocate(MOTHER_ROOM_TOTAL, population),
    }


# --------------------------------------------------------------------------------------
# Point sampling

# Mixture weights (centre, county seats, rural uniform) and Gaussian sigmas in metres.
_MIXTURE = {"station": (0.35, 0.55, 0.10), "mother_room": (0.60, 0.40, 0.0)}
_CENTRE_SIGMA_M = {"station": 5_000.0, "mother_room": 3_500.0}
_SEAT_SIGMA_M = {"station": 2_500.0, "mother_room": 1_500.0}
_CORE_RADIUS_M = 25_000.0  # an urban district (区) this close to the centre is "core"
_KIND_INDEX = {"station": 0, "mother_room": 1}


def _seat_weight(name: str, seat_to_centre_m: float) -> float:
    # Urban districts hold more people per km² than counties; mining districts are small.
    if name.endswith("矿区"):
        return 0.6
    if name.endswith("区"):
        return 1.6 if seat_to_centre_m <= _CORE_RADIUS_M else 1.2
    if name.endswith("市"):  # county-level city
        return 1.3
    return 1.0


class _DistrictFrame(NamedTuple):
    centre_xy: tuple[float, float]
    seats_xy: np.ndarray  # (n, 2) metres, EPSG:32650
    seat_p: np.ndarray
    bounds: tuple[float, float, float, float]  # metres, EPSG:32650


def _district_frames(regions: Regions) -> dict[str, _DistrictFrame]:
    counties = regions.counties.sort_values("code").to_crs(METRIC_CRS)
    districts = regions.districts.to_crs(METRIC_CRS).set_index("code")
    to_metric = Transformer.from_crs("EPSG:4326", METRIC_CRS, always_xy=True)
    frames = {}
    for d in DISTRICTS:
        cx, cy = to_metric.transform(d.centre_lon, d.centre_lat)
        own = counties[counties["district_code"] == d.code]
        seats = own.geometry.representative_point()
        xy = np.column_stack([seats.x.to_numpy(), seats.y.to_numpy()])
        dist = np.hypot(xy[:, 0] - cx, xy[:, 1] - cy)
        w = np.array([_seat_weight(n, r) for n, r in zip(own["name"], dist, strict=True)])
        bounds = tuple(float(v) for v in districts.loc[d.code].geometry.bounds)
        frames[d.code] = _DistrictFrame((cx, cy), xy, w / w.sum(), bounds)
    return frames


def _sample_district(
    regions: Regions,
    frame: _DistrictFrame,
    district_code: str,
    kind: str,
    n: int,
    rng: np.random.Generator,
    to_wgs84: Transformer,
) -> list[dict[str, Any]]:
    """Rejection-sample ``n`` points of one kind inside one district (see module notes)."""
    mix = np.array(_MIXTURE[kind])
    sigma_c, sigma_s = _CENTRE_SIGMA_M[kind], _SEAT_SIGMA_M[kind]
    cx, cy = frame.centre_xy
    minx, miny, maxx, maxy = frame.bounds
    out: list[dict[str, Any]] = []
    while len(out) < n:
        m = max(64, 2 * (n - len(out)))
        component = rng.choice(3, size=m, p=mix)
        seat = rng.choice(len(frame.seat_p), size=m, p=frame.seat_p)
        gx, gy = rng.standard_normal((2, m))
        ux, uy = rng.uniform(minx, maxx, m), rng.uniform(miny, maxy, m)
        x = np.where(component == 0, cx + sigma_c * gx,
                     np.where(component == 1, frame.seats_xy[seat, 0] + sigma_s * gx, ux))
        y = np.where(component == 0, cy + sigma_c * gy,
                     np.where(component == 1, frame.seats_xy[seat, 1] + sigma_s * gy, uy))
        lon, lat = to_wgs84.transform(x, y)
        lon, lat = np.round(lon, 6), np.round(lat, 6)
        found = regions.locate(lon, lat)
        ok = (found["district_code"] == district_code).to_numpy()
        codes = found["county_code"].to_numpy()
        names = found["county_name"].to_numpy()
        for i in np.flatnonzero(ok)[: n - len(out)]:
            out.append({
                "lon": float(lon[i]), "lat": float(lat[i]), "county_code": str(codes[i]),
                "county_name": str(names[i]), "rural": bool(component[i] == 2),
            })
    return out


# --------------------------------------------------------------------------------------
# Attributes: generic word lists only — no real station names.

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
        return f"中国移动{street}营业厅{suffix}", f"中国移动{city}分公司"
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


def _attributes(
    rng: np.random.Generator, site: dict[str, Any], district: District, used: set[str],
) -> dict[str, Any]:
    """Draw the descriptive fields of one site; ``used`` holds its county's names so far."""
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


# --------------------------------------------------------------------------------------
# Public API


def generate(regions: Regions | None = None, seed: int = DEFAULT_SEED) -> list[dict[str, Any]]:
    """Generate the synthetic demo sites.

    Parameters
    ----------
    regions : Regions, optional
        District and county polygons (EPSG:4326) with ``locate``; by default the bundled
        geography from :func:`locator.geo.regions.load_regions`.
    seed : int, default DEFAULT_SEED
        Seed of every random stream; the same seed and geography give the same records.

    Returns
    -------
    list of dict
        :data:`STATION_TOTAL` stations and :data:`MOTHER_ROOM_TOTAL` mother rooms sorted by
        ``id``, each with the keys of :data:`PROPERTY_KEYS` in that order. ``lon``/``lat``
        are WGS-84 (EPSG:4326) degrees rounded to 6 decimals; the point lies in the county
        it names (as decided by ``regions.locate``); ``synthetic`` is always true.
    """
    if regions is None:
        from locator.geo.regions import load_regions

        regions = load_regions()
    frames = _district_frames(regions)
    to_wgs84 = Transformer.from_crs(METRIC_CRS, "EPSG:4326", always_xy=True)
    allocation = district_allocation()
    by_code = {d.code: d for d in DISTRICTS}

    sites: list[dict[str, Any]] = []
    for d in DISTRICTS:
        for kind in ("station", "mother_room"):
            rng = np.random.default_rng([seed, int(d.code), _KIND_INDEX[kind]])
            points = _sample_district(regions, frames[d.code], d.code, kind,
                                      allocation[kind][d.code], rng, to_wgs84)
            sites.extend({**p, "kind": kind, "district_code": d.code} for p in points)

    # Ids: per county, stations first, each kind in sampling order.
    sequence: Counter[str] = Counter()
    for site in sorted(sites, key=lambda s: (s["county_code"], _KIND_INDEX[s["kind"]])):
        sequence[site["county_code"]] += 1
        site["id"] = f"HB{site['county_code']}-{sequence[site['county_code']]:04d}"
    sites.sort(key=lambda s: s["id"])

    used: defaultdict[str, set[str]] = defaultdict(set)
    rngs = {d.code: np.random.default_rng([seed, int(d.code), 2]) for d in DISTRICTS}
    records = []
    for site in sites:
        d = by_code[site["district_code"]]
        fields = _attributes(rngs[d.code], site, d, used[site["county_code"]])
        record = {
            **site, **fields, "district_name": d.name, "source_datum": "wgs84",
            "updated_by": UPDATED_BY, "synthetic": True,
        }
        records.append({k: record[k] for k in PROPERTY_KEYS})
    return records


def _counts(records: Sequence[Mapping[str, Any]]) -> dict[str, Any]:
    per = Counter((r["district_code"], r["kind"]) for r in records)
    return {
        "station": sum(v for (_, k), v in per.items() if k == "station"),
        "mother_room": sum(v for (_, k), v in per.items() if k == "mother_room"),
        "by_district": {
            d.code: {"name": d.name, "station": per[d.code, "station"],
                     "mother_room": per[d.code, "mother_room"]}
            for d in DISTRICTS
        },
    }


def dumps(records: Sequence[Mapping[str, Any]], seed: int = DEFAULT_SEED) -> bytes:
    """Serialise records as the demo GeoJSON file (RFC 7946 FeatureCollection, UTF-8).

    Parameters
    ----------
    records : sequence of dict
        Output of :func:`generate`; ``lon``/``lat`` in WGS-84 degrees.
    seed : int
        Recorded in the top-level ``metadata`` member.

    Returns
    -------
    bytes
        Compact, deterministic JSON (``ensure_ascii=False``) ending in a newline: Point
        geometries ``[lon, lat]``; properties are the record fields in :data:`PROPERTY_KEYS`
        order; ``metadata`` says the data is synthetic and gives the counts.
    """
    collection = {
        "type": "FeatureCollection",
        "metadata": {
            "synthetic": True, "notice": NOTICE, "seed": seed, "generator": GENERATOR,
            "counts": _counts(records),
        },
        "features": [
            {
                "type": "Feature",
                "geometry": {"type": "Point", "coordinates": [r["lon"], r["lat"]]},
                "properties": {k: r[k] for k in PROPERTY_KEYS},
            }
            for r in records
        ],
    }
    text = jsonio.dumps(collection)
    return (text + "\n").encode("utf-8")


def write_demo(
    path: str | Path = DEFAULT_DEMO_PATH, regions: Regions | None = None,
    seed: int = DEFAULT_SEED,
) -> dict[str, Any]:
    """Generate the demo sites and write them as GeoJSON.

    Parameters
    ----------
    path : str or Path, default DEFAULT_DEMO_PATH
        Output file (``geodata/demo_sites.geojson`` in the repository); overwritten.
    regions : Regions, optional
        Geography to sample in (EPSG:4326); the bundled one by default.
    seed : int, default DEFAULT_SEED
        Seed of the generator.

    Returns
    -------
    dict
        ``{"path", "bytes", "seed", "station", "mother_room", "by_district"}`` where
        ``by_district`` maps each district code to its name and count per kind.
    """
    records = generate(regions, seed)
    data = dumps(records, seed)
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(data)
    return {"path": str(path), "bytes": len(data), "seed": seed, **_counts(records)}
