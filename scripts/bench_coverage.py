"""Benchmark of the coverage analysis (issue 4). Not a test: it prints figures.

Reads the real Mukomuko boundaries from GEO_APP_BOUNDARY_SOURCE (a local mirror folder or the
upstream URL) through the ingest code, with no database, then times:

* ``compute_coverage`` on (a) a demo-sized set (the real 151 desa, 327 TPS, 100 meetings,
  60 incidents) and (b) a synthetic set 100x larger (the 151 desa polygons translated onto a 10x10
  grid under distinct codes: 15,100 desa, 33,000 TPS, 10,000 meetings, 20,000 incidents);
* point-to-desa assignment of the TPS points: the module's vectorised STRtree query
  (``locate_points``), ``geopandas.sjoin``, and a naive ``for p in points: for d in desa:
  d.contains(p)`` loop (on a subsample, extrapolated linearly, when the full loop would be slow).

Targets (issue 4): under 50 ms for (a), under 5 s for (b), on a 2-core machine.
All records are synthetic and generated deterministically (fixed seed).

    GEO_APP_BOUNDARY_SOURCE=../shared/data/wilayah_boundaries python scripts/bench_coverage.py [--runs 5]
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely

from geo_app.analysis.coverage import compute_coverage, locate_points
from geo_app.analysis.coverage.inputs import MEETING_COLUMNS
from geo_app.ingest.boundaries import prepare_boundaries
from geo_app.ingest.fetch import boundary_files, fetch_boundaries
from geo_app.ingest.wilayah import read_dump

KABUPATEN = "17.06"
TOTAL_VOTERS = 139_976  # DPT Pilkada 2024 Mukomuko (FACTS.md)
TOTAL_TPS = 327  # FACTS.md
REFERENCE = pd.Timestamp("2024-11-27")


def load_boundaries() -> tuple[gpd.GeoDataFrame, gpd.GeoDataFrame]:
    source = os.environ.get("GEO_APP_BOUNDARY_SOURCE")
    if not source:
        sys.exit(
            "set GEO_APP_BOUNDARY_SOURCE to the wilayah_boundaries folder (e.g. ../shared/data/wilayah_boundaries)"
        )
    files = boundary_files(KABUPATEN)
    if source.startswith(("http://", "https://")):
        tmp = Path(tempfile.mkdtemp(prefix="bench_coverage_"))
        fetch_boundaries(source, tmp, KABUPATEN)
        root = tmp / "wilayah_boundaries"
    else:
        root = Path(source)
    kec_up = read_dump(root / files.kec, code_prefix=KABUPATEN + ".")
    desa_raw = read_dump(root / files.kel, code_prefix=KABUPATEN + ".")
    bset = prepare_boundaries(desa_raw, KABUPATEN, kecamatan_upstream=kec_up)
    names = bset.kecamatan.set_index("code")["name"]
    desa = bset.desa.assign(kecamatan_name=bset.desa["kecamatan_code"].map(names).to_numpy())
    return desa, bset.kecamatan


def demo_records(desa: gpd.GeoDataFrame, rng: np.random.Generator) -> dict[str, pd.DataFrame]:
    """Synthetic records over the real desa: 327 TPS with 139,976 voters, 100 meetings, 60 incidents."""
    n = len(desa)
    # every desa gets one TPS, the rest spread at random
    tps_desa = np.concatenate([np.arange(n), rng.integers(0, n, TOTAL_TPS - n)])
    tps_desa.sort()
    voters = rng.integers(250, 600, TOTAL_TPS).astype(float)
    voters = np.floor(voters / voters.sum() * TOTAL_VOTERS).astype(int)
    voters[: TOTAL_VOTERS - voters.sum()] += 1
    pts = gpd.GeoSeries(shapely.get_geometry(desa.geometry.iloc[tps_desa].sample_points(1, rng=rng).to_numpy(), 0))
    number = pd.Series(tps_desa).groupby(tps_desa).cumcount().to_numpy() + 1
    vuln = np.where(np.arange(TOTAL_TPS) == 0, "rawan", "tidak_rawan")
    tps = pd.DataFrame(
        {
            "id": np.arange(1, TOTAL_TPS + 1),
            "desa_code": desa["code"].to_numpy()[tps_desa],
            "number": number,
            "voters": voters,
            "vulnerability": vuln,
            "police": rng.integers(0, 3, TOTAL_TPS),
            "tni": 0,
            "linmas": rng.integers(1, 3, TOTAL_TPS),
            "lon": pts.x.to_numpy(),
            "lat": pts.y.to_numpy(),
        }
    )
    kec_codes = np.unique(desa["kecamatan_code"])
    rows = []
    day0 = REFERENCE - pd.Timedelta(days=75)
    for i in range(100):
        d = day0 + pd.Timedelta(days=int(rng.integers(0, 75)))
        if i < 15:  # one kecamatan rakor each, reaching all its desa
            rows.append((i + 1, f"Rakor {i}", d, "kecamatan", kec_codes[i], None, True, [], np.nan, np.nan))
        elif i < 95:
            k = int(rng.integers(0, n))
            rows.append(
                (
                    i + 1,
                    f"Rakor desa {i}",
                    d,
                    "desa",
                    desa["kecamatan_code"].iat[k],
                    desa["code"].iat[k],
                    False,
                    list(desa["code"].to_numpy()[rng.integers(0, n, 2)]),
                    np.nan,
                    np.nan,
                )
            )
        else:
            rows.append(
                (
                    i + 1,
                    f"Rakor kabupaten {i}",
                    d,
                    "kabupaten",
                    None,
                    None,
                    False,
                    list(desa["code"].to_numpy()[rng.integers(0, n, 5)]),
                    101.2,
                    -2.6,
                )
            )
    meetings = pd.DataFrame(rows, columns=list(MEETING_COLUMNS))
    incidents = random_incidents(desa["code"].to_numpy(), 60, rng)
    return {"tps": tps, "meetings": meetings, "incidents": incidents}


def random_incidents(codes: np.ndarray, count: int, rng: np.random.Generator, start_id: int = 1) -> pd.DataFrame:
    minutes = rng.integers(0, 45 * 24 * 60, count)
    return pd.DataFrame(
        {
            "id": np.arange(start_id, start_id + count),
            "occurred_at": REFERENCE + pd.Timedelta(days=1) - pd.to_timedelta(minutes, unit="min"),
            "severity": rng.choice(["low", "medium", "high"], count, p=[0.6, 0.3, 0.1]),
            "status": rng.choice(["reported", "verified", "forwarded", "closed", "dismissed"], count),
            "category": "other",
            "desa_code": np.where(rng.random(count) < 0.05, None, codes[rng.integers(0, len(codes), count)]),
        }
    )


def tile(
    desa: gpd.GeoDataFrame,
    kec: gpd.GeoDataFrame,
    demo: dict[str, pd.DataFrame],
    rng: np.random.Generator,
    side: int = 10,
) -> tuple[gpd.GeoDataFrame, pd.DataFrame, dict[str, pd.DataFrame]]:
    """The real desa copied ``side``² times on a grid (distinct codes), with records scaled alike."""
    minx, miny, maxx, maxy = desa.total_bounds
    dx, dy = (maxx - minx) * 1.05, (maxy - miny) * 1.05
    desa_parts, kec_parts, tps_parts, meet_parts = [], [], [], []
    tps_per_tile, inc_total = 330, 20_000
    n_tps = len(demo["tps"])
    for t in range(side * side):
        ox, oy = (t % side - side // 2) * dx, (t // side - side // 2) * dy
        prefix = f"{90 + t // 10:02d}.{t % 10:02d}"  # distinct codes: PP.KK.<kecamatan>.<desa>
        recode = lambda c, prefix=prefix: None if c is None or c != c else prefix + str(c)[5:]  # noqa: E731
        part = desa.copy()
        part["geometry"] = part.geometry.translate(ox, oy)
        part["code"] = [recode(c) for c in part["code"]]
        part["kecamatan_code"] = [recode(c) for c in part["kecamatan_code"]]
        part["rep_lon"] += ox
        part["rep_lat"] += oy
        desa_parts.append(part)
        k = kec[["code", "name", "rep_lon", "rep_lat"]].copy()
        k["code"] = [recode(c) for c in k["code"]]
        k["rep_lon"] += ox
        k["rep_lat"] += oy
        kec_parts.append(k)
        pick = rng.integers(0, n_tps, tps_per_tile)
        tp = demo["tps"].iloc[pick].copy()
        tp["desa_code"] = [recode(c) for c in tp["desa_code"]]
        tp["number"] = tp.groupby("desa_code").cumcount().to_numpy() + 1
        tp["lon"] += ox
        tp["lat"] += oy
        tps_parts.append(tp)
        m = demo["meetings"].copy()
        m["host_kecamatan_code"] = [recode(c) for c in m["host_kecamatan_code"]]
        m["host_desa_code"] = [recode(c) for c in m["host_desa_code"]]
        m["reached_desa_codes"] = [[recode(c) for c in v] for v in m["reached_desa_codes"]]
        m["lon"] += ox
        m["lat"] += oy
        meet_parts.append(m)
    big_desa = gpd.GeoDataFrame(pd.concat(desa_parts, ignore_index=True), geometry="geometry", crs="EPSG:4326")
    big_kec = pd.concat(kec_parts, ignore_index=True)
    tps = pd.concat(tps_parts, ignore_index=True)
    tps["id"] = np.arange(1, len(tps) + 1)
    meetings = pd.concat(meet_parts, ignore_index=True)
    meetings["id"] = np.arange(1, len(meetings) + 1)
    incidents = random_incidents(big_desa["code"].to_numpy(), inc_total, rng)
    return big_desa, big_kec, {"tps": tps, "meetings": meetings, "incidents": incidents}


def median_time(fn, runs: int) -> float:
    times = []
    for _ in range(runs):
        t0 = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t0)
    return statistics.median(times)


def naive_locate(points: list, polygons: list, codes: np.ndarray) -> list:
    """The plain loop the vectorised join replaces: every desa tested against every point (overlaps
    included, as the join finds them); the lowest containing code wins."""
    out = []
    for p in points:
        hits = []
        for d, code in zip(polygons, codes):
            if d.contains(p):
                hits.append(code)
        out.append(min(hits) if hits else None)
    return out


def bench_join(label: str, desa: gpd.GeoDataFrame, tps: pd.DataFrame, runs: int, budget_s: float = 4.0) -> None:
    lon, lat = tps["lon"].to_numpy(float), tps["lat"].to_numpy(float)
    t_tree = median_time(lambda: locate_points(lon, lat, desa), runs)
    pts = gpd.GeoDataFrame(geometry=gpd.points_from_xy(lon, lat), crs="EPSG:4326")
    poly = desa[["code", "geometry"]]
    t_sjoin = median_time(lambda: gpd.sjoin(pts, poly, how="left", predicate="within"), runs)
    # naive loop: time a small sample first, then as many points as fit in the budget
    polygons, codes = list(desa.geometry), desa["code"].to_numpy()
    points = list(shapely.points(lon, lat))
    t0 = time.perf_counter()
    naive_locate(points[:5], polygons, codes)
    per_point = (time.perf_counter() - t0) / 5
    k = int(min(len(points), max(5, budget_s / max(per_point, 1e-9))))
    t0 = time.perf_counter()
    naive = naive_locate(points[:k], polygons, codes)
    t_naive = (time.perf_counter() - t0) / k * len(points)
    tree_codes = locate_points(lon[:k], lat[:k], desa)
    agree = sum(a == b for a, b in zip(naive, tree_codes))
    extrap = "" if k == len(points) else f" (measured on {k} points, extrapolated)"
    print(f"  point-in-desa, {len(points):,} TPS points x {len(desa):,} desa:")
    print(f"    STRtree locate_points      {t_tree * 1000:10.1f} ms")
    print(f"    geopandas.sjoin            {t_sjoin * 1000:10.1f} ms")
    print(f"    naive shapely loop         {t_naive * 1000:10.1f} ms{extrap}")
    print(f"    ratio naive / STRtree      {t_naive / t_tree:10.0f}x   (naive / sjoin {t_naive / t_sjoin:.0f}x)")
    print(f"    agreement on the {k} looped points: {agree}/{k}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--runs", type=int, default=5, help="timed runs per figure (median reported)")
    args = parser.parse_args()
    rng = np.random.default_rng(20241127)

    t0 = time.perf_counter()
    desa, kec = load_boundaries()
    print(f"boundaries: {len(desa)} desa, {len(kec)} kecamatan read in {time.perf_counter() - t0:.2f} s (no database)")
    print(f"cpu cores: {os.cpu_count()}")
    demo = demo_records(desa, rng)

    def run_demo():
        return compute_coverage(desa, kec, demo["meetings"], demo["tps"], demo["incidents"])

    result = run_demo()  # warm-up (pyproj transformer, imports)
    t_demo = median_time(run_demo, max(args.runs, 10))
    print(
        f"\n(a) demo-sized set: {len(desa)} desa, {len(demo['tps'])} TPS, {len(demo['meetings'])} meetings, "
        f"{len(demo['incidents'])} incidents"
    )
    print(f"  compute_coverage median     {t_demo * 1000:10.1f} ms   (target < 50 ms)")
    print(f"  statuses: {result.summary['status_counts']}, voters {result.summary['voters']:,}")
    bench_join("demo", desa, demo["tps"], args.runs)

    t0 = time.perf_counter()
    big_desa, big_kec, big = tile(desa, kec, demo, rng)
    print(
        f"\n(b) synthetic 100x set (built in {time.perf_counter() - t0:.1f} s): {len(big_desa):,} desa, "
        f"{len(big['tps']):,} TPS, {len(big['meetings']):,} meetings, {len(big['incidents']):,} incidents"
    )

    def run_big():
        return compute_coverage(big_desa, big_kec, big["meetings"], big["tps"], big["incidents"])

    result = run_big()
    t_big = median_time(run_big, args.runs)
    print(f"  compute_coverage median     {t_big * 1000:10.1f} ms   (target < 5000 ms)")
    print(f"  statuses: {result.summary['status_counts']}, voters {result.summary['voters']:,}")
    bench_join("100x", big_desa, big["tps"], args.runs)


if __name__ == "__main__":
    main()
