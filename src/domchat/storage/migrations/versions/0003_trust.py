"""The audit trail anchored in the database too, and counters of guessed codes and links.

* `audit_event` and `audit_head` refuse TRUNCATE (PostgreSQL; SQLite has none), `audit_head`
  refuses DELETE, and `audit_head` may only move forward onto an event that exists: its `seq`
  grows by exactly the number of events appended since, and its `hash` is that event's.
* `resident_invite.delivered_at`: a link counts as handed over only once written out or
  accepted; the ones nobody saw are issued anew by the next export.
* `guess_counter`: wrong binding codes and unknown deep-link payloads, per user and in all,
  within a window (see `domchat.sync.guessing`).

Revision ID: 0003_trust
Revises: 0002_engine
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0003_trust"
down_revision = "0002_engine"
branch_labels = None
depends_on = None

# The head moves forward only, by as many events as were appended, onto the last of them.
_HEAD_MOVES_BADLY = (
    "NEW.id <> OLD.id OR NEW.seq <= OLD.seq"
    " OR NEW.seq - OLD.seq <> (SELECT count(*) FROM audit_event WHERE seq > OLD.seq AND seq <= NEW.seq)"
    " OR NOT EXISTS (SELECT 1 FROM audit_event WHERE seq = NEW.seq AND hash = NEW.hash)"
)


def upgrade() -> None:
    op.add_column("resident_invite", sa.Column("delivered_at", sa.DateTime(timezone=True), nullable=True))
    # Links issued before were shown when issued: they count as delivered.
    op.execute("UPDATE resident_invite SET delivered_at = created_at")
    op.create_table(
        "guess_counter",
        sa.Column("key", sa.String(length=64), nullable=False),
        sa.Column("window_start", sa.DateTime(timezone=True), nullable=False),
        sa.Column("failures", sa.Integer(), nullable=False),
        sa.Column("alerted", sa.Boolean(), nullable=False),
        sa.PrimaryKeyConstraint("key"),
    )
    if op.get_bind().dialect.name == "postgresql":
        op.execute(
            "CREATE FUNCTION audit_head_forward_only() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN"
            f" IF {_HEAD_MOVES_BADLY} THEN"
            " RAISE EXCEPTION 'audit_head only moves forward onto appended events'; END IF;"
            " RETURN NEW; END $$"
        )
        op.execute("CREATE TRIGGER audit_head_forward BEFORE UPDATE ON audit_head FOR EACH ROW EXECUTE FUNCTION audit_head_forward_only()")
        op.execute(
            "CREATE TRIGGER audit_head_no_delete BEFORE DELETE ON audit_head FOR EACH ROW EXECUTE FUNCTION audit_event_append_only()"
        )
        for table in ("audit_event", "audit_head"):
            op.execute(
                f"CREATE TRIGGER {table}_no_truncate BEFORE TRUNCATE ON {table}"
                " FOR EACH STATEMENT EXECUTE FUNCTION audit_event_append_only()"
            )
    else:
        op.execute(
            f"CREATE TRIGGER audit_head_forward BEFORE UPDATE ON audit_head WHEN {_HEAD_MOVES_BADLY}"
            " BEGIN SELECT RAISE(ABORT, 'audit_head only moves forward onto appended events'); END"
        )
        op.execute(
            "CREATE TRIGGER audit_head_no_delete BEFORE DELETE ON audit_head BEGIN SELECT RAISE(ABORT, 'audit_head is append-only'); END"
        )


def downgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        for trigger, table in (
            ("audit_head_forward", "audit_head"),
            ("audit_head_no_delete", "audit_head"),
            ("audit_event_no_truncate", "audit_event"),
            ("audit_head_no_truncate", "audit_head"),
        ):
            op.execute(f"DROP TRIGGER IF EXISTS {trigger} ON {table}")
        op.execute("DROP FUNCTION IF EXISTS audit_head_forward_only()")
    else:
        op.execute("DROP TRIGGER IF EXISTS audit_head_forward")
        op.execute("DROP TRIGGER IF EXISTS audit_head_no_delete")
    op.drop_table("guess_counter")
    with op.batch_alter_table("resident_invite", schema=None) as batch_op:
        batch_op.drop_column("delivered_at")
