"""Boundary use cases: fetch, import (upstream dumps or any vector file), list."""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import geopandas as gpd
from sqlalchemy import case, func, select
from sqlalchemy.orm import Session

from ..config import setting
from ..errors import BoundariesMissing, NotFound, ValidationError
from ..i18n import DEFAULT_LANG, gettext, pgettext
from ..ingest.boundaries import BoundarySet, combine, prepare_boundaries
from ..ingest.fetch import (
    PROVINCE_NAMES,
    KabupatenSelection,
    boundary_files,
    cache_root,
    cached_kabupaten,
    fetch_boundaries,
    parse_kabupaten,
    province_files,
)
from ..ingest.vector import ColumnMapping, read_desa_file
from ..ingest.wilayah import read_dump
from ..records.desa_lookup import find_kabupaten
from ..store.adapter import SaveCounts, desa_frame, kabupaten_frame, kecamatan_frame, save_boundaries
from ..store.db import data_version, transaction
from ..store.models import Desa, Kabupaten, Kecamatan


@dataclass
class ImportReport:
    source: str
    counts: SaveCounts
    repairs: list[str] = field(default_factory=list)
    #: findings that did not stop the import (desa outside their upstream kabupaten outline)
    notes: list[str] = field(default_factory=list)
    kabupaten: list[str] = field(default_factory=list)

    def lines(self) -> list[str]:
        out = [f"Sumber / source: {self.source}"]
        if len(self.kabupaten) > 1:
            out.append(f"kabupaten/kota: {len(self.kabupaten)} ({', '.join(self.kabupaten)})")
        for level in ("kabupaten", "kecamatan", "desa"):
            out.append(
                f"{level}: {self.counts.inserted.get(level, 0)} baru/new, {self.counts.updated.get(level, 0)} diperbarui/updated, "
                f"{self.counts.unchanged.get(level, 0)} tetap/unchanged, {self.counts.removed.get(level, 0)} dihapus/removed"
            )
        out.extend(f"diperbaiki/repaired: {r}" for r in self.repairs)
        out.extend(f"periksa/check: {n}" for n in self.notes)
        return out


def selection(settings: dict[str, Any], kabupaten: str | KabupatenSelection | None = None) -> KabupatenSelection:
    """The kabupaten selection of a command: ``--kabupaten`` when given, else ``GEO_APP_KABUPATEN``
    (each named in its own error messages)."""
    if isinstance(kabupaten, KabupatenSelection):
        return kabupaten
    if kabupaten is not None:
        return parse_kabupaten(kabupaten, "--kabupaten")
    return parse_kabupaten(settings["KABUPATEN"], "GEO_APP_KABUPATEN")


def fetch(
    settings: dict[str, Any], source: str | None = None, kabupaten: str | KabupatenSelection | None = None
) -> list[Path]:
    return fetch_boundaries(
        source or settings["BOUNDARY_SOURCE"],
        settings["SHAPEFILE_DIR"],
        selection(settings, kabupaten),
        timeout=float(settings["FETCH_TIMEOUT"]),
    )


def load_upstream(settings: dict[str, Any], kabupaten: str | KabupatenSelection) -> BoundarySet:
    """Read the cached upstream dumps (fetching them first if missing) into one boundary set.

    Each kabupaten is prepared from its own desa file, so a repair names the file and its row there.
    """
    chosen = selection(settings, kabupaten)
    codes = cached_kabupaten(settings["SHAPEFILE_DIR"], chosen)
    if codes is None:
        fetch(settings, kabupaten=chosen)
        codes = cached_kabupaten(settings["SHAPEFILE_DIR"], chosen) or []
    root = cache_root(settings["SHAPEFILE_DIR"])
    sets: list[BoundarySet] = []
    for province in chosen.provinces:
        kab_rel, kec_rel = province_files(province)
        in_province = [c for c in codes if c.startswith(province + ".")]
        kab = read_dump(root / kab_rel, code_prefix=in_province[0] if len(in_province) == 1 else province + ".")
        kec = read_dump(root / kec_rel, code_prefix=province + ".")
        for code in in_province:
            kel = root / boundary_files(code).kel
            desa = read_dump(kel, code_prefix=code + ".")
            part = prepare_boundaries(
                desa,
                code,
                kecamatan_upstream=kec[kec["code"].str.startswith(code + ".")],
                kabupaten_upstream=kab[kab["code"] == code],
            )
            if len(codes) > 1:  # several files: say which one a row number is in
                part.repairs = [f"{kel.name} {r}" for r in part.repairs]
            sets.append(part)
    if not sets:
        raise ValidationError(f"{chosen.setting}: {chosen} lists no kabupaten to import")
    return combine(sets)


def _known_names(session: Session) -> dict[str, str]:
    names = dict(session.execute(select(Kecamatan.code, Kecamatan.name)).all())
    names.update(dict(session.execute(select(Kabupaten.code, Kabupaten.name)).all()))
    return names


def import_boundaries(
    session: Session,
    settings: dict[str, Any],
    path: str | Path | None = None,
    mapping: ColumnMapping | None = None,
    kabupaten: str | None = None,
) -> ImportReport:
    """Import boundaries in one transaction: all of it lands, or nothing changes.

    ``kabupaten`` (``--kabupaten``; default ``GEO_APP_KABUPATEN``) is one code, a list or a province. From a
    vector file, a province means the kabupaten of that province the file holds.
    """
    chosen = selection(settings, kabupaten)
    if path is None:
        boundary_set = load_upstream(settings, chosen)
        source = settings["BOUNDARY_SOURCE"]
    else:
        if mapping is None:
            raise ValueError("mapping is required with a path")
        desa = read_desa_file(path, mapping)
        try:
            boundary_set = prepare_boundaries(desa, _file_kabupaten(desa, chosen), known_names=_known_names(session))
        except ValidationError as exc:  # the rows are named; say which file they are in
            raise ValidationError(f"{path}: {exc.message}", details=exc.details) from None
        source = str(path)
    counts = SaveCounts()
    with transaction(session):
        for code in boundary_set.kabupaten_codes():
            part = boundary_set.part(code)
            _add_counts(counts, save_boundaries(session, part.kabupaten, part.kecamatan, part.desa))
    return ImportReport(
        source=source,
        counts=counts,
        repairs=boundary_set.repairs,
        notes=boundary_set.notes,
        kabupaten=boundary_set.kabupaten_codes(),
    )


def _file_kabupaten(desa: gpd.GeoDataFrame, chosen: KabupatenSelection) -> list[str]:
    """The kabupaten codes a vector file is checked against: the listed ones, and for a province code
    every kabupaten of that province among the file's desa codes."""
    codes = [item for item in chosen.items if len(item) == 5]
    prefixes = {str(c)[:5] for c in desa["code"] if len(str(c)) >= 5}
    absent = [code for code in codes if code not in prefixes]
    if absent and len(chosen.items) > 1:  # one code alone: the rows outside it are named below
        raise ValidationError(f"no desa of kabupaten {', '.join(absent)} ({chosen.setting} {chosen}) in the file")
    for province in (item for item in chosen.items if len(item) == 2):
        codes.extend(sorted(p for p in prefixes if p.startswith(province + ".")))
    if not codes:
        raise ValidationError(f"no desa code of province {', '.join(chosen.items)} ({chosen.setting}) in the file")
    return codes


def _add_counts(total: SaveCounts, part: SaveCounts) -> None:
    for name in ("inserted", "updated", "unchanged", "removed"):
        into = getattr(total, name)
        for level, n in getattr(part, name).items():
            into[level] = into.get(level, 0) + n


def has_boundaries(session: Session) -> bool:
    return session.scalar(select(func.count()).select_from(Desa)) > 0


def ensure_boundaries(session: Session, settings: dict[str, Any]) -> ImportReport | None:
    """On first start: fetch and import the upstream boundaries if the database has none."""
    if has_boundaries(session):
        return None
    return import_boundaries(session, settings)


def kabupaten_count(session: Session) -> int:
    """How many kabupaten/kota are loaded (more than one: lists and exports name each row's kabupaten)."""
    return session.scalar(select(func.count()).select_from(Kabupaten))


def require_boundaries(session: Session) -> None:
    if not has_boundaries(session):
        raise BoundariesMissing(
            "Batas wilayah belum diimpor / no boundaries imported yet: run `geo-app boundaries import`"
        )


def kecamatan_summary(session: Session) -> list[dict[str, Any]]:
    """Each kecamatan with its desa count, kelurahan count and area (km²)."""
    stmt = (
        select(
            Kecamatan.code,
            Kecamatan.name,
            Kecamatan.area_km2,
            func.count(Desa.code).label("desa_count"),
            func.sum(case((Desa.kind == "kelurahan", 1), else_=0)).label("kelurahan_count"),
        )
        .join(Desa, Desa.kecamatan_code == Kecamatan.code, isouter=True)
        .group_by(Kecamatan.code, Kecamatan.name, Kecamatan.area_km2)
        .order_by(Kecamatan.code)
    )
    return [dict(r) for r in session.execute(stmt).mappings()]


# --- the loaded area, named for titles and file names ------------------------------------------------------

#: a list of more kabupaten than this is counted in a title ("5 kabupaten/kota"), not named one by one
AREA_NAMES_LISTED = 3


def _kabupaten_parts(code: str, name: str) -> tuple[str, str]:
    """``("kabupaten" | "kota", bare name)`` of a stored kabupaten name: "Kabupaten Mukomuko" →
    ("kabupaten", "Mukomuko"). A name stored without the word (a vector file's ``WADMKK``) takes it
    from the code: Kemendagri numbers a province's kota from 71."""
    text = " ".join(str(name or code).split())
    for prefix, kind in (("kabupaten ", "kabupaten"), ("kab. ", "kabupaten"), ("kab ", "kabupaten"), ("kota ", "kota")):
        if text.lower().startswith(prefix):
            return kind, text[len(prefix) :].strip()
    return ("kota" if code[3:5] >= "71" else "kabupaten"), text


def _slug(text: str) -> str:
    """ASCII letters, digits and ``_`` for a file name: "Bengkulu Selatan" → ``bengkulu_selatan``."""
    ascii_text = unicodedata.normalize("NFKD", text).encode("ascii", "ignore").decode()
    return re.sub(r"[^a-z0-9]+", "_", ascii_text.lower()).strip("_")


@dataclass(frozen=True)
class Area:
    """The area a title or a download names: one kabupaten/kota, a whole province (``province``: every
    loaded kabupaten lies in the province ``GEO_APP_KABUPATEN`` names as a whole), or a list.
    ``kabupaten``: ``(code, stored name)`` pairs in code order; empty before any boundary import.

    Why one place: the service can load any set of kabupaten, and the page titles, the GIS files, the
    OGC API and the download names must all say what is loaded (Mukomuko alone: as they always did)."""

    kabupaten: tuple[tuple[str, str], ...] = ()
    province: str | None = None

    @property
    def codes(self) -> list[str]:
        return [code for code, _name in self.kabupaten]

    def _province_name(self, lang: str) -> str:
        name = PROVINCE_NAMES.get(self.province or "", self.province or "")
        return gettext("Provinsi %(name)s", lang) % {"name": name}

    @staticmethod
    def _one(code: str, name: str, lang: str, short: bool) -> str:
        kind, bare = _kabupaten_parts(code, name)
        if kind == "kabupaten":
            return bare if short else gettext("Kabupaten %(name)s", lang) % {"name": bare}
        return gettext("Kota %(name)s", lang) % {"name": bare}  # "Bengkulu" alone would be the province

    def _named(self, lang: str, short: bool) -> str:
        if self.province:
            return self._province_name(lang)
        if not self.kabupaten:
            return ""
        if len(self.kabupaten) > AREA_NAMES_LISTED:
            return gettext("%(count)d kabupaten/kota", lang) % {"count": len(self.kabupaten)}
        return ", ".join(self._one(code, name, lang, short) for code, name in self.kabupaten)

    def name(self, lang: str = DEFAULT_LANG) -> str:
        """ "Kabupaten Mukomuko" (en "Mukomuko Regency"), "Kota Bengkulu", "Provinsi Bengkulu", "Kabupaten
        Kaur, Kota Bengkulu", "5 kabupaten/kota"; "" when nothing is loaded."""
        return self._named(lang, short=False)

    def short(self, lang: str = DEFAULT_LANG) -> str:
        """As ``name`` with a kabupaten by its name alone: "Mukomuko", "Kaur, Kota Bengkulu"."""
        return self._named(lang, short=True)

    def title(self, lang: str = DEFAULT_LANG) -> str:
        """The window title, GIS files, OGC API: "Peta Koordinasi Pilkada Mukomuko"."""
        area = self.short(lang)
        if not area:
            return gettext("Peta Koordinasi Pilkada", lang)
        return gettext("Peta Koordinasi Pilkada %(area)s", lang) % {"area": area}

    def brand(self, lang: str = DEFAULT_LANG) -> str:
        """The header of every page and the dashboard: "Peta Koordinasi Pilkada Kabupaten Mukomuko"."""
        area = self.name(lang)
        if not area:
            return gettext("Peta Koordinasi Pilkada", lang)
        return pgettext("brand", "Peta Koordinasi Pilkada %(area)s", lang) % {"area": area}

    @property
    def slug(self) -> str:
        """For file names, in any language: ``mukomuko``, ``kota_bengkulu``, ``provinsi_bengkulu``,
        ``kaur_kota_bengkulu``, ``5_kabupaten_kota``; ``wilayah`` when nothing is loaded."""
        if self.province:
            return _slug(f"provinsi {PROVINCE_NAMES.get(self.province, self.province)}")
        if not self.kabupaten:
            return "wilayah"
        if len(self.kabupaten) > AREA_NAMES_LISTED:
            return f"{len(self.kabupaten)}_kabupaten_kota"
        parts = []
        for code, name in self.kabupaten:
            kind, bare = _kabupaten_parts(code, name)
            parts.append(_slug(bare if kind == "kabupaten" else f"kota {bare}") or code.replace(".", "_"))
        return "_".join(parts)


def loaded_area(session: Session, app_settings: Mapping[str, Any] | None = None, kabupaten: str | None = None) -> Area:
    """The area of the stored kabupaten table, or of the one kabupaten ``kabupaten`` (a code, as
    ``kabupaten_code`` or ``coverage.resolve_kabupaten`` give it). Several kabupaten all in the province
    that ``GEO_APP_KABUPATEN`` names as a whole (``17``) are that province: the boundary files carry no
    province row, so the setting says whether the whole province was meant."""
    rows = session.execute(select(Kabupaten.code, Kabupaten.name).order_by(Kabupaten.code)).all()
    known = tuple((str(code), str(name)) for code, name in rows if not kabupaten or code == kabupaten)
    provinces = {code[:2] for code, _name in known}
    if len(known) > 1 and len(provinces) == 1:
        try:
            chosen = parse_kabupaten(setting(app_settings or {}, "KABUPATEN"))
        except ValidationError:
            return Area(known)
        province = provinces.pop()
        if province in chosen.items:
            return Area(known, province)
    return Area(known)


# --- reads for the views (one call per endpoint) ----------------------------------------------------------


def kabupaten_code(session: Session, value: str | None) -> str | None:
    """The kabupaten a ``kabupaten`` filter means: its code (``17.06``) or its name in any case, with or
    without "Kabupaten" (``Mukomuko``, ``kota bengkulu``); ``None`` for no filter. Unknown: 400 listing
    the kabupaten the database holds."""
    text = " ".join(str(value or "").split())
    if not text:
        return None
    known = dict(session.execute(select(Kabupaten.code, Kabupaten.name).order_by(Kabupaten.code)).all())
    code = find_kabupaten(known, text)
    if code is not None:
        return code
    listed = ", ".join(f"{c} {n}" for c, n in known.items())
    raise ValidationError(
        f"kabupaten {text!r} tidak dikenal / unknown kabupaten; pilihan / known: {listed}",
        details={"kabupaten": "tidak dikenal / unknown"},
    )


def kabupaten_list(session: Session) -> gpd.GeoDataFrame:
    """Every kabupaten with its kecamatan, desa and kelurahan counts and area (km², EPSG:32747), as the
    boundary API lists them."""
    require_boundaries(session)
    kab = kabupaten_frame(session)
    desa = desa_frame(session)
    kec_counts = desa.groupby("kabupaten_code")["kecamatan_code"].nunique()
    desa_counts = desa["kabupaten_code"].value_counts()
    kel_counts = desa.loc[desa["kind"] == "kelurahan", "kabupaten_code"].value_counts()
    return kab.assign(
        kind="kabupaten",
        kecamatan_count=[int(kec_counts.get(c, 0)) for c in kab["code"]],
        desa_count=[int(desa_counts.get(c, 0)) for c in kab["code"]],
        kelurahan_count=[int(kel_counts.get(c, 0)) for c in kab["code"]],
    )


def kecamatan_list(session: Session, kabupaten: str | None = None) -> gpd.GeoDataFrame:
    """Every kecamatan (or those of one kabupaten, code or name) with its desa count, as the boundary API
    lists them."""
    require_boundaries(session)
    kab = kabupaten_code(session, kabupaten)
    kec = kecamatan_frame(session)
    if kab:
        kec = kec[kec["kabupaten_code"] == kab].reset_index(drop=True)
    counts = desa_frame(session, kabupaten=kab)["kecamatan_code"].value_counts()
    return kec.assign(
        kind="kecamatan",
        kecamatan_code=kec["code"],
        kecamatan_name=kec["name"],
        desa_count=[int(counts.get(c, 0)) for c in kec["code"]],
    )


def desa_list(session: Session, kabupaten: str | None = None) -> gpd.GeoDataFrame:
    """Every desa, or those of one kabupaten (code or name)."""
    require_boundaries(session)
    return desa_frame(session, kabupaten=kabupaten_code(session, kabupaten))


def desa_detail(session: Session, code: str) -> gpd.GeoDataFrame:
    """The one-row frame of desa ``code``; an empty database is a 503, not "this desa does not exist"."""
    require_boundaries(session)
    row = desa_frame(session, code=code)
    if row.empty:
        raise NotFound(f"desa {code!r} tidak ditemukan / not found")
    return row


def places(session: Session) -> dict[str, Any]:
    """Kecamatan and desa for the record forms' pickers and for showing names instead of codes. With
    several kabupaten loaded the pickers name each kecamatan with its kabupaten ("Air Rami (Mukomuko)")
    and list them by kabupaten; ``area`` names what is loaded (for "this point is outside ...")."""
    desa = desa_frame(session)
    kecamatan = dict(zip(desa["kecamatan_code"], desa["kecamatan_name"]))
    kabupaten = dict(zip(desa["kabupaten_code"], desa["kabupaten_name"]))
    several = len(kabupaten) > 1

    def label(kec: str) -> str:
        return f"{kecamatan[kec]} ({kabupaten[kec[:5]].removeprefix('Kabupaten ')})" if several else kecamatan[kec]

    groups = [
        {
            "code": kec,
            "name": label(kec),
            "desa": [{"code": c, "name": n} for c, n in zip(rows["code"], rows["name"])],
        }
        for kec, rows in desa.groupby("kecamatan_code", sort=True)
    ]
    order = (lambda kv: (kv[0][:5], kv[1])) if several else (lambda kv: kv[1])
    return {
        "kecamatan": sorted(((code, label(code)) for code in kecamatan), key=order),
        "area": next(iter(kabupaten.values()), ""),
        "kabupaten_count": len(kabupaten),
        "kabupaten": dict(sorted(kabupaten.items())) if several else {},
        "kecamatan_names": kecamatan,
        "desa_groups": groups,
        "desa_names": dict(zip(desa["code"], desa["name"])),
        "desa_kecamatan": dict(zip(desa["code"], desa["kecamatan_code"])),
    }


Point = tuple[float, float]


def representative_points(session: Session) -> tuple[dict[str, Point], dict[str, Point]]:
    """``code -> (lon, lat)`` of each desa's and each kecamatan's representative point (records without a
    point of their own are drawn there)."""

    def points(frame) -> dict[str, Point]:
        return {c: (float(x), float(y)) for c, x, y in zip(frame["code"], frame["rep_lon"], frame["rep_lat"])}

    return points(desa_frame(session)), points(kecamatan_frame(session))


def health(session: Session) -> dict[str, Any]:
    """``/healthz``: the database answers; how many desa it holds and its data version."""
    desa = session.scalar(select(func.count()).select_from(Desa))
    return {"status": "ok", "desa": desa, "data_version": data_version(session)}


def current_data_version(session: Session) -> str:
    """Changes whenever any stored data changes (pages show it; caches key on it)."""
    return data_version(session)
