"""The one check for redirect targets that come from a request (``next=``).

Every view that sends the user on to a place the request names (the language switch, the
sign-in page) goes through :func:`redirect_to_next`; a target that is not a plain path on
this site is replaced by the view's own fallback, never answered with a 500.
"""

from __future__ import annotations

import re
from urllib.parse import urlsplit

from flask import redirect
from werkzeug.wrappers import Response

__all__ = ["local_target", "redirect_to_next"]

# A path on this site: it starts with one "/", and holds none of the characters that
# browsers or Werkzeug strip or read as "/" (tab, newline, other controls, spaces, "\"),
# which would turn "/\t/host" or "/\host" into "//host" on the way out.
_LOCAL_PATH = re.compile(r"/[^\s\\\x00-\x1f\x7f]*")
# "/" or "\" percent-encoded in the path: harmless to browsers, but a proxy or server that
# decodes them before normalising would see "//host"; no page of ours has one.
_ENCODED_SLASH = re.compile(r"%(?:2f|5c)", re.IGNORECASE)


def local_target(target: object) -> str | None:
    """``target`` when it is a path on this site (with its query), else None.

    Refused: anything not starting with one ``/`` (``https://x``, ``javascript:``,
    ``x``), ``//`` anywhere (``//x``, ``/a//x``), backslashes, whitespace and control
    characters (``/\\x``, ``/\\t/x``, ``/\\n/x``), and ``%2F`` or ``%5C`` in the path.
    """
    if not isinstance(target, str) or not _LOCAL_PATH.fullmatch(target) or "//" in target:
        return None
    if _ENCODED_SLASH.search(target.partition("?")[0]):
        return None
    parts = urlsplit(target)
    if parts.scheme or parts.netloc:
        return None
    return target


def redirect_to_next(target: object, fallback: str) -> Response:
    """A 302 to ``target`` when :func:`local_target` accepts it, else to ``fallback`` (a URL
    the view built with ``url_for``)."""
    return redirect(local_target(target) or fallback)
