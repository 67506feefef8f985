"""Element builders (lxml's ElementMaker), one per namespace, for the emulator's answers."""

from __future__ import annotations

from typing import Any

from lxml.builder import ElementMaker  # type: ignore[import-not-found]  # lxml-stubs has no lxml.builder


def maker(namespace: str, nsmap: dict[str | None, str] | None = None) -> Any:
    """`maker(ns).Tag(children…, attr=value)` builds `{ns}Tag`."""
    return ElementMaker(namespace=namespace, nsmap=nsmap or {})
