"""Exports reopen in their own readers, with the expected content, and stay inert:
no live spreadsheet formula, no unescaped station text."""

from __future__ import annotations

import csv
import datetime as dt
import json
import re
import xml.etree.ElementTree as ET
import zipfile

import numpy as np
import pandas as pd
import pyogrio
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from openpyxl import load_workbook
from PIL import Image
from pypdf import PdfReader

from locator.coverage import engine as coverage
from locator.escape import csv_cell, html_text
from locator.exports import downloads, drawing, html_map, registry
from locator.exports import writers as exports
from locator.exports.layers import coverage_layers, hexagons
from locator.exports.stations import station_list
from locator.jsonio import dumps as script_json
from tests.unit.test_coverage import POPULATION, lonlat, square  # noqa: F401 (fixture)

TZ = dt.timezone(dt.timedelta(hours=8))
NOW = dt.datetime(2026, 11, 29, 9, 30, tzinfo=TZ)
FORMULA = '=HYPERLINK("http://x")'
XSS = "<img src=x onerror=alert(1)>${alert(1)}"
HOSTILE = [FORMULA, XSS, "+1+1", "-2+3", "@SUM(A1)", "`${x}`\\1",
           "</script><script>alert(2)</script>", "\tTAB"]


def hostile_sites(synthetic=True) -> pd.DataFrame:
    """Six active stations and a mother room in the square, with hostile text fields."""
    offsets = [(-5000, 0), (-4500, 300), (3000, 3000), (5000, -6000), (-300, 0), (200, 200),
               (-7000, 7000)]
    rows = []
    for i, (dx, dy) in enumerate(offsets):
        lon, lat = lonlat(dx, dy)
        rows.append({
            "id": f"HB990101-{i + 1:04d}", "kind": "mother_room" if i == 6 else "station",
            "name": HOSTILE[i % len(HOSTILE)], "address": HOSTILE[(i + 1) % len(HOSTILE)],
            "district_code": "990100", "district_name": "测试市",
            "county_code": "990101" if dx < 0 else "990102",
            "county_name": "西区" if dx < 0 else "东区", "lon": lon, "lat": lat,
            "source_datum": "wgs84", "services": ["toilet", "drinking_water"],
            "opening_hours": "24/7", "host": HOSTILE[(i + 2) % len(HOSTILE)],
            "phone": "=1+1", "status": "active", "reopen_date": None,
            "status_reason": None, "verified_at": dt.date(2026, 5, 1),
            "updated_at": dt.datetime(2026, 5, 2, tzinfo=dt.UTC), "synthetic": synthetic,
        })
    return pd.DataFrame(rows)


@pytest.fixture(scope="module")
def engine(square):  # noqa: F811
    return coverage.CoverageEngine(hostile_sites(), square, population=POPULATION, version=7)


@pytest.fixture(scope="module")
def out(tmp_path_factory):
    return tmp_path_factory.mktemp("exports")


@pytest.fixture(scope="module")
def written(engine, out):
    """Every coverage format for the test district, written once."""
    steps = {}
    for fmt in exports.COVERAGE_FORMATS:
        calls = []
        exports.export_coverage(engine, out / f"coverage.{fmt}", fmt, radius_m=1000,
                                district="990100", now=NOW, progress=calls.append)
        steps[fmt] = calls
    return steps


def test_progress_is_reported_as_announced(written):
    for fmt, calls in written.items():
        assert len(calls) == exports.coverage_steps(fmt), fmt


# --------------------------------------------------------------------------------------
# Data formats


def test_geojson(engine, out, written):
    text = (out / "coverage.geojson").read_text(encoding="utf-8")
    body = json.loads(text, parse_constant=lambda c: pytest.fail(f"non-JSON {c}"))
    assert body["type"] == "FeatureCollection"
    layers = [f["properties"]["layer"] for f in body["features"]]
    assert layers.count("coverage") == 2 and layers.count("gap") >= 1
    assert layers.count("suggestion") == 10
    figures = engine.figures(1000).counties.set_index("code")
    for f in body["features"]:
        if f["properties"]["layer"] == "coverage":
            code = f["properties"]["code"]
            assert f["properties"]["covered_km2"] == pytest.approx(
                figures.loc[code, "covered_km2"])
            assert f["geometry"]["type"] in ("Polygon", "MultiPolygon")
            lon, lat = np.asarray(f["geometry"]["coordinates"][0][0] if f["geometry"]["type"]
                                  == "Polygon" else f["geometry"]["coordinates"][0][0][0])
            assert 114 < lon < 116 and 37 < lat < 39  # RFC 7946: lon first
    meta = body["metadata"]
    assert meta["notice"] and meta["radius_m"] == 1000 and meta["data_version"] == 7
    assert "粗略代理" in meta["demand"]["note"]
    frame = pyogrio.read_dataframe(out / "coverage.geojson")
    assert len(frame) == len(body["features"])


def test_gpkg_layers_reopen_in_pyogrio(engine, out, written):
    path = out / "coverage.gpkg"
    names = {name for name, _ in pyogrio.list_layers(path)}
    assert names == {"counties", "coverage", "grid", "gaps", "suggestions", "stations",
                     "summary"}
    counties = pyogrio.read_dataframe(path, layer="counties")
    assert counties.crs.to_epsg() == 4326 and len(counties) == 2
    np.testing.assert_allclose(counties["covered_km2"],
                               engine.figures(1000).counties["covered_km2"])
    grid = pyogrio.read_dataframe(path, layer="grid")
    assert len(grid) == len(engine.grid)
    assert grid["covered"].sum() == engine.covered(1000).sum()
    np.testing.assert_allclose(grid["distance_m"], np.round(engine.distance_m(), 1))
    assert grid["population"].sum() == pytest.approx(100_000)
    stations = pyogrio.read_dataframe(path, layer="stations")
    assert set(stations["name"]) <= set(HOSTILE)  # data stays data, byte for byte
    summary = pyogrio.read_dataframe(path, layer="summary")
    assert "notice" in set(summary["key"])


def live_formulas(path) -> list[str]:
    """Every cell formula in an XLSX, read from the raw sheet XML (not via openpyxl)."""
    found = []
    with zipfile.ZipFile(path) as z:
        for name in z.namelist():
            if name.startswith("xl/worksheets/"):
                found += re.findall(r"<(?:\w+:)?f[ >]", z.read(name).decode("utf-8"))
    return found


def test_coverage_xlsx(engine, out, written):
    path = out / "coverage.xlsx"
    wb = load_workbook(path)
    assert wb.sheetnames == ["概况", "区县", "缺口", "建议选址"]
    rows = list(wb["区县"].iter_rows(values_only=True))
    assert rows[0][0] == "代码" and len(rows) == 3
    assert rows[1][4] == engine.figures(1000).counties["stations"].iloc[0]
    summary = {r[0]: r[1] for r in wb["概况"].iter_rows(min_row=2, values_only=True)}
    assert "示例数据" in summary["注意"] and "粗略代理" in summary["人口说明"]
    assert live_formulas(path) == []


def test_coverage_csv(engine, out, written):
    raw = (out / "coverage.csv").read_bytes()
    assert raw.startswith(b"\xef\xbb\xbf")  # BOM: Excel reads the Chinese right
    with (out / "coverage.csv").open(encoding="utf-8-sig", newline="") as f:
        rows = list(csv.DictReader(f))
    assert [r["level"] for r in rows] == ["district", "county", "county"]
    assert float(rows[0]["covered_km2"]) == pytest.approx(
        engine.figures(1000).province["covered_km2"], abs=1e-3)
    assert float(rows[1]["covered_km2"]) == pytest.approx(
        engine.figures(1000).counties["covered_km2"].iloc[0])
    assert "粗略代理" in rows[0]["notes"] and "示例数据" in rows[0]["notes"]


def test_station_csv_guards_formulas(out):
    sites = hostile_sites()
    exports.export_stations(sites, out / "stations.csv", "csv")
    with (out / "stations.csv").open(encoding="utf-8-sig", newline="") as f:
        rows = list(csv.DictReader(f))
    assert len(rows) == len(sites)
    for row in rows:
        for value in row.values():
            assert not value.startswith(("=", "+", "-", "@", "\t", "\r")), value
    assert rows[0]["name"] == "'" + FORMULA and rows[1]["name"] == XSS
    assert rows[0]["phone"] == "'=1+1"
    assert rows[0]["services"] == "toilet|drinking_water"


def test_station_xlsx_keeps_every_string_as_text(out):
    path = out / "stations.xlsx"
    exports.export_stations(hostile_sites(), path, "xlsx")
    assert live_formulas(path) == []
    ws = load_workbook(path)["站点"]
    names = [c for c in ws["C"][1:]]
    assert [c.value for c in names] == [HOSTILE[i % len(HOSTILE)] for i in range(7)]
    for row in ws.iter_rows():
        for cell in row:
            assert cell.data_type != "f"
            if isinstance(cell.value, str):
                assert cell.data_type == "s"


def test_station_geojson_and_gpkg(out):
    sites = hostile_sites()
    exports.export_stations(sites, out / "stations.geojson", "geojson")
    body = json.loads((out / "stations.geojson").read_text(encoding="utf-8"))
    assert body["synthetic"] is True and len(body["features"]) == 7
    assert body["features"][1]["properties"]["name"] == XSS
    assert body["features"][0]["geometry"]["coordinates"] == [sites["lon"][0],
                                                               sites["lat"][0]]
    exports.export_stations(sites, out / "stations.gpkg", "gpkg")
    frame = pyogrio.read_dataframe(out / "stations.gpkg")
    assert list(frame["id"]) == list(sites["id"]) and frame.crs.to_epsg() == 4326
    np.testing.assert_allclose(frame.geometry.x, sites["lon"])


def test_station_kml_is_escaped_xml(out):
    sites = hostile_sites()
    path = out / "stations.kml"
    exports.export_stations(sites, path, "kml")
    text = path.read_text(encoding="utf-8")
    assert XSS not in text and "<script>" not in text
    root = ET.fromstring(text.encode("utf-8"))
    ns = {"k": "http://www.opengis.net/kml/2.2"}
    marks = root.findall(".//k:Placemark", ns)
    assert len(marks) == 7
    names = [m.find("k:name", ns).text for m in marks]
    assert XSS in names  # XML-escaped on disk, the exact text once parsed
    for mark in marks:
        description = mark.find("k:description", ns).text
        assert "<img" not in description and "<script" not in description
        assert "${" not in description
    # (GDAL's KML driver is switched off in this process by locator.imports.gdal_guard, so
    # the folders are counted from the XML itself)
    folders = {f.find("k:name", ns).text: f for f in root.findall(".//k:Folder", ns)}
    assert len(folders["工会驿站"].findall("k:Placemark", ns)) == 6


@pytest.mark.parametrize("fmt", exports.STATION_FORMATS)
def test_station_exports_with_no_sites(out, fmt):
    assert exports.export_stations(hostile_sites().iloc[0:0], out / f"none.{fmt}", fmt) == 0
    assert (out / f"none.{fmt}").stat().st_size > 0


def test_unknown_formats_are_refused(engine, out):
    with pytest.raises(exports.ExportError):
        exports.export_coverage(engine, out / "x.docx", "docx")
    with pytest.raises(exports.ExportError):
        exports.export_stations(hostile_sites(), out / "x.shp", "shp")
    assert not (out / "x.docx").exists()


# --------------------------------------------------------------------------------------
# The format registry: one row and one writer per format


def test_every_format_has_a_writer_a_media_type_and_a_label():
    assert registry.FORMATS and {f.kind for f in registry.FORMATS} == set(registry.KINDS)
    for f in registry.FORMATS:
        assert callable(f.writer), f
        assert re.fullmatch(r"[a-z]+/[a-z0-9.+-]+", f.mimetype), f
        assert f.label_zh.strip() and f.label_en.strip(), f
        assert registry.MIMETYPES[f.key] == f.mimetype
        assert registry.FORMAT_LABELS[f.key] == f.label_zh
    assert exports.COVERAGE_FORMATS == registry.formats_of("coverage")
    assert exports.STATION_FORMATS == registry.formats_of("stations")
    assert downloads.MIMETYPES is registry.MIMETYPES
    offered = set(exports.COVERAGE_FORMATS) | set(exports.STATION_FORMATS)
    assert set(registry.MIMETYPES) == set(registry.FORMAT_LABELS) == offered


def test_a_format_without_a_media_type_is_refused():
    """Adding a row without a MIME type fails when the table is built, not after a file
    has been written (as a missing MIMETYPES entry once did)."""
    with pytest.raises(TypeError):
        registry.Format("coverage", "docx", lambda data, path, step: None,
                        label_zh="Word 文档", label_en="Word document")
    for mimetype in ("", None, "word"):
        with pytest.raises(ValueError, match="media type"):
            registry.Format("coverage", "docx", lambda data, path, step: None, mimetype,
                            "Word 文档", "Word document")
    with pytest.raises(ValueError, match="label"):
        registry.Format("stations", "docx", lambda data, path, step: None,
                        "application/msword", "", "Word document")


@pytest.fixture(scope="module")
def samples(engine):
    """A small input for each kind of writer."""
    return {"coverage": coverage_layers(engine, 1000, "990100", gaps=3, suggestions=3,
                                        now=NOW),
            "stations": station_list(hostile_sites())}


@pytest.mark.parametrize("row", registry.FORMATS, ids=lambda f: f"{f.kind}-{f.key}")
def test_every_writer_writes_a_file(samples, tmp_path, row):
    calls = []
    path = tmp_path / f"sample.{row.key}"
    row.writer(samples[row.kind], path, calls.append)
    assert path.stat().st_size > 0
    assert calls == list(row.steps)  # the labels the row announces, in order
    assert [p.name for p in tmp_path.iterdir()] == [path.name]  # no temporary file left


@pytest.mark.parametrize("fmt", exports.STATION_FORMATS)
def test_station_progress_is_reported_as_announced(out, fmt):
    calls = []
    exports.export_stations(hostile_sites(), out / f"steps.{fmt}", fmt, progress=calls.append)
    assert len(calls) == exports.progress_steps("stations", fmt)


def test_format_labels_agree_with_the_english_catalogue():
    """The download buttons translate ``label_zh`` at run time, so extraction cannot see
    it: the English catalogue must say ``label_en`` for each label that is not ASCII (a
    name such as CSV, the same in every language)."""
    from babel.messages.pofile import read_po

    assert set(registry.LABEL_MESSAGES) == {
        f.label_zh for f in registry.FORMATS if not f.label_zh.isascii()}
    with open(html_map.ROOT / "locator/translations/en/LC_MESSAGES/messages.po", "rb") as f:
        catalogue = read_po(f)
    for f in registry.FORMATS:
        if f.label_zh.isascii():
            assert f.label_en == f.label_zh, f
        else:
            assert catalogue[f.label_zh] is not None, f.label_zh
            assert catalogue[f.label_zh].string == f.label_en, f


# --------------------------------------------------------------------------------------
# HTML, PNG, PDF


def test_html_is_self_contained_and_escaped(engine, out, written):
    text = (out / "coverage.html").read_text(encoding="utf-8")
    for raw in (XSS, "<img src=x", "${alert", "</script><script>alert(2)"):
        assert raw not in text
    assert "<link" not in text and not re.search(r"<script[^>]+src=", text)
    leaflet_js, _ = html_map.leaflet_assets()
    assert leaflet_js in text  # inlined; outside it, nothing points off the file
    assert not re.search(r"""(src|href|url)[=(]["']?(https?:)?//""",
                         text.replace(leaflet_js, ""))
    assert "L.map(" in text and "示例数据" in text and "粗略代理" in text
    data = text.split('id="coverage-data">', 1)[1].split("</script>", 1)[0]
    payload = json.loads(data)
    popups = [f["properties"]["popup"] for f in payload["stations"]["features"]]
    assert len(popups) == 6  # active stations only
    assert any(html_text(XSS) in p for p in popups)
    assert any(html_text(FORMULA) in p for p in popups)


def test_png_is_a_print_quality_picture(out, written):
    with Image.open(out / "coverage.png") as img:
        assert img.format == "PNG" and img.size == (2338, 1654)  # A4 landscape, 200 dpi
        pixels = np.asarray(img.convert("RGB"))
    assert pixels.std() > 10  # not blank
    green = (pixels[..., 1] > 140) & (pixels[..., 0] < 140) & (pixels[..., 2] < 140)
    assert green.sum() > 1000  # the service areas are drawn


def test_pdf_report(out, written):
    reader = PdfReader(out / "coverage.pdf")
    assert len(reader.pages) == 4
    assert reader.metadata.title == "测试市工会驿站 1,000 米服务覆盖"
    text = "\n".join(page.extract_text() for page in reader.pages)
    for needle in ("图例", "北 N", "各区县覆盖情况", "西区", "东区", "缺口与建议新站",
                   "示例数据", "粗略代理", "2026-11-29 09:30", "第 4 / 4 页", "数据来源"):
        assert needle in text, needle
    assert XSS not in text


def test_no_synthetic_notice_for_real_data(square, out):  # noqa: F811
    real = coverage.CoverageEngine(hostile_sites(synthetic=False), square,
                                   population=POPULATION)
    for fmt in ("html", "xlsx"):
        exports.export_coverage(real, out / f"real.{fmt}", fmt, district="990100", now=NOW)
    text = (out / "real.html").read_text(encoding="utf-8")
    assert "示例数据" not in text and "粗略代理" in text
    summary = [r[0] for r in load_workbook(out / "real.xlsx")["概况"].iter_rows(
        values_only=True)]
    assert "注意" not in summary and "人口说明" in summary


def test_missing_cjk_font_is_a_clear_error(monkeypatch):
    from matplotlib import font_manager

    monkeypatch.setattr(drawing, "CJK_FONT_FILES", ())
    monkeypatch.setattr(drawing, "CJK_FAMILIES", ("No Such Font",))
    monkeypatch.setattr(font_manager.fontManager, "ttflist", [])
    with pytest.raises(exports.ExportError, match="fonts-wqy-microhei"):
        exports.find_cjk_font()


def test_a_cjk_font_is_installed():
    """`make test` installs fonts-wqy-microhei; PNG/PDF labels need Chinese glyphs."""
    assert exports.find_cjk_font()


# --------------------------------------------------------------------------------------
# The escaping helpers themselves


@pytest.mark.parametrize("text", HOSTILE + ["a\u2028b", "'\"&"])
def test_html_text_leaves_nothing_active(text):
    out = html_text(text)
    assert not set("<>\"'`$\\") & set(out)


def test_script_json_cannot_close_the_script():
    text = script_json({"a": "</script><!-- \u2028 &"})
    assert "<" not in text and ">" not in text and "&" not in text
    assert json.loads(text) == {"a": "</script><!-- \u2028 &"}


@pytest.mark.parametrize("value,expected", [
    ("=1+1", "'=1+1"), ("+1", "'+1"), ("-1", "'-1"), ("@x", "'@x"), ("\tx", "'\tx"),
    ("a=1", "a=1"), (-1.5, -1.5), (3, 3), ("", ""),
])
def test_csv_cell(value, expected):
    assert csv_cell(value) == expected


@settings(max_examples=40, deadline=None)
@given(st.lists(st.tuples(st.floats(113.5, 119.8), st.floats(36.1, 42.6)), min_size=1,
                max_size=30),
       st.sampled_from([6, 8, 0]))
def test_vectorised_hexagons_equal_one_by_one(points, resolution):
    """The fast path builds every cell's polygon at once; the oracle builds them one by one
    (resolution 0 includes pentagons, which take the slow branch)."""
    import h3.api.numpy_int as h3n
    import shapely

    cells = [h3n.latlng_to_cell(lat, lon, resolution) for lon, lat in points]
    fast = hexagons(cells)
    slow = [shapely.Polygon([(lng, lat) for lat, lng in h3n.cell_to_boundary(int(c))])
            for c in cells]
    assert len(fast) == len(slow)
    assert all(shapely.equals_exact(a, b, tolerance=0) for a, b in zip(fast, slow, strict=True))


def test_pentagons_take_the_slow_branch():
    import h3.api.numpy_int as h3n

    pentagon = int(h3n.get_pentagons(0)[0])
    hexagon = h3n.latlng_to_cell(38.0, 114.5, 8)
    polys = hexagons([pentagon, hexagon])
    assert [len(p.exterior.coords) - 1 for p in polys] == [5, 6]


def test_searches_demand_speaks_of_searches_in_every_file(engine, store, out):
    """With the counted searches as demand, labels say 查询 / 次, never 人口 / 人."""
    import h3

    from locator.coverage import demand

    day = dt.date(2026, 11, 20)
    cells = {h3.latlng_to_cell(*lonlat(dx, dy)[::-1], 8): n
             for (dx, dy), n in (((-5000, 100), 7), ((6000, 6000), 30))}
    demand.record_counts(store, {(c, day, False): n for c, n in cells.items()})
    searched = demand.coverage_engine(engine, store, "searches", days=3, until=day)
    for fmt in ("xlsx", "html", "pdf"):
        exports.export_coverage(searched, out / f"searches.{fmt}", fmt, radius_m=1000,
                                district="990100", now=NOW)
    summary = {r[0]: r[1] for r in load_workbook(out / "searches.xlsx")["概况"].iter_rows(
        values_only=True)}
    assert "需求说明" in summary and "人口说明" not in summary
    labels = " ".join(str(v) for v in summary)
    assert "查询覆盖率" in labels and "每万次查询" in labels and "人口" not in labels
    assert "每万人" not in labels
    html = (out / "searches.html").read_text(encoding="utf-8")
    assert "需求说明" in html and "查询覆盖" in html and "人口覆盖" not in html
    pdf = "\n".join(p.extract_text() for p in PdfReader(out / "searches.pdf").pages)
    assert "未覆盖查询" in pdf and "覆盖查询 7 次" in pdf
    assert "人口" not in pdf.replace("人口普查", "")
