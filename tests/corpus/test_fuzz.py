"""Mutated corpus files: every outcome is a report (a refusal at worst), never a crash."""

from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from locator.errors import UploadRefused
from locator.imports.readers import read_upload

FILES = Path(__file__).resolve().parent / "files"
# Formats parsed in Python (csv, json, zip directory, XLSX XML). The GDAL formats get
# truncations below: byte flips inside a GeoPackage page exercise GDAL itself.
PYTHON_PARSED = ["gbk_excel.csv", "utf8_bom.csv", "dms.csv", "title_row.xlsx",
                 "stations.geojson", "payloads.xlsx", "zip_slip.zip"]


def mutate(data: bytes, edits) -> bytes:
    buf = bytearray(data)
    for position, value, kind in edits:
        if not buf:
            break
        i = position % len(buf)
        if kind == "flip":
            buf[i] = value
        elif kind == "cut":
            del buf[i:]
        else:
            buf[i:i] = bytes([value])
    return bytes(buf)


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.sampled_from(PYTHON_PARSED),
       st.lists(st.tuples(st.integers(0, 10**6), st.integers(0, 255),
                          st.sampled_from(["flip", "cut", "insert"])), min_size=1, max_size=4))
def test_mutated_files_never_raise_anything_but_a_refusal(name, edits):
    data = mutate((FILES / name).read_bytes(), edits)
    try:
        table = read_upload(data)
    except UploadRefused as e:
        assert e.code in {"unreadable_file", "unsupported_file", "too_many_rows"}
        return
    assert all(isinstance(n, int) and n >= 1 for n, _ in table.rows)


@pytest.mark.parametrize("name", ["good.gpkg", "gbk_shapefile.zip"])
@pytest.mark.parametrize("fraction", [0.1, 0.5, 0.9, 0.99])
def test_truncated_gdal_files_are_refused_cleanly(name, fraction, tmp_path):
    data = (FILES / name).read_bytes()
    with pytest.raises(UploadRefused) as e:
        read_upload(data[: int(len(data) * fraction)], tmp_root=tmp_path)
    assert e.value.code in {"unreadable_file", "unsupported_file"}
    assert list(tmp_path.iterdir()) == []
