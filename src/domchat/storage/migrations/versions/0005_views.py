"""The version of domchat that made each run.

Revision ID: 0005_views
Revises: 0004_notices
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0005_views"
down_revision = "0004_notices"
branch_labels = None
depends_on = None


def upgrade() -> None:
    # Runs made before this revision keep an empty version: which one made them is not known.
    with op.batch_alter_table("run", schema=None) as batch_op:
        batch_op.add_column(sa.Column("version", sa.String(length=64), nullable=False, server_default=""))


def downgrade() -> None:
    with op.batch_alter_table("run", schema=None) as batch_op:
        batch_op.drop_column("version")
