"""Hostile inputs for every route, generated from ``app.url_map`` (issue 12).

For each route, method and role (anonymous, district account, admin), a first request with
harmless values finds which query and form fields the view *reads* (the request's
parameter dicts record every name looked up). Then every path segment and every field read
gets each payload of :data:`PAYLOADS`, one at a time, and one more request carries an
unknown parameter whose *name* is the XSS payload. A route added tomorrow is swept the day
it is added; a path argument the sweep has no harmless value for fails
:func:`sample_values` until one is added to :data:`SAMPLES`.

Used by ``tests/web/test_hostile_inputs.py`` (every answer, through the test client) and
``tests/browser/test_hostile_pages.py`` (the HTML answers, in Chromium).
"""

from __future__ import annotations

import contextlib
import re
import threading
from dataclasses import dataclass
from urllib.parse import quote

from flask import Request
from werkzeug.datastructures import ImmutableMultiDict

#: Runs ``__xss(n)`` wherever it is not escaped: element content, an attribute, a
#: ``<script>`` block, a JavaScript template literal.
XSS = ("\"'><img src=x onerror=__xss(1)><svg/onload=__xss(2)>"
       "</script><script>__xss(3)</script>${__xss(4)}")
#: What must never appear in an answer: the payload's tags, unescaped.
XSS_MARKERS = ("<img src=x onerror", "<svg/onload", "<script>__xss")

PAYLOADS = {
    "xss": XSS,
    "percent": "%",
    "percent-s": "%s",
    "braces": "{}",
    "brace-0": "{0}",
    "10kB": "长" * 3000 + "x" * 1000,  # 10,000 bytes in UTF-8
    "nul": "\x00",
    "lone-surrogate": "\ud800",
}

ROLES = ("anonymous", "district", "admin")
PASSWORD = "correct horse battery"
USERS = {"district": ("sweep_sjz", "district", "130100"), "admin": ("sweep_admin", "admin", None)}


def encode(value: str) -> str:
    """Percent-encoding as a browser would send it (a lone surrogate as its raw bytes)."""
    return quote(value.encode("utf-8", "surrogatepass"), safe="")


# --- which fields a view reads --------------------------------------------------------

_seen = threading.local()


class _Records:
    """Notes every name looked up, then looks it up as its base class does."""

    def get(self, key, *args, **kwargs):
        _note(key)
        return super().get(key, *args, **kwargs)

    def __getitem__(self, key):
        _note(key)
        return super().__getitem__(key)

    def __contains__(self, key):
        _note(key)
        return super().__contains__(key)


class _RecordingDict(_Records, dict):
    pass


class RecordingMultiDict(_Records, ImmutableMultiDict):
    """Request parameters that note every name the view looks up."""

    def getlist(self, key, *args, **kwargs):
        _note(key)
        return super().getlist(key, *args, **kwargs)

    def to_dict(self, flat=True):
        return _RecordingDict(super().to_dict(flat))


class RecordingRequest(Request):
    parameter_storage_class = RecordingMultiDict


def _note(key) -> None:
    names = getattr(_seen, "names", None)
    if names is not None and isinstance(key, str):
        names.add(key)


@contextlib.contextmanager
def recording():
    """Collect the parameter names read while the block runs (in this thread)."""
    _seen.names = set()
    try:
        yield _seen.names
    finally:
        _seen.names = None


# --- harmless values for path arguments ------------------------------------------------

#: A harmless value for each path argument, by (endpoint, argument) or argument name.
SAMPLES = {
    ("static", "filename"): "app.js",
    ("vendor", "filename"): "leaflet.js",
    "package": "leaflet",
    "lang": "zh",
    "token": "a" * 32,
    "kind": "stations",
    "fmt": "csv",
    "collection_id": "districts",  # /ogc/collections/<collection_id>/items/<feature_id>
    "feature_id": "130100",
}


def sample_values(rule, known: dict) -> dict:
    """Harmless values for ``rule``'s arguments: :data:`SAMPLES`, then ``known`` (ids read
    from the database: ``site_id``, ``station_id``, ``report_id``, ``batch_id``)."""
    values = {}
    for arg in sorted(rule.arguments):
        value = SAMPLES.get((rule.endpoint, arg), SAMPLES.get(arg, known.get(arg)))
        if value is None:
            raise AssertionError(f"no harmless value for <{arg}> of {rule.rule}: add one to "
                                 "tests/hostile.py SAMPLES")
        values[arg] = value
    return values


_ARGUMENT = re.compile(r"<(?:[^<>]*:)?(\w+)>")


def build_path(rule, values: dict) -> str:
    """``rule``'s path with ``values`` percent-encoded in place of its arguments (no
    converter checks: a hostile value goes in as it is)."""
    return _ARGUMENT.sub(lambda m: encode(str(values[m.group(1)])), rule.rule)


@dataclass(frozen=True)
class Case:
    role: str
    method: str
    endpoint: str
    url: str
    where: str  # "path <arg>", "query <name>", "form <name>" or "name"
    payload: str  # a key of PAYLOADS

    @property
    def id(self) -> str:
        return f"{self.role} {self.method} {self.endpoint} {self.where}={self.payload}"


def routes(app):
    """``(rule, method)`` for every route and method a client can send."""
    for rule in sorted(app.url_map.iter_rules(), key=lambda r: r.rule):
        for method in sorted(rule.methods - {"HEAD", "OPTIONS"}):
            yield rule, method


#: Routes swept as the anonymous user only: signing out would end the roles' sessions.
SIGNED_OUT_ONLY = {"staff.logout"}


def _send(client, method: str, url: str, form: dict | None):
    if method == "GET":
        return client.get(url)
    return client.open(url, method=method, data=form or {})


def cases(app, clients: dict, known: dict, payloads=PAYLOADS):
    """Yield ``(case, response)`` for every route, method, role, field and payload.

    ``clients`` maps each of :data:`ROLES` to a test client signed in as that role;
    ``app.request_class`` must be :class:`RecordingRequest`.
    """
    for rule, method in routes(app):
        base = sample_values(rule, known)
        path = build_path(rule, base)
        for role in ROLES:
            if rule.endpoint in SIGNED_OUT_ONLY and role != "anonymous":
                continue
            client = clients[role]
            with recording() as names:
                _send(client, method, path, None).close()
            fields = sorted(names)
            targets = ([("path", arg) for arg in sorted(rule.arguments)]
                       + [("query", name) for name in fields]
                       + ([("form", name) for name in fields] if method == "POST" else []))
            for (where, name), (label, value) in (
                    (t, p) for t in targets for p in payloads.items()):
                url, form = path, None
                if where == "path":
                    url = build_path(rule, {**base, name: value})
                elif where == "query":
                    url = f"{path}?{encode(name)}={encode(value)}"
                else:
                    form = {name: value.encode("utf-8", "surrogatepass").decode(
                        "utf-8", "replace")}
                case = Case(role, method, rule.endpoint, url, f"{where} {name}", label)
                yield case, _send(client, method, url, form)
            if "xss" in payloads:  # an unknown parameter whose name is the payload
                url = f"{path}?{encode(XSS)}=1"
                yield Case(role, method, rule.endpoint, url, "name", "xss"), \
                    _send(client, method, url, None)
