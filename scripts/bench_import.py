"""Benchmark of record imports at election-week scale (issue 11). Not a test: it prints figures.

Generates ``--count`` (default 100,000) synthetic incidents with points (``services/synthetic.py``:
deterministic, every point inside its desa, marked synthetic), writes them as the semicolon CSV
staff keep, builds a SQLite database with the real boundaries (GEO_APP_BOUNDARY_SOURCE) and measures,
each in its own child process on its own copy of the database (so one run's memory does not
inflate the next one's figure):

* the **floor**: read the CSV with pandas, place every point with one ``geopandas.sjoin``, insert the
  rows with the driver's ``executemany`` into SQLite; nothing is validated, nothing is audited;
* ``import_records`` of the same file (validation, placement by the full rule, duplicate checks,
  audit entries, one transaction), then the same file again (everything unchanged) and a dry run.

Time is the wall-clock and CPU (user + system) time of the work (interpreter start, imports and app
creation excluded); memory is the child's peak resident size (VmHWM), libraries included. Budget
(issue 11): the import within 8x the floor's time (judged on CPU time, which the load of other
processes does not move; the wall-clock ratio is printed beside it) and 600 MB. ``--small`` adds the older figures (demo load, 3,000 TPS rows).

    GEO_APP_BOUNDARY_SOURCE=../shared/data/wilayah_boundaries python scripts/bench_import.py [--count 100000]
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

TIME_BUDGET = 8.0  # x the floor
MEMORY_BUDGET_MB = 600.0


def _cpu() -> float:
    """CPU seconds (user + system) this process has used."""
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


def _peak_mb() -> float:
    """This process's peak resident size: VmHWM (``ru_maxrss`` would carry the parent's peak over exec)."""
    try:
        with open("/proc/self/status") as status:
            return next(int(line.split()[1]) for line in status if line.startswith("VmHWM:")) / 1024
    except (OSError, StopIteration):  # not Linux
        return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def _app(db: Path, root: Path):
    from geo_app import create_app

    return create_app(
        {
            "DATABASE_URL": f"sqlite:///{db}",
            "SHAPEFILE_DIR": str(root / "shp"),
            "BOUNDARY_SOURCE": os.environ["GEO_APP_BOUNDARY_SOURCE"],
        }
    )


# --- child processes: one measurement each ------------------------------------------------------------


def child_floor(db: Path, csv_path: Path) -> dict:
    """Read with pandas, one sjoin, executemany into SQLite (the incident table, raw sqlite3)."""
    import sqlite3
    from datetime import UTC, datetime

    import geopandas as gpd
    import pandas as pd
    import shapely

    base = _peak_mb()
    start, cpu = time.perf_counter(), _cpu()
    frame = pd.read_csv(csv_path, sep=";", dtype=str, keep_default_na=False)
    con = sqlite3.connect(db)
    desa_rows = con.execute("SELECT code, geometry FROM desa").fetchall()
    desa = gpd.GeoDataFrame(
        {"code": [r[0] for r in desa_rows]}, geometry=shapely.from_wkb([r[1] for r in desa_rows]), crs="EPSG:4326"
    )
    points = gpd.GeoDataFrame(
        geometry=gpd.points_from_xy(frame["bujur"].astype(float), frame["lintang"].astype(float)), crs="EPSG:4326"
    )
    placed = gpd.sjoin(points, desa, how="left", predicate="intersects")
    placed = placed[~placed.index.duplicated()]
    now = datetime.now(UTC).strftime("%Y-%m-%d %H:%M:%S.%f")
    occurred = pd.to_datetime(frame["waktu_kejadian"], format="%d/%m/%Y %H:%M").dt.strftime("%Y-%m-%d %H:%M:%S.%f")
    rows = list(
        zip(
            frame["id"],
            frame["id"],  # content_hash must be unique
            occurred,
            frame["kategori"],
            frame["keparahan"],
            frame["status"],
            placed["code"],
            frame["uraian"],
            frame["sumber"],
            points.geometry.x,
            points.geometry.y,
            placed["code"],
            frame["catatan"],
            [now] * len(frame),
        )
    )
    con.executemany(
        "INSERT INTO incident (external_id, content_hash, occurred_at, category, severity, status, desa_code, "
        "description, source, lon, lat, point_desa_code, location_mismatch, placement, synthetic, notes, "
        "created_at, updated_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, 0, 'inside', 1, ?, ?, ?)",
        [(*r, r[-1]) for r in rows],
    )
    con.commit()
    count = con.execute("SELECT count(*) FROM incident").fetchone()[0]
    con.close()
    return {
        "seconds": time.perf_counter() - start,
        "cpu": _cpu() - cpu,
        "peak_mb": _peak_mb(),
        "base_mb": base,
        "rows": count,
    }


def child_import(db: Path, csv_path: Path, root: Path, repeat: bool) -> dict:
    """``import_records`` of the file; with ``repeat``, also again (unchanged) and a dry run."""
    from geo_app.app_db import get_session
    from geo_app.services.records_import import import_records

    app = _app(db, root)
    out: dict = {}
    with app.app_context():
        session, settings = get_session(), app.config["GEO_APP_SETTINGS"]
        base = _peak_mb()
        start, cpu = time.perf_counter(), _cpu()
        result = import_records(session, settings, "incidents", csv_path, actor="bench")
        out.update(
            seconds=time.perf_counter() - start,
            cpu=_cpu() - cpu,
            peak_mb=_peak_mb(),
            base_mb=base,
            rows=result.inserted,
        )
        if repeat:
            start = time.perf_counter()
            again = import_records(session, settings, "incidents", csv_path, actor="bench")
            out.update(again_seconds=time.perf_counter() - start, again_unchanged=again.unchanged)
            start = time.perf_counter()
            dry = import_records(session, settings, "incidents", csv_path, dry_run=True)
            out.update(dry_seconds=time.perf_counter() - start, dry_unchanged=dry.unchanged)
            out["peak_after_mb"] = _peak_mb()
    app.extensions["geo_app.engine"].dispose()
    return out


def _run_child(*args: str) -> dict:
    proc = subprocess.run(
        [sys.executable, __file__, "--child", *args], capture_output=True, text=True, env=os.environ, check=False
    )
    if proc.returncode != 0:
        raise SystemExit(f"child {args[0]} failed:\n{proc.stderr[-3000:]}")
    return json.loads(proc.stdout.strip().splitlines()[-1])


# --- the run ----------------------------------------------------------------------------------------------


def _prepare(root: Path, count: int, seed: int) -> tuple[Path, Path]:
    """A database with the boundaries and the CSV of ``count`` synthetic incidents."""
    from geo_app.app_db import get_session
    from geo_app.services.boundaries import import_boundaries
    from geo_app.services.synthetic import synthetic_incidents, write_incidents_csv
    from geo_app.store.adapter import desa_frame

    db = root / "boundaries.sqlite"
    app = _app(db, root)
    with app.app_context():
        session = get_session()
        import_boundaries(session, app.config["GEO_APP_SETTINGS"])
        desa = desa_frame(session)
    app.extensions["geo_app.engine"].dispose()
    import sqlite3

    con = sqlite3.connect(db)  # one file to copy: the WAL folded in
    con.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    con.execute("PRAGMA journal_mode=DELETE")
    con.close()
    start = time.perf_counter()
    frame = synthetic_incidents(desa, count, seed)
    csv_path = write_incidents_csv(frame, root / f"insiden-{count}.csv")
    size = csv_path.stat().st_size / 2**20
    print(f"generated {count:,} incidents in {time.perf_counter() - start:.1f} s: {csv_path.name}, {size:.1f} MB")
    return db, csv_path


def _copy(db: Path, name: str) -> Path:
    target = db.with_name(name)
    shutil.copy(db, target)
    return target


def _small(root: Path, db: Path) -> None:
    """The figures of issue 3: demo load, and 3,000 TPS rows (first import, unchanged, dry run)."""
    import numpy as np

    from geo_app.app_db import get_session
    from geo_app.services.demo import PointSampler, load_demo
    from geo_app.services.records_import import import_records
    from geo_app.store.adapter import desa_frame

    app = _app(_copy(db, "small.sqlite"), root)
    with app.app_context():
        session, settings = get_session(), app.config["GEO_APP_SETTINGS"]

        def timed(label: str, fn) -> None:
            start = time.perf_counter()
            out = fn()
            print(f"  {label:<40} {time.perf_counter() - start:7.2f} s   {out}")

        timed("demo load (empty database)", lambda: {k: v["inserted"] for k, v in load_demo(session, settings).items()})
        timed("demo load again", lambda: {k: v["unchanged"] for k, v in load_demo(session, settings).items()})
        desa = desa_frame(session)
        sampler = PointSampler(desa, np.random.default_rng(1))
        lines = ["kode_desa;no_tps;jumlah_dpt;lintang;bujur"]
        for code in desa["code"]:
            for n, (lon, lat) in enumerate(sampler.points(code, 20), start=101):
                lines.append(f"{code};{n};{300 + n % 200};{str(lat).replace('.', ',')};{str(lon).replace('.', ',')}")
        path = root / "tps.csv"
        path.write_text("\n".join(lines) + "\n", encoding="utf-8-sig")
        rows = len(lines) - 1
        timed(f"import {rows} TPS rows", lambda: import_records(session, settings, "tps", path).inserted)
        timed(f"re-import {rows} TPS rows", lambda: import_records(session, settings, "tps", path).unchanged)
        timed(
            f"dry run {rows} TPS rows", lambda: import_records(session, settings, "tps", path, dry_run=True).unchanged
        )
    app.extensions["geo_app.engine"].dispose()


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--count", type=int, default=100_000, help="synthetic incidents in the file")
    parser.add_argument("--seed", type=int, default=2024)
    parser.add_argument("--small", action="store_true", help="also the demo load and 3,000 TPS rows")
    parser.add_argument("--no-repeat", action="store_true", help="skip the re-import and the dry run")
    parser.add_argument("--child", nargs="+", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if not os.environ.get("GEO_APP_BOUNDARY_SOURCE"):
        print("set GEO_APP_BOUNDARY_SOURCE (e.g. ../shared/data/wilayah_boundaries)", file=sys.stderr)
        return 2
    if args.child:
        mode, *paths = args.child
        if mode == "floor":
            out = child_floor(Path(paths[0]), Path(paths[1]))
        else:
            out = child_import(Path(paths[0]), Path(paths[1]), Path(paths[2]), repeat=mode == "import-repeat")
        print(json.dumps(out))
        return 0

    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        db, csv_path = _prepare(root, args.count, args.seed)
        floor = _run_child("floor", str(_copy(db, "floor.sqlite")), str(csv_path))
        mode = "import" if args.no_repeat else "import-repeat"
        imp = _run_child(mode, str(_copy(db, "import.sqlite")), str(csv_path), str(root))
        n = args.count
        print(f"\n{n:,} incident rows with points, SQLite, {os.cpu_count()} cores, load {os.getloadavg()[0]:.1f}:")
        print(f"  {'':<50} {'wall':>8} {'CPU':>8} {'rows/s (wall)':>14} {'peak':>8}")

        def line(label: str, wall: float, cpu: float | None = None, peak: str = "") -> None:
            cpu_text = f"{cpu:7.2f}s" if cpu is not None else ""
            print(f"  {label:<50} {wall:7.2f}s {cpu_text:>8} {n / wall:14,.0f} {peak:>8}")

        line(
            "floor: pandas read_csv + one sjoin + executemany",
            floor["seconds"],
            floor["cpu"],
            f"{floor['peak_mb']:.0f} MB",
        )
        line("geo-app import incidents", imp["seconds"], imp["cpu"], f"{imp['peak_mb']:.0f} MB")
        if "again_seconds" in imp:
            line(f"the same file again ({imp['again_unchanged']:,} unchanged)", imp["again_seconds"])
            line("dry run", imp["dry_seconds"], peak=f"{imp['peak_after_mb']:.0f} MB")
        print(f"  (libraries alone: floor {floor['base_mb']:.0f} MB, app {imp['base_mb']:.0f} MB)")
        wall_ratio, cpu_ratio = imp["seconds"] / floor["seconds"], imp["cpu"] / floor["cpu"]
        time_ok, memory_ok = cpu_ratio <= TIME_BUDGET, imp["peak_mb"] <= MEMORY_BUDGET_MB
        print(
            f"\nbudget: time {cpu_ratio:.1f}x the floor in CPU time ({wall_ratio:.1f}x wall-clock) "
            f"(<= {TIME_BUDGET:g}x: {'met' if time_ok else 'NOT met'}), "
            f"peak memory {imp['peak_mb']:.0f} MB (<= {MEMORY_BUDGET_MB:g} MB: {'met' if memory_ok else 'NOT met'})"
        )
        print(
            "  (the budget is judged on CPU time: on a shared machine the wall-clock ratio moves with the other "
            "processes' load; on an idle one the two agree)"
        )
        if args.small:
            print("\nsmaller figures (in this process):")
            _small(root, db)
    return 0


if __name__ == "__main__":
    sys.exit(main())
