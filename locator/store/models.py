"""SQLAlchemy 2 models of the station record (DESIGN.md §4) and the store's metadata.

Coordinates are WGS-84 degrees (``lon``, ``lat``); the values as uploaded, and their
datum, are kept beside them (``source_lon``, ``source_lat``, ``source_datum``).
"""

from __future__ import annotations

import datetime as dt

from sqlalchemy import (
    JSON,
    Boolean,
    Date,
    DateTime,
    Float,
    ForeignKey,
    Index,
    Integer,
    String,
    Text,
)
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column
from sqlalchemy.types import TypeDecorator


class UTCDateTime(TypeDecorator):
    """Aware datetimes in, aware UTC datetimes out, on every backend.

    SQLite keeps no time zone, so values are stored as naive UTC and given back as UTC.

    Examples
    --------
    >>> from sqlalchemy.dialects import sqlite
    >>> shanghai = dt.timezone(dt.timedelta(hours=8))
    >>> UTCDateTime().process_bind_param(dt.datetime(2026, 1, 1, 8, tzinfo=shanghai),
    ...                                  sqlite.dialect())
    datetime.datetime(2026, 1, 1, 0, 0)
    >>> UTCDateTime().process_result_value(dt.datetime(2026, 1, 1, 0, 0), sqlite.dialect())
    datetime.datetime(2026, 1, 1, 0, 0, tzinfo=datetime.timezone.utc)
    """

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value, dialect):
        """The value as the database stores it.

        Parameters
        ----------
        value : datetime.datetime or None
            An aware datetime in any zone.
        dialect : sqlalchemy.engine.Dialect
            The backend's dialect.

        Returns
        -------
        datetime.datetime or None
            Naive UTC on SQLite, UTC aware datetime elsewhere.

        Raises
        ------
        ValueError
            If ``value`` is naive: its zone would be a guess.
        """
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetime: give a time zone")
        value = value.astimezone(dt.UTC)
        return value.replace(tzinfo=None) if dialect.name == "sqlite" else value

    def process_result_value(self, value, dialect):
        """The stored value as a UTC aware datetime (naive values are UTC, see above).

        Parameters
        ----------
        value : datetime.datetime or None
            As the driver returns it.
        dialect : sqlalchemy.engine.Dialect
            The backend's dialect.

        Returns
        -------
        datetime.datetime or None
            UTC aware datetime.
        """
        if value is None:
            return None
        return value.replace(tzinfo=dt.UTC) if value.tzinfo is None else value.astimezone(dt.UTC)


class Base(DeclarativeBase):
    """Declarative base of every model; its ``metadata`` is what the migrations build."""


class Versioned:
    """Marker: any write to a model with this mixin bumps ``Meta.data_version``."""


class Meta(Base):
    """One row (id 1) holding the store-wide ``data_version``.

    Attributes
    ----------
    id : int
        Always 1.
    data_version : int
        Bumped once by every committed transaction that writes a :class:`Versioned` row
        (see locator/store/store.py); only grows.
    """

    __tablename__ = "meta"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    data_version: Mapped[int] = mapped_column(Integer, nullable=False, default=0)


class Station(Versioned, Base):
    """A site: a union service station (``station``) or a loving-mother room.

    Attributes
    ----------
    id : str
        ``HB<county code>-<number>`` (see :class:`IdCounter`).
    kind, status : str
        Codes of :data:`locator.vocabulary.KINDS` and :data:`~locator.vocabulary.STATUSES`.
    district_code, county_code : str
        6-digit adcodes of the union district and county holding the point.
    lon, lat : float
        WGS-84 longitude/latitude in degrees (EPSG:4326): what is searched and served.
    source_datum : str
        Datum of the point as uploaded: ``wgs84``, ``gcj02`` or ``bd09``.
    source_lon, source_lat : float or None
        The point as uploaded, degrees in ``source_datum``.
    services : list of str
        Service codes of :data:`locator.vocabulary.SERVICES`.
    opening_hours : str
        OSM ``opening_hours`` syntax, evaluated in Asia/Shanghai; ``""`` when unknown.
    reopen_date, verified_at : datetime.date or None
        Calendar dates, no time of day.
    updated_at : datetime.datetime
        UTC aware datetime of the last change.
    updated_by : str
        The staff username that made it (``demo-generator`` for demo sites); not public.
    synthetic : bool
        True for generated demo sites.
    """

    __tablename__ = "stations"
    __table_args__ = (
        Index("ix_stations_district", "district_code"),
        Index("ix_stations_kind_status", "kind", "status"),
    )

    id: Mapped[str] = mapped_column(String(20), primary_key=True)
    kind: Mapped[str] = mapped_column(String(16), nullable=False)
    name: Mapped[str] = mapped_column(String(200), nullable=False)
    address: Mapped[str] = mapped_column(String(300), nullable=False, default="")
    district_code: Mapped[str] = mapped_column(String(6), nullable=False)
    district_name: Mapped[str] = mapped_column(String(40), nullable=False)
    county_code: Mapped[str] = mapped_column(String(6), nullable=False)
    county_name: Mapped[str] = mapped_column(String(40), nullable=False)
    lon: Mapped[float] = mapped_column(Float, nullable=False)
    lat: Mapped[float] = mapped_column(Float, nullable=False)
    source_datum: Mapped[str] = mapped_column(String(8), nullable=False, default="wgs84")
    source_lon: Mapped[float | None] = mapped_column(Float)
    source_lat: Mapped[float | None] = mapped_column(Float)
    services: Mapped[list[str]] = mapped_column(JSON, nullable=False, default=list)
    opening_hours: Mapped[str] = mapped_column(String(300), nullable=False, default="")
    host: Mapped[str] = mapped_column(String(200), nullable=False, default="")
    phone: Mapped[str] = mapped_column(String(60), nullable=False, default="")
    status: Mapped[str] = mapped_column(String(24), nullable=False, default="active")
    reopen_date: Mapped[dt.date | None] = mapped_column(Date)
    status_reason: Mapped[str | None] = mapped_column(Text)
    verified_at: Mapped[dt.date | None] = mapped_column(Date)
    updated_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, nullable=False)
    updated_by: Mapped[str] = mapped_column(String(80), nullable=False, default="")
    synthetic: Mapped[bool] = mapped_column(Boolean, nullable=False, default=False)


class ProblemReport(Base):
    """A "信息有误？" report from the public station page, queued for the district's staff.

    Nothing about the reporter is stored: no IP address, no account, no location.

    Attributes
    ----------
    category, status : str
        Codes of :data:`locator.vocabulary.REPORT_CATEGORIES` and
        :data:`~locator.vocabulary.REPORT_STATUSES`.
    note, resolution_note : str
        The reporter's and the staff's text (at most 500 characters each).
    created_at, updated_at : datetime.datetime
        UTC aware datetimes.
    """

    __tablename__ = "problem_reports"
    __table_args__ = (Index("ix_problem_reports_district_status", "district_code", "status"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    station_id: Mapped[str] = mapped_column(
        String(20), ForeignKey("stations.id", ondelete="CASCADE"), nullable=False)
    district_code: Mapped[str] = mapped_column(String(6), nullable=False)
    category: Mapped[str] = mapped_column(String(24), nullable=False)
    note: Mapped[str] = mapped_column(String(500), nullable=False, default="")
    status: Mapped[str] = mapped_column(String(16), nullable=False, default="new")
    resolution_note: Mapped[str] = mapped_column(String(500), nullable=False, default="")
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, nullable=False)
    updated_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, nullable=False)


class User(Base):
    """A staff account (see locator/store/accounts.py).

    Attributes
    ----------
    role : {"admin", "district"}
        ``admin`` sees every district, ``district`` only ``district_code``.
    district_code : str or None
        6-digit adcode; ``None`` for admins.
    active : bool
        False once disabled: it can no longer sign in.
    session_version : int
        Part of every session's identity; bumping it revokes them all.
    created_at, last_login_at : datetime.datetime
        UTC aware datetimes (``last_login_at`` is ``None`` before the first sign-in).
    """

    __tablename__ = "users"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    username: Mapped[str] = mapped_column(String(40), unique=True, nullable=False)
    password_hash: Mapped[str] = mapped_column(String(255), nullable=False)
    role: Mapped[str] = mapped_column(String(16), nullable=False)
    district_code: Mapped[str | None] = mapped_column(String(6))
    active: Mapped[bool] = mapped_column(Boolean, nullable=False, default=True)
    session_version: Mapped[int] = mapped_column(Integer, nullable=False, default=1)
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, nullable=False)
    last_login_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime)

    def can_see(self, district_code: str) -> bool:
        """Whether this account may see and edit the sites of a union district.

        Parameters
        ----------
        district_code : str
            6-digit adcode of the district.

        Returns
        -------
        bool
            True for an admin, and for a district account of that district.

        Examples
        --------
        >>> User(role="district", district_code="130100").can_see("130200")
        False
        """
        return self.role == "admin" or self.district_code == district_code


class Throttle(Base):
    """Failed attempts per opaque key (locator/store/throttle.py), shared by every worker.

    ``key`` is a SHA-256 hex digest: the table holds no username and no address.

    Attributes
    ----------
    key : str
        64 hex digits (:func:`locator.store.throttle.key_of`).
    failures : int
        Failures counted since the count last restarted.
    last_failure_at : datetime.datetime
        UTC aware datetime of the latest failure.
    """

    __tablename__ = "throttle"

    key: Mapped[str] = mapped_column(String(64), primary_key=True)
    failures: Mapped[int] = mapped_column(Integer, nullable=False)
    last_failure_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, nullable=False)


class IdCounter(Base):
    """The last number handed out per county for ``HB<county code>-<number>`` ids.

    Only ever increases, so an id is never reused, not even after an import that created
    it is undone.

    Attributes
    ----------
    county_code : str
        6-digit adcode.
    last_number : int
        The highest number handed out in that county.
    """

    __tablename__ = "id_counters"

    county_code: Mapped[str] = mapped_column(String(6), primary_key=True)
    last_number: Mapped[int] = mapped_column(Integer, nullable=False)


class ImportBatch(Base):
    """One applied import: who, when, what file, what it did, and whether it was undone.

    Attributes
    ----------
    created_at, undone_at : datetime.datetime
        UTC aware datetimes (``undone_at`` is ``None`` unless undone).
    source_sha256 : str
        SHA-256 of the uploaded file, 64 hex digits.
    datum : str
        The datum the file's coordinates were read in: ``wgs84``, ``gcj02`` or ``bd09``.
    rows, new, changed, unchanged : int
        Counts of data rows in the file, and of sites it created, changed and left alone.
    data_version : int
        The store's ``data_version`` the import produced.
    """

    __tablename__ = "import_batches"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, nullable=False)
    created_by: Mapped[str] = mapped_column(String(80), nullable=False)
    source_name: Mapped[str] = mapped_column(String(200), nullable=False, default="")
    source_sha256: Mapped[str] = mapped_column(String(64), nullable=False)
    source_format: Mapped[str] = mapped_column(String(16), nullable=False)
    datum: Mapped[str] = mapped_column(String(8), nullable=False)
    rows: Mapped[int] = mapped_column(Integer, nullable=False)
    new: Mapped[int] = mapped_column(Integer, nullable=False)
    changed: Mapped[int] = mapped_column(Integer, nullable=False)
    unchanged: Mapped[int] = mapped_column(Integer, nullable=False)
    data_version: Mapped[int] = mapped_column(Integer, nullable=False)
    undone_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime)
    undone_by: Mapped[str | None] = mapped_column(String(80))
    #: The one union district every site of the batch lies in (before and after), or
    #: ``None`` when it spans several: district staff see and undo only their own.
    district_code: Mapped[str | None] = mapped_column(String(6), index=True)


class StationHistory(Base):
    """Every change to a site: before and after (JSON records; ``None`` = did not exist).

    Attributes
    ----------
    batch_id : int or None
        The :class:`ImportBatch` that made the change; ``None`` for an edit by hand.
    changed_at : datetime.datetime
        UTC aware datetime.
    before, after : dict or None
        The station record as JSON (``lon``/``lat`` WGS-84 degrees, dates as ISO text).
    """

    __tablename__ = "station_history"
    __table_args__ = (Index("ix_station_history_station", "station_id", "id"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    station_id: Mapped[str] = mapped_column(String(20), nullable=False)
    batch_id: Mapped[int | None] = mapped_column(ForeignKey("import_batches.id"), index=True)
    action: Mapped[str] = mapped_column(String(16), nullable=False)
    changed_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, nullable=False)
    changed_by: Mapped[str] = mapped_column(String(80), nullable=False)
    before: Mapped[dict | None] = mapped_column(JSON)
    after: Mapped[dict | None] = mapped_column(JSON)


class SearchCount(Base):
    """How many nearest-site searches came from one coarse area on one day: counts only.

    The key is the H3 resolution-8 cell (about 0.5 km², as an H3 hex string) of the
    search point, the Asia/Shanghai day and whether the nearest active result was farther
    than 1 km. Nothing else about a search is stored: no coordinates, no IP address, no
    account, no user agent (see locator/coverage/demand.py). Not :class:`Versioned`: writing
    counts never bumps ``data_version``.

    Attributes
    ----------
    cell : str
        H3 resolution-8 cell index as hex text.
    day : datetime.date
        The calendar day in Asia/Shanghai.
    beyond_r : bool
        Whether the nearest active site was farther than 1 km (geodesic, WGS-84).
    count : int
        Searches counted for that cell, day and flag.
    """

    __tablename__ = "search_counts"
    __table_args__ = (Index("ix_search_counts_day", "day"),)

    cell: Mapped[str] = mapped_column(String(15), primary_key=True)
    day: Mapped[dt.date] = mapped_column(Date, primary_key=True)
    beyond_r: Mapped[bool] = mapped_column(Boolean, primary_key=True)
    count: Mapped[int] = mapped_column(Integer, nullable=False)


class DemandUpload(Base):
    """One uploaded population grid: who, when, which file, what it held.

    Only the latest upload that is not withdrawn is in use; its cells are
    :class:`DemandCell`. Earlier uploads stay listed (their cells are replaced).

    Attributes
    ----------
    created_at, withdrawn_at : datetime.datetime
        UTC aware datetimes (``withdrawn_at`` is ``None`` while in use).
    rows, cells : int
        Counts of data rows in the file, and of H3 resolution-8 cells inside Hebei that
        they filled.
    total_weight, outside_weight : float
        Persons in the file, and those of them outside Hebei (not counted).
    """

    __tablename__ = "demand_uploads"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, nullable=False)
    created_by: Mapped[str] = mapped_column(String(80), nullable=False)
    source_name: Mapped[str] = mapped_column(String(200), nullable=False, default="")
    source_sha256: Mapped[str] = mapped_column(String(64), nullable=False)
    rows: Mapped[int] = mapped_column(Integer, nullable=False)
    cells: Mapped[int] = mapped_column(Integer, nullable=False)
    total_weight: Mapped[float] = mapped_column(Float, nullable=False)
    outside_weight: Mapped[float] = mapped_column(Float, nullable=False)
    withdrawn_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime)
    withdrawn_by: Mapped[str | None] = mapped_column(String(80))


class DemandCell(Base):
    """Persons per H3 resolution-8 cell of the population grid in use (hex string).

    Attributes
    ----------
    cell : str
        H3 resolution-8 cell index as hex text.
    weight : float
        Persons living in the cell.
    """

    __tablename__ = "demand_cells"

    cell: Mapped[str] = mapped_column(String(15), primary_key=True)
    weight: Mapped[float] = mapped_column(Float, nullable=False)
