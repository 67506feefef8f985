"""What every command shares: its options (declared once, here), the click context they are
collected in, and the translation of domchat's errors into one line and an exit code."""

from __future__ import annotations

import functools
import inspect
import typing
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, date, datetime
from importlib.metadata import version
from pathlib import Path
from typing import Annotated, Any, TextIO

import typer

from domchat import app as app_mod
from domchat.cli.present import Presenter
from domchat.errors import ConfigError, DomchatError, exit_code

# Instants outside these years are typing errors, and would overflow date arithmetic further on.
EARLIEST = datetime(2000, 1, 1, tzinfo=UTC)
LATEST = datetime(2100, 1, 1, tzinfo=UTC)

ConfigOption = Annotated[Path | None, typer.Option("--config", "-c", help="Config file (else $DOMCHAT_CONFIG).", show_default=False)]

# Every option more than one command takes: name → (annotation, default).
_SHARED: dict[str, tuple[Any, Any]] = {
    "config": (ConfigOption, None),
    "now": (
        Annotated[str | None, typer.Option("--now", help="Act as if it were this instant (ISO 8601; UTC unless it has an offset).")],
        None,
    ),
    "operator": (
        Annotated[str | None, typer.Option("--operator", help="Who runs this (default: the login name); recorded in the audit trail.")],
        None,
    ),
    "json": (Annotated[bool, typer.Option("--json", help="Machine-readable output.")], False),
}


def instant(option: str, value: str) -> datetime:
    """An ISO 8601 instant given on the command line (UTC unless it has an offset)."""
    try:
        t = datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        raise ConfigError(option, f"not an ISO 8601 instant: {value!r}") from None
    t = t if t.tzinfo is not None else t.replace(tzinfo=UTC)
    if not EARLIEST <= t < LATEST:
        raise ConfigError(option, f"{value!r} is outside {EARLIEST.year}–{LATEST.year - 1}")
    return t


def day(option: str, value: str) -> date:
    """A date (YYYY-MM-DD) given on the command line."""
    try:
        d = date.fromisoformat(value)
    except ValueError:
        raise ConfigError(option, f"not a date (YYYY-MM-DD): {value!r}") from None
    if not EARLIEST.date() <= d < LATEST.date():
        raise ConfigError(option, f"{value!r} is outside {EARLIEST.year}–{LATEST.year - 1}")
    return d


@dataclass
class Invocation:
    """The shared options of one command line; each command receives it first."""

    config: Path | None = None
    now: datetime | None = None
    operator: str | None = None
    json: bool = False

    def app(self, log_stream: TextIO | None = None) -> app_mod.App:
        """Settings, clock and logging (to stderr unless `log_stream`: stdout is the command's output)."""
        return app_mod.start(self.config, self.now, log_stream)

    def operator_name(self) -> str:
        return app_mod.operator_name(self.operator)

    @property
    def out(self) -> Presenter:
        return Presenter(as_json=self.json)

    def take(self, name: str, value: Any) -> None:
        if name == "now":
            self.now = None if value is None else instant("--now", value)
        elif value is not None and value is not False:
            setattr(self, name, value)


@contextmanager
def reported_errors() -> Iterator[None]:
    """One line on stderr and a meaningful exit code for every error domchat raises on purpose."""
    try:
        yield
    except DomchatError as e:
        code = exit_code(e)
        typer.echo(f"domchat: error: {e}", err=True)
        raise typer.Exit(code) from None
    except app_mod.DatabaseFailure as e:
        # The database went away mid-command: everything already committed stays, the rest is
        # resumed by the next cycle (intent is stored before effect).
        typer.echo(f"domchat: error: database: {type(e).__name__}: {str(e).splitlines()[0][:300]}", err=True)
        raise typer.Exit(3) from None


Command = Callable[..., None]


def option(name: str, annotation: Any, default: Any = None) -> inspect.Parameter:
    """An option for `command(extra=…)`, made from a definition that lives elsewhere."""
    return inspect.Parameter(name, inspect.Parameter.KEYWORD_ONLY, default=default, annotation=annotation)


def command(
    group: typer.Typer, *shared: str, name: str | None = None, panel: str | None = None, extra: Sequence[inspect.Parameter] = ()
) -> Callable[[Command], Command]:
    """Register `fn(run: Invocation, **its own options)` on `group` with the `shared` options added
    to its own, their values collected in the `Invocation`, and errors reported as one line.
    `extra` options, made from definitions elsewhere, reach `fn` through its `**kwargs`."""

    def register(fn: Command) -> Command:
        hints = typing.get_type_hints(fn, include_extras=True)
        own = [p for p in list(inspect.signature(fn).parameters.values())[1:] if p.kind is not inspect.Parameter.VAR_KEYWORD]
        params = [p.replace(kind=inspect.Parameter.KEYWORD_ONLY, annotation=hints[p.name]) for p in own]
        params += extra
        params += [option(k, *_SHARED[k]) for k in shared]
        params.append(inspect.Parameter("typer_context", inspect.Parameter.KEYWORD_ONLY, annotation=typer.Context))

        @functools.wraps(fn)
        def run(typer_context: typer.Context, **kwargs: Any) -> None:
            invocation = typer_context.ensure_object(Invocation)
            with reported_errors():
                for k in shared:
                    invocation.take(k, kwargs.pop(k))
                fn(invocation, **kwargs)

        run.__signature__ = inspect.Signature(params)  # type: ignore[attr-defined]
        run.__annotations__ = {p.name: p.annotation for p in params}
        group.command(name, rich_help_panel=panel)(run)
        return fn

    return register


def _print_version(given: bool) -> None:
    if given:
        typer.echo(f"domchat {version('domchat')}")
        raise typer.Exit(0)


def root_options(
    ctx: typer.Context,
    config: ConfigOption = None,
    show_version: Annotated[
        bool, typer.Option("--version", callback=_print_version, is_eager=True, help="Print domchat's version and exit.")
    ] = False,
) -> None:
    """Keeps a region's house chats in MAX in step with GIS ZhKH."""
    ctx.obj = Invocation(config=config)
