"""domchat built as a wheel and installed into a fresh virtual environment works against the
emulators; without the GIS package configured it says which setting and variable to set."""

from __future__ import annotations

import shutil
import subprocess
import sys
import venv
from pathlib import Path

import pytest

from support.program import clean_env
from support.stage import SCHEMAS

ROOT = Path(__file__).resolve().parents[2]

pytestmark = pytest.mark.packaging


def _run(*cmd: str | Path, **kw: object) -> subprocess.CompletedProcess[str]:
    return subprocess.run([str(c) for c in cmd], capture_output=True, text=True, check=False, timeout=600, **kw)  # type: ignore[call-overload, no-any-return]


@pytest.fixture(scope="module")
def installed(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A virtual environment holding the locked dependencies and the wheel built from this tree."""
    tmp = tmp_path_factory.mktemp("wheel")
    # Built from a copy: setuptools writes build/ and *.egg-info beside the sources.
    tree = tmp / "tree"
    shutil.copytree(ROOT / "src", tree / "src", ignore=shutil.ignore_patterns("__pycache__", "*.egg-info"))
    for name in ("pyproject.toml", "README.md"):
        shutil.copy(ROOT / name, tree / name)
    built = _run(sys.executable, "-m", "pip", "wheel", "--quiet", "--no-deps", "--no-build-isolation", "--wheel-dir", tmp / "dist", tree)
    assert built.returncode == 0, built.stderr
    (wheel,) = (tmp / "dist").glob("domchat-*.whl")
    env_dir = tmp / "venv"
    venv.create(env_dir, with_pip=True, system_site_packages=False)
    pip = env_dir / "bin" / "pip"
    deps = _run(pip, "install", "--quiet", "--disable-pip-version-check", "--require-hashes", "-r", ROOT / "requirements" / "lock.txt")
    assert deps.returncode == 0, deps.stderr
    own = _run(pip, "install", "--quiet", "--disable-pip-version-check", "--no-deps", wheel)
    assert own.returncode == 0, own.stderr
    return env_dir


def test_the_installed_wheel_upgrades_and_syncs(installed: Path, emulated: Path, db_url: str, tmp_path: Path) -> None:
    domchat = installed / "bin" / "domchat"
    where = _run(installed / "bin" / "python", "-c", "import domchat, sys; print(domchat.__file__)", cwd=tmp_path)
    assert Path(where.stdout.strip()).is_relative_to(installed)  # not this checkout's sources
    env = clean_env(emulated, db_url, DOMCHAT_GIS_SCHEMAS_DIR=str(SCHEMAS))
    upgraded = _run(domchat, "db", "upgrade", env=env, cwd=tmp_path)
    assert upgraded.returncode == 0, upgraded.stderr
    assert upgraded.stdout.startswith("database at revision")
    synced = _run(domchat, "sync", "--once", env=env, cwd=tmp_path)
    assert synced.returncode == 0, synced.stderr
    assert "GIS ok" in synced.stdout


def test_without_the_gis_package_it_names_the_setting_and_the_variable(
    installed: Path, emulated: Path, db_url: str, tmp_path: Path
) -> None:
    checked = _run(installed / "bin" / "domchat", "config", "check", env=clean_env(emulated, db_url), cwd=tmp_path)
    assert checked.returncode == 2
    assert "gis.schemas_dir" in checked.stderr and "DOMCHAT_GIS_SCHEMAS_DIR" in checked.stderr
    assert str(installed) not in checked.stderr  # the default is not looked for inside the environment
