"""Regenerate the shareable map layers (same service as ``geo-app layers build``).

    python scripts/regenerate_layers.py --out build/layers [--date 2024-11-27] [--window-days 60]
        [--incident-window-days 30] [--set KEY=VALUE ...] [--lang id|en] [--force]

Writes the overview and every kecamatan map as standalone HTML (assets beside them), the coverage
tables as CSV and GeoJSON and manifest.json; skips the work when data and settings are unchanged.
Settings come from the GEO_APP_* environment variables like the app's.
"""

from __future__ import annotations

import argparse
import sys


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", required=True)
    parser.add_argument("--date")
    parser.add_argument("--window-days")
    parser.add_argument("--incident-window-days")
    parser.add_argument("--set", dest="extra", action="append", default=[], metavar="KEY=VALUE")
    parser.add_argument("--lang", choices=["id", "en"], default="id")
    parser.add_argument("--force", action="store_true")
    args = parser.parse_args(argv)

    import click

    from geo_app import create_app
    from geo_app.errors import GeoAppError
    from geo_app.services.layers_build import run_build

    app = create_app()
    try:
        report = run_build(
            app,
            args.out,
            {"date": args.date, "window_days": args.window_days, "incident_window_days": args.incident_window_days},
            args.extra,
            lang=args.lang,
            force=args.force,
            progress=click.progressbar,
        )
    except GeoAppError as exc:
        print(f"Error: {exc.message}", file=sys.stderr)
        return 1
    for line in report.lines():
        print(line)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
