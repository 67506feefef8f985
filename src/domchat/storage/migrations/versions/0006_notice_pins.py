"""Notices: the message each one became, so that an owners' meeting announcement can be pinned.

Revision ID: 0006_notice_pins
Revises: 0005_views
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0006_notice_pins"
down_revision = "0005_views"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("notice", schema=None) as batch_op:
        batch_op.add_column(sa.Column("mid", sa.String(length=64), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("notice", schema=None) as batch_op:
        batch_op.drop_column("mid")
