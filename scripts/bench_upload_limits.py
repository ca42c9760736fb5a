"""Benchmark of hostile and oversized record files (upload limits). Not a test: it prints figures.

Each case runs in a child process (address space limited by ``--memory-gb``, wall time by
``--timeout``) and reports its outcome, wall time and peak resident memory:

* ``xlsx-dimension``: a 5 KB XLSX whose sheet claims ``A1:XFD6000`` (a blank cell in row 6000);
* ``xlsx-dimension-full``: the same claiming ``A1:XFD1048576`` (a blank cell in the last row);
* ``xlsx-shared-strings``: a zip-bombed shared-strings table (one 200 MB string);
* ``xlsx-wide-row``: one sheet row of millions of empty cells (compresses about 1000:1);
* ``xlsx-rows``: an honest workbook of 100,000 incident rows (the cost of the zip-bomb check), read only;
* ``csv-blank-lines``: a header, one row and 15 MB of blank lines;
* ``csv-long-field``: one 20 MB field;
* ``csv-rows``: ``--rows`` incident rows (350,000 by default), read only;
* ``csv-rows-dry-run``: the same through ``import_records(dry_run=True)`` on a database with the
  real boundaries (GEO_APP_BOUNDARY_SOURCE);
* ``geojson-deep``: a FeatureCollection nested 100,000 deep;
* ``geojson-many``: 20 MB of tiny features.

    GEO_APP_BOUNDARY_SOURCE=../shared/data/wilayah_boundaries python scripts/bench_upload_limits.py [CASE ...]
"""

from __future__ import annotations

import argparse
import io
import json
import os
import resource
import subprocess
import sys
import tempfile
import time
import zipfile
from pathlib import Path

CASES = (
    "xlsx-dimension",
    "xlsx-dimension-full",
    "xlsx-shared-strings",
    "xlsx-wide-row",
    "xlsx-rows",
    "csv-blank-lines",
    "csv-long-field",
    "csv-rows",
    "csv-rows-dry-run",
    "geojson-deep",
    "geojson-many",
)


def _xlsx(rows: list[list[object]], edit=None, last_row: int | None = None) -> bytes:
    """A workbook written by openpyxl (with a blank-looking cell at ``last_row``), members edited in the zip."""
    import openpyxl

    book = openpyxl.Workbook()
    for row in rows:
        book.active.append(row)
    if last_row:
        book.active.cell(row=last_row, column=1, value=" ")
    raw = io.BytesIO()
    book.save(raw)
    out = io.BytesIO()
    with zipfile.ZipFile(raw) as src, zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as dst:
        for info in src.infolist():
            data = src.read(info.filename)
            if edit:
                data = edit(info.filename, data)
            dst.writestr(info.filename, data, compress_type=zipfile.ZIP_DEFLATED, compresslevel=9)
    return out.getvalue()


def _dimension(ref: str):
    import re

    def edit(member: str, data: bytes) -> bytes:
        if member == "xl/worksheets/sheet1.xml":
            return re.sub(rb'<dimension ref="[^"]*"', f'<dimension ref="{ref}"'.encode(), data)
        return data

    return edit


TPS_HEADER = ["kode_desa", "no_tps", "jumlah_dpt"]


def build(case: str, rows: int) -> tuple[bytes, str, str]:
    """(file content, file name, kind)."""
    if case == "xlsx-dimension":
        return (
            _xlsx([TPS_HEADER, ["17.06.10.2001", 1, 300]], edit=_dimension("A1:XFD6000"), last_row=6000),
            "tps.xlsx",
            "tps",
        )
    if case == "xlsx-dimension-full":
        return (
            _xlsx([TPS_HEADER, ["17.06.10.2001", 1, 300]], edit=_dimension("A1:XFD1048576"), last_row=1_048_576),
            "tps.xlsx",
            "tps",
        )
    if case == "xlsx-shared-strings":
        sst = (
            '<sst xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main" count="1" '
            'uniqueCount="1"><si><t>' + "A" * 200_000_000 + "</t></si></sst>"
        ).encode()
        override = (
            b'<Override PartName="/xl/sharedStrings.xml" ContentType="application/vnd.openxmlformats-'
            b'officedocument.spreadsheetml.sharedStrings+xml" /></Types>'
        )

        def edit(member: str, data: bytes) -> bytes:
            if member == "[Content_Types].xml":
                return data.replace(b"</Types>", override)
            if member == "xl/worksheets/sheet1.xml":
                return data.replace(
                    b"</row></sheetData>", b'</row><row r="3"><c r="A3" t="s"><v>0</v></c></row></sheetData>'
                )
            return data

        book = _xlsx([TPS_HEADER, ["17.06.10.2001", 1, 300]], edit=edit)
        out = io.BytesIO(book)
        with zipfile.ZipFile(out, "a", zipfile.ZIP_DEFLATED) as z:
            z.writestr("xl/sharedStrings.xml", sst, compresslevel=9)
        return out.getvalue(), "tps.xlsx", "tps"
    if case == "xlsx-wide-row":

        def edit(member: str, data: bytes) -> bytes:
            if member == "xl/worksheets/sheet1.xml":
                return data.replace(b"</row>", b"<c/>" * 20_000_000 + b"</row>", 1)
            return data

        return _xlsx([TPS_HEADER, ["17.06.10.2001", 1, 300]], edit=edit), "tps.xlsx", "tps"
    if case == "xlsx-rows":
        import openpyxl

        book = openpyxl.Workbook(write_only=True)
        sheet = book.create_sheet("Insiden")
        sheet.append(["kode_desa", "waktu_kejadian", "kategori", "keparahan", "uraian"])
        for n in range(1, 100_001):
            sheet.append(["17.06.10.2001", "01/11/2024 10:00", "APK", "rendah", f"baliho {n}"])
        out = io.BytesIO()
        book.save(out)
        return out.getvalue(), "insiden.xlsx", "incidents"
    if case == "csv-blank-lines":
        return b"kode_desa;no_tps;jumlah_dpt\n17.06.10.2001;1;300\n" + b"\n" * 15_000_000, "tps.csv", "tps"
    if case == "csv-long-field":
        return b"kode_desa;no_tps;jumlah_dpt\n17.06.10.2001;1;" + b"9" * 20_000_000 + b"\n", "tps.csv", "tps"
    if case in ("csv-rows", "csv-rows-dry-run"):
        lines = ["kode_desa;waktu_kejadian;kategori;keparahan;uraian"]
        lines += [f"17.06.10.2001;01/11/2024 10:00;APK;rendah;baliho {n}" for n in range(1, rows + 1)]
        return ("\n".join(lines) + "\n").encode(), "insiden.csv", "incidents"
    if case == "geojson-deep":
        return (
            b'{"type":"FeatureCollection","features":[' + b"[" * 100_000 + b"]" * 100_000 + b"]}",
            "tps.geojson",
            "tps",
        )
    if case == "geojson-many":
        n = 20_000_000 // 3
        return b'{"type":"FeatureCollection","features":[' + b"{}," * (n - 1) + b"{}]}", "tps.geojson", "tps"
    raise SystemExit(f"unknown case {case}")


def child(case: str, path: Path, kind: str) -> None:
    """Run one case on the file the parent built and print a JSON line."""
    from geo_app.errors import GeoAppError
    from geo_app.ingest.records_file import read_records_file

    data, name = path.read_bytes(), path.name
    start = time.perf_counter()
    try:
        if case == "csv-rows-dry-run":
            from geo_app import create_app
            from geo_app.app_db import get_session
            from geo_app.services.boundaries import import_boundaries
            from geo_app.services.records_import import import_records

            with tempfile.TemporaryDirectory() as tmp:
                app = create_app(
                    {
                        "DATABASE_URL": f"sqlite:///{Path(tmp) / 'bench.sqlite'}",
                        "SHAPEFILE_DIR": str(Path(tmp) / "shp"),
                        "BOUNDARY_SOURCE": os.environ["GEO_APP_BOUNDARY_SOURCE"],
                    }
                )
                with app.app_context():
                    import_boundaries(get_session(), app.config["GEO_APP_SETTINGS"])
                    start = time.perf_counter()
                    result = import_records(
                        get_session(), app.config["GEO_APP_SETTINGS"], kind, data, name, dry_run=True, skip_invalid=True
                    )
                    outcome = f"dry run: {result.inserted} new, {result.rejected} rejected"
                app.extensions["geo_app.engine"].dispose()
        else:
            table = read_records_file(data, name, kind)
            outcome = f"read {len(table)} rows"
    except GeoAppError as exc:
        outcome = f"{type(exc).__name__}: {exc.message[:150]}"
    except MemoryError:
        outcome = "MemoryError"
    except RecursionError:
        outcome = "RecursionError"
    elapsed = time.perf_counter() - start
    peak_mb = _peak_rss_mb()
    print(
        json.dumps(
            {
                "case": case,
                "bytes": len(data),
                "seconds": round(elapsed, 2),
                "peak_mb": round(peak_mb),
                "outcome": outcome,
            }
        )
    )


def _peak_rss_mb() -> float:
    """This process's peak resident memory (VmHWM: unlike ru_maxrss, not inherited from the parent)."""
    with open("/proc/self/status") as status:
        for line in status:
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) / 1024
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("cases", nargs="*", default=list(CASES), help=f"any of {', '.join(CASES)}")
    parser.add_argument("--rows", type=int, default=350_000, help="rows in the csv-rows cases")
    parser.add_argument("--memory-gb", type=float, default=6.0, help="address-space limit of each case")
    parser.add_argument("--timeout", type=float, default=600.0, help="seconds before a case is stopped")
    parser.add_argument("--child", nargs=3, help=argparse.SUPPRESS)  # case, file, kind
    args = parser.parse_args()
    if args.child:
        limit = int(args.memory_gb * 1024**3)
        resource.setrlimit(resource.RLIMIT_AS, (limit, limit))
        child(args.child[0], Path(args.child[1]), args.child[2])
        return 0
    for case in args.cases:
        if case not in CASES:
            parser.error(f"unknown case {case}")
    tmp = tempfile.TemporaryDirectory()
    for case in args.cases:
        data, name, kind = build(case, args.rows)
        path = Path(tmp.name) / case / name
        path.parent.mkdir()
        path.write_bytes(data)
        del data
        cmd = [sys.executable, __file__, "--child", case, str(path), kind, "--memory-gb", str(args.memory_gb)]
        start = time.perf_counter()
        try:
            proc = subprocess.run(cmd, capture_output=True, text=True, timeout=args.timeout)
        except subprocess.TimeoutExpired:
            print(f"{case:<22} stopped after {args.timeout:.0f} s")
            continue
        lines = [line for line in proc.stdout.splitlines() if line.startswith("{")]
        if not lines:
            tail = (proc.stderr.strip().splitlines() or ["?"])[-1]
            print(f"{case:<22} failed after {time.perf_counter() - start:.1f} s (exit {proc.returncode}): {tail}")
            continue
        r = json.loads(lines[-1])
        print(
            f"{case:<22} {r['bytes'] / 1024:>9.1f} KB {r['seconds']:>8.2f} s {r['peak_mb']:>7} MB peak   {r['outcome']}"
        )
    tmp.cleanup()
    return 0


if __name__ == "__main__":
    sys.exit(main())
