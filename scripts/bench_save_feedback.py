"""What saying "which desa changed coverage status" costs a save (issue 12). Not a test: it prints figures.

Builds a SQLite database with the real boundaries (GEO_APP_BOUNDARY_SOURCE) and the demo set, then
times ``POST /api/meetings`` through the Flask test client, ``--runs`` times each:

* the record write alone (``services.records.create_record``), no coverage;
* the API answer with ``coverage_changes`` while the coverage cache is warm (someone looked at the
  dashboard since the last write: the "before" is a cache hit, the "after" one computation that the
  next page view then reuses);
* the same with a cold cache (two computations).

    GEO_APP_BOUNDARY_SOURCE=../shared/data/wilayah_boundaries python scripts/bench_save_feedback.py [--runs 5]
"""

from __future__ import annotations

import argparse
import os
import statistics
import tempfile
import time
from datetime import date, timedelta
from pathlib import Path


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=5)
    args = parser.parse_args()

    from geo_app import create_app
    from geo_app.app_db import get_session
    from geo_app.services.boundaries import import_boundaries
    from geo_app.services.demo import load_demo
    from geo_app.services.records import create_record
    from geo_app.services.users import create_user
    from geo_app.store.adapter import desa_frame

    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        app = create_app(
            {
                "DATABASE_URL": f"sqlite:///{root / 'bench.sqlite'}",
                "SHAPEFILE_DIR": str(root / "shp"),
                "BOUNDARY_SOURCE": os.environ["GEO_APP_BOUNDARY_SOURCE"],
                "SECRET_KEY": "bench",
                "CSRF_ENABLED": False,
            }
        )
        with app.app_context():
            session = get_session()
            import_boundaries(session, app.config["GEO_APP_SETTINGS"])
            load_demo(session, app.config["GEO_APP_SETTINGS"])
            user = create_user(session, "bench", "bench-password-123", "admin")
            codes = list(desa_frame(session)["code"])
        client = app.test_client()
        with client.session_transaction() as sess:
            sess["user_id"], sess["session_version"] = user["id"], user.get("session_version", 0)
        day = date(2024, 11, 26)
        n = 0

        def body() -> dict:
            nonlocal n
            n += 1
            return {
                "title": f"Rakor {n}",
                "date": (day - timedelta(days=n % 50)).isoformat(),
                "level": "desa",
                "desa_code": codes[n % len(codes)],
            }

        def timed(fn) -> float:
            start = time.perf_counter()
            out = fn()
            elapsed = time.perf_counter() - start
            if hasattr(out, "status_code"):
                assert out.status_code == 201 and "coverage_changes" in out.json, out.json
            return elapsed

        alone, warm, cold = [], [], []
        for _ in range(args.runs):
            with app.app_context():
                alone.append(
                    timed(
                        lambda: create_record(
                            get_session(), app.config["GEO_APP_SETTINGS"], "meetings", body(), actor="bench"
                        )
                    )
                )
            client.get("/api/coverage")  # warm: a page view since the last write filled the app's cache
            warm.append(timed(lambda: client.post("/api/meetings", json=body())))
            app.extensions.pop("geo_app.coverage_cache", None)
            cold.append(timed(lambda: client.post("/api/meetings", json=body())))

        def ms(values: list[float]) -> str:
            return f"median {statistics.median(values) * 1000:7.1f} ms  (min {min(values) * 1000:.1f}, max {max(values) * 1000:.1f})"

        print(f"runs: {args.runs}, demo set, {len(codes)} desa")
        print(f"write alone (service)                 {ms(alone)}")
        print(f"API with coverage_changes, warm cache {ms(warm)}")
        print(f"API with coverage_changes, cold cache {ms(cold)}")


if __name__ == "__main__":
    main()
