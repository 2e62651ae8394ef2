"""Old Android WebViews (and WeChat's browser on old phones) run ES5: every script we
serve must parse as ES5 — our files, the inline folium shell, and the page's inline JSON."""

import re
from pathlib import Path

import pyjsparser
import pytest

STATIC = Path(__file__).resolve().parents[2] / "locator" / "web" / "static"


@pytest.mark.parametrize("name", sorted(p.name for p in STATIC.glob("*.js")))
def test_our_scripts_are_es5(name):
    pyjsparser.parse((STATIC / name).read_text(encoding="utf-8"))


def test_the_inline_scripts_of_the_page_are_es5(client):
    html = client.get("/").get_data(as_text=True)
    scripts = re.findall(r"<script(?: nonce=\"[^\"]+\")?>(.*?)</script>", html, re.S)
    assert scripts, "no inline script found: the check itself is broken"
    for script in scripts:
        pyjsparser.parse(script)


def test_the_checker_refuses_es2018():
    with pytest.raises(pyjsparser.JsSyntaxError):
        pyjsparser.parse("var a = {...{b: 1}};")
