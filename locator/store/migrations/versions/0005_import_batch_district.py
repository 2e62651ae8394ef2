"""The union district of an import batch (district staff see and undo only their own).

Revision ID: 0005
Revises: 0004
Create Date: 2026-12-01
"""

import sqlalchemy as sa
from alembic import op

revision = "0005"
down_revision = "0004"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.add_column("import_batches", sa.Column("district_code", sa.String(6)))
    op.create_index("ix_import_batches_district_code", "import_batches", ["district_code"])


def downgrade() -> None:
    op.drop_index("ix_import_batches_district_code", "import_batches")
    with op.batch_alter_table("import_batches") as batch:
        batch.drop_column("district_code")
