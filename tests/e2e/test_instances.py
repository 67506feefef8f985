"""Two instances over one region and one database: never the same work twice."""

from __future__ import annotations

import collections
import os
import subprocess
import sys

import pytest
from sqlmodel import Session

from domchat.storage import audit
from support.stage import NOON, Stage

pytestmark = pytest.mark.world(buildings=6)


def _start(stage: Stage, db_url: str) -> subprocess.Popen[str]:
    env = {**os.environ, "DOMCHAT_DATABASE_URL": db_url}
    cmd = [sys.executable, "-m", "domchat", "sync", "--once", "--now", NOON.isoformat(), "--config", str(stage.config)]
    return subprocess.Popen(cmd, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)


def test_two_processes_share_a_region_without_repeating_work(stage: Stage, db_url: str) -> None:
    stage.sync()
    stage.enrol_all_staff()
    stage.bind_all()
    procs = [_start(stage, db_url), _start(stage, db_url)]
    results = [(p.wait(timeout=180), p.stderr.read() if p.stderr else "") for p in procs]
    codes = sorted(code for code, _ in results)
    assert codes in ([0, 0], [0, 4]), results
    for code, err in results:
        if code == 4:
            assert "another domchat" in err
    if codes == [0, 4]:
        # The one that lost the lease did nothing; the chats are right after one more cycle anyway.
        stage.sync()

    bot = stage.world["bot"]["user_id"]
    for chat in stage.chats.values():
        texts = collections.Counter(m["text"] for m in stage.chat_state(chat)["messages"] if m["sender_id"] == bot)
        assert max(texts.values()) == 1, texts
    with Session(stage.app().db) as s:
        events = list(audit.query(s))
    assert audit.verify(events).ok
    grants = collections.Counter((e.chat_id, e.user_id) for e in events if e.action == "grant_admin" and e.outcome == "done")
    assert grants and max(grants.values()) == 1
