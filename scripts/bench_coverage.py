"""Benchmark of the coverage analysis (issue 4). Not a test: it prints figures.

Reads the real Mukomuko boundaries from GEO_APP_BOUNDARY_SOURCE (a local mirror folder or the
upstream URL) through the ingest code, with no database, then times:

* ``compute_coverage`` on (a) a demo-sized set (the real 151 desa, 327 TPS, 100 meetings,
  60 incidents) and (b) a synthetic set 100x larger (the 151 desa polygons translated onto a 10x10
  grid under distinct codes: 15,100 desa, 33,000 TPS, 10,000 meetings, 20,000 incidents);
* point-to-desa assignment of the TPS points: the module's vectorised STRtree query
  (``locate_points``), ``geopandas.sjoin``, and a naive ``for p in points: for d in desa:
  d.contains(p)`` loop (on a subsample, extrapolated linearly, when the full loop would be slow).

* (c) a national-size synthetic set (issue 11): the desa tiled to 83,050 desa with 820,000 TPS,
  100,000 incidents and 20,000 rakor, run in a child process that reports its peak memory.

Targets (issue 4): under 50 ms for (a), under 5 s for (b); (issue 11) (c) within 60 s and 8 GB;
on a 2-core machine.
All records are synthetic and generated deterministically (fixed seed).

    GEO_APP_BOUNDARY_SOURCE=../shared/data/wilayah_boundaries python scripts/bench_coverage.py [--runs 5]
"""

from __future__ import annotations

import argparse
import multiprocessing
import os
import resource
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
    tiles: int = 100,
    tps_total: int = 33_000,
    meetings_total: int = 10_000,
    inc_total: int = 20_000,
) -> tuple[gpd.GeoDataFrame, pd.DataFrame, dict[str, pd.DataFrame]]:
    """The real desa copied ``tiles`` times on a square-ish grid (distinct codes), with records scaled alike.

    ``tps_total`` and ``meetings_total`` are spread evenly over the tiles (TPS drawn from the demo TPS,
    meetings a sample of the demo meetings); incidents fall on random desa of the whole set.
    """
    minx, miny, maxx, maxy = desa.total_bounds
    dx, dy = (maxx - minx) * 1.05, (maxy - miny) * 1.05
    side = int(np.ceil(np.sqrt(tiles)))
    desa_parts, kec_parts, tps_parts, meet_parts = [], [], [], []
    n_tps = len(demo["tps"])
    tps_split = np.diff(np.linspace(0, tps_total, tiles + 1).round().astype(int))
    meet_split = np.diff(np.linspace(0, meetings_total, tiles + 1).round().astype(int))
    for t in range(tiles):
        ox, oy = (t % side - side // 2) * dx, (t // side - side // 2) * dy
        prefix = f"{90 + t // 100:02d}.{t % 100:02d}"  # distinct codes: PP.KK.<kecamatan>.<desa>
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
        pick = rng.integers(0, n_tps, tps_split[t])
        tp = demo["tps"].iloc[pick].copy()
        tp["desa_code"] = [recode(c) for c in tp["desa_code"]]
        tp["number"] = tp.groupby("desa_code").cumcount().to_numpy() + 1
        tp["lon"] += ox
        tp["lat"] += oy
        tps_parts.append(tp)
        m = demo["meetings"].iloc[rng.choice(len(demo["meetings"]), meet_split[t], replace=True)].copy()
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


def postgis_locate(desa: gpd.GeoDataFrame, lon: np.ndarray, lat: np.ndarray, runs: int) -> tuple[float, int] | None:
    """Point-in-desa by PostGIS (GiST index, ``ST_Intersects`` as in geo_app.store.spatial.covering_desa)
    in a scratch database on the server of GEO_APP_BENCH_POSTGRES_URL or GEO_APP_TEST_POSTGRES_URL
    (PostGIS must be in template1, as .ci/run sets it up). Returns (median seconds, pairs found)."""
    url = os.environ.get("GEO_APP_BENCH_POSTGRES_URL") or os.environ.get("GEO_APP_TEST_POSTGRES_URL")
    if not url:
        return None
    from sqlalchemy import create_engine, text
    from sqlalchemy.engine import make_url
    from sqlalchemy.orm import Session

    from geo_app.store.spatial import covering_desa

    server = make_url(url)
    name = f"bench_coverage_{os.getpid()}"
    admin = create_engine(server, isolation_level="AUTOCOMMIT")
    with admin.connect() as con:
        con.execute(text(f'CREATE DATABASE "{name}"'))
    engine = create_engine(server.set(database=name))
    try:
        with engine.begin() as con:
            con.execute(text("CREATE EXTENSION IF NOT EXISTS postgis"))
            # the desa table's spatial part as migration 0004 makes it: a PostGIS column with a GiST index
            con.execute(text("CREATE TABLE desa (code varchar(16) PRIMARY KEY, geometry geometry(Geometry, 4326))"))
            con.execute(
                text("INSERT INTO desa VALUES (:code, ST_GeomFromWKB(:wkb, 4326))"),
                [{"code": c, "wkb": shapely.to_wkb(g)} for c, g in zip(desa["code"], desa.geometry)],
            )
            con.execute(text("CREATE INDEX ix_desa_geometry_gist ON desa USING gist (geometry)"))
            con.execute(text("ANALYZE desa"))
        with Session(engine) as session:
            pairs = covering_desa(session, lon, lat)
            t = median_time(lambda: covering_desa(session, lon, lat), runs)
        return t, len(pairs)
    finally:
        engine.dispose()
        with admin.connect() as con:
            con.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()


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
    pg = postgis_locate(desa, lon, lat, runs)
    if pg is None:
        print("    PostGIS (GiST, ST_Intersects)  skipped: set GEO_APP_BENCH_POSTGRES_URL or GEO_APP_TEST_POSTGRES_URL")
    else:
        sjoin_pairs = len(gpd.sjoin(pts, poly, how="inner", predicate="intersects"))
        print(
            f"    PostGIS GiST ST_Intersects {pg[0] * 1000:10.1f} ms   ({pg[1]:,} pairs; sjoin finds {sjoin_pairs:,})"
        )
    print(f"    naive shapely loop         {t_naive * 1000:10.1f} ms{extrap}")
    print(f"    ratio naive / STRtree      {t_naive / t_tree:10.0f}x   (naive / sjoin {t_naive / t_sjoin:.0f}x)")
    print(f"    agreement on the {k} looped points: {agree}/{k}")


# National size (issue 11): Indonesia has 83,764 desa/kelurahan and had 820,161 TPS in Pemilu 2024.
NATIONAL = {"desa": 83_000, "tps_total": 820_000, "inc_total": 100_000, "meetings_total": 20_000}


def _peak_rss_mb() -> float:
    """Peak resident memory of this process in MB (Linux reports ru_maxrss in KiB)."""
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def national(runs: int, queue) -> None:
    """Runs in a fresh child process so that its peak memory is the national set's alone."""
    rng = np.random.default_rng(20241127)
    desa, kec = load_boundaries()
    demo = demo_records(desa, rng)
    tiles = int(np.ceil(NATIONAL["desa"] / len(desa)))
    t0 = time.perf_counter()
    big_desa, big_kec, big = tile(
        desa,
        kec,
        demo,
        rng,
        tiles=tiles,
        tps_total=NATIONAL["tps_total"],
        meetings_total=NATIONAL["meetings_total"],
        inc_total=NATIONAL["inc_total"],
    )
    built_s = time.perf_counter() - t0
    rss_before = _peak_rss_mb()
    times = []
    for _ in range(runs):
        t0 = time.perf_counter()
        result = compute_coverage(big_desa, big_kec, big["meetings"], big["tps"], big["incidents"])
        times.append(time.perf_counter() - t0)
    queue.put(
        {
            "desa": len(big_desa),
            "kecamatan": len(big_kec),
            "tps": len(big["tps"]),
            "meetings": len(big["meetings"]),
            "incidents": len(big["incidents"]),
            "built_s": built_s,
            "times": times,
            "rss_before_mb": rss_before,
            "rss_peak_mb": _peak_rss_mb(),
            "status_counts": result.summary["status_counts"],
            "voters": result.summary["voters"],
        }
    )


def run_national(runs: int) -> None:
    ctx = multiprocessing.get_context("spawn")
    queue = ctx.Queue()
    child = ctx.Process(target=national, args=(runs, queue))
    child.start()
    out = queue.get()
    child.join()
    print(
        f"\n(c) national-size synthetic set (built in {out['built_s']:.1f} s): {out['desa']:,} desa, "
        f"{out['kecamatan']:,} kecamatan, {out['tps']:,} TPS, {out['meetings']:,} rakor, {out['incidents']:,} incidents"
    )
    best = min(out["times"])
    print(
        f"  compute_coverage            {best:10.1f} s    (best of {len(out['times'])}; target <= 60 s): "
        f"{'met' if best <= 60 else 'NOT met'}"
    )
    print(
        f"  peak memory (child process) {out['rss_peak_mb'] / 1024:10.2f} GB   (set alone {out['rss_before_mb'] / 1024:.2f} GB;"
        f" target <= 8 GB): {'met' if out['rss_peak_mb'] <= 8 * 1024 else 'NOT met'}"
    )
    print(f"  statuses: {out['status_counts']}, voters {out['voters']:,}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--runs", type=int, default=5, help="timed runs per figure (median reported)")
    parser.add_argument("--national-runs", type=int, default=2, help="timed runs of the national-size set (0 skips it)")
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
    if args.national_runs > 0:
        run_national(args.national_runs)


if __name__ == "__main__":
    main()
