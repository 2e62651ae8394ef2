"""Problem reports from the public station page.

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-29
"""

import sqlalchemy as sa
from alembic import op

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "problem_reports",
        sa.Column("id", sa.Integer(), primary_key=True, autoincrement=True),
        sa.Column("station_id", sa.String(20),
                  sa.ForeignKey("stations.id", ondelete="CASCADE"), nullable=False),
        sa.Column("district_code", sa.String(6), nullable=False),
        sa.Column("category", sa.String(24), nullable=False),
        sa.Column("note", sa.String(500), nullable=False),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("resolution_note", sa.String(500), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
    )
    op.create_index("ix_problem_reports_district_status", "problem_reports",
                    ["district_code", "status"])


def downgrade() -> None:
    op.drop_index("ix_problem_reports_district_status", "problem_reports")
    op.drop_table("problem_reports")
