"""The downloadable XLSX template for station lists (DESIGN.md §5 columns).

Sheet 「站点」: the Chinese headers, one example row (flagged on import if left in), and
dropdowns for 类型, 服务 and 状态 (服务 accepts several labels, so its dropdown offers one
label and does not refuse combinations). Sheet 「说明」: how to fill it in, including the
datum hint. A hidden sheet 「选项」 holds the dropdown lists.
"""

from __future__ import annotations

import io

from openpyxl import Workbook
from openpyxl.styles import Font, PatternFill
from openpyxl.worksheet.datavalidation import DataValidation

from locator.imports.columns import HEADERS, KIND_NAMES, SERVICE_LABELS, STATUS_NAMES
from locator.imports.validate import DUPLICATE_RULE, TEMPLATE_EXAMPLE_NAME

__all__ = ["DATUM_HINT", "EXAMPLE_ROW", "template_xlsx"]

DATUM_HINT = "坐标从高德/腾讯地图取得 → GCJ-02；从百度取得 → BD-09；GPS/天地图 → WGS-84"

#: The example row, by header.
EXAMPLE_ROW = {
    "名称": TEMPLATE_EXAMPLE_NAME, "类型": "驿站", "经度": 114.5149, "纬度": 38.0428,
    "地址": "石家庄市长安区裕华路1号", "服务": "饮水、热水、卫生间、手机充电",
    "开放时间": "08:00-20:00", "主办单位": "长安区总工会", "电话": "0311-12345678",
    "所属地区": "石家庄市", "区县": "长安区", "编号": "", "状态": "正常",
}

_NOTES = [
    "怎样填写这张表 How to fill in this sheet",
    "",
    "1. 每行一个站点；第 2 行是示例，导入前请删除。One site per row; delete the example row.",
    "2. 必填：名称、经度、纬度。其余列可以留空；列的顺序随意，也可以用英文列名"
    "（name, kind, lon, lat, address, services, opening_hours, host, phone, district, "
    "county, id, status）。",
    "3. 坐标：十进制（114.5149）或度分秒（114°30'54\"E）。" + DATUM_HINT + "。"
    "上传时选择坐标系。",
    "4. 服务：用顿号或逗号分隔，如「饮水、热水、卫生间」。可选：" + "、".join(SERVICE_LABELS),
    "5. 开放时间：如 08:00-20:00、全天、周一至周五 08:30-17:30。",
    "6. 编号：新站点留空（系统自动编号）；填写已有站点的编号则更新该站点。",
    "7. 所属地区、区县：可不填；填了会与坐标所在地核对。",
    "8. 重复判定：" + DUPLICATE_RULE[0] + "。",
]


def template_xlsx() -> bytes:
    """The template workbook.

    Returns
    -------
    bytes
        XLSX: sheet 「站点」 (headers, the example row, dropdowns), 「说明」 (how to fill
        it in) and the hidden 「选项」.
    """
    wb = Workbook()
    ws = wb.active
    _fill_sites(ws)
    _add_dropdowns(wb, ws)
    notes = wb.create_sheet("说明")
    for line in _NOTES:
        notes.append([line])
    notes["A1"].font = Font(bold=True)
    notes.column_dimensions["A"].width = 120
    out = io.BytesIO()
    wb.save(out)
    return out.getvalue()


def _fill_sites(ws) -> None:
    """Sheet 「站点」: the bold headers and the grey example row (text kept as text)."""
    ws.title = "站点"
    ws.append(list(HEADERS))
    ws.append([EXAMPLE_ROW[h] for h in HEADERS])
    for cell in ws[1]:
        cell.font = Font(bold=True)
        cell.fill = PatternFill("solid", fgColor="DDEBF7")
    for cell in ws[2]:
        cell.font = Font(italic=True, color="808080")
        if isinstance(cell.value, str):
            cell.data_type = "s"
    for i, header in enumerate(HEADERS, start=1):
        ws.column_dimensions[ws.cell(1, i).column_letter].width = max(10, 4 * len(header))
    ws.column_dimensions["A"].width = 36
    ws.freeze_panes = "A2"


def _add_dropdowns(wb, ws) -> None:
    """The hidden sheet 「选项」 and the dropdowns of 类型, 服务 and 状态 that use it (服务
    accepts several labels, so its dropdown does not refuse other text)."""
    lists = wb.create_sheet("选项")
    options = {"类型": list(KIND_NAMES.values()), "服务": list(SERVICE_LABELS),
               "状态": list(STATUS_NAMES.values())}
    for col, (header, values) in enumerate(options.items(), start=1):
        lists.cell(1, col, header)
        for row, value in enumerate(values, start=2):
            lists.cell(row, col, value)
    lists.sheet_state = "hidden"
    for col, header in enumerate(options, start=1):
        letter = lists.cell(1, col).column_letter
        target = ws.cell(1, HEADERS.index(header) + 1).column_letter
        dv = DataValidation(
            type="list",
            formula1=f"'选项'!${letter}$2:${letter}${len(options[header]) + 1}",
            allow_blank=True,
            showErrorMessage=header != "服务",
            errorTitle="无效的值", error=f"请从列表中选择{header}",
            promptTitle=header, prompt=("可填多个，用顿号分隔" if header == "服务"
                                        else f"请选择{header}"),
            showInputMessage=True,
        )
        dv.add(f"{target}2:{target}5000")
        ws.add_data_validation(dv)
