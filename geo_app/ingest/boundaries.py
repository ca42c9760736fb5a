"""Turn raw desa polygons (plus optional upstream kecamatan/kabupaten polygons) into a consistent,
validated boundary set. Pure computation over GeoDataFrames: no database, no Flask.

The hierarchy comes from the Kemendagri code: desa ``17.06.08.2006`` belongs to kecamatan
``17.06.08`` of kabupaten ``17.06``. Kecamatan polygons are the dissolve of their desa so that every
desa lies in its kecamatan; the coarser upstream kecamatan polygons are kept beside them (FACTS.md).
"""

from __future__ import annotations

import re
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


def validate_desa(desa: gpd.GeoDataFrame, kabupaten: str) -> gpd.GeoDataFrame:
    """Check codes, names, hierarchy and geometry of raw desa rows; repair invalid polygons.

    Returns a copy with ``kind``, ``kecamatan_code`` and a ``repairs`` attribute (list of messages).
    Raises ``ValidationError`` naming every offending row (and the source column, when known).
    """
    code_field = _field(desa, "code", "desa code")
    if "source_row" not in desa:
        desa = desa.assign(source_row=range(1, len(desa) + 1))
    desa = to_wgs84(desa, "desa boundaries").copy()
    if desa.empty:
        raise ValidationError("the boundary data has no desa rows")

    bad_code = [_row_label(r) for _, r in desa.iterrows() if not DESA_CODE.match(str(r["code"]))]
    if bad_code:
        _fail(f"{code_field} is not a Kemendagri desa code like 17.06.08.2006", bad_code)
    outside = [_row_label(r) for _, r in desa.iterrows() if not str(r["code"]).startswith(kabupaten + ".")]
    if outside:
        _fail(f"{code_field} does not belong to kabupaten {kabupaten}", outside)
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


def prepare_boundaries(
    desa: gpd.GeoDataFrame,
    kabupaten: str,
    kecamatan_upstream: gpd.GeoDataFrame | None = None,
    kabupaten_upstream: gpd.GeoDataFrame | None = None,
    known_names: dict[str, str] | None = None,
) -> BoundarySet:
    """Validate desa and build kecamatan and kabupaten from them.

    ``kecamatan_upstream``/``kabupaten_upstream`` (columns code, name, geometry) supply names and
    the upstream polygons; ``known_names`` (code → name, e.g. from the database) fills names a
    desa-only source lacks.
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
    kec["kabupaten_code"] = kabupaten
    kec["upstream_geometry"] = [upstream_geoms.get(c) for c in kec["code"]]
    kec = gpd.GeoDataFrame(kec, geometry="geometry", crs=WGS84)

    kab_name = known_names.get(kabupaten)
    kab_names = _names_by_code(desa.assign(kab=kabupaten), "kab", "kabupaten_name")
    if kab_names:
        kab_name = kab_names[kabupaten]
    if kabupaten_upstream is not None:
        match = kabupaten_upstream[kabupaten_upstream["code"] == kabupaten]
        if not match.empty:
            kab_name = match.iloc[0]["name"]
    if kab_name and not kab_name.lower().startswith(("kabupaten", "kota")):
        kab_name = f"Kabupaten {kab_name}"
    kab = gpd.GeoDataFrame(
        {"code": [kabupaten], "name": [kab_name or f"Kabupaten {kabupaten}"]},
        geometry=[polygonal_part(shapely.make_valid(shapely.union_all(kec.geometry.to_numpy())))],
        crs=WGS84,
    )

    desa_cols = ["code", "name", "kind", "kecamatan_code", "geometry"]
    return BoundarySet(
        kabupaten=_with_measures(kab),
        kecamatan=_with_measures(kec),
        desa=_with_measures(gpd.GeoDataFrame(desa[desa_cols], geometry="geometry", crs=WGS84)),
        repairs=desa.attrs.get("repairs", []),
    )
