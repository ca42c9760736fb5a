"""Map data: what a coverage map shows, by view (parameters), bounding box and zoom.

The map pages are a shell; their data comes from ``/api/map/...`` (``web/map_data.py``), built here
from the coverage result (``services.coverage``, cached per data version and settings). The result
already holds the record frames it was computed from (``CoverageResult.records``), so nothing is read
from the database twice. What a request needs is prepared once per data version and settings
(``PreparedMap``: desa polygons cleaned into a coverage and simplified per zoom, record coordinates and
view masks), so a request is a bounding-box filter over arrays.

Also here: the view parameters shared by maps and pages (``MapView``, ``parse_view``) and the frames
the pages take (``visible_*``).
"""

from __future__ import annotations

import json
import threading
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field, replace
from typing import Any

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely
from sqlalchemy.orm import Session

from .. import geojson
from ..analysis import aggregate
from ..analysis.coverage import METRIC_CRS, WGS84, CoverageResult, CoverageSettings, in_window
from ..errors import ValidationError
from ..i18n import DEFAULT_LANG, SHARE_RAMP, STATUS_COLORS, msg_as, status_label, t
from ..maps import popups
from ..maps.display import drop_small_holes, escape
from ..maps.shell import BASE_MAPS
from ..records.vocab import CATEGORY_ALIASES, INCIDENT_CATEGORIES, lookup
from ..store.db import data_version
from ..store.records import incidents_frame, meetings_frame, tps_frame
from . import coverage as coverage_service

#: query parameters that select what a map or table shows (kept in every link of a view)
VIEW_PARAMS = (
    "date",
    "window_days",
    "incident_window_days",
    "preset",
    "kabupaten",
    "kecamatan",
    "category",
    "peta_dasar",
)
_DEFAULT_SETTINGS = CoverageSettings()

POINT_KINDS = ("tps", "incidents", "meetings")
#: ``/api/map/desa?format=``: GeoJSON (default) or TopoJSON (shared borders written once)
DESA_FORMATS = ("geojson", "topojson")
#: at most this many records of a kind in view are sent one by one; more are sent as grid clusters
DEFAULT_POINTS_THRESHOLD = 1500
#: cluster cells and heat cells in screen pixels
CLUSTER_CELL_PX = 64
HEAT_CELL_PX = 12
#: points (individual records) keep 5 decimals (about 1 m) whatever the zoom
POINT_DECIMALS = 5


# --- view parameters ----------------------------------------------------------------------------


@dataclass(frozen=True)
class MapView:
    """What a map or table shows: coverage settings (date, windows, security preset), a kecamatan, an
    incident category and the base map. ``kecamatan`` is a code once resolved against the boundaries, and
    so is ``kabupaten`` (tables and exports narrow to it; given together, the two agree)."""

    settings: CoverageSettings = field(default_factory=CoverageSettings)
    kecamatan: str | None = None
    category: str | None = None
    base: str = "osm"
    kabupaten: str | None = None

    def query(self, **changes: Any) -> dict[str, str]:
        """The non-default parameters, normalised, for links (``url_for(..., **view.query())``)."""
        view = replace(self, **changes) if changes else self
        s, d = view.settings, _DEFAULT_SETTINGS
        out: dict[str, str] = {}
        if s.reference_date != d.reference_date:
            out["date"] = s.reference_date.isoformat()
        if s.meeting_window_days != d.meeting_window_days:
            out["window_days"] = str(s.meeting_window_days)
        if s.incident_window_days != d.incident_window_days:
            out["incident_window_days"] = str(s.incident_window_days)
        if s.preset != d.preset:
            out["preset"] = s.preset
        if view.kabupaten:
            out["kabupaten"] = view.kabupaten
        if view.kecamatan:
            out["kecamatan"] = view.kecamatan
        if view.category:
            out["category"] = view.category
        if view.base != "osm":
            out["peta_dasar"] = view.base
        return out

    def cache_key(self) -> str:
        return json.dumps([self.settings.cache_key(), self.kecamatan, self.category, self.base, self.kabupaten])


def parse_view(args: Mapping[str, str]) -> MapView:
    """Read the view parameters; a bad value raises ValidationError naming the parameter (a 400)."""
    overrides = {k: args.get(k) for k in ("date", "window_days", "incident_window_days", "preset") if args.get(k)}
    settings = coverage_service.coverage_settings(overrides)
    base = (args.get("peta_dasar") or "osm").strip()
    if base not in BASE_MAPS:
        raise ValidationError(
            msg_as(
                f"peta_dasar harus salah satu dari {', '.join(BASE_MAPS)}, bukan {base!r}",
                "peta_dasar harus salah satu dari %(choices)s, bukan %(value)r",
                choices=", ".join(BASE_MAPS),
                value=base,
            ),
            details={"peta_dasar": msg_as("unknown base map", "peta dasar tidak dikenal")},
        )
    category = None
    raw = (args.get("category") or "").strip()
    if raw:
        category = lookup(raw, INCIDENT_CATEGORIES, CATEGORY_ALIASES)
        if category is None:
            raise ValidationError(
                msg_as(
                    f"category: kategori insiden {raw!r} tidak dikenal / unknown incident category; "
                    f"pilihan / choose: {', '.join(INCIDENT_CATEGORIES)}",
                    "category: kategori insiden %(value)r tidak dikenal; pilihan: %(choices)s",
                    value=raw,
                    choices=", ".join(INCIDENT_CATEGORIES),
                ),
                details={"category": msg_as("unknown category", "kategori tidak dikenal")},
            )
    kecamatan = (args.get("kecamatan") or "").strip() or None
    kabupaten = (args.get("kabupaten") or "").strip() or None
    return MapView(settings=settings, kecamatan=kecamatan, category=category, base=base, kabupaten=kabupaten)


def load_view(
    session: Session, args: Mapping[str, str], cache: coverage_service.CoverageCache | None = None
) -> tuple[MapView, CoverageResult]:
    """Parse the parameters, get the (cached) coverage, resolve the kecamatan and kabupaten (code or name)."""
    view = parse_view(args)
    result = coverage_service.get_coverage(session, view.settings, cache)
    code = coverage_service.resolve_kecamatan(result, view.kecamatan)
    kab = coverage_service.resolve_kabupaten(result, view.kabupaten)
    coverage_service.check_kecamatan_in_kabupaten(result, code, kab)
    return replace(view, kecamatan=code, kabupaten=kab), result


# --- record frames of a view (pages, folium maps) -----------------------------------------------------


def record_frame(session: Session | None, result: CoverageResult, kind: str) -> pd.DataFrame:
    """The stored records of ``kind`` the result was computed from; read from the store only for a
    result computed elsewhere (a test calling ``compute_coverage`` directly)."""
    frame = result.records.get(kind)
    if frame is not None:
        return frame
    if session is None:
        raise ValueError(f"the coverage result holds no {kind} frame and no session was given")
    read = {"tps": tps_frame, "incidents": incidents_frame, "meetings": meetings_frame}[kind]
    return read(session, result.desa)


def reasons_by_code(result: CoverageResult, lang: str) -> dict[str, list[str]]:
    gaps = result.gaps()
    col = "reasons_en" if lang == "en" else "reasons_id"
    return dict(zip(gaps["code"], gaps[col]))


def _in_kecamatan(codes: pd.Series, desa_kec: Mapping[str, str], kecamatan: str | None) -> pd.Series:
    if not kecamatan:
        return pd.Series(True, index=codes.index)
    return codes.map(lambda c: desa_kec.get(c) == kecamatan if isinstance(c, str) else False).astype(bool)


def visible_incidents(session: Session | None, result: CoverageResult, view: MapView) -> pd.DataFrame:
    """Incidents inside the incident window (not excluded statuses), of the category and kecamatan."""
    desa = result.desa
    df = record_frame(session, result, "incidents")
    s = result.settings
    keep = pd.Series(in_window(df["occurred_at"].dt.normalize(), s.incident_window), index=df.index)
    keep &= ~df["status"].isin(s.excluded_statuses)
    if view.category:
        keep &= df["category"] == view.category
    desa_kec = dict(zip(desa["code"], desa["kecamatan_code"]))
    keep &= _in_kecamatan(df["desa_code"], desa_kec, view.kecamatan)
    out = df[keep.to_numpy()].copy()
    out["desa_name"] = out["desa_code"].map(dict(zip(desa["code"], desa["name"])))
    return out.sort_values("occurred_at", ascending=False)


def visible_tps(session: Session | None, result: CoverageResult, view: MapView) -> pd.DataFrame:
    desa = result.desa
    df = record_frame(session, result, "tps")
    req = result.tps[["id", "required_police", "required_tni", "required_linmas", "secured"]]
    df = df.merge(req, on="id", how="left")
    desa_kec = dict(zip(desa["code"], desa["kecamatan_code"]))
    df = df[_in_kecamatan(df["desa_code"], desa_kec, view.kecamatan).to_numpy()].copy()
    df["desa_name"] = df["desa_code"].map(dict(zip(desa["code"], desa["name"])))
    return df.sort_values(["desa_code", "number"])


def _meetings_joined(session: Session | None, result: CoverageResult) -> pd.DataFrame:
    """Every rakor with its venue point, window, reach and the names shown in its popup."""
    desa = result.desa
    df = record_frame(session, result, "meetings")
    venue = result.meetings[
        ["id", "venue_lon", "venue_lat", "venue_source", "in_window", "reached_desa_count", "reached_codes"]
    ]
    df = df.merge(venue, on="id", how="left")
    names = dict(zip(desa["code"], desa["name"]))
    kec_names = dict(zip(result.kecamatan["code"], result.kecamatan["name"]))
    df["reached_names"] = [[names.get(c, c) for c in codes] for codes in df["reached_codes"]]
    df["host_kecamatan_name"] = df["host_kecamatan_code"].map(kec_names)
    if coverage_service.several_kabupaten(result) and "host_kabupaten_code" in df.columns:  # said in its popup
        df["host_kabupaten_name"] = df["host_kabupaten_code"].map(coverage_service.kabupaten_names(result))
    return df


def _meeting_kecamatan_mask(df: pd.DataFrame, desa_kec: Mapping[str, str], k: str) -> np.ndarray:
    """Rakor held in kecamatan ``k`` or reaching one of its desa."""
    return np.array(
        [
            hk == k or desa_kec.get(hd) == k or any(desa_kec.get(c) == k for c in codes)
            for hk, hd, codes in zip(df["host_kecamatan_code"], df["host_desa_code"], df["reached_codes"])
        ],
        dtype=bool,
    )


def visible_meetings(session: Session | None, result: CoverageResult, view: MapView) -> pd.DataFrame:
    """Rakor in the meeting window with their venue point; in the kecamatan when one is chosen
    (held there or reaching one of its desa)."""
    df = _meetings_joined(session, result)
    df = df[df["in_window"].fillna(False).astype(bool).to_numpy()].copy()
    if view.kecamatan:
        desa_kec = dict(zip(result.desa["code"], result.desa["kecamatan_code"]))
        df = df[_meeting_kecamatan_mask(df, desa_kec, view.kecamatan)]
    return df.sort_values("date", ascending=False)


def meetings_reaching(meetings: pd.DataFrame, code: str, kecamatan_code: str | None = None) -> pd.DataFrame:
    """Rakor that reached the desa: ``meetings`` carries ``reached_codes`` from the coverage result,
    computed by the one reach rule (``analysis.coverage.meeting_reach``)."""
    if meetings.empty:
        return meetings
    mask = [code in list(codes) for codes in meetings["reached_codes"]]
    return meetings[pd.Series(mask, index=meetings.index, dtype=bool)]


# --- prepared per data version and settings ------------------------------------------------------------


@dataclass
class PointLayer:
    """One kind of record as arrays: every record the view's settings keep (window, status), with a
    point to draw (its own, or its desa's representative point: ``approximate``)."""

    kind: str
    frame: pd.DataFrame  # the rows, joined with what popups need
    lon: np.ndarray
    lat: np.ndarray
    approximate: np.ndarray
    kecamatan: np.ndarray  # kecamatan code of the record's desa (None: unknown)
    weight: np.ndarray  # severity weight (incidents), 1 otherwise
    symbol: np.ndarray


class DesaGeometry:
    """The desa and kecamatan shapes a map draws, per zoom: they change only with the boundaries, so a
    new record or other coverage settings reuse them (``prepared_map`` keys them by the polygons).

    Desa polygons in metres cleaned into a coverage (once), simplified per zoom (once per zoom)."""

    def __init__(self, desa: gpd.GeoDataFrame, kecamatan_codes: list[str]) -> None:
        desa = desa.reset_index(drop=True)
        self.desa = desa
        self.kecamatan_codes = list(kecamatan_codes)
        self.tree = shapely.STRtree(desa.geometry.to_numpy())
        self.centre_lat = float(np.nanmean(desa["rep_lat"])) if len(desa) else 0.0
        self._lock = threading.Lock()
        self._metric: np.ndarray | None = None
        self._zoom_geoms: dict[int, tuple[np.ndarray, np.ndarray]] = {}
        self._kecamatan: dict[int, gpd.GeoDataFrame] = {}
        self._kabupaten: dict[int, gpd.GeoDataFrame] = {}
        kab = desa["kabupaten_code"] if "kabupaten_code" in desa.columns else desa["code"].astype(str).str.slice(0, 5)
        self.desa_kabupaten = kab.to_numpy(dtype=object)
        self.kabupaten_codes = sorted(set(self.desa_kabupaten))

    @staticmethod
    def fingerprint(result: CoverageResult) -> str:
        """What the shapes depend on: desa codes, their kecamatan, polygons, and the kecamatan list."""
        import hashlib

        digest = hashlib.sha256()
        for value in (*result.desa["code"], *result.desa["kecamatan_code"], *result.kecamatan["code"]):
            digest.update(str(value).encode() + b"\0")
        for wkb in shapely.to_wkb(result.desa.geometry.to_numpy()):
            digest.update(wkb or b"")
        return digest.hexdigest()

    def _cleaned(self) -> np.ndarray:
        if self._metric is None:
            metric = self.desa.geometry.to_crs(METRIC_CRS).to_numpy()
            self._metric = aggregate.clean_coverage(metric)
        return self._metric

    def desa_geometries(self, zoom: int) -> tuple[np.ndarray, np.ndarray]:
        """(metric simplified, EPSG:4326 quantised) desa geometries for ``zoom``, in ``desa`` order."""
        with self._lock:
            got = self._zoom_geoms.get(zoom)
            if got is not None:
                return got
            tol = aggregate.simplify_tolerance_m(zoom, self.centre_lat)
            metric = aggregate.simplify_coverage(self._cleaned(), tol)
            lonlat = gpd.GeoSeries(metric, crs=METRIC_CRS).to_crs(WGS84).to_numpy()
            lonlat = aggregate.quantise(lonlat, aggregate.coordinate_decimals(zoom))
            got = (metric, shapely.orient_polygons(lonlat, exterior_cw=False))  # RFC 7946 winding
            self._zoom_geoms[zoom] = got
            return got

    def kecamatan_outlines(self, zoom: int) -> gpd.GeoDataFrame:
        """Kecamatan outlines for ``zoom``: the union of the simplified desa of each kecamatan, so they
        lie exactly on the desa borders drawn at that zoom (small holes between desa filled)."""
        got = self._kecamatan.get(zoom)
        if got is None:
            got = self._kecamatan[zoom] = self._outlines(
                zoom, self.desa["kecamatan_code"].to_numpy(dtype=object), self.kecamatan_codes
            )
        return got

    def kabupaten_outlines(self, zoom: int) -> gpd.GeoDataFrame:
        """Kabupaten outlines for ``zoom``, made the same way as the kecamatan ones (from the desa)."""
        got = self._kabupaten.get(zoom)
        if got is None:
            got = self._kabupaten[zoom] = self._outlines(zoom, self.desa_kabupaten, self.kabupaten_codes)
        return got

    def _outlines(self, zoom: int, codes: np.ndarray, group_codes: list[str]) -> gpd.GeoDataFrame:
        """The union per group (``codes``: the group of each desa) of the desa simplified for ``zoom``."""
        metric, _ = self.desa_geometries(zoom)
        geoms = []
        for code in group_codes:
            parts = metric[codes == code]
            if not len(parts):
                geoms.append(None)
                continue
            try:
                geoms.append(shapely.coverage_union_all(parts))
            except Exception:  # noqa: BLE001 - not a clean coverage: the general union
                geoms.append(shapely.union_all(parts))
        outlines = gpd.GeoDataFrame(
            {"code": list(group_codes)}, geometry=gpd.GeoSeries(geoms, crs=METRIC_CRS), crs=METRIC_CRS
        )
        outlines = drop_small_holes(outlines.to_crs(WGS84))
        lonlat = aggregate.quantise(outlines.geometry.to_numpy(), aggregate.coordinate_decimals(zoom))
        return outlines.set_geometry(shapely.orient_polygons(lonlat, exterior_cw=False), crs=WGS84)


class PreparedMap:
    """What map requests of one data version and one set of coverage settings share: the shapes
    (``DesaGeometry``, shared further) and the record points as arrays (once per kind). Built lazily
    and kept in a ``LruCache``."""

    def __init__(
        self, result: CoverageResult, session: Session | None = None, geometry: DesaGeometry | None = None
    ) -> None:
        self.result = result
        self._session = session  # only for a result that holds no record frames
        self.geometry = geometry or DesaGeometry(result.desa, list(result.kecamatan["code"]))
        desa = result.desa.reset_index(drop=True)
        self.desa = desa
        self.desa_kec = dict(zip(desa["code"], desa["kecamatan_code"]))
        self.desa_names = dict(zip(desa["code"], desa["name"]))
        self.tree = self.geometry.tree
        self._lock = threading.Lock()
        self._points: dict[str, PointLayer] = {}

    def desa_geometries(self, zoom: int) -> tuple[np.ndarray, np.ndarray]:
        return self.geometry.desa_geometries(zoom)

    def kecamatan_outlines(self, zoom: int) -> gpd.GeoDataFrame:
        return self.geometry.kecamatan_outlines(zoom)

    def kabupaten_outlines(self, zoom: int) -> gpd.GeoDataFrame:
        return self.geometry.kabupaten_outlines(zoom)

    # points

    def points(self, kind: str) -> PointLayer:
        with self._lock:
            got = self._points.get(kind)
            if got is None:
                got = self._points[kind] = self._build_points(kind)
            return got

    def _build_points(self, kind: str) -> PointLayer:
        result, session = self.result, self._session
        if kind == "incidents":
            df = record_frame(session, result, "incidents")
            s = result.settings
            keep = in_window(df["occurred_at"].dt.normalize(), s.incident_window)
            keep = np.asarray(keep, dtype=bool) & ~df["status"].isin(s.excluded_statuses).to_numpy(dtype=bool)
            df = df[keep].copy()
            df["desa_name"] = df["desa_code"].map(self.desa_names)
            lon, lat = df["display_lon"], df["display_lat"]
            approx = df["point_source"].to_numpy(dtype=object) != "point"
            weights = dict(s.severity_weights)
            weight = df["severity"].map(weights).fillna(1.0).to_numpy(dtype=float)
            symbol = ("incident-" + df["severity"].astype(str)).to_numpy(dtype=object)
            kec = df["desa_code"].map(self.desa_kec).to_numpy(dtype=object)
        elif kind == "tps":
            df = visible_tps(session, result, MapView(settings=result.settings))
            lon, lat = df["display_lon"], df["display_lat"]
            approx = df["point_source"].to_numpy(dtype=object) != "point"
            weight = np.ones(len(df))
            symbol = np.where(df["vulnerability"].to_numpy(dtype=object) == "rawan", "tps-rawan", "tps").astype(object)
            kec = df["desa_code"].map(self.desa_kec).to_numpy(dtype=object)
        elif kind == "meetings":
            df = _meetings_joined(session, result)
            df = df[df["in_window"].fillna(False).astype(bool).to_numpy()].copy()
            lon, lat = df["venue_lon"], df["venue_lat"]
            approx = df["venue_source"].to_numpy(dtype=object) != "recorded"
            weight = np.ones(len(df))
            symbol = np.full(len(df), "meeting", dtype=object)
            kec = df["host_kecamatan_code"].to_numpy(dtype=object)
        else:
            raise ValidationError(
                f"kind: {kind!r} tidak dikenal / unknown; pilihan / choose: {', '.join(POINT_KINDS)}",
                details={"kind": "unknown kind"},
            )
        lon = pd.to_numeric(lon, errors="coerce").to_numpy(dtype=float)
        lat = pd.to_numeric(lat, errors="coerce").to_numpy(dtype=float)
        located = ~(np.isnan(lon) | np.isnan(lat))  # neither a point nor a desa: nowhere to draw it
        df = df[located].reset_index(drop=True)
        return PointLayer(
            kind,
            df,
            lon[located],
            lat[located],
            approx[located],
            kec[located],
            weight[located],
            symbol[located],
        )

    def point_mask(self, layer: PointLayer, view: MapView, bbox: aggregate.BBox | None) -> np.ndarray:
        """Records of the layer the view shows (category, kecamatan) inside ``bbox``."""
        mask = np.ones(len(layer.lon), dtype=bool) if bbox is None else aggregate.bbox_mask(layer.lon, layer.lat, bbox)
        if layer.kind == "incidents" and view.category:
            mask &= layer.frame["category"].to_numpy(dtype=object) == view.category
        if view.kecamatan:
            if layer.kind == "meetings":
                mask &= _meeting_kecamatan_mask(layer.frame, self.desa_kec, view.kecamatan)
            else:
                mask &= layer.kecamatan == view.kecamatan
        elif view.kabupaten:  # the kecamatan code starts with its kabupaten's (17.06.01 in 17.06)
            kab = view.kabupaten + "."
            mask &= np.array([isinstance(k, str) and k.startswith(kab) for k in layer.kecamatan], dtype=bool)
        return mask


def prepared_map(
    session: Session, result: CoverageResult, cache: Any | None = None, version: str | None = None
) -> PreparedMap:
    """The ``PreparedMap`` of the stored data's version and the result's settings, from ``cache`` (an
    ``LruCache``) when there."""
    if cache is None:
        return PreparedMap(result, session)
    key = ("map-data", version or data_version(session), result.settings.cache_key())

    def build() -> PreparedMap:
        shapes = DesaGeometry.fingerprint(result)
        geometry = cache.get_or_compute(
            ("map-geometry", shapes), lambda: DesaGeometry(result.desa, list(result.kecamatan["code"]))
        )
        return PreparedMap(result, session, geometry)

    return cache.get_or_compute(key, build)


def load(
    session: Session,
    args: Mapping[str, str],
    coverage_cache: coverage_service.CoverageCache | None = None,
    map_cache: Any | None = None,
) -> tuple[MapView, PreparedMap]:
    """The view of a map data request and the prepared data of the stored data's version."""
    view, result = load_view(session, args, coverage_cache)
    return view, prepared_map(session, result, map_cache)


def parse_zoom(args: Mapping[str, str]) -> int:
    """``zoom``: a whole number 0..20 (ValidationError naming it otherwise)."""
    return aggregate.parse_zoom(args.get("zoom"))


def parse_area(args: Mapping[str, str]) -> tuple[aggregate.BBox, int]:
    """``bbox`` (minlon,minlat,maxlon,maxlat, finite, in range, min <= max) and ``zoom``."""
    zoom = parse_zoom(args)
    return aggregate.parse_bbox(args.get("bbox")), zoom


# --- responses ----------------------------------------------------------------------------------------


def _round(value: float, decimals: int) -> float:
    return round(float(value), decimals)


def desa_collection(
    prep: PreparedMap,
    view: MapView,
    bbox: aggregate.BBox,
    zoom: int,
    lang: str = DEFAULT_LANG,
    desa_url: Callable[[str], str] | None = None,
    fmt: str = "geojson",
) -> dict[str, Any]:
    """The desa intersecting ``bbox`` (of the view's kecamatan, when set) as a FeatureCollection:
    geometry simplified and quantised for ``zoom``, status and colour, popup HTML, label point, URL.

    ``fmt="topojson"``: the same as a TopoJSON Topology (object ``desa``), each border two desa share
    written once (``analysis.aggregate.topology``)."""
    if fmt not in DESA_FORMATS:
        raise ValidationError(
            f"format: {fmt!r} tidak dikenal / unknown; pilihan / choose: {', '.join(DESA_FORMATS)}",
            details={"format": "unknown format"},
        )
    idx = np.sort(prep.tree.query(shapely.box(*bbox), predicate="intersects"))
    desa = prep.desa
    if view.kecamatan and len(idx):
        idx = idx[desa["kecamatan_code"].to_numpy(dtype=object)[idx] == view.kecamatan]
    elif view.kabupaten and len(idx):
        idx = idx[prep.geometry.desa_kabupaten[idx] == view.kabupaten]
    _, geoms = prep.desa_geometries(zoom)
    rows = desa.iloc[idx]
    reasons = reasons_by_code(prep.result, lang) if len(rows) else {}
    features, shapes, codes = [], [], []
    for i, r in zip(idx, rows.itertuples(index=False)):
        props = {
            "code": r.code,
            "name": r.name,
            "kecamatan_code": r.kecamatan_code,
            "kecamatan_name": r.kecamatan_name,
            "status": r.status,
            "status_label": status_label(r.status, lang),
            "color": STATUS_COLORS.get(r.status, "#bbbbbb"),
            "flags": list(r.flags or []),
            "planned": r.planned_meeting_date is not None and not pd.isna(r.planned_meeting_date),
            "popup_html": popups.desa_popup(r, lang, reasons.get(r.code, []), desa_url),
            "label_lon": _round(r.rep_lon, POINT_DECIMALS),
            "label_lat": _round(r.rep_lat, POINT_DECIMALS),
            "url": desa_url(r.code) if desa_url is not None else None,
        }
        if fmt == "topojson":
            features.append(props)
            shapes.append(geoms[i])
            codes.append(r.code)
        else:
            features.append(geojson.feature(geojson.mapping(geoms[i]), props, r.code))
    if fmt == "topojson":
        decimals = aggregate.coordinate_decimals(zoom)
        topo = aggregate.topology(shapes, features, codes, decimals=decimals, name="desa")
        return {**topo, "zoom": zoom, "bbox": list(bbox), "count": len(features)}
    return geojson.feature_collection(features, zoom=zoom, bbox=list(bbox), count=len(features))


def share_color(share: float | None, ramp: tuple[tuple[float, str], ...] = SHARE_RAMP) -> str:
    """The roll-up colour of a share of uncovered desa (``i18n.SHARE_RAMP``: the first class whose upper
    bound holds it); no desa (``None``/NaN): the lightest."""
    if share is None or not np.isfinite(share):
        return ramp[0][1]
    for bound, colour in ramp:
        if share <= bound + 1e-12:
            return colour
    return ramp[-1][1]


def _share(uncovered: int, desa: int) -> float | None:
    return round(uncovered / desa, 4) if desa else None


def kecamatan_collection(prep: PreparedMap, zoom: int) -> dict[str, Any]:
    """Every kecamatan outline for ``zoom`` with label point, number of desa and of uncovered desa, and
    (for the roll-up map) the share of uncovered desa and its colour on ``SHARE_RAMP``."""
    outlines = prep.kecamatan_outlines(zoom)
    kec = prep.result.kecamatan.reset_index(drop=True)
    uncovered = kec["status_uncovered"] if "status_uncovered" in kec else pd.Series(0, index=kec.index)
    features = []
    for geom, r, unc in zip(outlines.geometry.to_numpy(), kec.itertuples(index=False), uncovered):
        share = _share(int(unc), int(r.desa_count))
        props = {
            "code": r.code,
            "name": r.name,
            "label_lon": _round(r.rep_lon, POINT_DECIMALS),
            "label_lat": _round(r.rep_lat, POINT_DECIMALS),
            "desa_count": int(r.desa_count),
            "uncovered_count": int(unc),
            "share_uncovered": share,
            "color": share_color(share),
        }
        features.append(geojson.feature(geojson.mapping(geom), props, r.code))
    return geojson.feature_collection(features, zoom=zoom, count=len(features))


def kabupaten_popup(name: str, desa: int, uncovered: int, share: float | None, lang: str, url: str | None) -> str:
    """The roll-up popup of a kabupaten: its name, desa, uncovered desa and their share (escaped)."""
    pct = "-" if share is None else f"{share * 100:.0f}%"
    rows = [
        popups.row(t("desa_count", lang), popups.fmt_int(desa, lang)),
        popups.row(t("desa_uncovered", lang), popups.fmt_int(uncovered, lang)),
        popups.row(t("share_uncovered", lang), escape(pct)),
    ]
    footer = f'<a href="{escape(url)}">{escape(t("open_kabupaten", lang))}</a>' if url else ""
    return popups.popup(escape(name), rows, footer)


def kabupaten_collection(
    prep: PreparedMap,
    view: MapView,
    zoom: int,
    lang: str = DEFAULT_LANG,
    kabupaten_url: Callable[[str], str] | None = None,
) -> dict[str, Any]:
    """Every kabupaten (the view's one, when set) outlined for ``zoom`` with name, label point, number of
    desa and of uncovered desa, the share of uncovered desa, its colour on ``SHARE_RAMP`` and a popup:
    the roll-up of the province overview. The counts add up to the coverage result's."""
    outlines = prep.kabupaten_outlines(zoom)
    table = coverage_service.kabupaten_table(prep.result).set_index("code")
    features = []
    for code, geom in zip(outlines["code"], outlines.geometry.to_numpy()):
        if view.kabupaten and code != view.kabupaten or code not in table.index or geom is None:
            continue
        r = table.loc[code]
        desa, unc = int(r["desa_count"]), int(r.get("status_uncovered", 0))
        share = _share(unc, desa)
        url = kabupaten_url(code) if kabupaten_url is not None else None
        props = {
            "code": code,
            "name": str(r["name"]),
            "label_lon": _round(r["rep_lon"], POINT_DECIMALS),
            "label_lat": _round(r["rep_lat"], POINT_DECIMALS),
            "desa_count": desa,
            "uncovered_count": unc,
            "share_uncovered": share,
            "color": share_color(share),
            "bounds": [_round(v, POINT_DECIMALS) for v in geom.bounds],
            "popup_html": kabupaten_popup(str(r["name"]), desa, unc, share, lang, url),
            "url": url,
        }
        features.append(geojson.feature(geojson.mapping(geom), props, code))
    return geojson.feature_collection(features, zoom=zoom, count=len(features))


def _popup(kind: str, r: Any, lang: str) -> str:
    if kind == "incidents":
        return popups.incident_popup(r, lang)
    if kind == "tps":
        return popups.tps_popup(r, lang)
    return popups.meeting_popup(r, lang)


#: at most this many clusters in one answer (a 1366x768 view at 64 px holds about 260 cells)
MAX_CLUSTERS = 2000
MAX_CELL_PX = 1 << 16


def points_response(
    prep: PreparedMap,
    kind: str,
    view: MapView,
    bbox: aggregate.BBox,
    zoom: int,
    lang: str = DEFAULT_LANG,
    threshold: int = DEFAULT_POINTS_THRESHOLD,
    cell_px: int = CLUSTER_CELL_PX,
    few_per_cell: int = 0,
    max_clusters: int = MAX_CLUSTERS,
) -> dict[str, Any]:
    """Records of ``kind`` in ``bbox`` under the view: one feature each when at most ``threshold``,
    else grid clusters (``cell_px`` screen pixels at ``zoom``) whose counts add up to ``total``.

    ``few_per_cell``: in clusters mode, a cell holding at most this many records sends them one by
    one instead (features without ``count``; mode ``mixed``); the standalone maps use it at their
    deepest zoom. Cluster counts plus single records still add up to ``total``."""
    layer = prep.points(kind)
    idx = np.flatnonzero(prep.point_mask(layer, view, bbox))
    total = len(idx)
    if total <= threshold:
        features = _point_features(layer, idx, kind, lang)
        return {"kind": kind, "mode": "points", "total": total, "zoom": zoom, "features": features}
    cells = aggregate.grid_cells(layer.lon[idx], layer.lat[idx], zoom, cell_px)
    # a deep zoom over a wide box would give a cell per record: the cells grow until at most
    # ``max_clusters`` remain (the counts still add up), so no request costs more than a normal view
    while len(cells) > max_clusters and cell_px < MAX_CELL_PX:
        cell_px *= 2
        cells = aggregate.grid_cells(layer.lon[idx], layer.lat[idx], zoom, cell_px)
    n = len(cells)
    decimals = max(aggregate.coordinate_decimals(zoom), 3)
    approx = np.bincount(cells.members, weights=layer.approximate[idx].astype(float), minlength=n)
    single = cells.count <= few_per_cell
    by_severity: dict[str, np.ndarray] = {}
    if kind == "incidents":
        sev = layer.frame["severity"].to_numpy(dtype=object)[idx].astype(str)
        for name in np.unique(sev):
            by_severity[str(name)] = np.bincount(cells.members, weights=sev == name, minlength=n).astype(np.int64)
    features = []
    for j in np.flatnonzero(~single):
        props: dict[str, Any] = {
            "count": int(cells.count[j]),
            "bounds": [round(float(v), decimals) for v in cells.bounds[j]],
            "approximate": int(approx[j]),
        }
        if by_severity:
            props["severity"] = {k: int(v[j]) for k, v in by_severity.items() if v[j]}
        features.append(geojson.feature(geojson.point(cells.lon[j], cells.lat[j], decimals), props))
    mode = "clusters"
    if single.any():
        features += _point_features(layer, idx[single[cells.members]], kind, lang)
        mode = "mixed"
    return {"kind": kind, "mode": mode, "total": total, "zoom": zoom, "cell_px": cell_px, "features": features}


def _point_features(layer: PointLayer, idx: np.ndarray, kind: str, lang: str) -> list[dict[str, Any]]:
    """One GeoJSON point per record (rows ``idx`` of the layer) with its popup and symbol."""
    rows = layer.frame.iloc[idx]
    features = []
    for i, r in zip(idx, rows.itertuples(index=False)):
        props: dict[str, Any] = {
            "id": _plain(r.id),
            "kind": kind,
            "symbol": layer.symbol[i],
            "approximate": bool(layer.approximate[i]),
            "popup_html": _popup(kind, r, lang),
        }
        if kind in ("incidents", "tps"):
            props["desa_code"] = r.desa_code
        if kind == "incidents":
            props["severity"] = r.severity
            props["category"] = r.category
        elif kind == "tps":
            props["secured"] = bool(r.secured) if not pd.isna(r.secured) else None
            props["vulnerability"] = r.vulnerability
        features.append(geojson.feature(geojson.point(layer.lon[i], layer.lat[i], POINT_DECIMALS), props, _plain(r.id)))
    return features


def heat_response(
    prep: PreparedMap, view: MapView, bbox: aggregate.BBox, zoom: int, cell_px: int = HEAT_CELL_PX
) -> dict[str, Any]:
    """Incidents in ``bbox`` aggregated into small cells weighted by severity (the coverage settings'
    weights): ``[[lat, lon, weight], ...]`` and the largest weight, for the heat layer."""
    layer = prep.points("incidents")
    idx = np.flatnonzero(prep.point_mask(layer, view, bbox))
    cells = aggregate.grid_cells(layer.lon[idx], layer.lat[idx], zoom, cell_px, weights=layer.weight[idx])
    decimals = max(aggregate.coordinate_decimals(zoom), 3)
    points = [
        [round(float(la), decimals), round(float(lo), decimals), round(float(w), 3)]
        for la, lo, w in zip(cells.lat, cells.lon, cells.weight)
    ]
    top = float(cells.weight.max()) if len(cells) else 0.0
    return {"points": points, "max": round(top, 3), "total": int(len(idx)), "zoom": zoom}


def legend(prep: PreparedMap, view: MapView, lang: str = DEFAULT_LANG) -> dict[str, Any]:
    """Number of desa per status in the view (the legend's figures), with labels and colours."""
    desa = prep.desa
    if view.kecamatan:
        desa = desa[desa["kecamatan_code"] == view.kecamatan]
    elif view.kabupaten:
        desa = desa[prep.geometry.desa_kabupaten == view.kabupaten]
    counts = desa["status"].value_counts().to_dict() if len(desa) else {}
    planned = int(desa["planned_meeting_date"].notna().sum()) if "planned_meeting_date" in desa else 0
    return {
        "counts": {s: int(counts.get(s, 0)) for s in STATUS_COLORS},
        "total": int(len(desa)),
        "planned": planned,
        "statuses": [
            {"status": s, "label": status_label(s, lang), "color": c, "count": int(counts.get(s, 0))}
            for s, c in STATUS_COLORS.items()
        ],
        "kecamatan": view.kecamatan,
    }


def _plain(value: Any) -> Any:
    return value.item() if hasattr(value, "item") else value


# --- standalone maps (geo-app layers build: no server behind the page) -------------------------------------

#: individual records a standalone page carries at most per kind (the rest stay in clusters)
STANDALONE_MAX_POINTS = 2000
#: the whole world: every desa or record of the view
WORLD: aggregate.BBox = (-180.0, -90.0, 180.0, 90.0)


def start_zoom(bounds: aggregate.BBox, width_px: int = 1024, height_px: int = 700) -> int:
    """The whole zoom level at which ``bounds`` fits a ``width_px`` × ``height_px`` map (as Leaflet's
    fitBounds does, rounded down)."""
    minx, miny, maxx, maxy = bounds
    x, y = aggregate.mercator_pixels(np.array([minx, maxx]), np.array([maxy, miny]), 0)
    dx, dy = max(float(x[1] - x[0]), 1e-9), max(float(y[1] - y[0]), 1e-9)
    zoom = int(np.floor(np.log2(min(width_px / dx, height_px / dy))))
    return int(min(max(zoom, aggregate.MIN_ZOOM), 18))


def _few_per_cell(prep: PreparedMap, kind: str, view: MapView, zoom: int, limit: int) -> int:
    """The largest number of records per cell (at ``zoom``) that may be sent one by one so that at most
    ``limit`` records are sent one by one."""
    layer = prep.points(kind)
    idx = np.flatnonzero(prep.point_mask(layer, view, None))
    if not len(idx):
        return 0
    counts = aggregate.grid_cells(layer.lon[idx], layer.lat[idx], zoom, CLUSTER_CELL_PX).count
    best = 0
    for few in (1, 2, 3, 5, 10, 20, 50):
        if counts[counts <= few].sum() <= limit:
            best = few
    return best


def standalone_sources(
    prep: PreparedMap,
    view: MapView,
    bounds: aggregate.BBox,
    lang: str = DEFAULT_LANG,
    threshold: int = DEFAULT_POINTS_THRESHOLD,
    max_points: int = STANDALONE_MAX_POINTS,
    kabupaten_url: Callable[[str], str] | None = None,
) -> dict[str, Any]:
    """Inline data for every layer of a map page opened from disk, in the endpoints' shapes, by zoom
    levels (``{"levels": [{"min_zoom", "max_zoom", "data"}]}``): desa polygons and statuses for the
    opening zoom and for closer views, kecamatan outlines, the legend; records one by one when at most
    ``threshold`` of a kind are in the view, else clusters per zoom band and, closest in, the records of
    cells holding few (at most ``max_points`` per kind), the heat from the same cells.

    ``kabupaten_url`` (a page that rolls up, several kabupaten): the kabupaten roll-up too (its fills,
    names and outlines), each kabupaten linking to its own page."""
    z = start_zoom(bounds)

    def levels(*bands: tuple[int, int, Any]) -> dict[str, Any]:
        return {"levels": [{"min_zoom": lo, "max_zoom": hi, "data": data} for lo, hi, data in bands]}

    out: dict[str, Any] = {
        # one set of polygons, a quarter pixel at the opening zoom: close views stay sharp enough
        "desa": desa_collection(prep, view, WORLD, z + 2, lang),
        "kecamatan": kecamatan_collection(prep, z + 1),
        "legend": legend(prep, view, lang),
        "heat": levels(
            (0, z + 1, heat_response(prep, view, WORLD, z + 1)),
            (z + 2, 20, heat_response(prep, view, WORLD, z + 2)),
        ),
    }
    if kabupaten_url is not None:
        # filled while zoomed out; outlined at every zoom, over the desa as finely as they are drawn
        out["kabupaten"] = levels(
            (0, z + 1, kabupaten_collection(prep, view, z, lang, kabupaten_url)),
            (z + 2, 20, kabupaten_collection(prep, view, z + 2, lang, kabupaten_url)),
        )
    for kind in POINT_KINDS:
        body = points_response(prep, kind, view, WORLD, z, lang, threshold=threshold)
        if body["mode"] == "points":
            out[kind] = body
            continue
        deep = z + 4
        few = _few_per_cell(prep, kind, view, deep, max_points)
        out[kind] = levels(
            (0, z + 1, points_response(prep, kind, view, WORLD, z + 1, lang, threshold=threshold)),
            (z + 2, z + 3, points_response(prep, kind, view, WORLD, z + 3, lang, threshold=threshold)),
            (deep, 20, points_response(prep, kind, view, WORLD, deep, lang, threshold=threshold, few_per_cell=few)),
        )
    return out
