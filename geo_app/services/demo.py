"""A deterministic demo data set anchored on the real Pilkada 2024 figures for Mukomuko (FACTS.md).

The per-TPS list, TPS coordinates, the full rakor schedule and the incident list are not public, so
they are generated (fixed-seed numpy Generator) around the public anchors:

- DPT per kecamatan and in total (139,976 voters), 327 TPS, at most 600 voters per TPS
  (harianbengkuluekspress.bacakoran.co/read/18777; mediabengkulu.co/?p=66943);
- the one ``rawan`` TPS in Desa Penarik, Kec. Penarik; personnel adding up to the real 240 Polri,
  104 TNI and 654 Linmas, some TPS short and others doubled up
  (harianrakyatbengkulu.bacakoran.co/amp/19948);
- the Teramang Jaya rakor of Monday 11 Nov 2024 and the kabupaten-level rakor before it
  (mukomuko.radarutara.bacakoran.co, 11 Nov 2024);
- the three Bawaslu findings of BPD members campaigning (lampung.antaranews.com/berita/745857).

With ``province="17"`` (``geo-app demo load --province 17``) the other nine kabupaten/kota of Bengkulu
get TPS too, for the governor's election held the same day: each kabupaten's public DPT (KPU Provinsi
Bengkulu, FACTS.md) spread over its desa, 3,452 TPS and 1,503,923 voters in the province, and a few
rakor and incidents per kabupaten. The Mukomuko part is generated exactly as without it.

Every generated record has ``synthetic = true``; the real ones carry their source. The set goes
through the same validation as an import and is written by natural key, so loading it twice
changes nothing.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta
from typing import Any

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely
from pyproj import Transformer
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from ..errors import RecordInvalid, ValidationError
from ..records.schema import KINDS, MAX_VOTERS_PER_TPS, clean_record
from ..store.db import bump_version, transaction
from ..store.models import Desa, Kabupaten, Kecamatan, PollingStation
from ..store.records import MODELS
from .records import record_context, upsert_record

SEED = 20241127  # election day; any fixed value keeps the set reproducible
METRIC_CRS = "EPSG:32747"
TOTAL_TPS = 327
TOTAL_DPT = 139_976
SAFE_INSET_M = 30.0  # TPS/incident points stay this far inside their desa and away from overlaps

#: DPT per kecamatan (Kemendagri code), harianbengkuluekspress.bacakoran.co/read/18777 (FACTS.md).
DPT_PER_KECAMATAN: dict[str, int] = {
    "17.06.10": 17_944,  # Penarik
    "17.06.05": 13_362,  # Ipuh
    "17.06.02": 13_214,  # Kota Mukomuko
    "17.06.01": 10_836,  # Lubuk Pinang
    "17.06.04": 10_165,  # Pondok Suguh
    "17.06.11": 10_091,  # XIV Koto
    "17.06.07": 9_985,  # Air Rami
    "17.06.08": 9_082,  # Teramang Jaya
    "17.06.13": 8_794,  # Air Majunto (boundary data: Air Manjunto)
    "17.06.09": 7_629,  # Selagan Raya
    "17.06.15": 7_086,  # Sungai Rumbai
    "17.06.03": 5_875,  # Teras Terunjam
    "17.06.12": 5_599,  # V Koto
    "17.06.14": 5_209,  # Air Dikit
    "17.06.06": 5_105,  # Malin Deman
}

#: Security personnel for Pilkada 2024 in Mukomuko: 998 = 240 Polri + 104 TNI + 654 Linmas (FACTS.md;
#: mediabengkulu.co/?p=66943, harianrakyatbengkulu.bacakoran.co/amp/19948).
DEMO_PERSONNEL = {"police": 240, "tni": 104, "linmas": 654}
RAWAN_DESA = "17.06.10.2001"  # Desa Penarik, Kec. Penarik: the only rawan TPS (FACTS.md)
TERAMANG_JAYA = "17.06.08"
RADAR_UTARA_URL = "https://mukomuko.radarutara.bacakoran.co"
TPS_SOURCE_URL = "https://mediabengkulu.co/?p=66943"
BAWASLU_URL = "https://lampung.antaranews.com/berita/745857"
DEMO_NOTE = "Data contoh sintetis (demo), bukan data resmi / synthetic sample data."

MUKOMUKO = "17.06"

# --- the province (Pilgub Bengkulu 2024, same day) ----------------------------------------------------

PROVINCE = "17"  # Bengkulu
#: DPT and TPS of the governor's election in the province: KPU Provinsi Bengkulu plenary of 22 Sep 2024
#: (radarselatan.bacakoran.co/amp/10125, harianbengkuluekspress.bacakoran.co/read/18908; FACTS.md).
PROVINCE_DPT = 1_503_923
PROVINCE_TPS = 3_452
#: DPT per kabupaten/kota as the same articles report it; Kota Bengkulu from the city's own figure
#: (bengkulu.antaranews.com/berita/370331). Mukomuko's is the sum of DPT_PER_KECAMATAN.
DPT_PER_KABUPATEN: dict[str, int] = {
    "17.01": 126_739,  # Bengkulu Selatan
    "17.02": 208_094,  # Rejang Lebong
    "17.03": 218_848,  # Bengkulu Utara
    "17.04": 96_398,  # Kaur
    "17.05": 155_213,  # Seluma
    "17.06": TOTAL_DPT,  # Mukomuko
    "17.07": 81_993,  # Lebong
    "17.71": 275_513,  # Kota Bengkulu
}
#: Kepahiang and Bengkulu Tengah: their DPT was not found; together they are the remainder of the
#: province total, split in proportion to their desa counts (FACTS.md), so these two are synthetic.
UNPUBLISHED_DPT = ("17.08", "17.09")
#: TPS published per kabupaten: Mukomuko 327 (mediabengkulu.co/?p=66943) and Kota Bengkulu 511
#: (bengkulu.antaranews.com/berita/370331); the rest of the 3,452 go to the others in proportion to DPT.
TPS_PER_KABUPATEN = {"17.06": TOTAL_TPS, "17.71": 511}
PROVINCE_NOTE = (
    "Data contoh sintetis (demo): total pemilih kabupaten/kota dari DPT Pilgub Bengkulu 2024 (KPU Provinsi "
    "Bengkulu); sebaran per desa, TPS, titik dan personel rekaan / synthetic sample data on the public DPT."
)

#: The three BPD findings (FACTS.md): desa code, name.
BPD_FINDINGS = (
    ("17.06.14.2003", "Pondok Lunang", date(2024, 10, 2)),
    ("17.06.01.2008", "Lubuk Gedang", date(2024, 10, 9)),
    ("17.06.04.2005", "Pondok Suguh", date(2024, 10, 16)),
)


# --- integer allocation ---------------------------------------------------------------------------


def largest_remainder(total: int, weights: np.ndarray | list[float]) -> np.ndarray:
    """Split ``total`` into integers proportional to ``weights`` (Hamilton method, ties by position)."""
    w = np.asarray(weights, dtype=float)
    if total < 0 or (w < 0).any() or w.sum() <= 0:
        raise ValueError("need a non-negative total and positive weights")
    quota = total * w / w.sum()
    out = np.floor(quota).astype(int)
    rest = total - int(out.sum())
    order = np.lexsort((np.arange(len(w)), -(quota - out)))
    out[order[:rest]] += 1
    return out


def allocate_tps(voters: dict[str, int], total_tps: int, cap: int = MAX_VOTERS_PER_TPS) -> dict[str, int]:
    """TPS per area by largest remainder on voters, then moved so that every area has
    at least ceil(voters / cap) TPS (taken from the areas with the most spare capacity)."""
    keys = list(voters)
    v = np.array([voters[k] for k in keys], dtype=float)
    tps = largest_remainder(total_tps, v)
    need = np.maximum(1, np.ceil(v / cap).astype(int))
    if need.sum() > total_tps:
        raise ValueError(f"{total_tps} TPS cannot hold {int(v.sum())} voters at {cap} per TPS")
    while (tps < need).any():
        short = int(np.argmax(need - tps))
        spare = np.where(tps > need, v / np.maximum(tps - 1, 1), np.inf)  # load after giving one away
        donor = int(np.argmin(spare))
        tps[donor] -= 1
        tps[short] += 1
    return dict(zip(keys, tps.tolist()))


def _cap_split(total: int, n: int, rng: np.random.Generator, cap: int = MAX_VOTERS_PER_TPS) -> list[int]:
    """``total`` voters over ``n`` TPS, a little uneven as real lists are, none above ``cap``."""
    parts = largest_remainder(total, 1.0 + rng.uniform(-0.12, 0.12, n))
    while parts.max() > cap:
        i, j = int(np.argmax(parts)), int(np.argmin(parts))
        move = min(parts[i] - cap, cap - parts[j])
        parts[i] -= move
        parts[j] += move
    return parts.tolist()


def desa_voters_and_tps(desa: pd.DataFrame, kec_voters: int, kec_tps: int) -> tuple[np.ndarray, np.ndarray]:
    """Voters per desa by area^0.5 weights (flattened toward equal shares if the TPS would not fit),
    then TPS per desa: the minimum each needs, the rest to the desa with the most voters per TPS."""
    area = desa["area_km2"].to_numpy(dtype=float)
    for blend in (0.0, 0.25, 0.5, 0.75, 1.0):
        w = (1 - blend) * np.sqrt(area) / np.sqrt(area).sum() + blend / len(area)
        v = largest_remainder(kec_voters, w)
        need = np.maximum(1, np.ceil(v / MAX_VOTERS_PER_TPS).astype(int))
        if need.sum() <= kec_tps:
            break
    else:  # pragma: no cover - the FACTS figures always fit
        raise ValueError("TPS do not fit the desa")
    tps = need.copy()
    for _ in range(kec_tps - int(need.sum())):
        load = v / tps
        tps[int(np.argmax(load))] += 1  # argmax: ties to the first (lowest code)
    return v, tps


# --- geometry -------------------------------------------------------------------------------------


def safe_areas(desa: gpd.GeoDataFrame, inset_m: float = SAFE_INSET_M) -> dict[str, shapely.Geometry]:
    """Each desa polygon (EPSG:32747) minus every other desa, shrunk by ``inset_m``: a point drawn in it
    is inside exactly its own desa, so placement agrees with the desa given."""
    metric = desa.to_crs(METRIC_CRS)
    geoms = metric.geometry.to_numpy()
    tree = shapely.STRtree(geoms)
    out = {}
    for i, code in enumerate(metric["code"]):
        g = geoms[i]
        others = [geoms[j] for j in tree.query(g, predicate="intersects") if j != i]
        if others:
            g = g.difference(shapely.union_all(others))
        safe = g.buffer(-inset_m)
        if safe.is_empty:
            safe = g.buffer(-inset_m / 10)
        out[code] = safe
    return out


class PointSampler:
    """Deterministic random points inside a desa's safe area, returned as (lon, lat) rounded to 1e-6°."""

    def __init__(self, desa: gpd.GeoDataFrame, rng: np.random.Generator) -> None:
        self.safe = safe_areas(desa)
        self.rng = rng
        self.to_wgs84 = Transformer.from_crs(METRIC_CRS, "EPSG:4326", always_xy=True)

    def points(self, code: str, n: int) -> list[tuple[float, float]]:
        geom = self.safe[code]
        minx, miny, maxx, maxy = geom.bounds
        xs: list[float] = []
        ys: list[float] = []
        while len(xs) < n:
            cx = self.rng.uniform(minx, maxx, 64)
            cy = self.rng.uniform(miny, maxy, 64)
            ok = shapely.contains_xy(geom, cx, cy)
            xs.extend(cx[ok].tolist())
            ys.extend(cy[ok].tolist())
        lon, lat = self.to_wgs84.transform(np.array(xs[:n]), np.array(ys[:n]))
        return [(round(float(a), 6), round(float(b), 6)) for a, b in zip(lon, lat)]


# --- the records ----------------------------------------------------------------------------------


@dataclass
class DemoSet:
    """Raw records (canonical input fields) per kind, ready for ``clean_record``."""

    meetings: list[dict[str, Any]] = field(default_factory=list)
    tps: list[dict[str, Any]] = field(default_factory=list)
    incidents: list[dict[str, Any]] = field(default_factory=list)

    def by_kind(self) -> dict[str, list[dict[str, Any]]]:
        return {"meetings": self.meetings, "tps": self.tps, "incidents": self.incidents}


_TPS_PLACES = (
    "Balai Desa {desa}",
    "SD Negeri {n} {desa}",
    "Halaman rumah warga, Dusun {n}",
    "Posyandu Dusun {n}",
    "Gedung serbaguna {desa}",
    "Masjid Dusun {n} (halaman)",
    "Lapangan Dusun {n}",
)


def _desa_tps_records(
    rows: pd.DataFrame,
    voters: Sequence[int],
    tps: Sequence[int],
    rng: np.random.Generator,
    points: Callable[[str, int], list[tuple[float, float]]],
    note: str,
) -> list[dict[str, Any]]:
    """The TPS of each desa in ``rows``: its voters split over its ``tps`` (under the cap per TPS), a point
    each from ``points(code, n)``, a made-up place; tidak rawan with 1 police + 2 Linmas (FACTS.md)."""
    records: list[dict[str, Any]] = []
    for (_, d), v, n in zip(rows.iterrows(), voters, tps):
        parts = _cap_split(int(v), int(n), rng)
        located = points(d["code"], int(n))
        for number, (count, (lon, lat)) in enumerate(zip(parts, located), start=1):
            place = _TPS_PLACES[int(rng.integers(len(_TPS_PLACES)))].format(desa=d["name"], n=number)
            records.append(
                {
                    "desa_code": d["code"],
                    "number": number,
                    "voters": count,
                    "address": place,
                    "lat": lat,
                    "lon": lon,
                    "vulnerability": "tidak_rawan",
                    "police": 1,
                    "tni": 0,
                    "linmas": 2,
                    "synthetic": True,
                    "notes": note,
                }
            )
    return records


def _tps_records(desa: gpd.GeoDataFrame, rng: np.random.Generator, sampler: PointSampler) -> list[dict[str, Any]]:
    kec_tps = allocate_tps(DPT_PER_KECAMATAN, TOTAL_TPS)
    records: list[dict[str, Any]] = []
    for kec in sorted(DPT_PER_KECAMATAN):
        rows = desa[desa["kecamatan_code"] == kec].sort_values("code")
        voters, tps = desa_voters_and_tps(rows, DPT_PER_KECAMATAN[kec], kec_tps[kec])
        records += _desa_tps_records(rows, voters, tps, rng, sampler.points, DEMO_NOTE)
    rawan = next(r for r in records if r["desa_code"] == RAWAN_DESA and r["number"] == 1)
    rawan.update(
        vulnerability="rawan",
        police=2,
        linmas=2,
        notes=(
            "Satu-satunya TPS rawan di Mukomuko ada di Desa Penarik (mediabengkulu.co/?p=66943); "
            "nomor, jumlah pemilih dan titik TPS ini rekaan. " + DEMO_NOTE
        ),
    )
    # a few deliberately short-staffed TPS, so the coverage analysis has something to find (this draw
    # from the main generator is kept as it was, so the rakor and incidents after it do not change)
    candidates = [i for i, r in enumerate(records) if r["vulnerability"] == "tidak_rawan"]
    picked = sorted(rng.choice(candidates, size=7, replace=False).tolist())
    _assign_personnel(records, picked, np.random.default_rng(SEED + 7))
    return records


def _assign_personnel(records: list[dict[str, Any]], picked: list[int], rng: np.random.Generator) -> None:
    """Personnel adding up to the real totals, 240 Polri, 104 TNI and 654 Linmas (FACTS.md), spread
    unevenly as real deployments are: TNI stand in for police at 104 TPS, the ``picked`` TPS are
    short (alternately no guard, or 1 Linmas), spare police and Linmas double up elsewhere."""
    short_police = picked[0::2]
    short_linmas = picked[1::2]
    note = "Sengaja kurang personel (demo) / deliberately short-staffed. " + DEMO_NOTE
    for i in short_police:
        records[i].update(police=0, notes=note)
    for i in short_linmas:
        records[i].update(linmas=1, notes=note)
    free = [i for i, r in enumerate(records) if r["vulnerability"] == "tidak_rawan" and i not in picked]
    tni = sorted(rng.choice(free, size=DEMO_PERSONNEL["tni"], replace=False).tolist())
    for i in tni:
        records[i].update(police=0, tni=1)
    police_only = [i for i in free if i not in set(tni)]
    extra = DEMO_PERSONNEL["police"] - sum(r["police"] for r in records)
    for i in sorted(rng.choice(police_only, size=extra, replace=False).tolist()):
        records[i]["police"] += 1
    extra_linmas = DEMO_PERSONNEL["linmas"] - sum(r["linmas"] for r in records)
    for i in sorted(rng.choice(police_only, size=extra_linmas, replace=False).tolist()):
        records[i]["linmas"] += 1
    totals = {f: sum(r[f] for r in records) for f in DEMO_PERSONNEL}
    assert totals == DEMO_PERSONNEL, totals


_KEC_AGENCIES = ["camat", "forkopimcam", "ppk", "panwascam", "kades", "bpd", "polri", "tni"]
_EXTRA_AGENCIES = ["puskesmas", "linmas", "pps", "tokoh", "uptd_pendidikan", "kb", "kesbangpol"]


def _meeting_records(desa: gpd.GeoDataFrame, rng: np.random.Generator) -> tuple[list[dict[str, Any]], set[str]]:
    kec_names = dict(zip(desa["kecamatan_code"], desa["kecamatan_name"]))
    records: list[dict[str, Any]] = [
        {
            "external_id": "demo-rakor-001",
            "title": "Rakor Pilkada damai tingkat Kecamatan Teramang Jaya",
            "date": date(2024, 11, 11),
            "level": "kecamatan",
            "kecamatan": TERAMANG_JAYA,
            "venue": "Kecamatan Teramang Jaya",
            "organiser": "Pemkab Mukomuko",
            "agencies": [
                "sekda",
                "camat",
                "forkopimcam",
                "ppk",
                "panwascam",
                "kades",
                "bpd",
                "puskesmas",
                "uptd_pendidikan",
                "kb",
            ],
            "reached_desa": "semua",
            "synthetic": False,
            "source_url": RADAR_UTARA_URL,
            "notes": (
                "Senin 11 November 2024, dipimpin Sekda Mukomuko Dr. Abdiyanto; hadir camat, forkopimcam, PPK, "
                "Panwaslu, kades, BPD, puskesmas, UPTD pendidikan dan koordinator penyuluh KB "
                "(mukomuko.radarutara.bacakoran.co, 11 Nov 2024)."
            ),
        },
        {
            "external_id": "demo-rakor-002",
            "title": "Rakor pemangku kepentingan Pilkada 2024 tingkat Kabupaten Mukomuko",
            "date": date(2024, 10, 3),
            "start_time": time(9, 0),
            "level": "kabupaten",
            "kabupaten": MUKOMUKO,  # no host kecamatan: with the province loaded it is named
            "venue": "Aula Kantor Bupati Mukomuko",
            "organiser": "Pemkab Mukomuko",
            "agencies": ["sekda", "polri", "tni", "bawaslu", "kpu", "kesbangpol", "pemkab"],
            "synthetic": True,
            "source_url": RADAR_UTARA_URL,
            "notes": (
                "Rakor tingkat kabupaten dengan Polres, Kodim, Bawaslu, KPU dan OPD memang diadakan sebelum rakor "
                "kecamatan (mukomuko.radarutara.bacakoran.co, 11 Nov 2024), tetapi tanggal pastinya tidak "
                "dipublikasikan: tanggal, jam dan tempat di sini rekaan / real meeting, date not public. " + DEMO_NOTE
            ),
        },
    ]
    others = sorted(k for k in DPT_PER_KECAMATAN if k != TERAMANG_JAYA)
    # deliberately leave a few desa unreached: two kecamatan miss 2 desa, eight miss 1 (12 in total)
    order = rng.permutation(others).tolist()
    missing_count = {k: (2 if i < 2 else 1 if i < 10 else 0) for i, k in enumerate(order)}
    days = sorted(rng.choice(np.arange(0, 44), size=len(others), replace=False).tolist())
    left_out: set[str] = set()
    for n, (kec, day) in enumerate(zip(rng.permutation(others).tolist(), days), start=3):
        codes = sorted(desa.loc[desa["kecamatan_code"] == kec, "code"])
        skip = set(rng.choice(codes, size=missing_count[kec], replace=False).tolist()) if missing_count[kec] else set()
        left_out |= skip
        extra = rng.choice(_EXTRA_AGENCIES, size=2, replace=False).tolist()
        records.append(
            {
                "external_id": f"demo-rakor-{n:03d}",
                "title": f"Rakor Pilkada damai tingkat Kecamatan {kec_names[kec]}",
                "date": date(2024, 10, 7) + timedelta(days=int(day)),
                "start_time": time(int(rng.choice([8, 9, 10, 13])), 0),
                "level": "kecamatan",
                "kecamatan": kec,
                "venue": f"Aula Kantor Camat {kec_names[kec]}",
                "organiser": "Pemkab Mukomuko",
                "agencies": _KEC_AGENCIES + extra,
                "reached_desa": [c for c in codes if c not in skip],
                "synthetic": True,
                "notes": DEMO_NOTE,
            }
        )
    # desa-level rakor in a few reached desa (never in the left-out ones, so the gaps stay gaps)
    pool = sorted(set(desa["code"]) - left_out)
    n0 = len(records) + 1
    for k, code in enumerate(sorted(rng.choice(pool, size=10, replace=False).tolist())):
        name = desa.loc[desa["code"] == code, "name"].iloc[0]
        records.append(
            {
                "external_id": f"demo-rakor-{n0 + k:03d}",
                "title": f"Rakor persiapan TPS Desa {name}",
                "date": date(2024, 11, 4) + timedelta(days=int(rng.integers(0, 19))),
                "start_time": time(int(rng.choice([9, 14, 19, 20])), 0),
                "level": "desa",
                "desa_code": code,
                "venue": f"Balai Desa {name}",
                "organiser": f"Pemerintah Desa {name}",
                "agencies": ["kades", "bpd", "pps", "linmas", "polri", "tni", "tokoh"],
                "reached_desa": [code],
                "synthetic": True,
                "notes": DEMO_NOTE,
            }
        )
    return records, left_out


_INCIDENT_KINDS = {  # category: (weight, severities with weights, description templates)
    "apk": (
        12,
        {"low": 7, "medium": 3},
        [
            "APK pasangan calon dipasang di pohon dan tiang listrik di {desa}",
            "Baliho pasangan calon dirusak orang tak dikenal di {desa}",
        ],
    ),
    "money_politics": (
        8,
        {"medium": 4, "high": 4},
        ["Dugaan pembagian uang kepada warga di {desa}", "Dugaan pembagian sembako oleh tim kampanye di {desa}"],
    ),
    "hoax": (
        7,
        {"low": 3, "medium": 4},
        [
            "Pesan berantai berisi kabar bohong tentang TPS beredar di {desa}",
            "Unggahan media sosial menuduh KPPS {desa} curang tanpa bukti",
        ],
    ),
    "neutrality_asn": (5, {"medium": 4, "high": 1}, ["ASN diduga ikut kampanye pasangan calon di {desa}"]),
    "neutrality_village": (5, {"medium": 4, "high": 1}, ["Perangkat desa {desa} diduga mengarahkan warga memilih"]),
    "intimidation": (4, {"medium": 2, "high": 2}, ["Warga {desa} melapor diancam karena beda pilihan"]),
    "logistics": (
        4,
        {"low": 2, "medium": 2},
        [
            "Distribusi logistik ke TPS di {desa} terlambat karena jalan rusak",
            "Kotak suara di {desa} ditemukan segelnya rusak",
        ],
    ),
    "violence": (2, {"high": 1}, ["Keributan antar pendukung pasangan calon di {desa}"]),
    "other": (3, {"low": 1}, ["Laporan warga soal undangan memilih (form C) belum diterima di {desa}"]),
}
_STATUSES = {"reported": 30, "verified": 20, "forwarded": 15, "closed": 25, "dismissed": 10}
_SOURCES = {"public": 45, "bawaslu": 25, "police": 15, "media": 15}


def _pick(rng: np.random.Generator, weights: dict[str, float]) -> str:
    keys = list(weights)
    p = np.array([weights[k] for k in keys], dtype=float)
    return keys[int(rng.choice(len(keys), p=p / p.sum()))]


def _incident(
    rng: np.random.Generator, external_id: str, code: str, desa_name: str, category: str, occurred: datetime, note: str
) -> dict[str, Any]:
    """One synthetic incident of ``category`` in desa ``code``; the rest drawn from ``rng`` (in a fixed
    order: the demo sets are the same run after run)."""
    _, severity_weights, texts = _INCIDENT_KINDS[category]
    return {
        "external_id": external_id,
        "desa_code": code,
        "occurred_at": occurred,
        "reported_at": occurred + timedelta(hours=int(rng.integers(1, 72))),
        "category": category,
        "severity": _pick(rng, severity_weights),
        "status": _pick(rng, _STATUSES),
        "source": _pick(rng, _SOURCES),
        "description": str(rng.choice(texts)).format(desa=desa_name) + " (contoh).",
        "synthetic": True,
        "notes": note,
    }


def _incident_records(
    desa: gpd.GeoDataFrame, rng: np.random.Generator, sampler: PointSampler, desa_weights: dict[str, float]
) -> list[dict[str, Any]]:
    names = dict(zip(desa["code"], desa["name"]))
    records: list[dict[str, Any]] = []
    for k, (code, name, day) in enumerate(BPD_FINDINGS, start=1):
        records.append(
            {
                "external_id": f"demo-insiden-{k:03d}",
                "desa_code": code,
                "occurred_at": datetime.combine(day, time(10, 0)),
                "reported_at": datetime.combine(day, time(16, 0)),
                "category": "neutrality_bpd",
                "severity": "medium",
                "status": "forwarded",
                "source": "bawaslu",
                "source_url": BAWASLU_URL,
                "synthetic": False,
                "description": f"Temuan Bawaslu: anggota BPD Desa {name} ikut berkampanye untuk pasangan calon.",
                "notes": (
                    "Temuan nyata pada tiga minggu pertama masa kampanye (25 Sep-20 Okt 2024); tanggal pasti dan "
                    "status tindak lanjut tidak dipublikasikan, jadi tanggal dan status di sini perkiraan / "
                    "real finding, exact day and status not public."
                ),
            }
        )
    # most incidents spread by voters; two desa get a cluster
    clusters = ["17.06.10.2001", "17.06.02.1009"]
    codes = list(desa_weights)
    p = np.array([desa_weights[c] for c in codes], dtype=float)
    spread = [codes[i] for i in rng.choice(len(codes), size=38, p=p / p.sum())]
    where = spread + [clusters[0]] * 7 + [clusters[1]] * 5
    start = datetime(2024, 9, 25, 7, 0)  # campaign start (KPU schedule), to a few days after election day
    span_h = int((datetime(2024, 11, 30, 22, 0) - start).total_seconds() // 3600)
    weights = {c: v[0] for c, v in _INCIDENT_KINDS.items()}
    for k, code in enumerate(where, start=len(records) + 1):
        cat = _pick(rng, weights)
        occurred = start + timedelta(hours=int(rng.integers(0, span_h)))
        if cat == "logistics":  # logistics trouble comes in the days before the vote
            occurred = datetime(2024, 11, 22, 8, 0) + timedelta(hours=int(rng.integers(0, 24 * 5)))
        rec = _incident(rng, f"demo-insiden-{k:03d}", code, names[code], cat, occurred, DEMO_NOTE)
        if rng.random() < 0.5:
            lon, lat = sampler.points(code, 1)[0]
            rec.update(lon=lon, lat=lat)
        records.append(rec)
    return records


def build_demo(desa: gpd.GeoDataFrame, seed: int = SEED) -> DemoSet:
    """The Mukomuko demo set from the desa frame (other kabupaten in it are left out, so the set is the
    same whatever else is loaded); pure (no database), same output for the same seed."""
    desa = desa[desa["code"].str.startswith(MUKOMUKO + ".")]
    missing = set(DPT_PER_KECAMATAN) - set(desa["kecamatan_code"])
    if missing or sum(DPT_PER_KECAMATAN.values()) != TOTAL_DPT:
        raise ValidationError(f"demo needs the Mukomuko boundaries (17.06); missing kecamatan: {sorted(missing)}")
    desa = desa.sort_values("code").reset_index(drop=True)
    rng = np.random.default_rng(seed)
    sampler = PointSampler(desa, rng)
    tps = _tps_records(desa, rng, sampler)
    meetings, _ = _meeting_records(desa, rng)
    voters = pd.DataFrame(tps).groupby("desa_code")["voters"].sum().to_dict()
    incidents = _incident_records(desa, rng, sampler, voters)
    return DemoSet(meetings=meetings, tps=tps, incidents=incidents)


# --- the other nine kabupaten/kota of the province ------------------------------------------------------


def province_dpt(desa_counts: dict[str, int]) -> dict[str, int]:
    """DPT per kabupaten/kota: the published figures, and the remainder of the province total split over
    Kepahiang and Bengkulu Tengah by their desa counts (largest remainder)."""
    remainder = PROVINCE_DPT - sum(DPT_PER_KABUPATEN.values())
    split = largest_remainder(remainder, [desa_counts[k] for k in UNPUBLISHED_DPT])
    return dict(sorted({**DPT_PER_KABUPATEN, **dict(zip(UNPUBLISHED_DPT, split.tolist()))}.items()))


def province_tps(dpt: dict[str, int]) -> dict[str, int]:
    """TPS per kabupaten/kota: the published counts, the rest of the province's 3,452 by DPT (each
    kabupaten at least DPT / 600)."""
    rest = {k: v for k, v in dpt.items() if k not in TPS_PER_KABUPATEN}
    tps = allocate_tps(rest, PROVINCE_TPS - sum(TPS_PER_KABUPATEN.values()))
    return dict(sorted({**TPS_PER_KABUPATEN, **tps}.items()))


class InsideSampler:
    """Deterministic random points (lon, lat, rounded to 1e-6°) inside a desa, at least ``inset_m`` from
    its border and inside no other desa, so placement agrees with the desa given. Rejection sampling in
    EPSG:32747 against all desa of the frame (neighbouring kabupaten included); cheaper than the
    Mukomuko sampler's inset polygons for 1,362 desa."""

    def __init__(self, desa: gpd.GeoDataFrame, inset_m: float = SAFE_INSET_M) -> None:
        metric = desa.to_crs(METRIC_CRS)
        self.index = {code: i for i, code in enumerate(metric["code"])}
        self.geoms = metric.geometry.to_numpy()
        self.tree = shapely.STRtree(self.geoms)
        self.inset = inset_m
        self.to_wgs84 = Transformer.from_crs(METRIC_CRS, "EPSG:4326", always_xy=True)

    def points(self, code: str, n: int, rng: np.random.Generator) -> list[tuple[float, float]]:
        i = self.index[code]
        geom = self.geoms[i]
        shapely.prepare(geom)
        border = geom.boundary
        minx, miny, maxx, maxy = geom.bounds
        xs: list[float] = []
        ys: list[float] = []
        inset = self.inset
        for attempt in range(400):
            if attempt == 200:  # a desa too thin for the inset: keep the points off the border only
                inset = self.inset / 10
            cx = rng.uniform(minx, maxx, max(64, 4 * n))
            cy = rng.uniform(miny, maxy, max(64, 4 * n))
            pts = shapely.points(cx, cy)
            ok = shapely.contains(geom, pts) & (shapely.distance(border, pts) >= inset)
            hits = self.tree.query(pts, predicate="intersects")
            others = hits[0][hits[1] != i]
            ok[others] = False
            xs.extend(cx[ok].tolist())
            ys.extend(cy[ok].tolist())
            if len(xs) >= n:
                break
        else:  # pragma: no cover - every desa of the real data has room
            raise ValueError(f"no room for {n} points in desa {code}")
        lon, lat = self.to_wgs84.transform(np.array(xs[:n]), np.array(ys[:n]))
        return [(round(float(a), 6), round(float(b), 6)) for a, b in zip(lon, lat)]


def _short(kabupaten_name: str) -> str:
    return kabupaten_name.removeprefix("Kabupaten ")


def _kab_tps(
    rows: pd.DataFrame, dpt: int, n_tps: int, rng: np.random.Generator, sampler: InsideSampler
) -> list[dict[str, Any]]:
    voters, tps = desa_voters_and_tps(rows, dpt, n_tps)
    return _desa_tps_records(rows, voters, tps, rng, lambda code, n: sampler.points(code, n, rng), PROVINCE_NOTE)


def _kab_meetings(kab: str, name: str, rows: pd.DataFrame, rng: np.random.Generator) -> list[dict[str, Any]]:
    """One kabupaten-level rakor at the seat, three kecamatan-level ones and two in desa."""
    seat = rows.sort_values(["kind", "code"], ascending=[False, True]).iloc[0]  # a kelurahan if there is one
    city = name.startswith("Kota")
    office = "Wali Kota" if city else "Bupati"
    organiser = f"{'Pemkot' if city else 'Pemkab'} {_short(name)}"
    records: list[dict[str, Any]] = [
        {
            "external_id": f"demo-{kab}-rakor-001",
            "title": f"Rakor pengamanan Pilkada serentak 2024 tingkat {name}",
            "date": date(2024, 10, 1) + timedelta(days=int(rng.integers(0, 21))),
            "start_time": time(9, 0),
            "level": "kabupaten",
            "kabupaten": kab,
            "desa_code": seat["code"],
            "venue": f"Aula Kantor {office} {_short(name)}",
            "organiser": organiser,
            "agencies": ["sekda", "polri", "tni", "bawaslu", "kpu", "kesbangpol", "pemkab"],
            "synthetic": True,
            "notes": PROVINCE_NOTE,
        }
    ]
    kecamatan = sorted(rows["kecamatan_code"].unique())
    chosen = sorted(rng.choice(kecamatan, size=min(3, len(kecamatan)), replace=False).tolist())
    reached_all: list[str] = []
    for n, kec in enumerate(chosen, start=2):
        codes = sorted(rows.loc[rows["kecamatan_code"] == kec, "code"])
        kec_name = rows.loc[rows["kecamatan_code"] == kec, "kecamatan_name"].iloc[0]
        skip = {str(rng.choice(codes))} if len(codes) > 2 and n % 2 == 0 else set()  # leave a gap in some
        reached = [c for c in codes if c not in skip]
        reached_all.extend(reached)
        records.append(
            {
                "external_id": f"demo-{kab}-rakor-{n:03d}",
                "title": f"Rakor Pilkada damai tingkat Kecamatan {kec_name}",
                "date": date(2024, 10, 7) + timedelta(days=int(rng.integers(0, 44))),
                "start_time": time(int(rng.choice([8, 9, 10, 13])), 0),
                "level": "kecamatan",
                "kecamatan": kec,
                "venue": f"Aula Kantor Camat {kec_name}",
                "organiser": organiser,
                "agencies": _KEC_AGENCIES + rng.choice(_EXTRA_AGENCIES, size=2, replace=False).tolist(),
                "reached_desa": reached,
                "synthetic": True,
                "notes": PROVINCE_NOTE,
            }
        )
    names = dict(zip(rows["code"], rows["name"]))
    for k, code in enumerate(sorted(rng.choice(reached_all, size=2, replace=False).tolist())):
        kind = "Kelurahan" if code[9] == "1" else "Desa"
        records.append(
            {
                "external_id": f"demo-{kab}-rakor-{len(chosen) + 2 + k:03d}",
                "title": f"Rakor persiapan TPS {kind} {names[code]}",
                "date": date(2024, 11, 4) + timedelta(days=int(rng.integers(0, 19))),
                "start_time": time(int(rng.choice([9, 14, 19, 20])), 0),
                "level": "desa",
                "desa_code": code,
                "venue": f"{'Kantor Lurah' if kind == 'Kelurahan' else 'Balai Desa'} {names[code]}",
                "organiser": f"Pemerintah {kind} {names[code]}",
                "agencies": ["kades", "bpd", "pps", "linmas", "polri", "tni", "tokoh"],
                "reached_desa": [code],
                "synthetic": True,
                "notes": PROVINCE_NOTE,
            }
        )
    return records


def _kab_incidents(
    kab: str, rows: pd.DataFrame, voters: dict[str, int], rng: np.random.Generator, sampler: InsideSampler
) -> list[dict[str, Any]]:
    """Five incidents per kabupaten in desa drawn by voters, as in Mukomuko's spread."""
    names = dict(zip(rows["code"], rows["name"]))
    codes = sorted(names)
    p = np.array([voters.get(c, 0) for c in codes], dtype=float)
    start = datetime(2024, 9, 25, 7, 0)
    span_h = int((datetime(2024, 11, 30, 22, 0) - start).total_seconds() // 3600)
    weights = {c: v[0] for c, v in _INCIDENT_KINDS.items()}
    records: list[dict[str, Any]] = []
    for k, i in enumerate(rng.choice(len(codes), size=5, p=p / p.sum()), start=1):
        code = codes[int(i)]
        cat = _pick(rng, weights)
        occurred = start + timedelta(hours=int(rng.integers(0, span_h)))
        rec = _incident(rng, f"demo-{kab}-insiden-{k:03d}", code, names[code], cat, occurred, PROVINCE_NOTE)
        if rng.random() < 0.5:
            lon, lat = sampler.points(code, 1, rng)[0]
            rec.update(lon=lon, lat=lat)
        records.append(rec)
    return records


def build_province_demo(desa: gpd.GeoDataFrame, province: str = PROVINCE, seed: int = SEED) -> DemoSet:
    """TPS, rakor and incidents for the kabupaten/kota of ``province`` other than Mukomuko, from the desa
    frame (with ``kabupaten_code``/``kabupaten_name``); pure and deterministic: each kabupaten draws from
    its own generator, seeded with ``seed`` and its code."""
    if str(province).strip() != PROVINCE:
        raise ValidationError(
            f"--province {province}: the province demo exists for Bengkulu (17) only, whose figures FACTS.md has"
        )
    wanted = sorted(set(DPT_PER_KABUPATEN) | set(UNPUBLISHED_DPT))
    present = set(desa["kabupaten_code"])
    missing = [k for k in wanted if k not in present]
    if missing:
        raise ValidationError(
            f"demo --province {PROVINCE} needs the boundaries of every kabupaten/kota of Bengkulu; missing: "
            f"{', '.join(missing)} (GEO_APP_KABUPATEN={PROVINCE} geo-app boundaries import)"
        )
    desa = desa[desa["kabupaten_code"].isin(wanted)].sort_values("code").reset_index(drop=True)
    dpt = province_dpt(desa["kabupaten_code"].value_counts().to_dict())
    tps = province_tps(dpt)
    sampler = InsideSampler(desa)
    out = DemoSet()
    for kab in wanted:
        if kab == MUKOMUKO:
            continue
        rng = np.random.default_rng([seed, int(kab.replace(".", ""))])
        rows = desa[desa["kabupaten_code"] == kab]
        name = rows["kabupaten_name"].iloc[0]
        kab_tps = _kab_tps(rows, dpt[kab], tps[kab], rng, sampler)
        voters = pd.DataFrame(kab_tps).groupby("desa_code")["voters"].sum().to_dict()
        out.tps.extend(kab_tps)
        out.meetings.extend(_kab_meetings(kab, name, rows, rng))
        out.incidents.extend(_kab_incidents(kab, rows, voters, rng, sampler))
    return out


def has_records(session: Session) -> bool:
    """Whether any record (even a deleted one) exists: the demo is only loaded into an empty database."""
    return any(session.scalar(select(func.count()).select_from(m)) for m in MODELS.values())


def load_demo(session: Session, settings: dict[str, Any], province: str | None = None) -> dict[str, dict[str, int]]:
    """Validate and write the demo set in one transaction; returns counts per kind
    (``inserted`` / ``updated`` / ``unchanged``). Loading it again changes nothing. With ``province``
    ("17"), the other nine kabupaten/kota of Bengkulu are added (``build_province_demo``)."""
    ctx = record_context(session, settings)
    demo = build_demo(ctx.desa)
    if province is not None:
        extra = build_province_demo(ctx.desa, province)
        demo = DemoSet(
            meetings=demo.meetings + extra.meetings,
            tps=demo.tps + extra.tps,
            incidents=demo.incidents + extra.incidents,
        )
    points = [(r["lon"], r["lat"]) for rows in demo.by_kind().values() for r in rows if r.get("lon") is not None]
    ctx.prefetch(points)
    cleaned: dict[str, list[dict[str, Any]]] = {}
    for kind, rows in demo.by_kind().items():
        cleaned[kind] = []
        for i, raw in enumerate(rows):
            try:
                cleaned[kind].append(clean_record(kind, raw, ctx))
            except RecordInvalid as exc:  # a bug in the generator, not user input
                raise ValidationError(f"demo {kind} #{i + 1}: {exc.message}", details=exc.details) from None
    batch = f"demo-{uuid.uuid4().hex}"  # fits import_batch (40 characters)
    counts = {kind: {"inserted": 0, "updated": 0, "unchanged": 0} for kind in KINDS}
    with transaction(session):
        for kind in KINDS:
            for values in cleaned[kind]:
                counts[kind][upsert_record(session, kind, values, batch, actor="demo")] += 1
        if any(c["inserted"] or c["updated"] for c in counts.values()):
            bump_version(session, "records")
    return counts


def serve_province(settings: dict[str, Any]) -> str | None:
    """The province demo ``geo-app serve`` adds on an empty database: ``17`` when ``GEO_APP_KABUPATEN``
    selects Bengkulu whole (``17``), so a province deployment opens with every kabupaten filled; none
    for one kabupaten or a list (the province demo needs all ten)."""
    from .boundaries import selection

    return PROVINCE if PROVINCE in selection(settings).items else None


def count_lines(counts: dict[str, dict[str, int]]) -> list[str]:
    labels = {"meetings": "rakor", "tps": "TPS", "incidents": "insiden"}
    return [
        f"{labels[k]}: {c['inserted']} baru/new, {c['updated']} diperbarui/updated, {c['unchanged']} tetap/unchanged"
        for k, c in counts.items()
    ]


def tps_by_kabupaten(session: Session) -> list[dict[str, Any]]:
    """Live TPS and voters per kabupaten/kota (what ``demo load --province`` prints after loading)."""
    stmt = (
        select(Kabupaten.code, Kabupaten.name, func.count(PollingStation.id), func.sum(PollingStation.voters))
        .join(Kecamatan, Kecamatan.kabupaten_code == Kabupaten.code)
        .join(Desa, Desa.kecamatan_code == Kecamatan.code)
        .join(PollingStation, PollingStation.desa_code == Desa.code)
        .where(PollingStation.deleted_at.is_(None))
        .group_by(Kabupaten.code, Kabupaten.name)
        .order_by(Kabupaten.code)
    )
    return [
        {"code": code, "name": name, "tps": int(n), "voters": int(v or 0)} for code, name, n, v in session.execute(stmt)
    ]
