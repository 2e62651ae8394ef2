"""The staff station form: what it posts, how it is checked, where its map points.

The form is validated by the import's own
:func:`~locator.imports.validate.validate_table`, on a one-row table built from the form:
the same normalisation (NFC, whitespace, control and invisible characters, lengths,
service labels, opening hours, coordinates incl. DMS and full-width digits, datum
conversion to WGS-84 with the typed values kept in ``source_*``, point -> district and
county, duplicates) and the same messages, in Chinese and English, each placed on its
form field (:class:`FieldProblem`).

Coordinates are WGS-84 lon/lat degrees (EPSG:4326) unless a ``datum`` says otherwise.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from locator.errors import LocatorError
from locator.geo.datum import DATUMS, from_wgs84
from locator.imports.columns import COLUMNS
from locator.imports.readers import Table
from locator.imports.validate import Problem, parse_services, validate_table
from locator.store.models import User

__all__ = [
    "FieldProblem",
    "Invalid",
    "MapView",
    "StationInput",
    "coordinate_text",
    "default_view",
    "district_problems",
    "form_input",
    "form_services",
    "locate_input",
    "map_view",
    "validate_input",
]

# form field -> the import column it is validated as (Chinese header)
_FORM_COLUMNS = ("name", "kind", "address", "services", "opening_hours", "host", "phone",
                 "lon", "lat", "id")
_FIELD_OF_HEADER = {COLUMNS[f][0]: f for f in _FORM_COLUMNS if f != "id"}
_FIELD_OF_HEADER[f"{COLUMNS['lon'][0]}/{COLUMNS['lat'][0]}"] = "coordinates"
_COORDINATE_CODES = {"swapped_lat_lon", "out_of_area", "duplicate_existing", "duplicate_in_file"}


# --------------------------------------------------------------------------- problems

@dataclass(frozen=True)
class FieldProblem:
    """One problem of a form field, in Chinese and English.

    Attributes
    ----------
    field : str
        A form field (``name``, ``kind``, ``address``, ``services``, ``opening_hours``,
        ``host``, ``phone``, ``lon``, ``lat``, ``datum``), ``coordinates`` for both
        coordinates together, ``reopen_date`` or ``reason`` for a status change, or
        ``form`` for the whole form.
    code : str
        An import problem code where the rule is the import's
        (:data:`locator.imports.validate.CODES`), else the form's own (``required``,
        ``past_date``, ``outside_district`` ...).
    zh, en : str
        The message.
    """

    field: str
    code: str
    zh: str
    en: str

    def message(self, lang: str = "zh") -> str:
        """The message in one language.

        Parameters
        ----------
        lang : str
            ``zh`` or ``en``.

        Returns
        -------
        str
        """
        return self.en if lang == "en" else self.zh


class Invalid(LocatorError):
    """(422) The form has problems; nothing was saved.

    Parameters
    ----------
    problems : list of FieldProblem
        Which and where (kept as ``problems``).
    """

    status = 422
    code = "invalid_form"
    message = "表单中有错误，请按提示改正后再保存；没有保存任何更改。"
    message_en = "The form has errors; correct them and save again. Nothing was saved."

    def __init__(self, problems: list[FieldProblem]):
        super().__init__()
        self.problems = list(problems)

    def by_field(self, lang: str = "zh") -> dict[str, list[str]]:
        """The messages per form field.

        Parameters
        ----------
        lang : str
            ``zh`` or ``en``.

        Returns
        -------
        dict of str to list of str
            Form field → its messages, in the order found.
        """
        out: dict[str, list[str]] = {}
        for p in self.problems:
            out.setdefault(p.field, []).append(p.message(lang))
        return out


# --------------------------------------------------------------------------- the form

@dataclass
class StationInput:
    """What the station form sends, as typed (nothing is normalised yet).

    Attributes
    ----------
    name, kind, address, opening_hours, host, phone : str
        As typed (``kind`` a code or label).
    services : list of str
        The ticked (or typed) services, codes or labels.
    lon, lat : str
        As typed (decimal, DMS, full-width digits ...), in ``datum``.
    datum : str
        ``wgs84`` by default; ``gcj02`` or ``bd09`` for coordinates copied from
        Amap/Tencent or Baidu.
    version : str
        The site's ``updated_at`` (ISO 8601) when the form was opened; empty for a new
        site.
    """

    name: str = ""
    kind: str = "station"
    address: str = ""
    services: list[str] = field(default_factory=list)
    opening_hours: str = ""
    host: str = ""
    phone: str = ""
    lon: str = ""
    lat: str = ""
    datum: str = "wgs84"
    version: str = ""

    #: The fields a form posts as single text values (``services`` is a list).
    TEXT_FIELDS = ("name", "kind", "address", "opening_hours", "host", "phone", "lon", "lat",
                   "datum", "version")


def coordinate_text(value: float | None) -> str:
    """Degrees as the form shows them.

    Parameters
    ----------
    value : float or None
        Degrees (WGS-84 lon or lat).

    Returns
    -------
    str
        Up to 7 decimals (~1 cm), no trailing zeros; ``""`` for none.

    Examples
    --------
    >>> coordinate_text(114.514900), coordinate_text(None)
    ('114.5149', '')
    """
    if value is None:
        return ""
    return f"{value:.7f}".rstrip("0").rstrip(".")


def form_input(record: dict[str, Any]) -> StationInput:
    """The form of a site as it is now.

    Parameters
    ----------
    record : dict
        From :func:`~locator.editing.listing.get_station`.

    Returns
    -------
    StationInput
        ``lon``/``lat`` as WGS-84 degrees (:func:`coordinate_text`), ``version`` the
        record's ``updated_at``.
    """
    return StationInput(
        name=record["name"], kind=record["kind"], address=record["address"] or "",
        services=list(record["services"] or []), opening_hours=record["opening_hours"] or "",
        host=record["host"] or "", phone=record["phone"] or "",
        lon=coordinate_text(record["lon"]), lat=coordinate_text(record["lat"]),
        datum="wgs84", version=record["updated_at"],
    )


def form_services(posted: list[str]) -> list[str]:
    """The services a form posted, as its checkboxes show them again.

    Parameters
    ----------
    posted : list of str
        Ticked codes, or typed labels (several per value allowed).

    Returns
    -------
    list of str
        Each recognised label or code as its code, anything else as typed (so it can be
        unticked), without repeats.

    Examples
    --------
    >>> form_services(["饮水", "toilet", "按摩"])
    ['drinking_water', 'toilet', '按摩']
    """
    out = []
    for value in posted:
        codes, unknown = parse_services(value)
        out += codes + unknown
    return list(dict.fromkeys(out))


def _field_problem(p: Problem, *, new: bool) -> FieldProblem:
    """An import problem of the form's one-row table as a problem of a form field."""
    where = _FIELD_OF_HEADER.get(p.column or "", "form")
    if p.code in _COORDINATE_CODES:
        where = "coordinates"
    zh, en = p.zh, p.en
    if p.code == "duplicate_existing" and new:
        # the import's hint says to put the id in the 编号 column; a form has none
        zh = zh.rsplit("；", 1)[0] + "；如要修改那个站点，请在站点列表中打开它"
        en = en.rsplit("; ", 1)[0] + "; to change that site, open it from the station list"
    return FieldProblem(where, p.code, zh, en)


def validate_input(inp: StationInput, *, regions, existing=None,
                   station_id: str | None = None) -> tuple[dict[str, Any], list[FieldProblem]]:
    """Validate a form with the import's rules; changes nothing.

    Parameters
    ----------
    inp : StationInput
    regions : locator.geo.regions.Regions
    existing : pandas.DataFrame, optional
        The store's sites (``id``, ``kind``, ``name``, ``lon``, ``lat``, ``status``), for
        the duplicate rule; without it duplicates are not checked. When editing, it must
        hold ``station_id``.
    station_id : str, optional
        The site being edited (it is not its own duplicate); ``None`` for a new site.

    Returns
    -------
    (values, problems)
        ``values`` as the import would write them: normalised text, ``services`` codes,
        ``opening_hours`` in OSM syntax, WGS-84 ``lon``/``lat`` rounded to 7 decimals,
        the typed coordinates in ``source_lon``/``source_lat`` with ``source_datum``, and
        the district and county derived from the point. ``problems`` per form field.
    """
    problems: list[FieldProblem] = []
    datum = inp.datum or "wgs84"
    if datum not in DATUMS:
        problems.append(FieldProblem(
            "datum", "bad_value", "坐标系只能是 WGS-84、GCJ-02 或 BD-09",
            "the coordinate system must be WGS-84, GCJ-02 or BD-09"))
        datum = "wgs84"
    cells = [inp.name, inp.kind, inp.address, "|".join(inp.services), inp.opening_hours,
             inp.host, inp.phone, inp.lon, inp.lat, station_id or ""]
    table = Table(format="form", columns=[COLUMNS[f][0] for f in _FORM_COLUMNS],
                  rows=[(1, cells)], header_row=0)
    validation = validate_table(table, datum=datum, regions=regions, existing=existing)
    problems += [_field_problem(p, new=station_id is None) for p in validation.problems]
    values = dict(validation.rows[0].values) if validation.rows else {}
    return values, problems


def district_problems(user: User, values: dict[str, Any], regions) -> list[FieldProblem]:
    """Whether a point leaves the district a district staff account manages.

    Parameters
    ----------
    user : User
    values : dict
        From :func:`validate_input` (its ``district_code``, ``district_name`` and
        ``county_name``).
    regions : locator.geo.regions.Regions
        For the name of the user's district.

    Returns
    -------
    list of FieldProblem
        The problem ``outside_district`` (on ``coordinates``), or none: for admins, in
        the user's own district, or without a point.
    """
    code = values.get("district_code")
    if code is None or user.can_see(code):
        return []
    own = regions.district_names().get(user.district_code or "", user.district_code or "")
    here = f"{values['district_name']}{values['county_name']}"
    return [FieldProblem(
        "coordinates", "outside_district",
        f"这个位置在{here}，不在你负责的{own}内；地区工作人员只能管理本地区的站点",
        f"this point is in {here}, outside your district ({own}); district staff manage "
        "only their own district's sites")]


def locate_input(lon: str, lat: str, datum: str, *, regions, user: User,
                 display_datum: str = "wgs84", lang: str = "zh") -> dict[str, Any]:
    """Where typed (or dragged) coordinates are, checked with the import's rules.

    For the form's map: the pin is moved to ``display`` and the district and county are
    shown beside the address.

    Parameters
    ----------
    lon, lat : str
        As typed (decimal, DMS, full-width digits ...), in ``datum``.
    datum : str
        ``wgs84``, ``gcj02`` or ``bd09``.
    regions : locator.geo.regions.Regions
    user : User
        Whose district bounds the point (:func:`district_problems`).
    display_datum : str
        The basemap's datum (``wgs84`` or ``gcj02``): ``display`` is in it.
    lang : str
        ``zh`` or ``en``: the language of the problems' messages.

    Returns
    -------
    dict
        JSON-ready: ``ok``; ``lon``, ``lat`` (WGS-84, 7 decimals), ``display``
        (``[lon, lat]`` in ``display_datum``), ``district_name``, ``county_name`` (and
        codes) when the point is in Hebei; ``problems``: ``[{"field", "code",
        "message"}]`` (coordinate problems only, including leaving the user's district).
    """
    values, problems = validate_input(StationInput(name="-", lon=lon, lat=lat, datum=datum),
                                      regions=regions)
    problems = [p for p in problems if p.field in ("lon", "lat", "coordinates", "datum")]
    out: dict[str, Any] = {"ok": False}
    if "lon" in values:
        problems += district_problems(user, values, regions)
        x, y = from_wgs84(values["lon"], values["lat"], display_datum)
        out.update(lon=values["lon"], lat=values["lat"], display=[round(x, 7), round(y, 7)],
                   lon_text=coordinate_text(values["lon"]),
                   lat_text=coordinate_text(values["lat"]),
                   **{k: values[k] for k in ("district_code", "district_name", "county_code",
                                             "county_name")})
    out["ok"] = not problems and "lon" in values
    out["problems"] = [{"field": p.field, "code": p.code, "message": p.message(lang)}
                       for p in problems]
    return out


def default_view(regions, user: User) -> tuple[float, float, int]:
    """Where a new site's map starts.

    Parameters
    ----------
    regions : locator.geo.regions.Regions
    user : User

    Returns
    -------
    (lon, lat, zoom) : (float, float, int)
        WGS-84 degrees: a point inside the user's district at zoom 10, or (admins) the
        middle of the province at zoom 7.
    """
    districts = regions.districts
    if user.role != "admin":
        rows = districts[districts["code"] == user.district_code]
        if len(rows):
            point = rows.geometry.iloc[0].representative_point()
            return round(point.x, 5), round(point.y, 5), 10
    return 116.0, 39.3, 7  # 高碑店, near the middle of Hebei's extent


@dataclass(frozen=True)
class MapView:
    """What the form's map shows first, in the basemap's datum (degrees, lon/lat order).

    Attributes
    ----------
    pin : (float, float) or None
        The site's point (``None`` for a new site).
    center : (float, float)
        Where the map is centred when there is no pin (:func:`default_view`).
    zoom : int
    """

    pin: tuple[float, float] | None
    center: tuple[float, float]
    zoom: int


def map_view(record: dict[str, Any] | None, regions, user: User,
             display_datum: str = "wgs84") -> MapView:
    """The form map's pin and first view.

    Parameters
    ----------
    record : dict or None
        The site (WGS-84 ``lon``/``lat``), or ``None`` for a new site.
    regions : locator.geo.regions.Regions
    user : User
        Whose district a new site's map starts in.
    display_datum : str
        The basemap's datum (``wgs84`` or ``gcj02``): the result is in it.

    Returns
    -------
    MapView
    """
    pin = None
    if record is not None:
        pin = from_wgs84(record["lon"], record["lat"], display_datum)
    lon, lat, zoom = default_view(regions, user)
    return MapView(pin, from_wgs84(lon, lat, display_datum), zoom)
