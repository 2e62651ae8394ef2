"""Structure the house style promises: the geo core and the store never import Flask."""

import ast
from pathlib import Path

import pytest

PACKAGE = Path(__file__).resolve().parents[2] / "locator"
FACES = {"web.py", "pages.py", "api.py", "demand_web.py", "cli.py"}
CORE = [p for d in ("geo", "data", "store", "sites", "imports", "editing", "reports", "coverage",
                    "exports", "demo")
        for p in sorted((PACKAGE / d).rglob("*.py")) if p.name not in FACES]
CORE += [PACKAGE / "errors.py", PACKAGE / "settings.py", PACKAGE / "vocabulary.py"]


def imported_modules(path: Path) -> set[str]:
    names = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            names.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module:
            names.add(node.module)
    return names


def test_core_files_exist():
    assert len(CORE) >= 6


@pytest.mark.parametrize("path", CORE, ids=lambda p: str(p.relative_to(PACKAGE)))
def test_core_never_imports_flask_or_the_web_layer(path):
    bad = {
        m
        for m in imported_modules(path)
        if m.split(".")[0] in {"flask", "werkzeug", "flask_login", "flask_wtf"}
        or m.startswith("locator.web")
        or m == "locator.cli"
    }
    assert not bad, f"{path.name} imports {bad}"


def test_the_checker_sees_a_flask_import(tmp_path):
    sample = tmp_path / "sample.py"
    sample.write_text("from flask import current_app\nimport werkzeug.utils\n")
    assert {"flask", "werkzeug.utils"} <= imported_modules(sample)
