"""Files a GIS desk opens: one GeoPackage, zipped shapefiles, a QGIS project with QML styles.

Layers: ``coverage_desa`` (desa with status, reasons, flags and figures), ``coverage_kecamatan``
(roll-up with the kecamatan polygons), ``tps``, ``incidents``, ``rakor`` (records at their point,
else their desa's or kecamatan's representative point, as the API draws them), ``gaps`` (desa not
covered, ranked) and ``metadata`` (a table without geometry: title, area, data version, settings,
summary, time of writing). Everything loaded, or one kabupaten (every layer keeps to it); the title and
the file names name that area (``services.boundaries.Area``: "Mukomuko", "Provinsi Bengkulu", ...).
Written with pyogrio into a temporary folder; text is stored literally (GIS formats run no formulas).
Colours and labels of the QGIS styles come from the web map's palette (``geo_app.i18n.STATUS_COLORS``).
"""

from __future__ import annotations

import json
import shutil
import tempfile
import xml.etree.ElementTree as ET
import zipfile
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import geopandas as gpd
import pandas as pd
import pyogrio
from sqlalchemy.orm import Session

from .. import geojson
from ..i18n import DEFAULT_LANG, STATUS_COLORS, status_label
from ..store.adapter import kecamatan_frame
from . import coverage as coverage_service
from . import ogc as ogc_service
from .boundaries import Area, loaded_area, require_boundaries

CRS = "EPSG:4326"
GPKG_MEDIA_TYPE = "application/geopackage+sqlite3"
ZIP_MEDIA_TYPE = "application/zip"
LAYERS = ("coverage_desa", "coverage_kecamatan", "tps", "incidents", "rakor", "gaps")
#: layers styled by status in the QGIS project (the others get a simple style)
STATUS_LAYERS = ("coverage_desa", "gaps")
RECORD_KINDS = {"tps": "tps", "incidents": "incidents", "rakor": "meetings"}


@dataclass
class GisLayers:
    frames: dict[str, gpd.GeoDataFrame]
    metadata: dict[str, Any]
    #: the file name stem of the download (``pilkada_mukomuko``, ``pilkada_provinsi_bengkulu``)
    stem: str = "pilkada"


def file_stem(area: Area) -> str:
    """The download name of ``area`` without its extension: ``pilkada_mukomuko``."""
    return f"pilkada_{area.slug}"


def download_area(session: Session, app_settings: Mapping[str, Any], value: str | None) -> tuple[str | None, Area]:
    """The ``kabupaten`` filter of a GIS download as a code (a code or a name, as ``/api/coverage``
    takes it, unknown: the same 400 listing the loaded ones) and the area the file names. Read from the
    stored kabupaten, not a coverage result, so a download the file cache holds costs no computation."""
    area = loaded_area(session, app_settings)
    if not " ".join(str(value or "").split()):
        return None, area
    require_boundaries(session)
    names = dict(area.kabupaten)
    code = coverage_service.match_kabupaten(names, value)
    return code, Area(((code, names[code]),))


def _flat(value: Any) -> Any:
    """A value a GIS column holds: lists joined with "; ", mappings as JSON, the rest as it is."""
    if isinstance(value, (list, tuple)):
        return "; ".join("" if v is None else str(v) for v in value)
    if isinstance(value, Mapping):
        return json.dumps(value, ensure_ascii=False)
    return value


def _typed(rows: list[dict[str, Any]], columns: list[str], geoms: list[Any]) -> gpd.GeoDataFrame:
    data: dict[str, Any] = {}
    for col in columns:
        values = [_flat(r.get(col)) for r in rows]
        present = [v for v in values if v is not None]
        if present and all(isinstance(v, bool) for v in present):
            data[col] = pd.Series(values, dtype="boolean") if len(present) < len(values) else pd.Series(values)
        elif present and all(isinstance(v, int) and not isinstance(v, bool) for v in present):
            data[col] = pd.Series(values, dtype="Int64") if len(present) < len(values) else pd.Series(values)
        elif present and all(isinstance(v, (int, float)) and not isinstance(v, bool) for v in present):
            data[col] = pd.Series([float(v) if v is not None else None for v in values], dtype="float64")
        else:
            data[col] = pd.Series([None if v is None else str(v) for v in values], dtype=object)
    frame = pd.DataFrame(data, index=range(len(rows)))
    return gpd.GeoDataFrame(frame, geometry=gpd.GeoSeries([geojson.standard(g) for g in geoms], crs=CRS), crs=CRS)


def _area_layer(frame: Any, columns: list[str]) -> gpd.GeoDataFrame:
    rows = coverage_service.rows(frame, columns)
    cols = [c for c in columns if c in frame.columns]
    return _typed(rows, cols, list(frame.geometry.to_numpy()))


def gis_layers(
    session: Session,
    app_settings: Mapping[str, Any],
    overrides: Mapping[str, str] | None = None,
    cache: Any = None,
    settings: Any = None,
    kabupaten: str | None = None,
) -> GisLayers:
    """Every layer for the stored data and the coverage settings ``overrides`` (strings, as the API takes
    them) or ``settings`` (a ``CoverageSettings``). ``kabupaten`` (code or name): only that kabupaten's
    desa, kecamatan, records (as ``/api/<kind>?kabupaten=`` lists them) and gaps; the columns stay those
    of everything loaded (with several kabupaten, each row names its kabupaten)."""
    settings = settings or coverage_service.coverage_settings(overrides)
    result = coverage_service.get_coverage(session, settings, cache)
    kabupaten = coverage_service.resolve_kabupaten(result, kabupaten)  # a name works too; unknown: 400
    area = loaded_area(session, app_settings, kabupaten)
    frames: dict[str, gpd.GeoDataFrame] = {}
    desa = coverage_service.filter_desa(result.desa, kabupaten=kabupaten)
    frames["coverage_desa"] = _area_layer(
        desa, ogc_service.coverage_columns(result.desa, coverage_service.several_kabupaten(result))
    )
    kec_geom = kecamatan_frame(session).set_index("code").geometry
    kec_rows = coverage_service.filter_kecamatan(result, kabupaten=kabupaten)
    kec = gpd.GeoDataFrame(
        kec_rows.drop(columns=[c for c in ("geometry",) if c in kec_rows.columns]),
        geometry=[kec_geom.get(c) for c in kec_rows["code"]],
        crs=CRS,
    )
    # the kabupaten code and name only when several are loaded (as the coverage API)
    kec_cols = coverage_service.kecamatan_columns(result)
    skip = {*kec_cols, *coverage_service.KABUPATEN_ROW_COLUMNS, "geometry"}
    kec_cols += [c for c in kec.columns if c not in skip]
    frames["coverage_kecamatan"] = _area_layer(kec, kec_cols)
    desa_points, kec_points = ogc_service.record_points(session)
    for layer, kind in RECORD_KINDS.items():
        records = ogc_service.all_records(
            session, dict(app_settings), kind, {"kabupaten": kabupaten} if kabupaten else {}
        )
        geoms, rows = [], []
        for rec in records:
            geom, source = ogc_service.record_point(rec, desa_points, kec_points)
            rest = {k: v for k, v in rec.items() if k != "content_hash"}
            rows.append({**rest, "point_source": source})
            geoms.append(geom)
        columns = list(dict.fromkeys(k for r in rows for k in r)) or ["id"]
        frames[layer] = _typed(rows, columns, geoms)
    gaps = coverage_service.filter_desa(result.gaps(), kabupaten=kabupaten)
    gap_cols = coverage_service.desa_columns(result, coverage_service.GAP_COLUMNS)
    skip = {*gap_cols, *coverage_service.KABUPATEN_ROW_COLUMNS, gaps.geometry.name}
    gap_cols += [c for c in gaps.columns if c not in skip]
    frames["gaps"] = _area_layer(gaps, gap_cols)
    metadata = {
        "title": area.title(),
        "area": area.name(),
        "kabupaten": area.codes,
        "data_version": ogc_service.data_version(session),
        "settings": result.settings.to_dict(),
        "summary": coverage_service.summary_for(result, kabupaten=kabupaten),
        "generated_at": datetime.now(UTC).isoformat(timespec="seconds"),
        "layers": {name: len(frame) for name, frame in frames.items()},
        "crs": CRS,
    }
    return GisLayers(frames, metadata, file_stem(area))


def _metadata_frame(metadata: dict[str, Any]) -> pd.DataFrame:
    rows = [
        {"key": k, "value": v if isinstance(v, str) else json.dumps(v, ensure_ascii=False, default=str)}
        for k, v in metadata.items()
    ]
    return pd.DataFrame(rows, columns=["key", "value"])


def _polygonal(frame: gpd.GeoDataFrame) -> bool:
    types = set(frame.geometry.dropna().geom_type)
    return bool(types) and types <= {"Polygon", "MultiPolygon"}


def write_gpkg(layers: GisLayers, path: Path) -> Path:
    """One GeoPackage with every layer, and the ``metadata`` table; settings and data version are
    also in each layer's description."""
    description = json.dumps(
        {"data_version": layers.metadata["data_version"], "settings": layers.metadata["settings"]},
        ensure_ascii=False,
        default=str,
    )
    for name, frame in layers.frames.items():
        pyogrio.write_dataframe(
            frame,
            path,
            layer=name,
            driver="GPKG",
            promote_to_multi=_polygonal(frame),
            layer_options={"DESCRIPTION": description[:4000]},
            layer_metadata={"data_version": str(layers.metadata["data_version"]), "settings": description},
        )
    pyogrio.write_dataframe(_metadata_frame(layers.metadata), path, layer="metadata", driver="GPKG")
    return path


def short_names(columns: list[str], width: int = 10) -> dict[str, str]:
    """dBase field names (at most 10 characters), predictable: the name cut to 10; a clash keeps its
    first 8 characters and a two-digit counter (``shortfall_police`` → ``shortfall_``, then ``shortfal01``)."""
    out: dict[str, str] = {}
    used: set[str] = set()
    for col in columns:
        name = col[:width]
        n = 0
        while name.lower() in used:
            n += 1
            name = f"{col[: width - 2]}{n:02d}"
        used.add(name.lower())
        out[col] = name
    return out


def write_shapefiles(layers: GisLayers, folder: Path) -> list[Path]:
    """One shapefile per layer (UTF-8 ``.cpg``), ``fields.csv`` (short name → full name) and ``metadata.json``."""
    folder.mkdir(parents=True, exist_ok=True)
    written: list[Path] = []
    mapping_lines = ["layer,field,column"]
    for name, frame in layers.frames.items():
        names = short_names([c for c in frame.columns if c != frame.geometry.name])
        out = frame.rename(columns=names)
        for col in names.values():  # dBase text fields hold at most 254 bytes
            if out[col].dtype == object:
                out[col] = [
                    v if v is None or len(v.encode()) <= 254 else v.encode()[:254].decode(errors="ignore")
                    for v in out[col]
                ]
        path = folder / f"{name}.shp"
        pyogrio.write_dataframe(
            out, path, driver="ESRI Shapefile", encoding="UTF-8", promote_to_multi=_polygonal(frame)
        )
        cpg = path.with_suffix(".cpg")
        if not cpg.exists():
            cpg.write_text("UTF-8")
        written.extend(sorted(folder.glob(f"{name}.*")))
        mapping_lines += [f"{name},{short},{full}" for full, short in names.items()]
    (folder / "fields.csv").write_text("\n".join(mapping_lines) + "\n", encoding="utf-8")
    (folder / "metadata.json").write_text(
        json.dumps(layers.metadata, ensure_ascii=False, indent=2, default=str), encoding="utf-8"
    )
    return [*written, folder / "fields.csv", folder / "metadata.json"]


def gpkg_bytes(layers: GisLayers) -> bytes:
    tmp = Path(tempfile.mkdtemp(prefix="geo-app-gpkg-"))
    try:
        return write_gpkg(layers, tmp / "layers.gpkg").read_bytes()
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


def shapefile_zip_bytes(layers: GisLayers, stem: str | None = None) -> bytes:
    """The shapefiles zipped in one folder, ``<stem>/`` (the download's name, ``layers.stem``, by default)."""
    stem = stem or layers.stem
    tmp = Path(tempfile.mkdtemp(prefix="geo-app-shp-"))
    try:
        files = write_shapefiles(layers, tmp / stem)
        archive = tmp / f"{stem}.zip"
        with zipfile.ZipFile(archive, "w", zipfile.ZIP_DEFLATED) as zf:
            for f in files:
                zf.write(f, f"{stem}/{f.name}")
        return archive.read_bytes()
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


# --- QGIS: QML styles and a project ----------------------------------------------------------------


def _rgba(hex_colour: str, alpha: int = 255) -> str:
    h = hex_colour.lstrip("#")
    return f"{int(h[0:2], 16)},{int(h[2:4], 16)},{int(h[4:6], 16)},{alpha}"


def _option_map(parent: ET.Element, values: dict[str, str]) -> None:
    opts = ET.SubElement(parent, "Option", type="Map")
    for k, v in values.items():
        ET.SubElement(opts, "Option", name=k, type="QString", value=v)


def _fill_symbol(parent: ET.Element, name: str, colour: str) -> None:
    symbol = ET.SubElement(parent, "symbol", type="fill", name=name, alpha="0.8", clip_to_extent="1", force_rhr="0")
    layer = ET.SubElement(symbol, "layer", {"class": "SimpleFill", "enabled": "1", "locked": "0", "pass": "0"})
    _option_map(
        layer,
        {
            "color": _rgba(colour),
            "outline_color": "90,90,90,255",
            "outline_style": "solid",
            "outline_width": "0.26",
            "outline_width_unit": "MM",
            "style": "solid",
        },
    )


def _marker_symbol(parent: ET.Element, name: str, colour: str, shape: str) -> None:
    symbol = ET.SubElement(parent, "symbol", type="marker", name=name, alpha="1", clip_to_extent="1", force_rhr="0")
    layer = ET.SubElement(symbol, "layer", {"class": "SimpleMarker", "enabled": "1", "locked": "0", "pass": "0"})
    _option_map(
        layer,
        {"color": _rgba(colour), "name": shape, "outline_color": "35,35,35,255", "size": "2.6", "size_unit": "MM"},
    )


def _labeling(parent: ET.Element, field: str) -> None:
    labeling = ET.SubElement(parent, "labeling", type="simple")
    settings = ET.SubElement(labeling, "settings", calloutType="simple")
    ET.SubElement(settings, "text-style", fieldName=field, fontSize="8", textColor="20,20,20,255", isExpression="0")
    buffer = ET.SubElement(settings, "text-buffer", bufferDraw="1", bufferSize="0.8", bufferColor="255,255,255,255")
    buffer.set("bufferSizeUnits", "MM")
    ET.SubElement(settings, "placement", placement="0")


POINT_STYLES = {"tps": ("#2b8cbe", "square"), "incidents": ("#b2182b", "triangle"), "rakor": ("#1f4e9c", "circle")}


def style_elements(layer: str, lang: str = DEFAULT_LANG) -> list[ET.Element]:
    """The renderer (and labels) of one layer: status categories in the web map's colours and labels."""
    renderer = ET.Element("renderer-v2", symbollevels="0", enableorderby="0", forceraster="0")
    elements = [renderer]
    if layer in STATUS_LAYERS:
        renderer.set("type", "categorizedSymbol")
        renderer.set("attr", "status")
        categories = ET.SubElement(renderer, "categories")
        symbols = ET.SubElement(renderer, "symbols")
        for i, (status, colour) in enumerate(STATUS_COLORS.items()):
            ET.SubElement(categories, "category", value=status, label=status_label(status, lang), symbol=str(i))
            _fill_symbol(symbols, str(i), colour)
        holder = ET.Element("labels")
        _labeling(holder, "name")
        elements.append(holder[0])
    else:
        renderer.set("type", "singleSymbol")
        symbols = ET.SubElement(renderer, "symbols")
        if layer in POINT_STYLES:
            _marker_symbol(symbols, "0", *POINT_STYLES[layer])
        else:
            _fill_symbol(symbols, "0", "#ffffff")
            symbols[0].set("alpha", "0.15")
    return elements


def qml(layer: str, lang: str = DEFAULT_LANG) -> str:
    root = ET.Element("qgis", version="3.34.0", styleCategories="Symbology|Labeling")
    for el in style_elements(layer, lang):
        root.append(el)
    if len(root) > 1:
        root.append(ET.Element("customproperties"))
    ET.indent(root)
    return "<!DOCTYPE qgis PUBLIC 'http://mrcc.com/qgis.dtd' 'SYSTEM'>\n" + ET.tostring(root, encoding="unicode") + "\n"


def _srs(parent: ET.Element) -> None:
    srs = ET.SubElement(parent, "spatialrefsys", nativeFormat="Wkt")
    for tag, text in (("authid", "EPSG:4326"), ("srid", "4326"), ("description", "WGS 84"), ("geographicflag", "true")):
        ET.SubElement(srs, tag).text = text


def qgis_project(gpkg: str, geometry: Mapping[str, str], metadata: dict[str, Any], lang: str = DEFAULT_LANG) -> str:
    """A QGIS project (.qgs) opening the layers of ``gpkg`` by relative path, styled as the web map.

    ``geometry``: layer name → "polygon" or "point", in drawing order (first on top)."""
    name = str(metadata.get("title") or "Peta Koordinasi Pilkada")
    root = ET.Element("qgis", projectname=name, version="3.34.0")
    ET.SubElement(root, "title").text = f"{name} ({metadata.get('data_version', '')})"
    _srs(ET.SubElement(root, "projectCrs"))
    tree = ET.SubElement(root, "layer-tree-group")
    projectlayers = ET.SubElement(root, "projectlayers")
    order = ET.SubElement(root, "layerorder")
    for name, kind in geometry.items():
        layer_id = f"{name}_layer"
        source = f"./{gpkg}|layername={name}"
        ET.SubElement(
            tree,
            "layer-tree-layer",
            id=layer_id,
            name=name,
            source=source,
            providerKey="ogr",
            checked="Qt::Checked" if name != "gaps" else "Qt::Unchecked",
            expanded="1",
        )
        ET.SubElement(order, "layer", id=layer_id)
        maplayer = ET.SubElement(
            projectlayers, "maplayer", type="vector", geometry="Polygon" if kind == "polygon" else "Point"
        )
        ET.SubElement(maplayer, "id").text = layer_id
        ET.SubElement(maplayer, "datasource").text = source
        ET.SubElement(maplayer, "layername").text = name
        _srs(ET.SubElement(maplayer, "srs"))
        ET.SubElement(maplayer, "provider", encoding="UTF-8").text = "ogr"
        for el in style_elements(name, lang):
            maplayer.append(el)
    properties = ET.SubElement(root, "properties")
    paths = ET.SubElement(properties, "Paths")
    ET.SubElement(paths, "Absolute", type="bool").text = "false"
    ET.indent(root)
    return "<!DOCTYPE qgis PUBLIC 'http://mrcc.com/qgis.dtd' 'SYSTEM'>\n" + ET.tostring(root, encoding="unicode") + "\n"


#: drawing order in the project: points on top, then gaps, desa, kecamatan outlines
PROJECT_ORDER = ("rakor", "incidents", "tps", "gaps", "coverage_desa", "coverage_kecamatan")


def write_build_files(layers: GisLayers, out: Path, lang: str = DEFAULT_LANG) -> list[str]:
    """What ``geo-app layers build`` adds: ``layers.gpkg``, ``layers-shp.zip``, ``layers.qgs`` and
    ``styles/<layer>.qml``; returns the written names relative to ``out``."""
    write_gpkg(layers, out / "layers.gpkg")
    (out / "layers-shp.zip").write_bytes(shapefile_zip_bytes(layers, "layers"))
    geometry = {n: ("point" if n in RECORD_KINDS else "polygon") for n in PROJECT_ORDER}
    (out / "layers.qgs").write_text(qgis_project("layers.gpkg", geometry, layers.metadata, lang), encoding="utf-8")
    (out / "styles").mkdir(exist_ok=True)
    names = ["layers.gpkg", "layers-shp.zip", "layers.qgs"]
    for name in PROJECT_ORDER:
        (out / "styles" / f"{name}.qml").write_text(qml(name, lang), encoding="utf-8")
        names.append(f"styles/{name}.qml")
    return names
