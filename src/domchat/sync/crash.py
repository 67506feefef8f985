"""Injection points for crash tests: the process dies there as it would under `kill -9`.

`DOMCHAT_CRASH_AT=<what>:<point>` (for example ``grant_admin:after_call``) makes the process
exit abruptly the first time it passes that point. Tests set it on a child process; nothing
in production sets it.
"""

from __future__ import annotations

import os

CRASH_ENV = "DOMCHAT_CRASH_AT"


def crash_point(what: str, point: str) -> None:
    if os.environ.get(CRASH_ENV) == f"{what}:{point}":
        os._exit(137)
