"""Two instances upgrading the same empty database at once (systemd starts both with
`ExecStartPre=domchat db upgrade`): both succeed and the schema is migrated once."""

from __future__ import annotations

import subprocess
import sys
import time
from pathlib import Path

from sqlalchemy import inspect

from domchat.storage import db

_UPGRADE = """
import sys, time
from pathlib import Path
from domchat.storage import db
engine = db.make_engine(sys.argv[1])
engine.connect().close()  # connected before the start signal, so both race for the schema
go = Path(sys.argv[2])
while not go.exists():
    time.sleep(0.005)
print(db.upgrade(engine))
"""


def test_concurrent_upgrades_both_succeed(db_url: str, tmp_path: Path) -> None:
    go = tmp_path / "go"
    procs = [
        subprocess.Popen([sys.executable, "-c", _UPGRADE, db_url, str(go)], stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        for _ in range(3)
    ]
    time.sleep(1.5)  # let every interpreter import and connect (a start signal, not a timing assertion)
    go.touch()
    results = [p.communicate(timeout=120) for p in procs]
    engine = db.make_engine(db_url)
    try:
        head = db.head_revision(engine)
        for p, (out, err) in zip(procs, results, strict=True):
            assert p.returncode == 0, err
            assert out.strip() == head
        assert db.current_revision(engine) == head
        assert "building" in inspect(engine).get_table_names()
    finally:
        engine.dispose()
