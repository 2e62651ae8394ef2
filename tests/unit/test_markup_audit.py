"""Issue 12: no user-controlled value can reach a page as markup.

The rules the hostile sweep (tests/web/test_hostile_inputs.py) checks by behaviour, held
here by reading the code, so a new template or module is checked the day it is added:

* in a template, ``_()`` / ``gettext()`` / ``ngettext()`` take a literal message only:
  Jinja's new-style gettext marks its result safe and %-formats it, so a message held in a
  variable would skip escaping (and a ``%`` in it was a 500). Text in a variable goes
  through the ``translated`` filter, which returns plain text;
* ``|safe`` only where the value is ours (vendored Leaflet; the Folium map shell, which
  holds no station text: sites arrive as JSON), the operator's (the basemap attribution
  setting) or already made safe by :func:`locator.jsonio.dumps` (``*_json``,
  ``map_config``);
* no Python module builds ``Markup`` (or calls ``Markup.format`` / ``%``).
"""

import ast
import re
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
TEMPLATES = sorted((ROOT / "templates").rglob("*.html"))
MODULES = sorted((ROOT / "locator").rglob("*.py"))
GETTEXT_CALL = re.compile(r"\b(?:_|gettext|ngettext)\(\s*([^\s\"')])")
SAFE_FILTER = re.compile(r"\{\{\s*([^}|]+?)\s*\|\s*safe\s*\}\}")
SAFE_ALLOWED = {
    ("export_coverage.html", "leaflet_css"), ("export_coverage.html", "leaflet_js"),
    ("export_coverage.html", "data_json"), ("about.html", "layer.attribution"),
    ("station_form.html", "map_config"), ("import_check.html", "map_json"),
    *((page, f"shell.{part}") for page in ("index.html", "import_check.html", "coverage.html")
      for part in ("header", "html", "script")),
}


def test_there_are_templates_and_modules():
    assert len(TEMPLATES) > 10 and len(MODULES) > 30


@pytest.mark.parametrize("path", TEMPLATES, ids=lambda p: p.name)
def test_templates_translate_literal_messages_only(path):
    bad = GETTEXT_CALL.findall(path.read_text(encoding="utf-8"))
    assert not bad, f"{path.name}: _() of a variable; use the 'translated' filter"


@pytest.mark.parametrize("path", TEMPLATES, ids=lambda p: p.name)
def test_safe_only_for_our_own_or_escaped_values(path):
    uses = {(path.name, v.strip()) for v in SAFE_FILTER.findall(path.read_text("utf-8"))}
    assert uses <= SAFE_ALLOWED, uses - SAFE_ALLOWED


@pytest.mark.parametrize("path", MODULES, ids=lambda p: str(p.relative_to(ROOT)))
def test_no_module_builds_markup(path):
    tree = ast.parse(path.read_text(encoding="utf-8"))
    names = {n.id for n in ast.walk(tree) if isinstance(n, ast.Name)}
    names |= {n.attr for n in ast.walk(tree) if isinstance(n, ast.Attribute)}
    assert not names & {"Markup", "escape_silent"}, path


def test_the_checks_see_what_they_look_for():
    assert GETTEXT_CALL.findall('{{ _(message) }} {{ _("字面") }}') == ["m"]
    assert SAFE_FILTER.findall("{{ station.name | safe }}") == ["station.name"]
