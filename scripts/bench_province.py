"""Benchmark of the province of Bengkulu (issue 14). Not a test: it prints figures.

On a new SQLite database, with the boundaries from GEO_APP_BOUNDARY_SOURCE (the shared mirror):

* ``fetch``: copy the twelve files of province 17 into an empty cache;
* ``prepare``: parse the ten desa files and build the boundary set (validation, repair, dissolve,
  measures, the upstream outline check), no database;
* ``import``: ``GEO_APP_KABUPATEN=17 geo-app boundaries import`` as the service runs it (files cached),
  then the same import again (nothing changes), and ``GEO_APP_KABUPATEN=17.06`` for comparison;
* ``demo --province 17``: the demo load (3,452 TPS), then again (nothing changes).

Times are seconds of the work (imports and app creation excluded), the best of ``--runs``: wall clock,
and this process's CPU time beside it (on a shared machine the CPU time is the steadier figure).

    GEO_APP_BOUNDARY_SOURCE=../shared/data/wilayah_boundaries python scripts/bench_province.py [--runs 3]
"""

from __future__ import annotations

import argparse
import os
import tempfile
import time
from pathlib import Path


def _app(db: Path, cache: Path, kabupaten: str):
    from geo_app import create_app

    return create_app(
        {
            "DATABASE_URL": f"sqlite:///{db}",
            "SHAPEFILE_DIR": str(cache),
            "BOUNDARY_SOURCE": os.environ["GEO_APP_BOUNDARY_SOURCE"],
            "KABUPATEN": kabupaten,
        }
    )


def _timed(fn) -> tuple[tuple[float, float], object]:
    start, cpu = time.perf_counter(), time.process_time()
    result = fn()
    return (time.perf_counter() - start, time.process_time() - cpu), result


def run_once(root: Path) -> dict[str, tuple[float, float]]:
    from geo_app.app_db import get_session
    from geo_app.ingest.fetch import fetch_boundaries
    from geo_app.services import boundaries as boundary_service
    from geo_app.services.demo import load_demo

    source = os.environ["GEO_APP_BOUNDARY_SOURCE"]
    cache = root / "cache"
    out: dict[str, tuple[float, float]] = {}
    out["fetch (copy 12 files)"], _ = _timed(lambda: fetch_boundaries(source, cache, "17"))
    province = _app(root / "province.sqlite", cache, "17")
    settings = province.config["GEO_APP_SETTINGS"]
    out["prepare (parse, validate, dissolve)"], _ = _timed(lambda: boundary_service.load_upstream(settings, "17"))
    with province.app_context():
        session = get_session()
        out["import province, first"], first = _timed(lambda: boundary_service.import_boundaries(session, settings))
        out["import province, again"], again = _timed(lambda: boundary_service.import_boundaries(session, settings))
        assert not again.counts.changed, again.lines()
        out["demo --province 17, first"], _ = _timed(lambda: load_demo(session, settings, province="17"))
        out["demo --province 17, again"], _ = _timed(lambda: load_demo(session, settings, province="17"))
    province.extensions["geo_app.engine"].dispose()
    single = _app(root / "single.sqlite", cache, "17.06")
    with single.app_context():
        session = get_session()
        out["import 17.06 only, first"], _ = _timed(
            lambda: boundary_service.import_boundaries(session, single.config["GEO_APP_SETTINGS"])
        )
    single.extensions["geo_app.engine"].dispose()
    print(f"imported {first.counts.inserted}")
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=3)
    args = parser.parse_args()
    if not os.environ.get("GEO_APP_BOUNDARY_SOURCE"):
        raise SystemExit("set GEO_APP_BOUNDARY_SOURCE to the wilayah_boundaries mirror")
    best: dict[str, tuple[float, float]] = {}
    for _ in range(args.runs):
        with tempfile.TemporaryDirectory(prefix="bench-province-") as tmp:
            for key, (wall, cpu) in run_once(Path(tmp)).items():
                old = best.get(key, (wall, cpu))
                best[key] = (min(old[0], wall), min(old[1], cpu))
    print(f"province 17 (best of {args.runs}, {os.cpu_count()} cores, load {os.getloadavg()[0]:.1f}, SQLite)")
    print(f"  {'':<38} {'wall':>8}   {'cpu':>8}")
    for key, (wall, cpu) in best.items():
        print(f"  {key:<38} {wall:>8.2f} s {cpu:>8.2f} s")


if __name__ == "__main__":
    main()
