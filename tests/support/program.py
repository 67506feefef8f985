"""Running domchat as a separate program, the way systemd or cron does."""

from __future__ import annotations

import os
from pathlib import Path


def clean_env(config: Path, db_url: str, **extra: str) -> dict[str, str]:
    """This process's environment without domchat's or Python's own variables, plus `extra`."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(("DOMCHAT_", "PYTHON", "VIRTUAL_ENV"))}
    return {**env, "DOMCHAT_CONFIG": str(config), "DOMCHAT_DATABASE_URL": db_url, **extra}
