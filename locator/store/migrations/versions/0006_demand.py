"""Search counts per coarse cell and day, and the uploaded population grid.

Revision ID: 0006
Revises: 0005
Create Date: 2026-11-29
"""

import sqlalchemy as sa
from alembic import op

revision = "0006"
down_revision = "0005"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "search_counts",
        sa.Column("cell", sa.String(15), primary_key=True),
        sa.Column("day", sa.Date(), primary_key=True),
        sa.Column("beyond_r", sa.Boolean(), primary_key=True),
        sa.Column("count", sa.Integer(), nullable=False),
    )
    op.create_index("ix_search_counts_day", "search_counts", ["day"])
    op.create_table(
        "demand_uploads",
        sa.Column("id", sa.Integer(), primary_key=True, autoincrement=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("created_by", sa.String(80), nullable=False),
        sa.Column("source_name", sa.String(200), nullable=False),
        sa.Column("source_sha256", sa.String(64), nullable=False),
        sa.Column("rows", sa.Integer(), nullable=False),
        sa.Column("cells", sa.Integer(), nullable=False),
        sa.Column("total_weight", sa.Float(), nullable=False),
        sa.Column("outside_weight", sa.Float(), nullable=False),
        sa.Column("withdrawn_at", sa.DateTime(timezone=True)),
        sa.Column("withdrawn_by", sa.String(80)),
    )
    op.create_table(
        "demand_cells",
        sa.Column("cell", sa.String(15), primary_key=True),
        sa.Column("weight", sa.Float(), nullable=False),
    )


def downgrade() -> None:
    op.drop_table("demand_cells")
    op.drop_table("demand_uploads")
    op.drop_index("ix_search_counts_day", "search_counts")
    op.drop_table("search_counts")
