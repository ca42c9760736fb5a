"""Deterministic synthetic incident reports at election-week scale (issue 11 benchmarks and demos).

The public incident list is a few dozen rows; the map and import benchmarks need tens of thousands.
``synthetic_incidents`` makes them from the real desa polygons: rows in the incident import format
(the canonical fields of ``ingest.records_file.KIND_FIELDS["incidents"]``), every point inside its
own desa (drawn in the demo's safe area: the desa minus its overlaps with others, shrunk by 30 m, so
the placement rule gives exactly that desa), clustered around each desa's representative point, more
of them in the populous kecamatan (DPT per kecamatan, FACTS.md), dated in the weeks around election
day (27 Nov 2024, WIB) and marked ``synthetic``. Pure: the same desa, count and seed give the same
frame.
"""

from __future__ import annotations

import csv
import tempfile
from datetime import datetime
from pathlib import Path
from typing import Any

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely
from pyproj import Transformer
from sqlalchemy.orm import Session

from ..ingest.records_file import KIND_FIELDS
from ..records import vocab
from .demo import DPT_PER_KECAMATAN, METRIC_CRS, safe_areas
from .records import record_context
from .records_import import ImportResult, import_records

#: Election day; incidents fall in the weeks around it (campaign end, quiet days, vote, count).
ELECTION_DAY = datetime(2024, 11, 27, 7, 0)
#: First and last possible occurrence (WIB, naive as every stored datetime).
START = datetime(2024, 11, 6, 0, 0)
END = datetime(2024, 12, 11, 23, 59)
NOTE = "Data sintetis untuk uji skala (bukan laporan nyata) / synthetic scale-test data, not real reports."
ID_PREFIX = "SYN-INC-"

#: Category weights and the severities each one usually gets.
_CATEGORIES: dict[str, tuple[float, dict[str, float]]] = {
    "apk": (20, {"low": 6, "medium": 3, "high": 1}),
    "money_politics": (16, {"medium": 5, "high": 4, "low": 1}),
    "hoax": (15, {"low": 4, "medium": 4, "high": 1}),
    "neutrality_asn": (8, {"medium": 4, "high": 1, "low": 1}),
    "neutrality_village": (8, {"medium": 4, "high": 1, "low": 1}),
    "neutrality_bpd": (3, {"medium": 3, "low": 1}),
    "intimidation": (7, {"medium": 2, "high": 2}),
    "logistics": (10, {"low": 2, "medium": 2, "high": 1}),
    "violence": (3, {"high": 2, "medium": 1}),
    "other": (10, {"low": 3, "medium": 1}),
}
_TEXTS: dict[str, tuple[str, ...]] = {
    "apk": ("APK dipasang di pohon/tiang listrik di {desa}", "Baliho pasangan calon dirusak di {desa}"),
    "money_politics": ("Dugaan pembagian uang kepada warga di {desa}", "Dugaan pembagian sembako di {desa}"),
    "hoax": ("Pesan berantai berisi kabar bohong beredar di {desa}", "Unggahan menuduh KPPS {desa} curang"),
    "neutrality_asn": ("ASN diduga ikut kampanye di {desa}",),
    "neutrality_village": ("Perangkat desa {desa} diduga mengarahkan warga memilih",),
    "neutrality_bpd": ("Anggota BPD {desa} diduga ikut berkampanye",),
    "intimidation": ("Warga {desa} melapor diancam karena beda pilihan",),
    "logistics": ("Distribusi logistik ke TPS di {desa} terlambat", "Segel kotak suara di {desa} rusak"),
    "violence": ("Keributan antar pendukung pasangan calon di {desa}",),
    "other": ("Undangan memilih (form C) belum diterima warga {desa}",),
}
_STATUSES = {"reported": 35, "verified": 20, "forwarded": 15, "closed": 20, "dismissed": 10}
_SOURCES = {"public": 50, "bawaslu": 20, "police": 15, "media": 15}

assert set(_CATEGORIES) <= set(vocab.INCIDENT_CATEGORIES) and set(_CATEGORIES) == set(_TEXTS)
assert set(_STATUSES) <= set(vocab.STATUSES) and set(_SOURCES) <= set(vocab.SOURCES)


def _draw(rng: np.random.Generator, weights: dict[str, float], n: int) -> np.ndarray:
    keys = np.array(list(weights), dtype=object)
    p = np.array(list(weights.values()), dtype=float)
    return keys[rng.choice(len(keys), size=n, p=p / p.sum())]


def desa_weights(desa: gpd.GeoDataFrame, rng: np.random.Generator) -> np.ndarray:
    """Share of incidents per desa (``desa`` sorted by code): the kecamatan's voters split over its
    desa, each desa varied by a gamma factor so that some desa are hot spots."""
    kec = desa["kecamatan_code"].astype(str)
    per_desa = kec.map(kec.value_counts())
    known = kec.map(DPT_PER_KECAMATAN)
    voters = known.fillna(known.mean() if known.notna().any() else 1.0).to_numpy(dtype=float)
    w = voters / per_desa.to_numpy(dtype=float) * rng.gamma(1.5, 1.0, len(desa))
    return w / w.sum()


def _points_in(
    geom: shapely.Geometry, centre: tuple[float, float], n: int, rng: np.random.Generator
) -> tuple[np.ndarray, np.ndarray]:
    """``n`` points (metric) inside ``geom``: normal around ``centre`` (spread ~ a quarter of the desa's
    size), rejected outside; what the cluster cannot fill is drawn uniformly in the polygon."""
    minx, miny, maxx, maxy = geom.bounds
    sigma = max(np.sqrt(geom.area) / 4.0, 50.0)
    xs: list[np.ndarray] = []
    ys: list[np.ndarray] = []
    got = 0
    for attempt in range(64):
        want = max(2 * (n - got), 64)
        if attempt < 8:
            cx = rng.normal(centre[0], sigma, want)
            cy = rng.normal(centre[1], sigma, want)
        else:
            cx = rng.uniform(minx, maxx, want)
            cy = rng.uniform(miny, maxy, want)
        ok = shapely.contains_xy(geom, cx, cy)
        xs.append(cx[ok])
        ys.append(cy[ok])
        got += int(ok.sum())
        if got >= n:
            break
    else:  # pragma: no cover - a desa's safe area is never that thin
        raise RuntimeError("could not place synthetic points in a desa")
    return np.concatenate(xs)[:n], np.concatenate(ys)[:n]


def synthetic_incidents(desa: gpd.GeoDataFrame, n: int, seed: int = 2024) -> pd.DataFrame:
    """``n`` synthetic incident rows (canonical incident fields, one row per incident, ordered by
    ``external_id`` SYN-INC-000001...), each with a point inside its ``desa_code`` polygon.

    ``desa`` is ``store.adapter.desa_frame`` (code, name, kecamatan_code, kecamatan_name, rep_lon,
    rep_lat, geometry in EPSG:4326). Pure and deterministic in (desa, n, seed)."""
    if n < 0:
        raise ValueError("n must be >= 0")
    desa = desa.sort_values("code").reset_index(drop=True)
    rng = np.random.default_rng(seed)
    counts = rng.multinomial(n, desa_weights(desa, rng)) if n else np.zeros(len(desa), dtype=int)
    safe = safe_areas(desa)
    to_metric = Transformer.from_crs("EPSG:4326", METRIC_CRS, always_xy=True)
    to_wgs84 = Transformer.from_crs(METRIC_CRS, "EPSG:4326", always_xy=True)
    xs, ys, where = [], [], []
    for i, (code, count) in enumerate(zip(desa["code"], counts)):
        if not count:
            continue
        geom = safe[code]
        if {"rep_lon", "rep_lat"} <= set(desa.columns):
            centre = to_metric.transform(float(desa.at[i, "rep_lon"]), float(desa.at[i, "rep_lat"]))
        else:
            p = geom.representative_point()
            centre = (p.x, p.y)
        x, y = _points_in(geom, centre, int(count), rng)
        xs.append(x)
        ys.append(y)
        where.append(np.full(int(count), i))
    idx = np.concatenate(where) if where else np.zeros(0, dtype=int)
    lon, lat = to_wgs84.transform(np.concatenate(xs) if xs else [], np.concatenate(ys) if ys else [])
    # rows in time order: a triangular spread peaking on election day
    span_min = (END - START).total_seconds() / 60
    peak = (ELECTION_DAY - START).total_seconds() / 60
    minutes = np.sort(np.round(rng.triangular(0, peak, span_min, n)).astype(np.int64))
    order = rng.permutation(n)  # which desa each time goes to
    idx, lon, lat = idx[order], np.asarray(lon)[order], np.asarray(lat)[order]
    occurred = pd.Timestamp(START) + pd.to_timedelta(minutes, unit="min")
    reported = occurred + pd.to_timedelta(rng.integers(30, 72 * 60, n), unit="min")
    categories = _draw(rng, {k: v[0] for k, v in _CATEGORIES.items()}, n)
    severities = np.empty(n, dtype=object)
    descriptions = np.empty(n, dtype=object)
    text_pick = rng.integers(0, 1 << 30, n)
    names = desa["name"].astype(str).to_numpy()
    ids = np.array([f"{ID_PREFIX}{k:06d}" for k in range(1, n + 1)], dtype=object)
    for cat, (_, sev) in _CATEGORIES.items():
        mask = categories == cat
        severities[mask] = _draw(rng, sev, int(mask.sum()))
        texts = _TEXTS[cat]
        for j in np.flatnonzero(mask):
            descriptions[j] = (
                texts[text_pick[j] % len(texts)].format(desa=names[idx[j]]) + f" (laporan sintetis {ids[j]})."
            )
    kec_names = desa["kecamatan_name"] if "kecamatan_name" in desa else desa["kecamatan_code"]
    kab_names = desa["kabupaten_name"] if "kabupaten_name" in desa else desa["code"].str.slice(0, 5)
    frame = pd.DataFrame(
        {
            "desa_code": desa["code"].to_numpy()[idx],
            "desa": names[idx],
            "kecamatan": kec_names.astype(str).to_numpy()[idx],
            "kabupaten": kab_names.astype(str).to_numpy()[idx],
            "lat": np.round(np.asarray(lat, dtype=float), 6),
            "lon": np.round(np.asarray(lon, dtype=float), 6),
            "external_id": ids,
            "occurred_at": occurred,
            "reported_at": reported,
            "category": categories,
            "severity": severities,
            "status": _draw(rng, _STATUSES, n),
            "description": descriptions,
            "source": _draw(rng, _SOURCES, n),
            "source_url": None,
            "notes": NOTE,
            "synthetic": True,
        }
    )
    return frame[list(KIND_FIELDS["incidents"])]


#: Column headers written for each canonical field (the Indonesian names the importer reads).
CSV_HEADERS: dict[str, str] = {
    "desa_code": "kode_desa",
    "desa": "desa",
    "kecamatan": "kecamatan",
    "kabupaten": "kabupaten",
    "lat": "lintang",
    "lon": "bujur",
    "external_id": "id",
    "occurred_at": "waktu_kejadian",
    "reported_at": "waktu_lapor",
    "category": "kategori",
    "severity": "keparahan",
    "status": "status",
    "description": "uraian",
    "source": "sumber",
    "source_url": "tautan",
    "notes": "catatan",
    "synthetic": "sintetis",
}


def write_incidents_csv(frame: pd.DataFrame, path: str | Path) -> Path:
    """Write ``frame`` (``synthetic_incidents``) as the semicolon CSV staff keep: Indonesian headers,
    dates ``dd/mm/yyyy HH:MM`` (WIB), decimal points, ``ya``/``tidak``; UTF-8. Returns the path."""
    out = frame.copy()
    for col in ("occurred_at", "reported_at"):
        if col in out:
            out[col] = pd.to_datetime(out[col]).dt.strftime("%d/%m/%Y %H:%M")
    if "synthetic" in out:
        out["synthetic"] = np.where(out["synthetic"].astype(bool), "ya", "tidak")
    for col in ("lat", "lon"):
        if col in out:
            out[col] = out[col].map(lambda v: "" if pd.isna(v) else f"{v:.6f}")
    out = out.rename(columns=CSV_HEADERS)
    target = Path(path)
    target.parent.mkdir(parents=True, exist_ok=True)
    out.to_csv(target, sep=";", index=False, encoding="utf-8", quoting=csv.QUOTE_MINIMAL, lineterminator="\n")
    return target


def import_synthetic_incidents(
    session: Session, settings: dict[str, Any], count: int, seed: int = 2024, actor: str | None = None, **options: Any
) -> ImportResult:
    """Generate ``count`` synthetic incidents for the stored desa and import them through the normal
    import service (same validation, natural keys and batch; every row is marked synthetic), so a
    second run with the same count and seed changes nothing."""
    desa = record_context(session, settings).desa
    frame = synthetic_incidents(desa, count, seed)
    with tempfile.TemporaryDirectory(prefix="geo-app-synthetic-") as tmp:
        path = write_incidents_csv(frame, Path(tmp) / f"insiden-sintetis-{count}-{seed}.csv")
        return import_records(session, settings, "incidents", path, actor=actor, **options)
