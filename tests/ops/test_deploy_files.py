"""The dashboard and the alerts name only series domchat exports (promtool checks the rules
themselves in CI)."""

from __future__ import annotations

import json
import re
from pathlib import Path

from domchat import metrics

DEPLOY = Path(__file__).resolve().parents[2] / "deploy"
_SUFFIXES = {"counter": ("_total",), "histogram": ("_bucket", "_count", "_sum"), "gauge": ("",)}


def _exported() -> set[str]:
    return {family.name + suffix for family in metrics.REGISTRY.collect() for suffix in _SUFFIXES[family.type]}


def _named(text: str) -> set[str]:
    return set(re.findall(r"\bdomchat_[a-z_]+\b", text))


def test_dashboard_is_grafana_json_naming_exported_series() -> None:
    dashboard = json.loads((DEPLOY / "grafana-dashboard.json").read_text(encoding="utf-8"))
    panels = [p for p in dashboard["panels"] if p["type"] != "row"]
    exprs = [t["expr"] for p in panels for t in p["targets"]]
    assert len({p["id"] for p in dashboard["panels"]}) == len(dashboard["panels"])
    assert all(p["targets"] for p in panels)
    named = _named("\n".join(exprs))
    assert named <= _exported(), named - _exported()
    # Every family domchat defines is on the dashboard.
    assert {n.removesuffix("_total").removesuffix("_bucket") for n in named} >= {f.name for f in metrics.REGISTRY.collect()}


def test_alerts_name_exported_series() -> None:
    text = (DEPLOY / "prometheus-alerts.yml").read_text(encoding="utf-8")
    exprs = "\n".join(line for line in text.splitlines() if "domchat_" in line and not line.lstrip().startswith("#"))
    named = _named(exprs)
    assert named and named <= _exported(), named - _exported()
