"""Decode throughput and memory of a large GIS ZhKH answer: domchat's streaming decoder against
plain zeep and against a bare lxml parse of the same bytes.

    PYTHONPATH=src python bench/gis_decode.py [--buildings 60000] [--per-org 3000]

`bench/run.py` runs it at 6,000 buildings (quick), 60,000 (region) or 300,000 (country).

It builds a world, starts the GIS emulator, asks it for every licence of the region in one
`exportActualLicenseState` message (each licence with thousands of houses, as a large region's
answer is), captures the answer's bytes, and then decodes them in a fresh process per method so
that each peak RSS is its own. Figures are printed side by side, with ratios.

A second table gives what the real client spends refusing a hostile answer of 25 and 100 MB
that is invalid only at its end (`tests/support/bloated_answer.py`, each in a fresh process),
beside the figures measured before the reader released every element (commit dd72915).
"""

from __future__ import annotations

import argparse
import io
import json
import logging
import os
import subprocess
import sys
import tempfile
import time
from datetime import date
from pathlib import Path
from typing import Any

import structlog
import zeep
from lxml import etree

from common import Table, render, table
from domchat.emulators.gis import GisEmulator
from domchat.emulators.world import GeneratorOptions, WorldGenerator
from domchat.gis_client import GisClient, decoders
from domchat.gis_client.replies import Where, read
from domchat.gis_client.schemas import EnvelopeSchemas
from domchat.gis_client.services import LICENSES
from domchat.settings import GisSettings

SCHEMAS = next(
    (
        p / "shared/reference/gis-zhkh/14.4.0.1"
        for p in Path(__file__).resolve().parents
        if (p / "shared/reference/gis-zhkh/14.4.0.1").is_dir()
    ),
    Path("../shared/reference/gis-zhkh/14.4.0.1"),
)
LIC = "http://dom.gosuslugi.ru/schema/integration/licenses/"
METHODS = ("lxml", "domchat", "batches", "zeep")


def capture(buildings: int, per_org: int, out: Path) -> int:
    """Write one big `getState` answer to `out`; returns the number of houses in it."""
    text = io.StringIO()
    WorldGenerator(GeneratorOptions(buildings=buildings, seed=1, today=date(2025, 3, 1), buildings_per_org=per_org)).write(text)
    world = json.loads(text.getvalue())
    emu = GisEmulator(world, SCHEMAS, processing_delay=0.0)
    emu.start()
    try:
        settings = GisSettings(
            endpoint=emu.base_url, schemas_dir=SCHEMAS, org_ppa_guid=world["authority"]["ppa_guid"], poll_schedule=[0.05]
        )
        with GisClient(settings) as client:
            licences = client.actual_licenses([o["ogrn"] for o in world["organisations"]], world["region"]["code"])
        answer = max((e.answer for e in emu.log if e.operation == "getState"), key=len)
    finally:
        emu.stop()
    out.write_bytes(answer)
    return sum(len(lic.houses) for lic in licences)


def decode(method: str, path: Path) -> dict[str, Any]:
    """Decode `path` once with `method`; report seconds, peak RSS and what was found."""
    data = path.read_bytes()
    rss_before = _vm("VmRSS")
    if method == "lxml":
        start = time.perf_counter()
        root = etree.fromstring(data, etree.XMLParser(huge_tree=True))
        found = sum(1 for _ in root.iter(f"{{{LIC}}}LicenseHouses"))
    elif method in ("domchat", "batches"):
        schema = EnvelopeSchemas(SCHEMAS).for_service(LICENSES)
        # "batches": each licence is handed over as decoded and dropped (as a pull does with
        # `actual_licenses(batches=…)`), so only the reading itself is measured.
        seen: list[int] = []
        start = time.perf_counter()
        with tempfile.TemporaryFile() as spool:  # the client reads answers from a spool like this one
            spool.write(data)
            spool.seek(0)
            reply = read(
                spool,
                schema,
                Where("licenses", "getState"),
                state_result=f"{{{LIC}}}getStateResult",
                records={f"{{{LIC}}}exportActualLicenseStateResult": decoders.actual_license},
                drop=frozenset({f"{{{LIC}}}LicenseRegistryEntries"}),
                sink=(lambda lic: seen.append(len(lic.houses))) if method == "batches" else None,
            )
        found = sum(seen) + sum(len(lic.houses) for lic in reply.records)
    else:
        client = zeep.Client(str(SCHEMAS / "licenses/hcs-licenses-service-async.wsdl"), settings=zeep.Settings(xml_huge_tree=True))
        operation = client.service._binding.get("getState")
        start = time.perf_counter()
        envelope = etree.fromstring(data, etree.XMLParser(huge_tree=True))
        result = operation.output.deserialize(envelope)
        found = sum(len(lic.LicenseHouses) for lic in result.body.exportActualLicenseStateResult)
    seconds = time.perf_counter() - start
    peak = _vm("VmHWM")
    return {"seconds": seconds, "peak_mb": peak, "growth_mb": peak - rss_before, "houses": found}


def _vm(key: str) -> float:
    """A memory figure of this process in MB, from /proc (ru_maxrss would include the parent's
    peak from before exec)."""
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith(key + ":"):
            return int(line.split()[1]) / 1024
    return 0.0


HOSTILE_MB = (25, 100)
HOSTILE_BEFORE_MB = {25: 268, 100: 1064}
"""Peak RSS growth refusing the same answers before every element was released (dd72915)."""


def hostile(mb: int) -> dict[str, Any]:
    tests = Path(__file__).resolve().parents[1] / "tests"
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(tests), str(tests.parent / "src")])}
    done = subprocess.run(
        [sys.executable, "-m", "support.bloated_answer", "--mb", str(mb)], capture_output=True, text=True, env=env, check=True
    )
    result: dict[str, Any] = json.loads(done.stdout.strip().splitlines()[-1])
    return result


def hostile_table() -> Table:
    rows = []
    for mb in HOSTILE_MB:
        r = hostile(mb)
        rows.append(
            {"mb": r["answer_mb"], "before": HOSTILE_BEFORE_MB[mb], "after": r["growth_mb"], "refused": "yes" if r["error"] else "NO"}
        )
    return table(
        "GIS ZhKH hostile answer: a Fault whose detail holds millions of small elements, schema-invalid only at its end",
        [
            ("mb", "answer MB", ".0f"),
            ("before", "RSS growth before MB", ".0f"),
            ("after", "RSS growth now MB", ".1f"),
            ("refused", "refused", ""),
        ],
        rows,
        ["peak RSS growth (/proc VmHWM) of the real client refusing it over loopback HTTP; fresh process per size."],
    )


SIZES = {"quick": 6_000, "region": 60_000, "country": 300_000}
"""Buildings in the world whose licences are asked for in one message (3,000 per licensee by default)."""
LABELS = {
    "lxml": "bare lxml parse (tree only)",
    "domchat": "domchat streaming + XSD",
    "batches": "domchat, records handed over in batches",
    "zeep": "zeep deserialize",
}


def measure(buildings: int, per_org: int) -> dict[str, Any]:
    """Capture one answer, then decode it once per method, each in a fresh process."""
    with tempfile.TemporaryDirectory() as tmp:
        answer = Path(tmp) / "answer.xml"
        houses = capture(buildings, per_org, answer)
        size_mb = answer.stat().st_size / 1e6
        results = {}
        for method in METHODS:
            done = subprocess.run([sys.executable, __file__, "--one", method, str(answer)], capture_output=True, text=True, check=True)
            results[method] = json.loads(done.stdout.strip().splitlines()[-1])
    return {"buildings": buildings, "per_org": per_org, "size_mb": size_mb, "houses": houses, "results": results}


def tables(m: dict[str, Any]) -> list[Table]:
    res = m["results"]
    rows = [
        {
            "method": LABELS[method],
            "seconds": r["seconds"],
            "mb_s": m["size_mb"] / r["seconds"],
            "x_lxml": r["seconds"] / res["lxml"]["seconds"],
            "x_domchat": r["seconds"] / res["domchat"]["seconds"],
            "peak_mb": r["peak_mb"],
            "growth_mb": r["growth_mb"],
            "growth_x": r["growth_mb"] / max(res["domchat"]["growth_mb"], 1),
            "houses": r["houses"],
        }
        for method, r in res.items()
    ]
    return [
        table(
            f"GIS ZhKH decode: one exportActualLicenseState answer, {m['size_mb']:.1f} MB, {m['houses']:,} houses",
            [
                ("method", "method", ""),
                ("seconds", "seconds", ".2f"),
                ("mb_s", "MB/s", ".1f"),
                ("x_lxml", "time ÷ lxml", ".1f"),
                ("x_domchat", "time ÷ domchat", ".1f"),
                ("peak_mb", "peak RSS MB", ".0f"),
                ("growth_mb", "RSS growth MB", ".0f"),
                ("growth_x", "growth ÷ domchat", ".1f"),
                ("houses", "houses", ","),
            ],
            rows,
            [
                f"world of {m['buildings']:,} buildings, {m['per_org']:,} per licensee; each method in a fresh process"
                " (peak RSS from /proc VmHWM).",
            ],
        )
    ]


def run(scale: str) -> list[Table]:
    structlog.configure(wrapper_class=structlog.make_filtering_bound_logger(logging.WARNING))
    return [*tables(measure(SIZES[scale], 3_000)), hostile_table()]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--buildings", type=int, default=60_000)
    parser.add_argument("--per-org", type=int, default=3_000, help="buildings per licensee (houses per licence)")
    parser.add_argument("--one", nargs=2, metavar=("METHOD", "FILE"), help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.one:
        print(json.dumps(decode(args.one[0], Path(args.one[1]))))
        return
    m = measure(args.buildings, args.per_org)
    print(render(tables(m)[0]))
    print(render(hostile_table()))
    res = m["results"]
    print(
        f"domchat vs zeep: {res['zeep']['seconds'] / res['domchat']['seconds']:.1f}x faster, "
        f"{res['zeep']['growth_mb'] / max(res['domchat']['growth_mb'], 1):.1f}x less memory growth"
    )


if __name__ == "__main__":
    main()
