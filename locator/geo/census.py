"""The 14 union districts of Hebei with their 7th-census (2020-11-01) resident population.

Each row also gives the city centre (WGS-84 degrees, ±1 km) and the telephone area code.
The coverage engine spreads the census population over each district; the demo-data
generator splits its sites in proportion to it and places them around the centres.
"""

from __future__ import annotations

from typing import NamedTuple

__all__ = ["DISTRICTS", "District"]


class District(NamedTuple):
    """One of the 14 union districts.

    Attributes
    ----------
    code : str
        6-digit administrative code (adcode); 雄安新区 is ``"133100"``.
    name : str
        Chinese name, e.g. ``"石家庄市"``.
    population : int
        Resident population (persons), 7th census (2020-11-01).
    centre_lon, centre_lat : float
        City centre (municipal-government area): WGS-84 longitude/latitude in degrees
        (EPSG:4326), within about 1 km.
    area_code : str
        Telephone area code, e.g. ``"0311"``.

    Examples
    --------
    >>> sum(d.population for d in DISTRICTS)  # the province's census total
    74610235
    >>> DISTRICTS[0].name, DISTRICTS[0].centre_lon, DISTRICTS[0].centre_lat
    ('石家庄市', 114.5149, 38.0428)
    """

    code: str
    name: str
    population: int
    centre_lon: float
    centre_lat: float
    area_code: str


# Population: 7th census, resident, 14-way split (research/data.md §4.1). Province total
# 74,610,235 (provincial 七普 公报, 燕赵都市报 2021-05-20). Sources per row:
#   石家庄 excl. 辛集 — 石家庄统计局公报; 唐山 — 唐山公报; 邯郸 — 邯郸公报 (2021-06-03);
#   保定 current jurisdiction (excl. 定州, 容城, 安新, 雄县, 高阳县龙化乡) — 保定公报 (2021-06-22);
#   张家口 — 张家口公报; 承德 — 河北日报; 廊坊 — gxscse.com reproduction of the 公报;
#   衡水 — weak source ("4212.93万"); 秦皇岛, 邢台, 沧州 — **unverified** (memory);
#   辛集 594,628 — by difference from an **unverified** 石家庄-incl.-辛集 11,235,086.
#   定州 and 雄安: data.md only has ≈1.1 M and ≈1.2 M (**unverified**); the figures below are
#   chosen so that 定州 1,095,986 + 雄安 1,205,440 = 11,544,036 − 9,242,610, where 11,544,036
#   is the (unverified) 保定-incl.-定州-and-雄安 figure of the provincial 11-city split that
#   sums exactly to the province total. 雄安's census figure covers the whole New Area, which
#   also administers 高阳县龙化乡 and three 任丘 townships outside its three counties.
# Centres: research/data.md §4.2 (given there as lat, lon; stored here as lon, lat).
DISTRICTS: tuple[District, ...] = (
    District("130100", "石家庄市", 10_640_458, 114.5149, 38.0428, "0311"),
    District("130200", "唐山市", 7_717_983, 118.1802, 39.6305, "0315"),
    District("130300", "秦皇岛市", 3_136_879, 119.6005, 39.9354, "0335"),
    District("130400", "邯郸市", 9_413_990, 114.5391, 36.6256, "0310"),
    District("130500", "邢台市", 7_111_106, 114.5044, 37.0706, "0319"),
    District("130600", "保定市", 9_242_610, 115.4646, 38.8739, "0312"),
    District("130700", "张家口市", 4_118_908, 114.8875, 40.8244, "0313"),
    District("130800", "承德市", 3_354_444, 117.9634, 40.9515, "0314"),
    District("130900", "沧州市", 7_300_783, 116.8388, 38.3045, "0317"),
    District("131000", "廊坊市", 5_464_087, 116.6838, 39.5380, "0316"),
    District("131100", "衡水市", 4_212_933, 115.6709, 37.7390, "0318"),
    District("133100", "雄安新区", 1_205_440, 115.93, 39.00, "0312"),
    District("130682", "定州市", 1_095_986, 114.9904, 38.5162, "0312"),
    District("130181", "辛集市", 594_628, 115.2180, 37.9430, "0311"),
)
