"""The one place where untrusted text (station names, addresses, hosts…) is made safe.

Station text comes from uploads and is hostile until proven otherwise
(``research/reliability.md`` F1-F5, F9): it may hold HTML, a JavaScript template-literal
breakout (`` ` ``, ``${…}``), ``</script>``, backslashes or a spreadsheet formula. Every
writer that puts such text into HTML, a ``<script>`` block or a spreadsheet goes through
these helpers, and tests look for their absence.
"""

from __future__ import annotations

import html
import re

__all__ = ["FORMULA_PREFIXES", "csv_cell", "html_text", "xml_text"]

# ASVS 5.0 1.2.10 / OWASP "CSV injection": a cell starting with one of these is a formula.
FORMULA_PREFIXES = ("=", "+", "-", "@", "\t", "\r")
# Characters XML 1.0 forbids (control characters other than tab, newline, CR; surrogates).
_XML_ILLEGAL = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\ud800-\udfff\ufffe\uffff]")


def html_text(value) -> str:
    """Text made safe for HTML element content, quoted attributes and JS template literals.

    ``html.escape(quote=True)`` plus `` ` `` -> ``&#96;``, ``$`` -> ``&#36;`` and
    ``\\`` -> ``&#92;`` (reliability.md F5), so the result stays inert even when a
    library pastes it into a JavaScript template literal. ``None`` becomes ``""``.

    Parameters
    ----------
    value : object
        Any value; ``None`` becomes ``""``, others go through ``str()``.

    Returns
    -------
    str

    Examples
    --------
    >>> html_text('<img src=x onerror=alert(1)>${alert(1)}')
    '&lt;img src=x onerror=alert(1)&gt;&#36;{alert(1)}'
    """
    text = "" if value is None else str(value)
    return (html.escape(text, quote=True)
            .replace("`", "&#96;").replace("$", "&#36;").replace("\\", "&#92;"))


def csv_cell(value):
    """A CSV value that no spreadsheet evaluates: text starting with ``= + - @``, tab or
    CR gets a leading single quote (numbers are left alone).

    Parameters
    ----------
    value : object
        One cell's value.

    Returns
    -------
    object
        ``value`` itself unless it is a ``str`` starting with one of
        :data:`FORMULA_PREFIXES`.

    Examples
    --------
    >>> csv_cell('=HYPERLINK("http://x")')
    '\\'=HYPERLINK("http://x")'
    >>> csv_cell(-3.5)
    -3.5
    """
    if isinstance(value, str) and value.startswith(FORMULA_PREFIXES):
        return "'" + value
    return value


def xml_text(value) -> str:
    """Text that XML 1.0 accepts: characters it forbids are dropped (escaping is the XML
    writer's job).

    Parameters
    ----------
    value : object
        Any value; ``None`` becomes ``""``, others go through ``str()``.

    Returns
    -------
    str
        Without control characters other than tab, newline and CR, lone surrogates,
        U+FFFE and U+FFFF.

    Examples
    --------
    >>> xml_text("站\\x00点\\x1b"), xml_text(None)
    ('站点', '')
    """
    return _XML_ILLEGAL.sub("", "" if value is None else str(value))
