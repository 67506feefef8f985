"""Engine: retries of single actions, lanes, run outcome per phase, lease generations (fencing).

Revision ID: 0002_engine
Revises: 0001
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0002_engine"
down_revision = "0001"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("action", schema=None) as batch_op:
        batch_op.add_column(sa.Column("attempts", sa.Integer(), nullable=False, server_default="0"))
        batch_op.add_column(sa.Column("not_before", sa.DateTime(timezone=True), nullable=True))
        batch_op.add_column(sa.Column("lane", sa.Integer(), nullable=False, server_default="3"))
    with op.batch_alter_table("run", schema=None) as batch_op:
        batch_op.add_column(sa.Column("phases", sa.Text(), nullable=False, server_default="{}"))
        batch_op.add_column(sa.Column("error", sa.Text(), nullable=True))
    with op.batch_alter_table("lease", schema=None) as batch_op:
        batch_op.add_column(sa.Column("generation", sa.BigInteger(), nullable=False, server_default="0"))


def downgrade() -> None:
    with op.batch_alter_table("lease", schema=None) as batch_op:
        batch_op.drop_column("generation")
    with op.batch_alter_table("run", schema=None) as batch_op:
        batch_op.drop_column("error")
        batch_op.drop_column("phases")
    with op.batch_alter_table("action", schema=None) as batch_op:
        batch_op.drop_column("lane")
        batch_op.drop_column("not_before")
        batch_op.drop_column("attempts")
