"""Storage: loading what a cycle plans from, and the audit chain, on SQLite and on PostgreSQL.

Each database is made by `storage.db.make_engine` + `storage.db.upgrade` (SQLite: a file in a
temporary folder; PostgreSQL: a schema of its own on the server `DOMCHAT_DATABASE_URL` names,
dropped afterwards), then filled with the benchmark region (`fixture.py`) by bulk inserts.
Measured:

* `repo.load_domain` and `repo.load_actual`: what every cycle reads before it plans, per
  building; and (tracemalloc) how much memory the loaded values hold;
* `audit.append`: events per second, one per transaction (as the executor records each
  action) and 100 per transaction (as a cycle records its conflicts);
* `audit.verify` over `audit.query`: events per second, as `domchat audit verify` walks it.

    PYTHONPATH=src python bench/storage.py [--scale quick|region|country] [--sizes 1000,5000] [--pg URL]
"""

from __future__ import annotations

import argparse
import functools
import gc
import itertools
import os
import tempfile
import time
import uuid
from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from sqlalchemy import Table as SaTable
from sqlalchemy import text
from sqlalchemy.engine import Connection, Engine, make_url
from sqlmodel import Session, SQLModel

from common import MB, Table, best_of, ratio, render, table, too_big, traced
from domchat.domain.model import ActualChat
from domchat.settings import redact_url
from domchat.storage import audit, db, repo
from domchat.storage.tables import AuditHeadRow
from fixture import AFTER, Region, chats, region

SIZES = {"quick": (250, 1_000), "region": (2_000, 20_000), "country": (20_000, 100_000)}
AUDIT = {"quick": 300, "region": 5_000, "country": 50_000}
"""Events appended one per transaction; as many again are appended 100 per transaction."""
CHUNK = 20_000
KB_PER_BUILDING = 130
"""Memory one size needs: the benchmark's region (~22 KB per building) and, while loading, ORM rows
(~60 KB) then the domain and the observed chats (~24 + 17 KB)."""
MEMORY_BUILDINGS = 250
"""tracemalloc slows loading about sevenfold: memory is measured on a small region of its own."""


@dataclass(frozen=True)
class Backend:
    name: str
    url: str | None
    """None: SQLite in a temporary folder."""

    @contextmanager
    def database(self) -> Iterator[Engine]:
        """A fresh, migrated database that is gone afterwards."""
        if self.url is None:
            with tempfile.TemporaryDirectory(prefix="domchat-bench-") as tmp:
                engine = db.make_engine(f"sqlite:///{Path(tmp) / 'bench.db'}")
                try:
                    db.upgrade(engine)
                    yield engine
                finally:
                    engine.dispose()
            return
        schema = "bench_" + uuid.uuid4().hex[:12]
        admin = db.make_engine(self.url)
        with admin.begin() as conn:
            conn.execute(text(f'CREATE SCHEMA "{schema}"'))
        url = make_url(self.url).update_query_dict({"options": f"-csearch_path={schema}"}).render_as_string(hide_password=False)
        engine = db.make_engine(url)
        try:
            db.upgrade(engine)
            yield engine
        finally:
            engine.dispose()
            with admin.begin() as conn:
                conn.execute(text(f'DROP SCHEMA "{schema}" CASCADE'))
            admin.dispose()


def _table(name: str) -> SaTable:
    return SQLModel.metadata.tables[name]


def rows(
    r: Region, seen_at: datetime = AFTER, *, shared: bool = True, observed: Iterable[ActualChat] | None = None
) -> Iterator[tuple[str, dict[str, Any]]]:
    """The region as table rows, in an order the foreign keys accept; chats as observed at `seen_at`
    (or as `observed` gives them). Without `shared`, no organisations and staff: a slice of a region
    (`fixture.slices`) after the first holds the same ones."""
    at = datetime(2026, 1, 1, tzinfo=UTC)
    d = r.domain
    for o in d.organisations.values() if shared else ():
        org = {"ogrn": o.ogrn, "name": o.name, "inn": o.inn, "kind": o.kind.value, "root_guid": o.root_guid, "ppa_guid": o.ppa_guid}
        yield "organisation", org | {"phone": o.phone, "dispatch_phone": o.dispatch_phone, "updated_at": at}
    for ogrn, users in d.staff.items() if shared else ():
        for u in users:
            yield "staff_account", {"org": ogrn, "user_id": u, "enrolled_at": at, "revoked_at": None}
    for b in d.buildings.values():
        house = {"fias_guid": b.fias_guid, "address": b.address, "tz": b.tz, "tz_assumed": False, "oktmo": b.oktmo}
        yield "building", house | {"state": b.state.value, "updated_at": at}
    for ps in d.periods.values():
        for p in ps:
            period = {"building": p.building, "org": p.org, "start": p.start, "until": p.until}
            yield "management_period", period | {"basis": p.basis.value, "source_ids": ",".join(p.source_ids)}
    for c in d.bindings.values():
        yield "chat_binding", {"building": c.building, "chat_id": c.chat_id, "bound_at": c.bound_at, "bound_by": c.bound_by}
    for gs in d.grants.values():
        for g in gs:
            status = "active" if g.valid_to is None or g.valid_to >= AFTER.date() else "expired"
            grant = {"grant_id": g.grant_id, "building": g.building, "premises": g.premises, "person_ref": f"esia:{g.grant_id[-12:]}"}
            yield (
                "guest_grant",
                grant | {"valid_from": g.valid_from, "valid_to": g.valid_to, "status": status, "source": "gis", "updated_at": at},
            )
    for grant_id, users in d.residents.items():
        for u in users:
            yield "resident_account", {"grant_id": grant_id, "user_id": u, "dialog_id": u, "bound_at": at}
    for chat in chats(r, seen_at) if observed is None else observed:
        seen = {"chat_id": chat.chat_id, "title": chat.title, "owner_id": chat.owner_id, "pinned_mid": f"mid.{-chat.chat_id}"}
        yield "chat_state", seen | {"pinned_text": chat.pinned_text, "status": "active", "observed_at": at}
        for user, m in chat.members.items():
            member = {"chat_id": chat.chat_id, "user_id": user, "is_owner": m.is_owner, "is_admin": m.is_admin}
            yield "chat_member", member | {"permissions": ",".join(sorted(m.permissions))}


def fill(engine: Engine, r: Region, seen_at: datetime = AFTER) -> int:
    """Bulk-insert the region (not product code: the benchmark's own loader); returns the row count."""
    if engine.dialect.name == "postgresql":
        return _copy(engine, r, seen_at)
    with engine.begin() as conn:
        loader = Loader(conn)
        loader.add(rows(r, seen_at))
        return loader.flush()


class Loader:
    """Bulk inserts into SQLite of rows arriving in any order of tables (a region streamed slice by
    slice): held per table up to `CHUNK` rows in all, then written in the order the foreign keys
    accept, each value through its column's own conversion but past the ORM's per-row work (which
    took three quarters of the time)."""

    def __init__(self, conn: Connection) -> None:
        self.conn = conn
        self.pending: dict[str, list[dict[str, Any]]] = {t.name: [] for t in SQLModel.metadata.sorted_tables}
        self.held = 0
        self.written = 0

    def add(self, rows: Iterable[tuple[str, dict[str, Any]]]) -> None:
        for name, row in rows:
            self.pending[name].append(row)
            self.held += 1
            if self.held >= CHUNK:
                self.flush()

    def flush(self) -> int:
        """Write what is held; the rows written so far."""
        for name, batch in self.pending.items():
            if batch:
                self._insert(name, batch)
                self.written += len(batch)
                batch.clear()
        self.held = 0
        return self.written

    def _insert(self, name: str, batch: list[dict[str, Any]]) -> None:
        columns = list(batch[0])
        dialect = self.conn.dialect
        convert = [_cached(_table(name).c[c].type.dialect_impl(dialect).bind_processor(dialect)) for c in columns]
        quote = dialect.identifier_preparer.quote
        names = ", ".join(quote(c) for c in columns)
        sql = f"INSERT INTO {quote(name)} ({names}) VALUES ({', '.join('?' * len(columns))})"  # noqa: S608 (the schema's own names)
        values = [tuple(v if f is None else f(v) for f, v in zip(convert, row.values(), strict=True)) for row in batch]
        self.conn.exec_driver_sql(sql, values)


def _cached(convert: Callable[[Any], Any] | None) -> Callable[[Any], Any] | None:
    """A column's conversion remembering its last values: most rows share their timestamps."""
    return None if convert is None else functools.lru_cache(maxsize=1024)(convert)


def _copy(engine: Engine, r: Region, seen_at: datetime) -> int:
    """PostgreSQL's COPY: executemany would make filling, not loading, the slow part of the benchmark."""
    n = 0
    raw = engine.raw_connection()
    try:
        cur: Any = raw.cursor()
        for name, group in itertools.groupby(rows(r, seen_at), key=lambda item: item[0]):
            first = next(group)[1]
            cols = ", ".join(f'"{c}"' for c in first)
            with cur.copy(f'COPY "{name}" ({cols}) FROM STDIN') as copy:
                for row in itertools.chain([first], (row for _, row in group)):
                    copy.write_row(tuple(row.values()))
                    n += 1
        raw.commit()
    finally:
        raw.close()
    return n


def loads(engine: Engine, n: int) -> dict[str, Any]:
    def load_domain() -> Any:
        with Session(engine) as s:
            return repo.load_domain(s)

    def load_actual() -> Any:
        with Session(engine) as s:
            return repo.load_actual(s)

    domain, domain_s, _ = best_of(load_domain, budget=1.0, at_most=3)
    actual, actual_s, _ = best_of(load_actual, budget=1.0, at_most=3)
    assert len(domain.bindings) == n and len(actual) == n
    return {"domain_s": domain_s, "actual_s": actual_s, "domain_us": domain_s / n * 1e6, "actual_us": actual_s / n * 1e6}


def memory(n: int) -> list[dict[str, Any]]:
    """What the loaded values hold, and the most loading them held at once, per building."""
    out = []
    with Backend("SQLite", None).database() as engine:
        fill(engine, region(n))
        for name, load in (("load_domain", repo.load_domain), ("load_actual", repo.load_actual)):

            def once(load: Any = load) -> Any:
                with Session(engine) as s:
                    return load(s)

            _, peak, held = traced(once)
            out.append({"what": name, "held": held / 1024 / n, "peak": peak / 1024 / n, "country": held / 1024 / n * 1e6 / MB})
    return out


def _event(i: int, run_id: str) -> audit.AuditEvent:
    return audit.AuditEvent(
        actor="daemon",
        trigger="schedule",
        action="grant_admin",
        outcome="done",
        run_id=run_id,
        building=str(uuid.UUID(int=i, version=4)),
        org=f"10{i % 25_000:011d}",
        chat_id=-70_000_000_000_000 - i,
        user_id=1_000_000 + i,
        before={"is_admin": False, "permissions": []},
        after={"is_admin": True, "permissions": ["add_remove_members", "pin_message", "read_all_messages", "write"]},
        reason=f"staff of the manager 10{i % 25_000:011d}; manager since 2026-12-01 (licence: {uuid.UUID(int=i * 7, version=4)})",
    )


def audit_chain(engine: Engine, events: int) -> dict[str, Any]:
    run_id = str(uuid.uuid4())
    at = datetime(2026, 12, 1, tzinfo=UTC)
    start = time.perf_counter()
    for i in range(events):
        with db.transaction(engine) as s:
            audit.append(s, _event(i, run_id), at + timedelta(microseconds=i))
    single_s = time.perf_counter() - start
    start = time.perf_counter()
    for first in range(events, 2 * events, 100):
        with db.transaction(engine) as s:
            for i in range(first, min(first + 100, 2 * events)):
                audit.append(s, _event(i, run_id), at + timedelta(microseconds=i))
    batch_s = time.perf_counter() - start
    start = time.perf_counter()
    with Session(engine) as s:
        verdict = audit.verify(audit.query(s), s.get(AuditHeadRow, 1))
    verify_s = time.perf_counter() - start
    assert verdict.ok and verdict.events == 2 * events, verdict
    return {
        "events": events,
        "append_1_per_s": events / single_s,
        "append_100_per_s": events / batch_s,
        "verify_per_s": 2 * events / verify_s,
    }


def backends(pg: str | None) -> list[Backend]:
    out = [Backend("SQLite", None)]
    if pg and pg.startswith("postgresql"):
        out.append(Backend("PostgreSQL", pg))
    return out


def run(scale: str, sizes: tuple[int, ...] | None = None, pg: str | None = None) -> list[Table]:
    pg = pg if pg is not None else os.environ.get("DOMCHAT_DATABASE_URL")
    load_rows: list[dict[str, Any]] = []
    audit_rows: list[dict[str, Any]] = []
    wanted = sizes or SIZES[scale]
    skipped = [why for n in wanted if (why := too_big(n, KB_PER_BUILDING))]
    sizes = tuple(n for n in wanted if not too_big(n, KB_PER_BUILDING))
    regions = {n: region(n) for n in sizes}
    gc.collect()
    gc.freeze()  # the benchmark's own long-lived values: collections while loading should not walk them
    for be in backends(pg):
        for n in sizes:
            with be.database() as engine:
                count = fill(engine, regions[n])
                load_rows.append({"backend": be.name, "buildings": n, "rows": count, **loads(engine, n)})
        with be.database() as engine:
            audit_rows.append({"backend": be.name, **audit_chain(engine, AUDIT[scale])})
    for row in load_rows:
        lite = next(r for r in load_rows if r["backend"] == "SQLite" and r["buildings"] == row["buildings"])
        row["domain_vs_sqlite"] = ratio(row["domain_s"], lite["domain_s"])
        row["actual_vs_sqlite"] = ratio(row["actual_s"], lite["actual_s"])
        first = next(r for r in load_rows if r["backend"] == row["backend"])
        row["domain_scaling"] = ratio(row["domain_us"], first["domain_us"])
    for row in audit_rows:
        row["batch_gain"] = ratio(row["append_100_per_s"], row["append_1_per_s"])
        row["pg_vs_sqlite"] = ratio(row["append_1_per_s"], audit_rows[0]["append_1_per_s"])
    where = ", ".join(be.name + (f" ({redact_url(be.url)})" if be.url else " (WAL, temporary file)") for be in backends(pg))
    notes = [
        f"backends: {where}." + ("" if len(backends(pg)) > 1 else " Set DOMCHAT_DATABASE_URL=postgresql+psycopg://… to add PostgreSQL."),
        *skipped,
    ]
    return [
        table(
            "Storage: loading what a cycle plans from (repo.load_domain, repo.load_actual)",
            [
                ("backend", "backend", ""),
                ("buildings", "buildings", ","),
                ("rows", "rows", ","),
                ("domain_s", "load_domain s", ".2f"),
                ("domain_us", "µs/b", ",.0f"),
                ("domain_scaling", "µs/b ×", ".2f"),
                ("actual_s", "load_actual s", ".2f"),
                ("actual_us", "µs/b", ",.0f"),
                ("domain_vs_sqlite", "domain ÷ SQLite", ".2f"),
                ("actual_vs_sqlite", "actual ÷ SQLite", ".2f"),
            ],
            load_rows,
            [
                *notes,
                "rows: every row in the database (buildings, periods, grants, residents, chats, members…); fastest of up to 3 loads.",
                "µs/b ×: cost per building relative to the smallest size on the same backend (1.00 = linear).",
            ],
        ),
        table(
            f"Storage: memory of the loaded values (tracemalloc, SQLite, {MEMORY_BUILDINGS:,} buildings)",
            [
                ("what", "loaded", ""),
                ("held", "held KB/b", ".1f"),
                ("peak", "peak while loading KB/b", ".1f"),
                ("country", "held GB for 1M buildings", ".1f"),
            ],
            memory(MEMORY_BUILDINGS),
            ["held: what the returned values keep; GB for 1M buildings: held KB/b × 1M (the engine keeps both for the whole cycle)."],
        ),
        table(
            "Storage: the audit chain (audit.append, audit.verify over audit.query)",
            [
                ("backend", "backend", ""),
                ("events", "events", ","),
                ("append_1_per_s", "append/s, 1 per tx", ",.0f"),
                ("append_100_per_s", "append/s, 100 per tx", ",.0f"),
                ("batch_gain", "100 per tx ÷ 1 per tx", ".1f"),
                ("verify_per_s", "verify/s", ",.0f"),
                ("pg_vs_sqlite", "1 per tx ÷ SQLite", ".2f"),
            ],
            audit_rows,
            ["each event: an admin grant with its before/after and reason; verify reads the chain back in pages of 1000."],
        ),
    ]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--scale", choices=tuple(SIZES), default="quick")
    parser.add_argument("--sizes", help="comma-separated numbers of buildings")
    parser.add_argument("--pg", help="PostgreSQL URL (default: $DOMCHAT_DATABASE_URL)")
    args = parser.parse_args()
    sizes = tuple(int(x) for x in args.sizes.split(",")) if args.sizes else None
    print("\n\n".join(render(t) for t in run(args.scale, sizes, args.pg)))


if __name__ == "__main__":
    main()
