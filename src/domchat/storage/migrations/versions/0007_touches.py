"""Touches: which buildings and chats changed since the daemon last planned (incremental planning).

Triggers on every table that decides what a chat should look like, or what it looks like, add a
`touch` row naming the building or the chat (or neither: everything) whenever a row is
inserted, deleted, or updated with a change in the columns that matter. Triggers catch every
writer: the pull, update handling, the executor, chat re-reads, CLI commands, other processes.
The planner that consumes touches deletes them (`storage.repo.take_touches`).

A later migration that makes SQLite copy one of these tables (alembic's batch "move and copy",
e.g. to drop a column) loses its triggers and must create them again.

Revision ID: 0007_touches
Revises: 0006_notice_pins
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0007_touches"
down_revision = "0006_notice_pins"
branch_labels = None
depends_on = None

BUILDING, CHAT, GRANT, EVERYTHING = "building", "chat_id", "grant", "everything"

# table → (what a change touches, the column naming it, the columns whose change matters).
# Observation instants and `updated_at` are left out: a chat re-read rewrites them unchanged.
WATCHED: dict[str, tuple[str, str, tuple[str, ...]]] = {
    "building": (BUILDING, "fias_guid", ("fias_guid", "address", "tz", "oktmo", "state")),
    "management_period": (BUILDING, "building", ("building", "org", "start", "until", "basis", "source_ids")),
    "chat_binding": (BUILDING, "building", ("building", "chat_id", "bound_at", "bound_by")),
    "guest_grant": (BUILDING, "building", ("building", "premises", "person_ref", "valid_from", "valid_to", "status")),
    "resident_account": (GRANT, "grant_id", ("grant_id", "user_id")),
    "notice": (BUILDING, "building", ("building", "kind", "text", "mid")),
    "notice_source": (BUILDING, "building", ("building", "payload")),
    "action": (BUILDING, "building", ("building", "status")),
    "chat_state": (CHAT, "chat_id", ("chat_id", "title", "owner_id", "pinned_mid", "pinned_text", "status")),
    "chat_member": (CHAT, "chat_id", ("chat_id", "user_id", "is_owner", "is_admin", "permissions")),
    "member_refusal": (CHAT, "chat_id", ("chat_id", "user_id")),
    # Organisations (their kind decides which claims count, their phones are on every card) and
    # staff (who is whose, in any chat) are region-wide: a change replans everything.
    "organisation": (EVERYTHING, "ogrn", ("name", "inn", "kind", "root_guid", "ppa_guid", "phone", "dispatch_phone")),
    "staff_account": (EVERYTHING, "org", ("org", "user_id", "revoked_at")),
}

_PG_TOUCH = """
CREATE FUNCTION domchat_touch() RETURNS trigger LANGUAGE plpgsql AS $$
DECLARE
    keys text[] := ARRAY[to_jsonb(OLD) ->> TG_ARGV[1], to_jsonb(NEW) ->> TG_ARGV[1]];
BEGIN
    IF TG_ARGV[0] = 'building' THEN
        INSERT INTO touch (building) SELECT DISTINCT k FROM unnest(keys) AS k WHERE k IS NOT NULL;
    ELSIF TG_ARGV[0] = 'chat_id' THEN
        INSERT INTO touch (chat_id) SELECT DISTINCT k::bigint FROM unnest(keys) AS k WHERE k IS NOT NULL;
    ELSIF TG_ARGV[0] = 'grant' THEN
        INSERT INTO touch (building) SELECT DISTINCT g.building FROM guest_grant g WHERE g.grant_id = ANY (keys);
    ELSE
        INSERT INTO touch (building) VALUES (NULL);
    END IF;
    RETURN NULL;
END $$
"""


def _sqlite_insert(target: str, key: str, rows: tuple[str, ...]) -> str:
    """The statement a SQLite trigger runs: `rows` are OLD and/or NEW."""
    keys = " UNION ".join(f'SELECT {r}."{key}"' for r in rows)
    if target == BUILDING:
        return f"INSERT INTO touch (building) {keys}"
    if target == CHAT:
        return f"INSERT INTO touch (chat_id) {keys}"
    if target == GRANT:
        ids = ", ".join(f'{r}."{key}"' for r in rows)
        return f"INSERT INTO touch (building) SELECT DISTINCT building FROM guest_grant WHERE grant_id IN ({ids})"  # noqa: S608 - names from WATCHED
    return "INSERT INTO touch (building) VALUES (NULL)"


def upgrade() -> None:
    op.create_table(
        "touch",
        sa.Column("seq", sa.Integer(), nullable=False, autoincrement=True),
        sa.Column("building", sa.String(length=36), nullable=True),
        sa.Column("chat_id", sa.BigInteger(), nullable=True),
        sa.PrimaryKeyConstraint("seq"),
    )
    postgres = op.get_bind().dialect.name == "postgresql"
    if postgres:
        op.execute(_PG_TOUCH)
    for table, (target, key, columns) in WATCHED.items():
        if postgres:
            args = f"domchat_touch('{target}', '{key}')"
            old = ", ".join(f'OLD."{c}"' for c in columns)
            new = ", ".join(f'NEW."{c}"' for c in columns)
            op.execute(f"CREATE TRIGGER touch_{table} AFTER INSERT OR DELETE ON {table} FOR EACH ROW EXECUTE FUNCTION {args}")
            op.execute(
                f"CREATE TRIGGER touch_{table}_update AFTER UPDATE ON {table} FOR EACH ROW"
                f" WHEN (ROW({old}) IS DISTINCT FROM ROW({new})) EXECUTE FUNCTION {args}"
            )
            continue
        changed = " OR ".join(f'OLD."{c}" IS NOT NEW."{c}"' for c in columns)
        for when, rows, condition in (("INSERT", ("NEW",), ""), ("DELETE", ("OLD",), ""), ("UPDATE", ("OLD", "NEW"), f" WHEN {changed}")):
            op.execute(
                f"CREATE TRIGGER touch_{table}_{when.lower()} AFTER {when} ON {table}{condition}"
                f" BEGIN {_sqlite_insert(target, key, rows)}; END"
            )


def downgrade() -> None:
    postgres = op.get_bind().dialect.name == "postgresql"
    for table in WATCHED:
        if postgres:
            op.execute(f"DROP TRIGGER IF EXISTS touch_{table} ON {table}")
            op.execute(f"DROP TRIGGER IF EXISTS touch_{table}_update ON {table}")
        else:
            for when in ("insert", "delete", "update"):
                op.execute(f"DROP TRIGGER IF EXISTS touch_{table}_{when}")
    if postgres:
        op.execute("DROP FUNCTION IF EXISTS domchat_touch()")
    op.drop_table("touch")
