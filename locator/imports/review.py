"""The staff's check → preview → publish of an uploaded station file, without Flask.

The web views call three functions (and :func:`account_district`, :func:`field_labels`
and :func:`import_time` for what they show):

* :func:`plan_upload` plans a held upload (:mod:`locator.imports.uploads`) again from its
  bytes -- the preview is never cached, so it always shows what publishing would do now;
* :func:`preview` turns the plan into what the preview page shows: the summary, the
  problems with how to fix them, the new and changed rows, and the new and moved points;
* :func:`publish_upload` applies exactly the previewed plan in one transaction, or
  refuses (:class:`StalePreview`) when the data or the file is not the one previewed.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

import numpy as np
from pyproj import Geod

from locator.errors import Conflict
from locator.geo.datum import from_wgs84
from locator.geo.hours import TZ
from locator.imports.columns import COLUMNS, KIND_NAMES, SERVICE_NAMES, STATUS_NAMES
from locator.imports.plan import ImportHasProblems, ImportPlan, apply_import, plan_import
from locator.imports.readers import Limits
from locator.imports.uploads import Upload
from locator.store.store import Store

__all__ = ["FIX_HINTS", "StalePreview", "account_district", "field_labels", "import_time",
           "plan_upload", "preview", "publish_upload"]

#: How to fix each problem code, when its message does not say so itself: (zh, en).
FIX_HINTS: dict[str, tuple[str, str]] = {
    "unreadable_file": ("确认文件没有损坏或加密；可以在 Excel 里另存为 .xlsx 或 CSV 后重新上传",
                        "check that the file is not damaged or encrypted; save it again from "
                        "Excel as .xlsx or CSV"),
    "unsupported_file": ("请上传 CSV、Excel（.xlsx）、GeoJSON、GeoPackage 或压缩的 Shapefile；"
                         "旧的 .xls 请在 Excel 里另存为 .xlsx",
                         "upload CSV, Excel (.xlsx), GeoJSON, GeoPackage or a zipped "
                         "Shapefile; save an old .xls as .xlsx"),
    "too_many_rows": ("把文件拆成几份，分别上传", "split the file and upload the parts"),
    "missing_column": ("在表头加上这一列（可以下载模板对照）",
                       "add the column to the header (compare with the template)"),
    "duplicate_column": ("删除重复的一列", "delete one of the two columns"),
    "no_rows": ("在表头下面逐行填写站点", "add one site per row below the header"),
    "bad_coordinate": ("写成十进制（114.5149）或度分秒（114°30'54\"E）",
                       "write decimal degrees (114.5149) or DMS (114°30'54\"E)"),
    "swapped_lat_lon": ("交换经度和纬度两列", "swap the longitude and latitude columns"),
    "out_of_area": ("核对坐标，以及上传时选择的坐标系",
                    "check the point and the coordinate system chosen for the upload"),
    "district_mismatch": ("核对坐标，或改正所属地区、区县", "check the point, or fix the district"),
    "duplicate_in_file": ("同一站点只保留一行", "keep one row per site"),
    "duplicate_existing": ("如要更新已有站点，请在「编号」列填写它的编号",
                           "to update the existing site, put its id in the id column"),
    "unknown_id": ("新站点的编号请留空，系统会自动编号",
                   "leave the id empty for a new site; ids are assigned automatically"),
    "unknown_service": ("使用模板「说明」页列出的服务名称",
                        "use the service names listed in the template"),
    "bad_opening_hours": ("写成 08:00-20:00、全天 或 周一至周五 08:30-17:30",
                          "write 08:00-20:00, 24/7 or Mo-Fr 08:30-17:30"),
    "bad_text": ("删除不可见的字符，或缩短文字",
                 "delete invisible characters, or shorten the text"),
    "bad_value": ("从模板的下拉列表里选择", "pick a value from the template's drop-down list"),
    "outside_your_district": ("只导入本地区的站点；其他地区的交给该地区或管理员导入",
                              "import only your district's sites; leave the others to their "
                              "district or an admin"),
}
_QUOTED = set("「」'\"")
_GEOD = Geod(ellps="WGS84")


class StalePreview(Conflict):
    """The data (or the file) is not the one the preview showed: check again."""

    code = "stale_preview"
    message = "预览之后数据有变动，请重新检查后再发布。"
    message_en = "The data changed after the preview; check the file again, then publish."


def account_district(user) -> str | None:
    """The district an account imports, sees and undoes batches of.

    Parameters
    ----------
    user : locator.store.models.User

    Returns
    -------
    str or None
        ``None`` for an admin (every district); else the account's district code. Fails
        closed: a non-admin without a district gets ``"-"``, which matches no district.
    """
    return None if user.role == "admin" else (user.district_code or "-")


def field_labels(lang: str = "zh") -> dict[str, str]:
    """How the pages name each record field.

    Parameters
    ----------
    lang : str
        ``zh`` or ``en``.

    Returns
    -------
    dict of str to str
        Field → the template's Chinese header, or (``en``) the field's own name.

    Examples
    --------
    >>> field_labels()["opening_hours"], field_labels("en")["opening_hours"]
    ('开放时间', 'opening_hours')
    """
    return {f: f if lang == "en" else zh for f, (zh, _aliases) in COLUMNS.items()}


def import_time(iso: str | None) -> str:
    """A batch's time as the pages show it.

    Parameters
    ----------
    iso : str or None
        ISO 8601 with an offset, as :func:`~locator.imports.batches.list_batches` gives
        it (UTC).

    Returns
    -------
    str
        ``YYYY-MM-DD HH:MM`` in Asia/Shanghai; ``""`` for none.

    Examples
    --------
    >>> import_time("2026-05-01T00:30:00+00:00"), import_time(None)
    ('2026-05-01 08:30', '')
    """
    return dt.datetime.fromisoformat(iso).astimezone(TZ).strftime("%Y-%m-%d %H:%M") if iso \
        else ""


def plan_upload(store: Store, upload: Upload, *, regions, limits: Limits | None = None,
                tmp_root=None, district_code: str | None = None) -> ImportPlan:
    """Plan a held upload again from its bytes, with its declared datum.

    Parameters
    ----------
    store : Store
    upload : Upload
        From :meth:`UploadArea.get <locator.imports.uploads.UploadArea.get>`.
    regions, limits, tmp_root, district_code
        As for :func:`~locator.imports.plan.plan_import` (``district_code`` restricts the
        plan to one district).

    Returns
    -------
    ImportPlan
    """
    return plan_import(store, upload.data, datum=upload.datum, regions=regions, limits=limits,
                       source_name=upload.source_name, tmp_root=tmp_root,
                       district_code=district_code)


def publish_upload(store: Store, upload: Upload, *, seen_version: str, seen_sha256: str,
                   user: str, regions, limits: Limits | None = None, tmp_root=None,
                   district_code: str | None = None) -> int | None:
    """Apply the upload exactly as previewed; returns the batch id (``None``: nothing to do).

    Parameters
    ----------
    store : Store
    upload : Upload
    seen_version, seen_sha256 : str
        The ``data_version`` and file SHA-256 the preview showed (from its form).
    user : str
        Recorded in the batch and the history.
    regions, limits, tmp_root, district_code
        As for :func:`plan_upload`.

    Returns
    -------
    int or None
        The batch id; ``None`` when the file neither adds nor changes a site.

    Raises
    ------
    StalePreview
        (409) The store's data changed since the preview, or the file is not the one
        previewed: nothing was written.
    ImportHasProblems
        (422) The plan has problems: nothing was written.
    """
    if seen_sha256 != upload.sha256:
        raise StalePreview()
    plan = plan_upload(store, upload, regions=regions, limits=limits, tmp_root=tmp_root,
                       district_code=district_code)
    if str(plan.data_version) != str(seen_version):
        raise StalePreview()
    if not plan.ok:
        raise ImportHasProblems()
    try:
        return apply_import(store, plan, user=user)
    except Conflict as e:  # the data changed between this plan and its transaction
        raise StalePreview() from e


# --------------------------------------------------------------------------- preview

def _what_and_fix(message: str, code: str, lang: str) -> tuple[str, str]:
    """Split a message into what is wrong and how to fix it when its last clause is the
    fix (and holds no quoted file text); else the code's :data:`FIX_HINTS`."""
    sep = "; " if lang == "en" else "；"
    head, found, tail = message.rpartition(sep)
    if found and head and tail and not (_QUOTED & set(tail)):
        return head, tail
    hint = FIX_HINTS.get(code)
    return message, (hint[1] if lang == "en" else hint[0]) if hint else ""


def _show(field: str, value: Any, lang: str) -> str:
    """A record value as the preview shows it."""
    en = lang == "en"
    if value is None or value == "" or value == []:
        return "(empty)" if en else "（空）"
    if field in ("lon", "lat"):
        return f"{float(value):.6f}"
    if field == "services":
        return ", ".join(value) if en else "、".join(SERVICE_NAMES.get(c, c) for c in value)
    if field == "kind" and not en:
        return KIND_NAMES.get(value, value)
    if field == "status" and not en:
        return STATUS_NAMES.get(value, value)
    return str(value)


def _changes(row, lang: str) -> list[tuple[str, str, str]]:
    """``(field label, old, new)`` per changed field; a move is one "position" entry
    (WGS-84 lon, lat) that says how far the site moved (geodesic metres)."""
    en = lang == "en"
    out = [(f if en else COLUMNS[f][0], _show(f, row.before[f], lang),
            _show(f, row.values[f], lang))
           for f in row.changed_fields if f not in ("lon", "lat")]
    if {"lon", "lat"} & set(row.changed_fields):
        (x0, y0), (x1, y1) = ((row.before["lon"], row.before["lat"]),
                              (row.values["lon"], row.values["lat"]))
        _, _, metres = _GEOD.inv(x0, y0, x1, y1)
        moved = f" (moved {metres:,.0f} m)" if en else f"（移动 {metres:,.0f} 米）"
        out.append(("position" if en else "位置", f"{x0:.6f}, {y0:.6f}",
                    f"{x1:.6f}, {y1:.6f}{moved}"))
    return out


def _display(lon: list[float], lat: list[float], datum: str) -> list[tuple[float, float]]:
    if not lon:
        return []
    x, y = from_wgs84(np.asarray(lon, float), np.asarray(lat, float), datum)
    return [(round(float(a), 6), round(float(b), 6)) for a, b in zip(x, y, strict=True)]


def preview(plan: ImportPlan, *, lang: str = "zh", display_datum: str = "wgs84",
            row_limit: int = 500) -> dict[str, Any]:
    """What the preview page shows for ``plan``.

    Parameters
    ----------
    plan : ImportPlan
    lang : str
        ``zh`` or ``en``: the language of messages, hints and values.
    display_datum : str
        The basemap's datum (``wgs84`` or ``gcj02``): map points are converted into it
        from the stored WGS-84.
    row_limit : int
        Most problems, new rows and changed rows listed (the map and the annotated
        sheet hold them all).

    Returns
    -------
    dict
        ``summary`` (``rows``, ``new``, ``changed``, ``unchanged``, ``problem_rows``,
        ``problems``, ``ok``, ``refused``); ``problems``, a list of ``{row, column, code,
        message, fix}``; ``new_rows`` and ``changed_rows`` (with ``changes``: ``(field
        label, old, new)`` triples); their totals (``*_total``); and ``map``: ``new`` as
        ``[lon, lat, name, row]`` and ``moved`` as ``[old_lon, old_lat, lon, lat, name,
        id]``, in ``display_datum`` degrees.
    """
    report = plan.report(lang)
    counted = report["new"] + report["changed"] + report["unchanged"]
    problems = []
    for p in report["problems"][:row_limit]:
        what, fix = _what_and_fix(p["message"], p["code"], lang)
        problems.append({**p, "message": what, "fix": fix})

    new = [r for r in plan.planned if r.action == "new"]
    changed = [r for r in plan.planned if r.action == "changed"]
    new_rows = [{"row": r.row, "name": r.values.get("name", ""),
                 "kind": _show("kind", r.values.get("kind", "station"), lang),
                 "district_name": r.values["district_name"],
                 "county_name": r.values["county_name"],
                 "address": r.values.get("address", ""),
                 "lon": r.values["lon"], "lat": r.values["lat"]} for r in new[:row_limit]]
    changed_rows = [{"row": r.row, "id": r.id, "name": r.values.get("name") or r.before["name"],
                     "changes": _changes(r, lang)} for r in changed[:row_limit]]

    moved = [r for r in changed if {"lon", "lat"} & set(r.changed_fields)]
    new_at = _display([r.values["lon"] for r in new], [r.values["lat"] for r in new],
                      display_datum)
    old_at = _display([r.before["lon"] for r in moved], [r.before["lat"] for r in moved],
                      display_datum)
    now_at = _display([r.values["lon"] for r in moved], [r.values["lat"] for r in moved],
                      display_datum)
    return {
        "summary": {"rows": report["rows"], "new": report["new"], "changed": report["changed"],
                    "unchanged": report["unchanged"],
                    "problem_rows": max(0, report["rows"] - counted),
                    "problems": len(report["problems"]), "ok": report["ok"],
                    "refused": plan.refused},
        "problems": problems, "problems_total": len(report["problems"]),
        "new_rows": new_rows, "new_total": len(new),
        "changed_rows": changed_rows, "changed_total": len(changed),
        "map": {
            "new": [[x, y, r.values.get("name", ""), r.row]
                    for (x, y), r in zip(new_at, new, strict=True)],
            "moved": [[ox, oy, x, y, r.values.get("name") or r.before["name"], r.id]
                      for (ox, oy), (x, y), r in zip(old_at, now_at, moved, strict=True)],
        },
    }
