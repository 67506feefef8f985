"""Signed checkpoints anchor the audit chain: whoever can drop the database's triggers can rewrite
the chain so that it verifies on its own, but not so that it still holds a signed checkpoint."""

from __future__ import annotations

import json
import stat
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from sqlalchemy import text
from sqlalchemy.engine import Engine
from sqlalchemy.exc import DBAPIError
from sqlmodel import Session, col, select
from typer.testing import CliRunner

from domchat.app import App, audit_verify, checkpoint
from domchat.app.trail import keygen
from domchat.cli import cli
from domchat.clock import FixedClock
from domchat.errors import AuditBroken, ConfigError
from domchat.settings import AuditSettings, Settings
from domchat.storage import audit, checkpoints
from domchat.storage.db import transaction
from domchat.storage.tables import AuditHeadRow, AuditRow

T0 = datetime(2026, 11, 22, 0, 0, tzinfo=UTC)
runner = CliRunner()


def _append(engine: Engine, n: int, reason: str = "", start: int = 0) -> None:
    for i in range(start, start + n):
        with transaction(engine) as s:
            audit.append(
                s,
                audit.AuditEvent(actor="daemon", trigger="test", action="grant_admin", outcome="done", chat_id=-i, reason=reason),
                T0 + timedelta(minutes=i),
            )


@pytest.fixture
def keys(tmp_path: Path) -> tuple[Path, Path]:
    private = tmp_path / "checkpoint.key"
    public, _ = keygen(private)
    return private, public


@pytest.fixture
def app(engine: Engine, tmp_path: Path, keys: tuple[Path, Path]) -> App:
    settings = Settings(audit=AuditSettings(checkpoint_key_file=keys[0], checkpoint_file=tmp_path / "checkpoints.jsonl"))
    return App(settings=settings, clock=FixedClock(T0 + timedelta(days=1)), _db=engine)


def _checkpoints(app: App) -> Path:
    path = app.settings.audit.checkpoint_file
    assert path is not None
    return path


# The database's own guards


def _refused(engine: Engine, statement: str) -> None:
    with pytest.raises(DBAPIError, match=r"append-only|only moves forward"), engine.begin() as conn:
        conn.execute(text(statement))


def test_the_head_only_moves_forward_onto_appended_events(engine: Engine) -> None:
    _append(engine, 3)
    _refused(engine, "UPDATE audit_head SET seq = 0, hash = '0000000000000000000000000000000000000000000000000000000000000000'")
    _refused(engine, "UPDATE audit_head SET seq = 2, hash = (SELECT hash FROM audit_event WHERE seq = 2)")
    _refused(engine, "UPDATE audit_head SET seq = 4")
    _refused(engine, "UPDATE audit_head SET hash = 'ffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff'")
    _refused(engine, "DELETE FROM audit_head")
    with Session(engine) as s:
        assert audit.verify(audit.query(s), s.get(AuditHeadRow, 1)) == audit.Verdict(True, 3)


@pytest.mark.parametrize("table", ["audit_event", "audit_head"])
def test_postgres_refuses_truncate(engine: Engine, table: str) -> None:
    if engine.dialect.name != "postgresql":
        pytest.skip("SQLite has no TRUNCATE (its DELETE trigger covers it)")
    _append(engine, 2)
    _refused(engine, f"TRUNCATE {table}")
    _refused(engine, "TRUNCATE audit_event, audit_head")
    with Session(engine) as s:
        assert audit.verify(audit.query(s), s.get(AuditHeadRow, 1)) == audit.Verdict(True, 2)


# Tampering by someone who can drop the triggers (the owner of the tables)

_TRIGGERS = (
    ("audit_event_no_update", "audit_event"),
    ("audit_event_no_delete", "audit_event"),
    ("audit_event_no_truncate", "audit_event"),
    ("audit_head_forward", "audit_head"),
    ("audit_head_no_delete", "audit_head"),
)


def _drop_guards(engine: Engine) -> None:
    with engine.begin() as conn:
        for trigger, table in _TRIGGERS:
            on = f" ON {table}" if engine.dialect.name == "postgresql" else ""
            conn.execute(text(f"DROP TRIGGER IF EXISTS {trigger}{on}"))


def _cut(engine: Engine, after: int) -> None:
    """Remove events after `after` and set the head back onto event `after`, as if they never were."""
    with engine.begin() as conn:
        conn.execute(text("DELETE FROM audit_event WHERE seq > :n"), {"n": after})
        last = conn.execute(text("SELECT hash FROM audit_event WHERE seq = :n"), {"n": after}).scalar()
        conn.execute(text("UPDATE audit_head SET seq = :n, hash = :h"), {"n": after, "h": last or audit.GENESIS})


def _truncate(engine: Engine) -> None:
    with engine.begin() as conn:
        conn.execute(text("TRUNCATE audit_event" if engine.dialect.name == "postgresql" else "DELETE FROM audit_event"))
        conn.execute(text("UPDATE audit_head SET seq = 0, hash = :h"), {"h": audit.GENESIS})


def _reset_head(engine: Engine) -> None:
    with engine.begin() as conn:
        conn.execute(text("UPDATE audit_head SET seq = 0, hash = :h"), {"h": audit.GENESIS})


def _forge_append(engine: Engine) -> None:
    """Replace the last two events with three others, every hash recomputed: the chain is whole."""
    _cut(engine, 10)
    _append(engine, 3, reason="forged", start=10)


def _rewrite_from_10(engine: Engine) -> None:
    _cut(engine, 9)
    _append(engine, 3, reason="rewritten", start=9)


TAMPERING = {
    "truncate": (_truncate, True),
    "head reset": (_reset_head, False),
    "tail cut": (lambda e: _cut(e, 10), True),
    "forged append": (_forge_append, True),
    "rewrite from event 10": (_rewrite_from_10, True),
}


@pytest.mark.parametrize("name", list(TAMPERING))
def test_tampering_is_caught_by_a_checkpoint(
    app: App, engine: Engine, keys: tuple[Path, Path], name: str, tmp_path: Path, db_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    tamper, whole_on_its_own = TAMPERING[name]
    _append(engine, 12)
    cp = checkpoint(app)
    assert cp is not None and (cp.seq, cp.region) == (12, "86")
    assert audit_verify(app, _checkpoints(app), keys[1]).verdict.ok

    _drop_guards(engine)
    tamper(engine)
    # Without the checkpoint, most of these leave a chain that verifies.
    assert audit_verify(app).verdict.ok is whole_on_its_own
    verdict = audit_verify(app, _checkpoints(app), keys[1]).verdict
    assert not verdict.ok and verdict.broken_at is not None and verdict.broken_at <= 13
    # domchat does not vouch for the tampered chain either.
    with pytest.raises(AuditBroken, match="no longer holds event 12"):
        checkpoint(app)

    monkeypatch.setenv("DOMCHAT_DATABASE_URL", db_url)
    config = tmp_path / "domchat.toml"
    config.write_text(f'[audit]\ncheckpoint_key_file = "{keys[0]}"\ncheckpoint_file = "{_checkpoints(app)}"\n', encoding="utf-8")
    result = runner.invoke(
        cli, ["audit", "verify", "-c", str(config), "--checkpoints", str(_checkpoints(app)), "--public-key", str(keys[1])]
    )
    assert result.exit_code == 5, result.output
    assert "audit chain broken" in result.stderr and "audit head: event" in result.stdout


def test_a_checkpoint_is_written_only_when_the_head_moved(app: App, engine: Engine, keys: tuple[Path, Path]) -> None:
    assert checkpoint(app) is None  # an empty chain: nothing to vouch for
    _append(engine, 2)
    first = checkpoint(app)
    assert checkpoint(app) is None
    _append(engine, 1, start=2)
    second = checkpoint(app)
    lines = _checkpoints(app).read_text(encoding="utf-8").splitlines()
    assert [json.loads(line)["seq"] for line in lines] == [2, 3]
    assert first is not None and second is not None and checkpoints.last(_checkpoints(app)) == second
    assert stat.S_IMODE(_checkpoints(app).stat().st_mode) == 0o600
    assert stat.S_IMODE(keys[0].stat().st_mode) == 0o600
    report = audit_verify(app, _checkpoints(app), keys[1])
    assert report.verdict.ok and (report.checkpoints, report.vouched, report.head_seq) == (2, 3, 3)


def test_checkpoints_are_read_from_log_lines_too(app: App, engine: Engine, keys: tuple[Path, Path], tmp_path: Path) -> None:
    _append(engine, 4)
    cp = checkpoint(app)
    assert cp is not None
    log = tmp_path / "domchat.log"
    json_line = json.dumps({"event": checkpoints.LOG_EVENT, "level": "info", **cp.doc()})
    console = "2026-11-23T00:00:00Z [info] audit.checkpoint " + " ".join(f"{k}={v}" for k, v in cp.doc().items())
    log.write_text("\n".join(['{"event": "cycle done", "planned": 3}', json_line, "some other line", console]) + "\n", encoding="utf-8")
    assert checkpoints.read(log.read_text(encoding="utf-8").splitlines(), "log") == [cp, cp]
    assert audit_verify(app, log, keys[1]).verdict.ok
    _drop_guards(engine)
    _cut(engine, 3)
    assert not audit_verify(app, log, keys[1]).verdict.ok


def test_a_forged_or_foreign_checkpoint_is_not_believed(app: App, engine: Engine, keys: tuple[Path, Path], tmp_path: Path) -> None:
    _append(engine, 3)
    cp = checkpoint(app)
    assert cp is not None
    forged = tmp_path / "forged.jsonl"
    forged.write_text(json.dumps({**cp.doc(), "seq": 2}) + "\n", encoding="utf-8")
    verdict = audit_verify(app, forged, keys[1]).verdict
    assert not verdict.ok and "bad signature" in verdict.why
    other_public, _ = keygen(tmp_path / "other.key")
    verdict = audit_verify(app, _checkpoints(app), other_public).verdict
    assert not verdict.ok and "another key" in verdict.why


def test_bad_checkpoint_input_is_explained(app: App, engine: Engine, keys: tuple[Path, Path], tmp_path: Path) -> None:
    _append(engine, 1)
    checkpoint(app)
    with pytest.raises(ConfigError, match="--public-key"):
        audit_verify(app, _checkpoints(app), None)
    broken = tmp_path / "broken.jsonl"
    broken.write_text('{"event": "audit.checkpoint", "seq": 1}\n', encoding="utf-8")
    with pytest.raises(ConfigError, match="line 1"):
        audit_verify(app, broken, keys[1])
    with pytest.raises(ConfigError, match="never overwritten"):
        keygen(keys[0])


def test_an_append_after_the_last_checkpoint_rests_on_the_database_alone(app: App, engine: Engine, keys: tuple[Path, Path]) -> None:
    """What docs/audit.md admits: events after the newest checkpoint are vouched for only by the next one."""
    _append(engine, 3)
    checkpoint(app)
    _append(engine, 2, reason="not yet checkpointed", start=3)
    report = audit_verify(app, _checkpoints(app), keys[1])
    assert report.verdict.ok and (report.vouched, report.head_seq) == (3, 5)
    with Session(engine) as s:
        assert [r.seq for r in s.exec(select(AuditRow).where(col(AuditRow.seq) > report.vouched))] == [4, 5]
