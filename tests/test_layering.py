"""The pure core really is pure at run time, not only in the import graph, and no package of
domchat escapes the import-linter contracts."""

from __future__ import annotations

import pkgutil
import subprocess
import sys
import tomllib
from pathlib import Path

import domchat

PURE = (
    "domchat.domain",
    "domchat.domain.model",
    "domchat.domain.plan",
    "domchat.domain.actions",
    "domchat.domain.desired",
    "domchat.mapping.gis",
)
DATA_ONLY = {"domchat.templates"}  # the built-in Russian texts: files, no code to import anything
IO = ("zeep", "requests", "sqlalchemy", "sqlmodel", "lxml", "socket", "http.client")


def test_importing_the_core_loads_no_io_library() -> None:
    code = f"import sys\nfor m in {PURE!r}: __import__(m)\nprint(sorted(set({IO!r}) & set(sys.modules)))"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout.strip()
    assert out == "[]"


def _contract_modules() -> set[str]:
    pyproject = tomllib.loads((Path(__file__).parents[1] / "pyproject.toml").read_text(encoding="utf-8"))
    named: set[str] = set()
    for contract in pyproject["tool"]["importlinter"]["contracts"]:
        for key in ("layers", "source_modules", "modules"):
            for entry in contract.get(key, ()):
                named.update(part.strip() for part in entry.split("|"))
    return named


def test_every_package_and_module_of_domchat_is_named_in_a_contract() -> None:
    top = {f"domchat.{m.name}" for m in pkgutil.iter_modules(domchat.__path__) if m.name != "__main__"}
    assert top, "no module found under domchat"
    assert sorted(top - DATA_ONLY - _contract_modules()) == []
