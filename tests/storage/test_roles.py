"""The role split docs/audit.md prescribes for PostgreSQL, run as written: the daemon's role
appends to the trail but cannot change, remove or truncate it, nor drop the triggers."""

from __future__ import annotations

import re
import uuid
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import event, text
from sqlalchemy.engine import Engine, make_url
from sqlalchemy.exc import ProgrammingError

from domchat.storage import audit, db
from domchat.storage.db import transaction

DOCS = Path(__file__).resolve().parents[2] / "docs" / "audit.md"


def _granting_statements(schema: str, daemon: str) -> list[str]:
    block = DOCS.read_text(encoding="utf-8").split("```sql", 1)[1].split("```", 1)[0]
    lines = [line.split("--", 1)[0].strip() for line in block.splitlines()]
    grants = [line.rstrip(";") for line in lines if line.startswith(("GRANT", "REVOKE"))]
    return [re.sub(r"\bdomchat\b", schema, g.replace("domchat_daemon", daemon)) for g in grants]


def _as_role(url: str, role: str) -> Engine:
    engine = db.make_engine(url)

    @event.listens_for(engine, "connect")
    def _set_role(dbapi_conn: Any, _record: Any) -> None:
        cur = dbapi_conn.cursor()
        cur.execute(f"SET ROLE {role}")
        cur.close()
        dbapi_conn.commit()

    return engine


@pytest.fixture
def roles(engine: Engine) -> Iterator[tuple[str, str, str, str]]:
    if engine.dialect.name != "postgresql":
        pytest.skip("roles are PostgreSQL's")
    suffix = uuid.uuid4().hex[:8]
    owner, daemon, schema = f"t_owner_{suffix}", f"t_daemon_{suffix}", f"t_roles_{suffix}"
    with engine.begin() as conn:
        conn.execute(text(f"CREATE ROLE {owner}; CREATE ROLE {daemon}; CREATE SCHEMA {schema} AUTHORIZATION {owner}"))
    url = make_url(engine.url.render_as_string(hide_password=False)).update_query_dict({"options": f"-csearch_path={schema}"})
    yield url.render_as_string(hide_password=False), schema, owner, daemon
    with engine.begin() as conn:
        conn.execute(text(f"DROP SCHEMA {schema} CASCADE; DROP OWNED BY {daemon}; DROP ROLE {daemon}; DROP ROLE {owner}"))


def test_the_daemons_role_appends_but_cannot_change_the_trail(roles: tuple[str, str, str, str]) -> None:
    url, schema, owner, daemon = roles
    as_owner = _as_role(url, owner)
    db.upgrade(as_owner)  # migrations run as the owner
    with as_owner.begin() as conn:
        for statement in _granting_statements(schema, daemon):
            conn.execute(text(statement))
    as_owner.dispose()

    as_daemon = _as_role(url, daemon)
    db.require_current(as_daemon)
    for i in range(2):
        with transaction(as_daemon) as s:
            audit.append(s, audit.AuditEvent(actor="daemon", trigger="test", action="x", outcome="done", chat_id=i), datetime.now(UTC))
    for statement in (
        "UPDATE audit_event SET reason = 'x'",
        "DELETE FROM audit_event",
        "TRUNCATE audit_event",
        "DELETE FROM audit_head",
        "TRUNCATE audit_head",
        "DROP TRIGGER audit_event_no_update ON audit_event",
        "ALTER TABLE audit_event DISABLE TRIGGER USER",
        "ALTER TABLE audit_head DISABLE TRIGGER USER",
    ):
        with pytest.raises(ProgrammingError, match=r"permission denied|must be owner"), as_daemon.begin() as conn:
            conn.execute(text(statement))
    with as_daemon.connect() as conn:
        rows = conn.execute(text("SELECT count(*) FROM audit_event")).scalar()
    as_daemon.dispose()
    assert rows == 2
