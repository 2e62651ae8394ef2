"""The station record and the data version.

Revision ID: 0001
Revises:
Create Date: 2026-11-29
"""

import sqlalchemy as sa
from alembic import op

revision = "0001"
down_revision = None
branch_labels = None
depends_on = None


def upgrade() -> None:
    meta = op.create_table(
        "meta",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("data_version", sa.Integer(), nullable=False),
    )
    op.bulk_insert(meta, [{"id": 1, "data_version": 0}])
    op.create_table(
        "stations",
        sa.Column("id", sa.String(20), primary_key=True),
        sa.Column("kind", sa.String(16), nullable=False),
        sa.Column("name", sa.String(200), nullable=False),
        sa.Column("address", sa.String(300), nullable=False),
        sa.Column("district_code", sa.String(6), nullable=False),
        sa.Column("district_name", sa.String(40), nullable=False),
        sa.Column("county_code", sa.String(6), nullable=False),
        sa.Column("county_name", sa.String(40), nullable=False),
        sa.Column("lon", sa.Float(), nullable=False),
        sa.Column("lat", sa.Float(), nullable=False),
        sa.Column("source_datum", sa.String(8), nullable=False),
        sa.Column("source_lon", sa.Float()),
        sa.Column("source_lat", sa.Float()),
        sa.Column("services", sa.JSON(), nullable=False),
        sa.Column("opening_hours", sa.String(300), nullable=False),
        sa.Column("host", sa.String(200), nullable=False),
        sa.Column("phone", sa.String(60), nullable=False),
        sa.Column("status", sa.String(24), nullable=False),
        sa.Column("reopen_date", sa.Date()),
        sa.Column("status_reason", sa.Text()),
        sa.Column("verified_at", sa.Date()),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_by", sa.String(80), nullable=False),
        sa.Column("synthetic", sa.Boolean(), nullable=False),
    )
    op.create_index("ix_stations_district", "stations", ["district_code"])
    op.create_index("ix_stations_kind_status", "stations", ["kind", "status"])


def downgrade() -> None:
    op.drop_index("ix_stations_kind_status", "stations")
    op.drop_index("ix_stations_district", "stations")
    op.drop_table("stations")
    op.drop_table("meta")
