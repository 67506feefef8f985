"""Requests, answers and path routing for the MAX emulator's two HTTP faces.

The Bot API and the control API share this small layer so that both parse queries, bodies
and path parameters the same way and answer errors in the platform's shape
(`{"code": str, "message": str}`).
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any, overload


class ApiError(Exception):
    """An answer with the platform's error shape: HTTP `status`, JSON `{code, message}`."""

    def __init__(self, status: int, code: str, message: str) -> None:
        super().__init__(f"{status} {code}: {message}")
        self.status = status
        self.code = code
        self.message = message


def bad_request(message: str) -> ApiError:
    # `proto.payload` is what the platform answers for a malformed body or parameter.
    return ApiError(400, "proto.payload", message)


def not_found(message: str) -> ApiError:
    return ApiError(404, "not.found", message)


def denied(message: str) -> ApiError:
    return ApiError(403, "chat.denied", message)


@dataclass(frozen=True)
class Request:
    method: str
    path: str
    query: Mapping[str, list[str]]
    headers: Mapping[str, str]
    """Header names in lower case."""
    body: bytes = b""
    params: Mapping[str, str] = field(default_factory=dict)
    """Path parameters captured by the route."""

    def json(self) -> dict[str, Any]:
        if not self.body:
            raise bad_request("a JSON body is required")
        try:
            value = json.loads(self.body)
        except (UnicodeDecodeError, json.JSONDecodeError) as e:
            raise bad_request(f"body is not JSON: {e}") from None
        if not isinstance(value, dict):
            raise bad_request("body must be a JSON object")
        return value

    def param_int(self, name: str) -> int:
        try:
            return int(self.params[name])
        except ValueError:
            raise bad_request(f"{name} must be an integer") from None

    def query_str(self, name: str) -> str | None:
        values = self.query.get(name)
        return values[-1] if values else None

    @overload
    def query_int(self, name: str, default: int, lo: int | None = None, hi: int | None = None) -> int: ...
    @overload
    def query_int(self, name: str, default: None = None, lo: int | None = None, hi: int | None = None) -> int | None: ...
    def query_int(self, name: str, default: int | None = None, lo: int | None = None, hi: int | None = None) -> int | None:
        raw = self.query_str(name)
        if raw is None or raw in ("", "null"):
            return default
        try:
            value = int(raw)
        except ValueError:
            raise bad_request(f"{name} must be an integer") from None
        if (lo is not None and value < lo) or (hi is not None and value > hi):
            raise bad_request(f"{name} must be between {lo} and {hi}")
        return value

    def query_bool(self, name: str, default: bool = False) -> bool:
        raw = self.query_str(name)
        if raw is None:
            return default
        if raw.lower() in ("true", "1"):
            return True
        if raw.lower() in ("false", "0"):
            return False
        raise bad_request(f"{name} must be true or false")

    def query_list(self, name: str) -> list[str] | None:
        """A list parameter in the platform's `simple` style (`a,b,c`); repeats are joined too."""
        values = self.query.get(name)
        if not values:
            return None
        return [item for v in values for item in v.split(",") if item]

    def query_ints(self, name: str) -> list[int] | None:
        items = self.query_list(name)
        if items is None:
            return None
        try:
            return [int(x) for x in items]
        except ValueError:
            raise bad_request(f"{name} must be a comma-separated list of integers") from None


@dataclass
class Response:
    status: int
    body: Any
    headers: dict[str, str] = field(default_factory=dict)


Handler = Callable[[Request], Response]


class Router:
    """Maps `(method, path pattern)` to handlers; `{name}` in a pattern captures one segment."""

    def __init__(self) -> None:
        self._routes: list[tuple[str, re.Pattern[str], Handler]] = []

    def add(self, method: str, pattern: str, handler: Handler) -> None:
        regex = re.sub(r"\{(\w+)\}", r"(?P<\1>[^/]+)", pattern)
        self._routes.append((method, re.compile(f"^{regex}$"), handler))

    def dispatch(self, request: Request) -> Response:
        allowed = False
        for method, regex, handler in self._routes:
            match = regex.match(request.path)
            if match is None:
                continue
            if method != request.method:
                allowed = True
                continue
            bound = Request(request.method, request.path, request.query, request.headers, request.body, match.groupdict())
            return handler(bound)
        if allowed:
            raise ApiError(405, "method.not.allowed", f"{request.method} is not allowed on {request.path}")
        raise not_found(f"no such path: {request.path}")
