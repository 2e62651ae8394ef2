"""Issue 13: one place per language turns (lon, lat) into Leaflet's [lat, lng].

In JS that is ``locator/web/static/lonlat.js`` (``LonLat``); in Python
``locator.sites.maps.latlon``. Any other script that swaps the order by hand fails here.
"""

import re
from pathlib import Path

import pytest

STATIC = Path(__file__).resolve().parents[2] / "locator" / "web" / "static"
HELPER = "lonlat.js"
#: Hand-written flips: ``[p[1], p[0]]``, ``[lat, lon]``, reading ``.lng`` / ``.lat`` of a
#: Leaflet LatLng.
FLIPS = re.compile(r"\[\s*[\w.]+\[\s*1\s*\]\s*,\s*[\w.]+\[\s*0\s*\]\s*\]"
                   r"|\[\s*lat\w*\s*,\s*lon\w*\s*\]|\.latlng\.lng\b|\blatlng\.lng\b")


@pytest.mark.parametrize("name", sorted(p.name for p in STATIC.glob("*.js") if p.name != HELPER))
def test_scripts_flip_only_through_the_helper(name):
    found = FLIPS.findall((STATIC / name).read_text(encoding="utf-8"))
    assert not found, f"{name} flips lon/lat by hand: {found}; use LonLat.* (lonlat.js)"


def test_the_check_sees_a_flip():
    assert FLIPS.findall("L.marker([row[1], row[0]]); x = [lat, lon]; e.latlng.lng")
    assert not FLIPS.findall("LonLat.pointToLeaflet(row)")


def test_every_page_that_loads_a_map_script_loads_the_helper_first():
    templates = Path(__file__).resolve().parents[2] / "templates"
    for page in templates.rglob("*.html"):
        text = page.read_text(encoding="utf-8")
        scripts = re.findall(r"filename='([\w.]+\.js)'", text)
        users = [s for s in scripts if "LonLat." in (STATIC / s).read_text(encoding="utf-8")]
        if users:
            assert HELPER in scripts and scripts.index(HELPER) < scripts.index(users[0]), page
