"""The layers of DESIGN.md §6, held by tests: a table of allowed imports, no import cycle
between packages, and a core that loads without Flask (checked in a fresh interpreter).

Every module under ``locator/`` belongs to one *unit*, the row of the table it sits in:

* ``settings``, ``errors``, ``escape``, ``jsonio``, ``vocabulary`` — the bottom row;
* ``geo`` — the pure geographic core; ``store`` — models, store, migrations, accounts;
* a feature's core (``sites``, ``imports``, ``editing``, ``reports``, ``coverage``,
  ``exports``, ``demo``): every module of the feature's folder but its Flask faces;
* ``web`` — the cross-cutting Flask parts in ``locator/web`` (state, errors, i18n, ...);
* a feature's faces (``coverage.web``): its ``web.py``, ``pages.py``, ``api.py``,
  ``demand_web.py``, ``cli.py``. They use ``web`` and any feature's core, and never another
  feature's faces;
* the wiring on top: ``app`` (``create_app`` calls every part's ``init_app`` in turn) and
  ``cli`` (the commands that belong to no feature: init, geodata, demo, users).

``locator/__init__.py`` is its own unit: it runs ``imports.gdal_guard`` (standard library
only) before anything else and hands out ``create_app`` lazily from ``app``.
"""

from __future__ import annotations

import ast
import json
import subprocess
import sys
from pathlib import Path

import pytest

PACKAGE = Path(__file__).resolve().parents[2] / "locator"

BASE = frozenset({"settings", "errors", "escape", "jsonio", "vocabulary"})
FEATURES = frozenset({"sites", "imports", "editing", "reports", "coverage", "exports", "demo",
                      "ogc"})
#: A feature's Flask modules (module names inside the feature's folder).
FACE_NAMES = frozenset({"web", "pages", "api", "demand_web", "cli"})
#: Single modules that form a unit of their own (module → unit).
SPECIAL = {"locator": "locator", "locator.app": "app", "locator.cli": "cli"}
FLASK_MODULES = ("flask", "werkzeug", "flask_babel", "flask_login", "flask_wtf")

_CORES = BASE | {"geo", "store"} | FEATURES
_FACES = frozenset(f"{f}.web" for f in FEATURES)
#: unit → the units it may import (besides itself).
ALLOWED: dict[str, frozenset[str]] = {
    **{b: BASE for b in BASE},
    "geo": BASE,
    "store": BASE | {"geo"},
    **{f: BASE | {"geo", "store"} | FEATURES for f in FEATURES},
    "web": _CORES,
    **{f"{f}.web": _CORES | {"web"} for f in FEATURES},
    **{top: _CORES | {"web"} | _FACES | {"app", "cli"} for top in ("app", "cli")},
    "locator": frozenset({"imports", "app"}),
}


def module_name(path: Path, root: Path = PACKAGE) -> str:
    """``locator/geo/datum.py`` → ``locator.geo.datum``; a package's ``__init__`` → the package."""
    parts = list(path.relative_to(root.parent).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


def unit(module: str) -> str | None:
    """The row of :data:`ALLOWED` that ``module`` (``locator.…``) belongs to; None if none."""
    if module in SPECIAL:
        return SPECIAL[module]
    parts = module.split(".")
    top = parts[1]
    if top in BASE and len(parts) == 2:
        return top
    if top in {"geo", "store", "web"}:
        return top
    if top in FEATURES:
        return f"{top}.web" if len(parts) == 3 and parts[2] in FACE_NAMES else top
    return None


def modules(root: Path = PACKAGE) -> dict[str, Path]:
    return {module_name(p, root): p for p in sorted(root.rglob("*.py"))}


def imports_of(path: Path, root: Path = PACKAGE) -> list[tuple[int, str]]:
    """Every module ``path`` imports, anywhere in it (inside functions and TYPE_CHECKING too).

    ``from a.b import c`` counts as importing ``a.b.c`` when that is a module under ``root``,
    else ``a.b``. Relative imports are resolved against the importing module.
    """
    known = set(modules(root))
    here = module_name(path, root)
    package = here if path.name == "__init__.py" else here.rpartition(".")[0]
    found = []
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            found += [(node.lineno, alias.name) for alias in node.names]
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                anchor = package.split(".")[: len(package.split(".")) - node.level + 1]
                base = ".".join(anchor + ([base] if base else []))
            for alias in node.names:
                sub = f"{base}.{alias.name}"
                found.append((node.lineno, sub if sub in known else base))
    return found


def imported_modules(path: Path) -> set[str]:
    """The names of the modules ``path`` imports (see :func:`imports_of`)."""
    return {name for _, name in imports_of(path, PACKAGE)}


def violations(root: Path = PACKAGE) -> list[str]:
    """One line per import that :data:`ALLOWED` forbids, naming the file and the import."""
    found = []
    for name, path in modules(root).items():
        own = unit(name)
        if own is None:
            found.append(f"{path.relative_to(root.parent)}: belongs to no layer; add it to ALLOWED")
            continue
        for line, target in imports_of(path, root):
            if target.split(".")[0] != "locator":
                continue
            other = unit(target)
            if other != own and other not in ALLOWED[own]:
                found.append(f"{path.relative_to(root.parent)}:{line}: imports {target} "
                             f"({own} may not import {other})")
    return found


def package_graph(root: Path = PACKAGE) -> dict[str, set[str]]:
    """Unit → the units it imports (self-imports left out)."""
    graph: dict[str, set[str]] = {}
    for name, path in modules(root).items():
        own = unit(name) or name
        edges = graph.setdefault(own, set())
        for _, target in imports_of(path, root):
            if target.split(".")[0] == "locator" and (unit(target) or target) != own:
                edges.add(unit(target) or target)
    return graph


def find_cycle(graph: dict[str, set[str]]) -> list[str] | None:
    """One cycle of ``graph`` as a path ``[a, b, ..., a]``, or None when it is acyclic."""
    state: dict[str, int] = {}  # 1 on the current path, 2 done
    path: list[str] = []

    def visit(node: str) -> list[str] | None:
        state[node] = 1
        path.append(node)
        for nxt in sorted(graph.get(node, ())):
            if state.get(nxt) == 1:
                return path[path.index(nxt):] + [nxt]
            if nxt not in state and (cycle := visit(nxt)):
                return cycle
        path.pop()
        state[node] = 2
        return None

    for node in sorted(graph):
        if node not in state and (cycle := visit(node)):
            return cycle
    return None


def core_modules() -> list[str]:
    """Every module that must load without Flask: all but the faces, ``web``, the wiring
    on top, and the Alembic scripts (not importable modules)."""
    return [name for name, path in modules().items()
            if unit(name) in _CORES and "migrations" not in path.parts]


# --------------------------------------------------------------------------------------
# The table of allowed imports


def test_every_module_sits_in_one_layer_and_imports_only_what_its_layer_may():
    assert len(modules()) > 50
    found = violations()
    assert not found, "imports the layer table forbids:\n" + "\n".join(found)


def test_the_checker_names_file_and_import_of_a_planted_violation(tmp_path):
    root = tmp_path / "locator"
    (root / "geo").mkdir(parents=True)
    (root / "web").mkdir()
    (root / "__init__.py").write_text("")
    (root / "web" / "state.py").write_text("")
    (root / "geo" / "datum.py").write_text("import math\nfrom locator import errors\n")
    (root / "geo" / "bad.py").write_text(
        "def helper():\n    from locator.web import state\n    return state\n")
    (root / "errors.py").write_text("")
    (root / "helpers.py").write_text("")
    found = violations(root)
    assert "locator/geo/bad.py:2: imports locator.web.state (geo may not import web)" in found
    assert "locator/helpers.py: belongs to no layer; add it to ALLOWED" in found
    assert len(found) == 2, found


def test_relative_imports_are_resolved(tmp_path):
    root = tmp_path / "locator"
    (root / "geo").mkdir(parents=True)
    (root / "geo" / "index.py").write_text("from . import hours\nfrom ..store import models\n")
    (root / "geo" / "hours.py").write_text("")
    assert {t for _, t in imports_of(root / "geo" / "index.py", root)} == {
        "locator.geo.hours", "locator.store"}


def test_core_modules_never_import_flask_even_inside_functions():
    bad = {name: sorted(m for m in imported_modules(modules()[name])
                        if m.split(".")[0] in FLASK_MODULES)
           for name in core_modules()}
    bad = {name: found for name, found in bad.items() if found}
    assert not bad, f"core modules importing Flask: {bad}"


# --------------------------------------------------------------------------------------
# No cycle between packages


def test_no_import_cycle_between_packages():
    graph = package_graph()
    assert {"geo", "store", "sites", "coverage", "coverage.web", "web", "app"} <= set(graph)
    cycle = find_cycle(graph)
    assert cycle is None, "import cycle: " + " → ".join(cycle)


def test_the_cycle_finder_finds_a_planted_cycle(tmp_path):
    assert find_cycle({"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": {"a"}}) == ["a", "b", "c", "a"]
    assert find_cycle({"a": {"b", "c"}, "b": {"c"}, "c": set()}) is None
    root = tmp_path / "locator"
    (root / "geo").mkdir(parents=True)
    (root / "store").mkdir()
    (root / "geo" / "index.py").write_text("from locator.store.models import Station\n")
    (root / "store" / "models.py").write_text("from locator.geo.index import METRIC_CRS\n")
    assert find_cycle(package_graph(root)) in (["geo", "store", "geo"], ["store", "geo", "store"])


# --------------------------------------------------------------------------------------
# The core loads without Flask (a separate process: this one has Flask loaded already)


def test_the_core_loads_without_flask():
    names = core_modules()
    assert {"locator.geo.datum", "locator.store.store", "locator.sites.snapshot",
            "locator.imports.readers", "locator.coverage.engine", "locator.exports.writers",
            "locator.demo.generate", "locator.vocabulary"} <= set(names)
    code = (
        "import importlib, json, sys\n"
        f"for name in {names!r}:\n"
        "    importlib.import_module(name)\n"
        f"flasky = {FLASK_MODULES!r}\n"
        "print(json.dumps(sorted(m for m in sys.modules if m.split('.')[0] in flasky)))\n"
    )
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                          timeout=300, cwd=PACKAGE.parent)
    assert done.returncode == 0, done.stderr
    assert json.loads(done.stdout.strip().splitlines()[-1]) == []


def test_the_flask_check_sees_flask(tmp_path):
    code = ("import sys, locator.app\n"
            f"print(sorted(m for m in sys.modules if m.split('.')[0] in {FLASK_MODULES!r}))")
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                          timeout=300, cwd=PACKAGE.parent)
    assert "'flask'" in done.stdout


@pytest.mark.parametrize("module", ["locator.geo.datum", "locator.geo.index"])
def test_a_geo_module_alone_loads_no_flask(module):
    code = (f"import sys, {module}\n"
            f"print([m for m in sys.modules if m.split('.')[0] in {FLASK_MODULES!r}])")
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                          timeout=300, cwd=PACKAGE.parent)
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == "[]"
