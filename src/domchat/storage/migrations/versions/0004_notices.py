"""Notices: what was computed and queued, what an authority turned off, and what they come from.

Revision ID: 0004_notices
Revises: 0003_trust
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0004_notices"
down_revision = "0003_trust"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "notice",
        sa.Column("key", sa.String(length=160), nullable=False),
        sa.Column("building", sa.String(length=36), nullable=False),
        sa.Column("kind", sa.String(length=32), nullable=False),
        sa.Column("chat_id", sa.BigInteger(), nullable=False),
        sa.Column("text", sa.Text(), nullable=False),
        sa.Column("due_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("until", sa.Date(), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("queued_at", sa.DateTime(timezone=True), nullable=True),
        sa.PrimaryKeyConstraint("key"),
    )
    with op.batch_alter_table("notice", schema=None) as batch_op:
        batch_op.create_index("ix_notice_building", ["building"], unique=False)
        batch_op.create_index("ix_notice_due_at", ["due_at"], unique=False)
        batch_op.create_index("ix_notice_status", ["status"], unique=False)
    op.create_table(
        "notice_off",
        sa.Column("building", sa.String(length=36), nullable=False),
        sa.Column("kind", sa.String(length=32), nullable=False),
        sa.Column("at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("actor", sa.Text(), nullable=False),
        sa.PrimaryKeyConstraint("building", "kind"),
    )
    op.create_table(
        "notice_source",
        sa.Column("key", sa.String(length=80), nullable=False),
        sa.Column("building", sa.String(length=36), nullable=False),
        sa.Column("payload", sa.Text(), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("key"),
    )
    with op.batch_alter_table("notice_source", schema=None) as batch_op:
        batch_op.create_index("ix_notice_source_building", ["building"], unique=False)


def downgrade() -> None:
    op.drop_table("notice_source")
    op.drop_table("notice_off")
    op.drop_table("notice")
