"""The pure core really is pure at run time, not only in the import graph."""

from __future__ import annotations

import subprocess
import sys

PURE = ("domchat.sync.model", "domchat.sync.plan", "domchat.sync.actions", "domchat.mapping.desired", "domchat.mapping.gis")
IO = ("zeep", "requests", "sqlalchemy", "sqlmodel", "lxml", "socket", "http.client")


def test_importing_the_core_loads_no_io_library() -> None:
    code = f"import sys\nfor m in {PURE!r}: __import__(m)\nprint(sorted(set({IO!r}) & set(sys.modules)))"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout.strip()
    assert out == "[]"
