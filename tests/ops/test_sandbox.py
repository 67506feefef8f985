"""domchat runs under the units' MemoryDenyWriteExecute=yes: no library it loads (lxml, zeep,
psycopg, cryptography, SQLite) needs memory both writable and executable. The kernel's own
switch for it (prctl PR_SET_MDWE, Linux 6.3+) is what systemd uses."""

from __future__ import annotations

import platform
import subprocess
import sys
from pathlib import Path

import pytest

from support.program import clean_env
from support.stage import SCHEMAS

_UNDER_MDWE = """
import ctypes, mmap, sys
libc = ctypes.CDLL(None, use_errno=True)
if libc.prctl(65, 1, 0, 0, 0) != 0:  # PR_SET_MDWE, PR_MDWE_REFUSE_EXEC_GAIN
    raise SystemExit(f"PR_SET_MDWE refused: errno {ctypes.get_errno()}")
try:
    mmap.mmap(-1, 4096, prot=mmap.PROT_READ | mmap.PROT_WRITE | mmap.PROT_EXEC)
except OSError:
    pass
else:
    raise SystemExit("memory both writable and executable was still granted")
sys.argv = ["domchat", *sys.argv[1:]]
from domchat.cli import main
main()
"""


def _kernel_has_mdwe() -> bool:
    major, minor = (int(x) for x in platform.release().split(".")[:2])
    return sys.platform == "linux" and (major, minor) >= (6, 3)


@pytest.mark.skipif(not _kernel_has_mdwe(), reason="PR_SET_MDWE needs Linux 6.3 or newer")
def test_a_cycle_runs_with_memory_deny_write_execute(emulated: Path, db_url: str, tmp_path: Path) -> None:
    env = clean_env(emulated, db_url, DOMCHAT_GIS_SCHEMAS_DIR=str(SCHEMAS))
    for args, says in (
        (["db", "upgrade"], "database at revision"),
        (["sync", "--once"], "GIS ok"),
        (["audit", "verify"], "audit chain ok"),
    ):
        done = subprocess.run(
            [sys.executable, "-c", _UNDER_MDWE, *args], env=env, cwd=tmp_path, capture_output=True, text=True, check=False, timeout=300
        )
        assert done.returncode == 0, done.stderr
        assert says in done.stdout
