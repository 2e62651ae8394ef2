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
    """

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value, dialect):
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetime: give a time zone")
        value = value.astimezone(dt.UTC)
        return value.replace(tzinfo=None) if dialect.name == "sqlite" else value

    def process_result_value(self, value, dialect):
        if value is None:
            return None
        return value.replace(tzinfo=dt.UTC) if value.tzinfo is None else value.astimezone(dt.UTC)


class Base(DeclarativeBase):
    pass


class Versioned:
    """Marker: any write to a model with this mixin bumps ``Meta.data_version``."""


class Meta(Base):
    """One row (id 1) holding the store-wide ``data_version``."""

    __tablename__ = "meta"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    data_version: Mapped[int] = mapped_column(Integer, nullable=False, default=0)


class Station(Versioned, Base):
    """A site: a union service station (``station``) or a loving-mother room."""

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
    """A staff account (see locator/store/accounts.py)."""

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
        return self.role == "admin" or self.district_code == district_code


class Throttle(Base):
    """Failed attempts per opaque key (locator/store/throttle.py), shared by every worker.

    ``key`` is a SHA-256 hex digest: the table holds no username and no address.
    """

    __tablename__ = "throttle"

    key: Mapped[str] = mapped_column(String(64), primary_key=True)
    failures: Mapped[int] = mapped_column(Integer, nullable=False)
    last_failure_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, nullable=False)


class IdCounter(Base):
    """The last number handed out per county for ``HB<county code>-<number>`` ids.

    Only ever increases, so an id is never reused, not even after an import that created
    it is undone.
    """

    __tablename__ = "id_counters"

    county_code: Mapped[str] = mapped_column(String(6), primary_key=True)
    last_number: Mapped[int] = mapped_column(Integer, nullable=False)


class ImportBatch(Base):
    """One applied import: who, when, what file, what it did, and whether it was undone."""

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
    """Every change to a site: before and after (JSON records; ``None`` = did not exist)."""

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
    """Persons per H3 resolution-8 cell of the population grid in use (hex string)."""

    __tablename__ = "demand_cells"

    cell: Mapped[str] = mapped_column(String(15), primary_key=True)
    weight: Mapped[float] = mapped_column(Float, nullable=False)
