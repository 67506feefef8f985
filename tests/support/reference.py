"""Where the tests find the reference contracts: the same place domchat does by default.

`$DOMCHAT_GIS_SCHEMAS_DIR` (set by .ci/run when the checkout is not beside `shared/`), else
`../shared/reference/gis-zhkh/14.4.0.1`; the MAX schema lies beside it, or at
`$DOMCHAT_MAX_OPENAPI`.
"""

from __future__ import annotations

import os
from pathlib import Path

from domchat.settings import default_schemas_dir

GIS_SCHEMAS: Path = default_schemas_dir()
MAX_OPENAPI: Path = Path(
    os.environ.get("DOMCHAT_MAX_OPENAPI") or GIS_SCHEMAS.parents[1] / "max-bot-api" / "max-bot-api.dev-max-ru.2026-07-01.openapi.json"
)

if not (GIS_SCHEMAS / "lib" / "hcs-base.xsd").is_file():
    raise RuntimeError(f"the GIS ZhKH package is not at {GIS_SCHEMAS}: set DOMCHAT_GIS_SCHEMAS_DIR")
