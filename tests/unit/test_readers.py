"""Readers: formats by content, GDAL allowlist, zip limits, XLSX safety, caps."""

import io
import os
import zipfile

import pytest

from locator.errors import UploadRefused
from locator.imports import gdal_guard
from locator.imports.readers import Limits, check_zip, detect_format, read_upload


def refused(data: bytes, **kw) -> UploadRefused:
    with pytest.raises(UploadRefused) as e:
        read_upload(data, **kw)
    assert e.value.message and e.value.message_for("en").isascii()
    return e.value


def test_gdal_offers_exactly_the_allowed_drivers():
    import pyogrio

    gdal_guard.check()
    assert set(pyogrio.list_drivers()) == {"GeoJSON", "GPKG", "ESRI Shapefile", "MEM"}
    assert "OGR_VRT" in os.environ["GDAL_SKIP"].split(",")


def test_gdal_itself_refuses_a_vrt_pointing_at_a_local_file(tmp_path):
    """Defence in depth (reliability.md F6): even handed a VRT path, GDAL cannot read it."""
    import pyogrio

    (tmp_path / "secret.csv").write_text("name\nTOP-SECRET-LOCAL-FILE\n")
    vrt = tmp_path / "stations.geojson"
    vrt.write_text(f"<OGRVRTDataSource><OGRVRTLayer name='s'><SrcDataSource>CSV:"
                   f"{tmp_path / 'secret.csv'}</SrcDataSource></OGRVRTLayer></OGRVRTDataSource>")
    with pytest.raises(Exception) as e:
        pyogrio.read_dataframe(vrt)
    assert "TOP-SECRET" not in str(e.value)


def test_the_guard_fails_closed_when_drivers_leak(monkeypatch):
    import pyogrio

    monkeypatch.setattr(gdal_guard, "_checked", False)
    monkeypatch.setattr(pyogrio, "list_drivers", lambda: {"GeoJSON": "r", "OGR_VRT": "r"})
    with pytest.raises(gdal_guard.GdalGuardError, match="OGR_VRT"):
        gdal_guard.check()


@pytest.mark.parametrize(("data", "fmt"), [
    ("名称,经度\n".encode("gbk"), "csv"),
    (b"\xef\xbb\xbfname,lon\n", "csv"),
    ("名称\t经度\n".encode("utf-16"), "csv"),
    (b' {"type": "FeatureCollection", "features": []}', "geojson"),
    (b"SQLite format 3\x00" + b"\x00" * 100, "gpkg"),
])
def test_format_by_content(data, fmt):
    assert detect_format(data) == fmt


@pytest.mark.parametrize("data", [
    b"<html><body>hi</body></html>", b"<?xml version='1.0'?><OGRVRTDataSource/>",
    b"%PDF-1.7 ...", b"\x89PNG\r\n\x1a\n\x00\x00", b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1\x00",
    b"\x1f\x8b\x08\x00\x00\x00",
])
def test_other_formats_are_unsupported(data):
    assert refused(data).code == "unsupported_file"


def test_upload_size_cap():
    e = refused(b"name,lon,lat\n" + b"x,1,2\n" * 100, limits=Limits(max_bytes=100))
    assert e.code == "unsupported_file" and "MB" in e.message


def test_row_cap_at_the_default_limit():
    rows = "".join(f"s{i},114.5,38.0\n" for i in range(Limits().max_rows + 1))
    assert refused(("名称,经度,纬度\n" + rows).encode()).code == "too_many_rows"


def test_csv_reads_text_as_text_and_counts_rows_like_a_spreadsheet():
    data = 'title\n\n名称,经度,纬度\nNA,1,2\n"two\nlines",3,4\nnull,5,6\n'.encode()
    table = read_upload(data)
    assert table.header_row == 3
    assert [(n, c[0]) for n, c in table.rows] == [(4, "NA"), (5, "two\nlines"), (6, "null")]


def test_semicolon_and_tab_delimiters():
    assert read_upload("名称;经度;纬度\na;1;2\n".encode()).columns == ["名称", "经度", "纬度"]
    assert read_upload("名称\t经度\t纬度\na\t1\t2\n".encode()).rows == [(2, ["a", "1", "2"])]


def test_undecodable_text_is_unreadable():
    assert refused(b"name,lon\n\xff\xfe\xfa\x80,1\n" + b"\x81" * 3).code in {
        "unreadable_file", "unsupported_file"}


def _zip(members, method=zipfile.ZIP_DEFLATED):
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", method) as zf:
        for name, data in members.items():
            zf.writestr(name, data)
    return out.getvalue()


def test_zip_member_count_limit():
    data = _zip({f"f{i}.shp": b"" for i in range(5)})
    with zipfile.ZipFile(io.BytesIO(data)) as zf, pytest.raises(UploadRefused):
        check_zip(zf, Limits(zip_max_members=4))


def test_zip_total_and_member_size_limits():
    data = _zip({"a.shp": b"x" * 2000, "a.dbf": b"y" * 2000})
    with zipfile.ZipFile(io.BytesIO(data)) as zf:
        with pytest.raises(UploadRefused):
            check_zip(zf, Limits(zip_max_bytes=3000))
        with pytest.raises(UploadRefused):
            check_zip(zf, Limits(zip_max_member_bytes=1500))
        check_zip(zf, Limits())


def test_zip_symlink_and_duplicate_names_are_refused():
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w") as zf:
        info = zipfile.ZipInfo("layer.shp")
        info.external_attr = (0o120777 << 16)
        zf.writestr(info, "/etc/passwd")
    assert refused(out.getvalue()).code == "unsupported_file"
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w") as zf:
        zf.writestr("a.shp", b"1")
        zf.writestr("A.SHP", b"2")  # the same name on Windows
    assert refused(out.getvalue()).code == "unsupported_file"


@pytest.mark.parametrize("name", ["../../x.shp", "/etc/x.shp", "C:\\x.shp", "a/../../x.shp",
                                  "..\\..\\x.shp"])
def test_zip_slip_names_are_refused(name):
    assert refused(_zip({name: b"\x00\x00\x27\x0a", "b.dbf": b""})).code == "unsupported_file"


def test_zip_member_that_lies_about_its_size_is_refused():
    data = bytearray(_zip({"layer.shp": b"\x00\x00\x27\x0a" + b"a" * 5000, "layer.shx": b"",
                           "layer.dbf": b""}, method=zipfile.ZIP_STORED))
    # shrink the declared size of the first member in both headers
    local = data.find(b"PK\x03\x04")
    data[local + 22:local + 26] = (10).to_bytes(4, "little")
    central = data.find(b"PK\x01\x02")
    data[central + 24:central + 28] = (10).to_bytes(4, "little")
    assert refused(bytes(data)).code in {"unsupported_file", "unreadable_file"}


def test_xlsx_uses_defusedxml():
    import openpyxl.xml

    assert openpyxl.xml.DEFUSEDXML is True


def test_xlsx_spoofed_dimension_does_not_hide_rows():
    from openpyxl import Workbook

    wb = Workbook()
    ws = wb.active
    ws.append(["名称", "经度", "纬度"])
    for i in range(10):
        ws.append([f"站{i}", 114.5, 38.0])
    buf = io.BytesIO()
    wb.save(buf)
    src = zipfile.ZipFile(io.BytesIO(buf.getvalue()))
    members = {i.filename: src.read(i) for i in src.infolist()}
    sheet = members["xl/worksheets/sheet1.xml"].decode()
    members["xl/worksheets/sheet1.xml"] = sheet.replace('ref="A1:C11"', 'ref="A1:C2"').encode()
    assert 'ref="A1:C2"' in members["xl/worksheets/sheet1.xml"].decode()
    table = read_upload(_zip(members))
    assert len(table.rows) == 10 and table.rows[-1][0] == 11


def test_xlsx_picks_the_sheet_with_the_header_and_skips_hidden_sheets():
    from openpyxl import Workbook

    wb = Workbook()
    notes = wb.active
    notes.title = "说明"
    notes.append(["这是说明"])
    hidden = wb.create_sheet("隐藏")
    hidden.append(["名称", "经度", "纬度"])
    hidden.append(["隐藏站", 1, 2])
    hidden.sheet_state = "hidden"
    data = wb.create_sheet("数据")
    data.append(["名称", "经度", "纬度"])
    data.append(["真站", 114.5, 38.0])
    buf = io.BytesIO()
    wb.save(buf)
    table = read_upload(buf.getvalue())
    assert table.sheet == "数据" and table.rows == [(2, ["真站", 114.5, 38])]


def test_a_formula_cell_without_a_cached_value_reads_as_empty():
    from openpyxl import Workbook

    wb = Workbook()
    ws = wb.active
    ws.append(["名称", "经度", "纬度"])
    ws.append(["公式站", "=1+113.5", 38.0])
    buf = io.BytesIO()
    wb.save(buf)
    assert read_upload(buf.getvalue()).rows == [(2, ["公式站", None, 38])]


def test_damaged_files_are_unreadable_not_crashes(tmp_path):
    assert refused(b"PK\x03\x04garbage").code == "unreadable_file"
    assert refused(b'{"type": "FeatureCollection", "features": [').code == "unreadable_file"
    assert refused(b"SQLite format 3\x00" + b"\x01" * 2000, tmp_root=tmp_path).code in {
        "unreadable_file", "unsupported_file"}
    assert list(tmp_path.iterdir()) == []


def test_geojson_must_be_a_feature_collection_in_lon_lat():
    assert refused(b'{"type": "Topology"}').code == "unsupported_file"
    crs = (b'{"type": "FeatureCollection", "crs": {"type": "name", "properties": '
           b'{"name": "urn:ogc:def:crs:EPSG::4547"}}, "features": []}')
    assert refused(crs).code == "unsupported_file"
    deep = b"[" * 100000 + b"]" * 100000
    assert refused(deep).code in {"unreadable_file", "unsupported_file"}


def test_user_strings_never_become_paths(tmp_path, monkeypatch):
    """read_upload takes bytes only; GDAL sees only generated names in a private folder,
    and it runs in a child process."""
    import subprocess

    from locator.imports import gis_files

    seen = []
    real = subprocess.run

    def spy(command, *a, **kw):
        seen.append(command)
        return real(command, *a, **kw)

    monkeypatch.setattr(gis_files.subprocess, "run", spy)
    from pathlib import Path
    data = (Path(__file__).parents[1] / "corpus" / "files" / "good.gpkg").read_bytes()
    table = read_upload(data, tmp_root=tmp_path)
    assert len(table.rows) == 2
    assert len(seen) == 1 and seen[0][1:3] == ["-m", "locator.imports.gdal_child"]
    path = Path(seen[0][3])
    assert path.name == "upload.gpkg" and path.parent.parent == tmp_path
    assert path.parent.name.startswith("locator-import-")
    assert list(tmp_path.iterdir()) == []


def test_a_crashing_gdal_child_is_an_unreadable_file(tmp_path, monkeypatch):
    import subprocess

    from locator.imports import gis_files

    def crash(command, *a, **kw):
        return subprocess.CompletedProcess(command, -11, b"", b"")  # SIGSEGV

    monkeypatch.setattr(gis_files.subprocess, "run", crash)
    from pathlib import Path
    data = (Path(__file__).parents[1] / "corpus" / "files" / "good.gpkg").read_bytes()
    assert refused(data, tmp_root=tmp_path).code == "unreadable_file"
    assert list(tmp_path.iterdir()) == []


def test_limits_default_to_the_settings_table_and_follow_overrides():
    from locator import settings

    resolved = settings.load(environ={"LOCATOR_IMPORT_MAX_ROWS": "500"})
    limits = Limits.from_settings(resolved)
    assert limits.max_rows == 500
    assert limits.max_bytes == Limits().max_bytes == 20 * 1024 * 1024
    with pytest.raises(ValueError):
        settings.load(environ={"LOCATOR_IMPORT_MAX_ROWS": "-1"})


def test_no_upload_makes_a_network_request(tmp_path):
    """A loopback canary sees nothing, whether a VRT pointing at it is uploaded (refused by
    content) or handed to GDAL directly (its driver is skipped) (reliability.md F7)."""
    import http.server
    import threading

    import pyogrio

    hits = []

    class Canary(http.server.BaseHTTPRequestHandler):
        def do_GET(self):  # noqa: N802
            hits.append(self.path)
            self.send_response(200)
            self.end_headers()
            self.wfile.write(b"name\nLEAKED\n")

        do_HEAD = do_GET  # noqa: N815

        def log_message(self, *args):
            pass

    server = http.server.HTTPServer(("127.0.0.1", 0), Canary)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        url = f"http://127.0.0.1:{server.server_port}/from-vrt.csv"
        vrt = (f"<OGRVRTDataSource><OGRVRTLayer name='s'><SrcDataSource>CSV:/vsicurl/{url}"
               f"</SrcDataSource></OGRVRTLayer></OGRVRTDataSource>").encode()
        assert refused(vrt).code == "unsupported_file"
        assert refused(_zip({"a.shp": b"\x00\x00\x27\x0a", "a.shx": b"", "a.dbf": b"",
                             "a.vrt": vrt})).code == "unsupported_file"
        path = tmp_path / "upload.geojson"
        path.write_bytes(vrt)
        with pytest.raises(Exception):  # noqa: B017 - any GDAL error will do; no request
            pyogrio.read_info(path)
    finally:
        server.shutdown()
        server.server_close()
    assert hits == []


def test_gdal_child_caps_rows_and_transforms_projected_layers(tmp_path):
    import geopandas as gpd
    from shapely.geometry import Point

    gdf = gpd.GeoDataFrame({"名称": ["投影站"]}, geometry=[Point(114.5012, 38.0188)],
                           crs="EPSG:4326").to_crs("EPSG:4547")  # CGCS2000 3° GK, CM 114°E
    path = tmp_path / "projected.gpkg"
    gdf.to_file(path, driver="GPKG", engine="pyogrio")
    data = path.read_bytes()
    work = tmp_path / "work"
    work.mkdir()
    table = read_upload(data, tmp_root=work)
    (x, y), = table.points
    assert abs(x - 114.5012) < 1e-6 and abs(y - 38.0188) < 1e-6
    assert table.rows == [(1, ["投影站"])]
    two = gpd.GeoDataFrame({"名称": ["a", "b"]}, geometry=[Point(114.5, 38.0)] * 2,
                           crs="EPSG:4326")
    two.to_file(tmp_path / "two.gpkg", driver="GPKG", engine="pyogrio")
    e = refused((tmp_path / "two.gpkg").read_bytes(), limits=Limits(max_rows=1), tmp_root=work)
    assert e.code == "too_many_rows"
