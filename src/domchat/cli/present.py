"""One output style for every command: with `--json` a JSON document (or one JSON line per record
of a stream), else lines of text; summaries go to stderr so that stdout stays parseable; tables
(CSV or JSON) go to a file or stdout."""

from __future__ import annotations

import contextlib
import csv
import json
import sys
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TextIO

import typer
from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, TaskID, TextColumn, TimeElapsedColumn
from rich.progress import Progress as Bars

from domchat import app as app_mod
from domchat.errors import ConfigError

# What each phase a use case reports is called on a progress bar.
_PHASES = {
    "pull": "GIS ZhKH pull (steps)",
    "read_chats": "reading chats from MAX",
    "execute": "changes in MAX",
    "invitations": "invitations",
    "verify": "verifying the audit chain",
    "export": "exporting events",
}


def as_json(doc: Any, *, indent: int | None = 2) -> str:
    return json.dumps(doc, ensure_ascii=False, indent=indent, default=str)


@dataclass(frozen=True)
class Presenter:
    as_json: bool

    def show(self, doc: Any, lines: Callable[[Any], Iterable[str]]) -> None:
        """One result: the document itself with `--json`, else the lines `lines` makes of it."""
        if self.as_json:
            typer.echo(as_json(doc))
            return
        for line in lines(doc):
            typer.echo(line)

    def each(self, records: Iterable[dict[str, Any]], line: Callable[[dict[str, Any]], str]) -> None:
        """A stream of records, printed as they come: one JSON line each with `--json`, else one text line each."""
        for r in records:
            typer.echo(as_json(r, indent=None) if self.as_json else line(r))

    @staticmethod
    def line(text: str) -> None:
        typer.echo(text)

    @staticmethod
    def summary(text: str) -> None:
        typer.echo(text, err=True)

    @contextlib.contextmanager
    def progress(self) -> Iterator[app_mod.Progress]:
        """Bars on stderr for a long command when stderr is a terminal and the output is not JSON;
        otherwise a callback that draws nothing, so piped and scripted output stays as it was."""
        if self.as_json or not sys.stderr.isatty():
            yield _silent
            return
        columns = (TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(), TimeElapsedColumn())
        with Bars(*columns, console=Console(stderr=True), transient=True) as bars:
            tasks: dict[str, TaskID] = {}

            def report(phase: str, done: int, total: int) -> None:
                if phase not in tasks:
                    tasks[phase] = bars.add_task(_PHASES.get(phase, phase), total=total)
                bars.update(tasks[phase], completed=done, total=total)

            yield report


def _silent(phase: str, done: int, total: int) -> None:
    """Draw nothing."""


def output(out: Path | None) -> contextlib.AbstractContextManager[TextIO]:
    """The file named by `--out` (refused, naming it, when it cannot be written), else stdout."""
    if out is None:
        return contextlib.nullcontext(sys.stdout)
    try:
        return out.open("w", encoding="utf-8", newline="")
    except OSError as e:
        raise ConfigError("--out", f"cannot write {out}: {e.strerror}") from None


def table(rows: Sequence[dict[str, Any]], fields: Sequence[str], fmt: str, out: Path | None = None) -> None:
    """Rows as CSV (with a header) or as one JSON document, to `out` or stdout."""
    with output(out) as f:
        if fmt == "json":
            f.write(as_json(list(rows)) + "\n")
            return
        w = csv.DictWriter(f, fieldnames=list(fields))
        w.writeheader()
        w.writerows(rows)
