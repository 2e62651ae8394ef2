"""The examples in the core's docstrings run and stay true (STYLE.md habit 9)."""

import doctest
import importlib
import pkgutil

import pytest

import locator

#: Core modules whose docstrings hold examples; the faces (Flask) and migrations excluded.
FACES = {"web", "pages", "api", "cli", "demand_web", "app", "env"}


def core_modules() -> list[str]:
    names = []
    for info in pkgutil.walk_packages(locator.__path__, "locator."):
        parts = info.name.split(".")
        if parts[1] in {"web", "app", "cli"} or parts[-1] in FACES or "migrations" in parts:
            continue
        names.append(info.name)
    return names


@pytest.mark.parametrize("name", core_modules())
def test_docstring_examples(name):
    module = importlib.import_module(name)
    result = doctest.testmod(module, optionflags=doctest.ELLIPSIS | doctest.NORMALIZE_WHITESPACE)
    assert result.failed == 0, f"{name}: {result.failed} of {result.attempted} examples failed"


def test_the_core_has_examples():
    attempted = sum(doctest.testmod(importlib.import_module(n)).attempted
                    for n in ("locator.geo.datum", "locator.jsonio", "locator.vocabulary"))
    assert attempted >= 5
