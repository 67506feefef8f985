"""The dev.max.ru OpenAPI snapshot as JSON Schema validators for response bodies.

OpenAPI 3.0 schemas are almost JSON Schema: `nullable: true` becomes `anyOf [..., null]`, and
a few defects of the snapshot are corrected here, each with the reason, so that the emulator
is held to what the platform actually sends rather than to a typo.
"""

from __future__ import annotations

import copy
import json
from functools import cache
from pathlib import Path
from typing import Any

import jsonschema
import pytest

from support.reference import MAX_OPENAPI

FILE = "max-bot-api.dev-max-ru.2026-07-01.openapi.json"


def _find() -> Path | None:
    return MAX_OPENAPI if MAX_OPENAPI.is_file() else None


def _convert(node: Any) -> Any:
    if isinstance(node, list):
        return [_convert(x) for x in node]
    if not isinstance(node, dict):
        return node
    out = {k: _convert(v) for k, v in node.items() if k not in ("nullable", "discriminator", "example")}
    if not isinstance(out.get("required", []), list):
        del out["required"]  # `required: true` inside a property: OpenAPI 2 style, meaningless here
    if node.get("nullable") is True:
        return {"anyOf": [out, {"type": "null"}]}
    return out


def _correct(schemas: dict[str, Any]) -> None:
    # The snapshot's ChatType lists only "chat"; messages in dialogs carry "dialog" (the official
    # Go client's schema: dialog | chat | channel).
    schemas["ChatType"]["enum"] = ["dialog", "chat", "channel"]
    # MessageBody lists "link" as required but has no such property: `link` belongs to Message.
    schemas["MessageBody"]["required"].remove("link")
    # `admin_id` "may be null if the user left the chat" says its description; the type forgot.
    removed = schemas["UserRemovedFromChatUpdate"]["allOf"][1]["properties"]
    removed["admin_id"] = {"anyOf": [removed["admin_id"], {"type": "null"}]}


class OpenApi:
    def __init__(self, doc: dict[str, Any]) -> None:
        self.doc = doc
        schemas = _convert(copy.deepcopy(doc["components"]["schemas"]))
        _correct(schemas)
        self._root = {"components": {"schemas": schemas}}
        self.update_types: dict[str, str] = {
            kind: ref["$ref"].rsplit("/", 1)[-1] for kind, ref in doc["components"]["schemas"]["Update"]["discriminator"]["mapping"].items()
        }

    def validator(self, name: str) -> jsonschema.Draft202012Validator:
        return jsonschema.Draft202012Validator({**self._root, "$ref": f"#/components/schemas/{name}"})

    def response_schema(self, method: str, template: str, status: int) -> str:
        """The component schema the snapshot gives for this answer; errors not listed use `Error`."""
        op = self.doc["paths"][template][method.lower()]
        response = op["responses"].get(str(status))
        if response is None:
            assert status >= 400, f"{method} {template} has no {status} answer in the schema"
            return "Error"
        if "$ref" in response:
            response = self.doc["components"]["responses"][response["$ref"].rsplit("/", 1)[-1]]
        ref: str = response["content"]["application/json"]["schema"]["$ref"]
        return ref.rsplit("/", 1)[-1]

    def check(self, name: str, body: Any) -> None:
        error = jsonschema.exceptions.best_match(self.validator(name).iter_errors(body))
        if error is not None:
            where = "/".join(map(str, error.absolute_path)) or "(top)"
            raise AssertionError(f"{name} at {where}: {error.message}")
        if name == "UpdateList":
            for update in body["updates"]:
                self.check_update(update)

    def check_update(self, update: dict[str, Any]) -> None:
        """The base `Update` says little; each type is checked against its own schema."""
        self.check(self.update_types[update["update_type"]], update)


@cache
def load() -> OpenApi:
    path = _find()
    if path is None:
        pytest.skip(f"{FILE} not found (set DOMCHAT_MAX_OPENAPI)")
    return OpenApi(json.loads(path.read_text(encoding="utf-8")))
