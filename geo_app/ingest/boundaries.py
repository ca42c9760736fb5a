"""Turn raw desa polygons (plus optional upstream kecamatan/kabupaten polygons) into a consistent,
validated boundary set. Pure computation over GeoDataFrames: no database, no Flask.

The hierarchy comes from the Kemendagri code: desa ``17.06.08.2006`` belongs to kecamatan
``17.06.08`` of kabupaten ``17.06``. Kecamatan polygons are the dissolve of their desa and kabupaten
polygons the union of their kecamatan, so that every desa lies in its kecamatan and kabupaten; the
coarser upstream kecamatan and kabupaten polygons are kept beside them (FACTS.md), and a desa whose
representative point lies outside its upstream kabupaten polygon is reported.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass, field

import geopandas as gpd
import pandas as pd
import shapely

from ..errors import ValidationError
from ..geo import WGS84, area_km2, polygonal_part, representative_points, to_wgs84

DESA_CODE = re.compile(r"^\d{2}\.\d{2}\.\d{2}\.[12]\d{3}$")
MAX_LISTED = 20
#: The real desa have 18,677 vertices in all (FACTS.md); one desa with more than this is not a boundary
#: anyone meant to upload, and would make every map heavy.
MAX_VERTICES_PER_DESA = 200_000


@dataclass
class BoundarySet:
    kabupaten: gpd.GeoDataFrame
    kecamatan: gpd.GeoDataFrame
    desa: gpd.GeoDataFrame
    repairs: list[str] = field(default_factory=list)
    #: checks that found something worth a look but not wrong enough to refuse (see ``upstream_checks``)
    notes: list[str] = field(default_factory=list)

    def kabupaten_codes(self) -> list[str]:
        return list(self.kabupaten["code"])

    def part(self, kabupaten: str) -> BoundarySet:
        """The rows of one kabupaten (the store writes a kabupaten at a time)."""
        return BoundarySet(
            kabupaten=self.kabupaten[self.kabupaten["code"] == kabupaten],
            kecamatan=self.kecamatan[self.kecamatan["kabupaten_code"] == kabupaten],
            desa=self.desa[self.desa["code"].str.startswith(kabupaten + ".")],
        )


def combine(sets: list[BoundarySet]) -> BoundarySet:
    """Several kabupaten's boundary sets as one (each was prepared from its own desa file)."""

    def concat(frames: list[gpd.GeoDataFrame]) -> gpd.GeoDataFrame:
        return gpd.GeoDataFrame(pd.concat(frames, ignore_index=True), geometry="geometry", crs=WGS84)

    return BoundarySet(
        kabupaten=concat([s.kabupaten for s in sets]),
        kecamatan=concat([s.kecamatan for s in sets]),
        desa=concat([s.desa for s in sets]),
        repairs=[r for s in sets for r in s.repairs],
        notes=[n for s in sets for n in s.notes],
    )


def _row_label(row: pd.Series) -> str:
    n = row.get("source_row")
    label = f"row {int(n)}" if pd.notna(n) else "row"
    code = row.get("code") or "(no code)"
    name = " ".join(str(row.get("name") or "").split())  # keep the message on one line
    return f"{label} ({code}{' ' + name if name else ''})"


def _fail(what: str, labels: list[str]) -> None:
    shown = "; ".join(labels[:MAX_LISTED])
    more = f"; and {len(labels) - MAX_LISTED} more" if len(labels) > MAX_LISTED else ""
    raise ValidationError(f"{what}: {shown}{more}", details=labels)


def _field(desa: gpd.GeoDataFrame, key: str, what: str) -> str:
    """``what``, plus the source column it came from when the reader recorded it (``attrs["columns"]``)."""
    column = desa.attrs.get("columns", {}).get(key)
    return f"{what} (column {column})" if column else what


def _codes(kabupaten: str | Sequence[str]) -> tuple[str, ...]:
    return (kabupaten,) if isinstance(kabupaten, str) else tuple(kabupaten)


def validate_desa(desa: gpd.GeoDataFrame, kabupaten: str | Sequence[str]) -> gpd.GeoDataFrame:
    """Check codes, names, hierarchy and geometry of raw desa rows; repair invalid polygons.

    ``kabupaten`` is one code or several; every desa must belong to one of them.
    Returns a copy with ``kind``, ``kecamatan_code`` and a ``repairs`` attribute (list of messages).
    Raises ``ValidationError`` naming every offending row (and the source column, when known).
    """
    codes = _codes(kabupaten)
    code_field = _field(desa, "code", "desa code")
    if "source_row" not in desa:
        desa = desa.assign(source_row=range(1, len(desa) + 1))
    desa = to_wgs84(desa, "desa boundaries").copy()
    if desa.empty:
        raise ValidationError("the boundary data has no desa rows")

    bad_code = [_row_label(r) for _, r in desa.iterrows() if not DESA_CODE.match(str(r["code"]))]
    if bad_code:
        _fail(f"{code_field} is not a Kemendagri desa code like 17.06.08.2006", bad_code)
    prefixes = tuple(f"{code}." for code in codes)
    outside = [_row_label(r) for _, r in desa.iterrows() if not str(r["code"]).startswith(prefixes)]
    if outside:
        _fail(f"{code_field} does not belong to kabupaten {', '.join(codes)}", outside)
    no_name = [_row_label(r) for _, r in desa.iterrows() if not str(r["name"] or "").strip()]
    if no_name:
        _fail(f"{_field(desa, 'name', 'desa name')} is empty", no_name)
    dup_mask = desa["code"].duplicated(keep=False)
    if dup_mask.any():
        _fail(f"duplicate {code_field}", [_row_label(r) for _, r in desa[dup_mask].iterrows()])

    derived = desa["code"].str.slice(0, 8)
    if "kecamatan_code" in desa:
        given = desa["kecamatan_code"].astype("string").fillna("")
        mismatch = desa[given.to_numpy() != derived.to_numpy()]
        if not mismatch.empty:
            _fail(
                f"{_field(desa, 'kecamatan_code', 'kecamatan code')} does not fit the {code_field}",
                [f"{_row_label(r)}: kecamatan {r['kecamatan_code'] or '(empty)'}" for _, r in mismatch.iterrows()],
            )
    desa["kecamatan_code"] = derived.to_numpy()
    desa["kind"] = ["kelurahan" if c[9] == "1" else "desa" for c in desa["code"]]

    empty = desa.geometry.isna() | desa.geometry.is_empty
    if empty.any():
        _fail("empty or missing geometry", [_row_label(r) for _, r in desa[empty].iterrows()])
    not_poly = ~desa.geometry.geom_type.isin(["Polygon", "MultiPolygon"])
    if not_poly.any():
        _fail(
            "geometry is not a polygon",
            [f"{_row_label(r)}: {r.geometry.geom_type}" for _, r in desa[not_poly].iterrows()],
        )

    n_coords = shapely.get_num_coordinates(desa.geometry.to_numpy())
    too_big = n_coords > MAX_VERTICES_PER_DESA
    if too_big.any():
        _fail(
            f"polygon has more than {MAX_VERTICES_PER_DESA:,} vertices (simplify it first)",
            [f"{_row_label(r)}: {n:,} vertices" for (_, r), n in zip(desa[too_big].iterrows(), n_coords[too_big])],
        )

    repairs: list[str] = []
    invalid = ~desa.geometry.is_valid
    for idx in desa.index[invalid]:
        geom = desa.geometry.loc[idx]
        reason = shapely.is_valid_reason(geom)
        fixed = polygonal_part(shapely.make_valid(geom))
        if fixed.is_empty:
            _fail("invalid geometry that cannot be repaired", [f"{_row_label(desa.loc[idx])}: {reason}"])
        desa.loc[idx, "geometry"] = fixed
        repairs.append(f"{_row_label(desa.loc[idx])}: repaired invalid polygon ({reason})")
    desa.attrs["repairs"] = repairs
    return desa


def _with_measures(gdf: gpd.GeoDataFrame) -> gpd.GeoDataFrame:
    gdf = gdf.copy()
    gdf["area_km2"] = area_km2(gdf.geometry).round(6)
    rep = representative_points(gdf.geometry)
    gdf["rep_lon"] = rep.x.round(7)
    gdf["rep_lat"] = rep.y.round(7)
    return gdf


def _names_by_code(desa: gpd.GeoDataFrame, code_col: str, name_col: str) -> dict[str, str]:
    if name_col not in desa:
        return {}
    names = desa[[code_col, name_col]].dropna()
    names = names[names[name_col].astype(str).str.strip() != ""]
    return names.groupby(code_col)[name_col].agg(lambda s: s.mode().iloc[0]).to_dict()


def _kabupaten_name(code: str, known: str | None) -> str:
    if known and not known.lower().startswith(("kabupaten", "kota")):
        return f"Kabupaten {known}"
    return known or f"Kabupaten {code}"


def upstream_checks(desa: gpd.GeoDataFrame, kabupaten: gpd.GeoDataFrame) -> list[str]:
    """Desa whose representative point lies outside the upstream polygon of its kabupaten.

    The stored kabupaten polygon is the union of its desa, so the hierarchy holds by construction; the
    upstream outline is drawn separately and may disagree near coasts and borders (two kelurahan of Kota
    Bengkulu, 17.71, lie outside it). Such a desa is reported, not refused: its code says where it belongs.
    """
    notes: list[str] = []
    outlines = {c: g for c, g in zip(kabupaten["code"], kabupaten["upstream_geometry"]) if g is not None}
    names = dict(zip(kabupaten["code"], kabupaten["name"]))
    if not outlines:
        return notes
    points = shapely.points(desa["rep_lon"].to_numpy(), desa["rep_lat"].to_numpy())
    for code, name, point in zip(desa["code"], desa["name"], points):
        outline = outlines.get(code[:5])
        if outline is not None and not outline.contains(point):
            notes.append(
                f"desa {code} {name}: titik wakilnya di luar poligon hulu {names[code[:5]]} / representative point "
                f"outside the upstream polygon of kabupaten {code[:5]} (kept: the code decides, the stored "
                "kabupaten is the union of its desa)"
            )
    return notes


def prepare_boundaries(
    desa: gpd.GeoDataFrame,
    kabupaten: str | Sequence[str],
    kecamatan_upstream: gpd.GeoDataFrame | None = None,
    kabupaten_upstream: gpd.GeoDataFrame | None = None,
    known_names: dict[str, str] | None = None,
) -> BoundarySet:
    """Validate desa and build kecamatan and kabupaten from them.

    ``kabupaten`` is one code or several (the desa of each are grouped by their code prefix; a kabupaten
    without desa is left out). ``kecamatan_upstream``/``kabupaten_upstream`` (columns code, name,
    geometry) supply names and the upstream polygons; ``known_names`` (code → name, e.g. from the
    database) fills names a desa-only source lacks.
    """
    desa = validate_desa(desa, kabupaten)
    known_names = dict(known_names or {})

    kec_names = dict(known_names)
    kec_names.update(_names_by_code(desa, "kecamatan_code", "kecamatan_name"))
    upstream_geoms: dict[str, shapely.Geometry] = {}
    if kecamatan_upstream is not None:
        kecamatan_upstream = to_wgs84(kecamatan_upstream, "kecamatan boundaries")
        for _, r in kecamatan_upstream.iterrows():
            kec_names[r["code"]] = r["name"]
            upstream_geoms[r["code"]] = r.geometry

    kec = desa[["kecamatan_code", "geometry"]].dissolve(by="kecamatan_code").reset_index()
    kec = kec.rename(columns={"kecamatan_code": "code"})
    kec["geometry"] = [polygonal_part(shapely.make_valid(g)) for g in kec.geometry]
    kec["name"] = [kec_names.get(c, f"Kecamatan {c}") for c in kec["code"]]
    kec["kabupaten_code"] = kec["code"].str.slice(0, 5)
    kec["upstream_geometry"] = [upstream_geoms.get(c) for c in kec["code"]]
    kec = gpd.GeoDataFrame(kec, geometry="geometry", crs=WGS84)

    kab_names = {c: known_names.get(c) for c in _codes(kabupaten)}
    kab_names.update(_names_by_code(desa.assign(kab=desa["code"].str.slice(0, 5)), "kab", "kabupaten_name"))
    kab_upstream: dict[str, shapely.Geometry] = {}
    if kabupaten_upstream is not None:
        kabupaten_upstream = to_wgs84(kabupaten_upstream, "kabupaten boundaries")
        for code, name, geom in zip(
            kabupaten_upstream["code"], kabupaten_upstream["name"], kabupaten_upstream.geometry
        ):
            if code in kab_names:
                kab_names[code] = name
                kab_upstream[code] = geom
    present = sorted(set(kec["kabupaten_code"]))
    kab = gpd.GeoDataFrame(
        {
            "code": present,
            "name": [_kabupaten_name(c, kab_names.get(c)) for c in present],
            "upstream_geometry": [kab_upstream.get(c) for c in present],
        },
        geometry=[
            polygonal_part(
                shapely.make_valid(shapely.union_all(kec.loc[kec["kabupaten_code"] == c, "geometry"].to_numpy()))
            )
            for c in present
        ],
        crs=WGS84,
    )

    desa_cols = ["code", "name", "kind", "kecamatan_code", "geometry"]
    desa_out = _with_measures(gpd.GeoDataFrame(desa[desa_cols], geometry="geometry", crs=WGS84))
    kab = _with_measures(kab)
    return BoundarySet(
        kabupaten=kab,
        kecamatan=_with_measures(kec),
        desa=desa_out,
        repairs=desa.attrs.get("repairs", []),
        notes=upstream_checks(desa_out, kab),
    )
