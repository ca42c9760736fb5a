"""What the A4 brief costs (issue 12). Not a test: it prints figures.

Builds a SQLite database with the real boundaries (GEO_APP_BOUNDARY_SOURCE) and the demo set, computes
the coverage once (cached, as the web app does), then times drawing the PDF of the kecamatan with the
most desa and of every kecamatan, and the print view's PNG of one kecamatan, ``--runs`` times each.
The web routes cache the PDFs per data version and settings: only the first request pays this.

    GEO_APP_BOUNDARY_SOURCE=../shared/data/wilayah_boundaries python scripts/bench_brief.py [--runs 3]
"""

from __future__ import annotations

import argparse
import io
import os
import statistics
import tempfile
import time
from pathlib import Path


def _time(fn, runs: int) -> tuple[float, object]:
    times, out = [], None
    for _ in range(runs):
        start = time.perf_counter()
        out = fn()
        times.append(time.perf_counter() - start)
    return statistics.median(times), out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=3)
    args = parser.parse_args()

    from geo_app import create_app
    from geo_app.app_db import get_session
    from geo_app.maps.brief import render_pdf
    from geo_app.services import brief as brief_service
    from geo_app.services import layers as layer_service
    from geo_app.services.boundaries import import_boundaries
    from geo_app.services.demo import load_demo

    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        app = create_app(
            {
                "DATABASE_URL": f"sqlite:///{root / 'bench.sqlite'}",
                "SHAPEFILE_DIR": str(root / "shp"),
                "BOUNDARY_SOURCE": os.environ["GEO_APP_BOUNDARY_SOURCE"],
                "SECRET_KEY": "bench",
            }
        )
        with app.app_context():
            session = get_session()
            import_boundaries(session, app.config["GEO_APP_SETTINGS"])
            load_demo(session, app.config["GEO_APP_SETTINGS"])
            _view, result = layer_service.load_view(session, {})
            code = str(result.kecamatan.sort_values("desa_count")["code"].iloc[-1])

            def one() -> tuple[bytes, int]:
                return render_pdf(brief_service.kecamatan_briefs(session, result, [code]))

            def every() -> tuple[bytes, int]:
                return render_pdf(brief_service.kecamatan_briefs(session, result))

            seconds, (pdf, pages) = _time(one, args.runs)
            print(f"brief of {code}: {seconds:.2f} s, {pages} page(s), {len(pdf) / 1024:.0f} KiB")
            seconds, (pdf, pages) = _time(every, args.runs)
            print(f"brief of every kecamatan: {seconds:.2f} s, {pages} pages, {len(pdf) / 1024:.0f} KiB")
            seconds, png = _time(lambda: brief_service.print_png(session, result, code), args.runs)
            from PIL import Image

            size = Image.open(io.BytesIO(png)).size
            print(f"print view map of {code}: {seconds:.2f} s, {size[0]}x{size[1]} px, {len(png) / 1024:.0f} KiB")
        app.extensions["geo_app.engine"].dispose()


if __name__ == "__main__":
    main()
