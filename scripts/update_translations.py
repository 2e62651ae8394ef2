"""Refresh the English catalogue: extract every gettext string (templates and Python, plus
the dynamic ones listed in locator.web.i18n.dynamic_messages), keep existing translations,
add the ones given in NEW below and in every scripts/i18n/*.json (one file per feature, so
parallel branches merge cleanly), and compile. Run: .venv/bin/python scripts/update_translations.py
Untranslated strings are listed and left empty (a test then fails until they are filled)."""

from __future__ import annotations

import json
import sys
from datetime import UTC, datetime
from pathlib import Path

from babel.messages.catalog import Catalog
from babel.messages.extract import extract_from_dir
from babel.messages.mofile import write_mo
from babel.messages.pofile import read_po, write_po

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
PO = ROOT / "locator" / "translations" / "en" / "LC_MESSAGES" / "messages.po"

NEW: dict[str, str] = {
    "工作人员登录": "Staff sign-in", "用户名": "User name", "密码": "Password", "登录": "Sign in",
    "账号由管理员用 locator users create 创建。":
        "Accounts are created by an administrator with locator users create.",
    "问题反馈": "Problem reports", "管理员（全部地区）": "Administrator (all districts)",
    "退出登录": "Sign out", "新反馈": "New", "处理中": "In progress", "已解决": "Resolved",
    "全部": "All", "没有反馈。": "No reports.", "时间": "Time", "站点": "Site",
    "问题": "Problem", "补充说明": "Details", "处理": "Handling", "状态": "Status",
    "处理说明": "Resolution note", "保存": "Save",
    "登录尝试太频繁，请稍后再试。": "Too many sign-in attempts; please try again later.",
    "用户名或密码不对。": "Wrong user name or password.", "已退出登录。": "Signed out.",
    "已更新。": "Updated.",
}


def _new_translations() -> dict[str, str]:
    merged = dict(NEW)
    for path in sorted((ROOT / "scripts" / "i18n").glob("*.json")):
        merged.update(json.loads(path.read_text(encoding="utf-8")))
    return merged


def main() -> None:
    from locator.web.i18n import dynamic_messages

    new = _new_translations()
    with open(PO, "rb") as f:
        old = {m.id: m.string for m in read_po(f) if m.id}
    found = [msg for _f, _l, msg, *_ in extract_from_dir(
        str(ROOT), method_map=[("locator/**.py", "python"), ("templates/**.html", "jinja2")],
        keywords={"_": None, "gettext": None})]
    # A fixed date keeps regenerated catalogues byte-identical when no message changed.
    catalog = Catalog(locale="en", project="locator",
                      creation_date=datetime(2026, 1, 1, tzinfo=UTC))
    missing = []
    for mid in dict.fromkeys(found + list(dynamic_messages())):
        text = new.get(mid) or old.get(mid) or ""
        if not text:
            missing.append(mid)
        catalog.add(mid, text)
    with open(PO, "wb") as f:
        write_po(f, catalog, width=100)
    with open(PO.with_suffix(".mo"), "wb") as f:
        write_mo(f, catalog)
    print(f"{len(catalog)} messages; untranslated: {missing}")


if __name__ == "__main__":
    main()
