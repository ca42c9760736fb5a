"""Benchmark of record imports and the demo load (issue 3). Not a test: it prints figures.

Builds a temporary SQLite database with the real boundaries (GEO_APP_BOUNDARY_SOURCE), then times:

* ``load_demo`` on an empty database and again (everything unchanged);
* ``import_records`` of a generated TPS file (semicolon CSV with BOM, decimal commas, a point per
  row inside its desa): first import, re-import (all unchanged) and a dry run.

    GEO_APP_BOUNDARY_SOURCE=../shared/data/wilayah_boundaries python scripts/bench_import.py [--per-desa 20]
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
import time
from pathlib import Path

import numpy as np


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--per-desa", type=int, default=20, help="TPS rows per desa in the generated file")
    args = parser.parse_args()
    source = os.environ.get("GEO_APP_BOUNDARY_SOURCE")
    if not source:
        print("set GEO_APP_BOUNDARY_SOURCE (e.g. ../shared/data/wilayah_boundaries)", file=sys.stderr)
        return 2

    from geo_app import create_app
    from geo_app.app_db import get_session
    from geo_app.services.boundaries import import_boundaries
    from geo_app.services.demo import PointSampler, load_demo
    from geo_app.services.records_import import import_records
    from geo_app.store.adapter import desa_frame

    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        app = create_app(
            {
                "DATABASE_URL": f"sqlite:///{root / 'bench.sqlite'}",
                "SHAPEFILE_DIR": str(root / "shp"),
                "BOUNDARY_SOURCE": source,
            }
        )
        with app.app_context():
            session, settings = get_session(), app.config["GEO_APP_SETTINGS"]
            import_boundaries(session, settings)

            def timed(label: str, fn) -> None:
                start = time.perf_counter()
                out = fn()
                print(f"{label:<42} {time.perf_counter() - start:7.2f} s   {out}")

            timed(
                "demo load (empty database)",
                lambda: {k: v["inserted"] for k, v in load_demo(session, settings).items()},
            )
            timed(
                "demo load again (all unchanged)",
                lambda: {k: v["unchanged"] for k, v in load_demo(session, settings).items()},
            )

            desa = desa_frame(session)
            sampler = PointSampler(desa, np.random.default_rng(1))
            lines = ["kode_desa;no_tps;jumlah_dpt;lintang;bujur"]
            for code in desa["code"]:
                for n, (lon, lat) in enumerate(sampler.points(code, args.per_desa), start=101):
                    comma_lat, comma_lon = str(lat).replace(".", ","), str(lon).replace(".", ",")  # decimal commas
                    lines.append(f"{code};{n};{300 + n % 200};{comma_lat};{comma_lon}")
            path = root / "tps.csv"
            path.write_text("\n".join(lines) + "\n", encoding="utf-8-sig")
            rows = len(lines) - 1
            timed(f"import {rows} TPS rows", lambda: import_records(session, settings, "tps", path).inserted)
            timed(
                f"re-import {rows} TPS rows (unchanged)",
                lambda: import_records(session, settings, "tps", path).unchanged,
            )
            timed(
                f"dry run {rows} TPS rows",
                lambda: import_records(session, settings, "tps", path, dry_run=True).unchanged,
            )
        app.extensions["geo_app.engine"].dispose()
    return 0


if __name__ == "__main__":
    sys.exit(main())
