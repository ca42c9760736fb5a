"""OGC API – Features collections: what each holds, its filters, and the query over it.

The web module ``geo_app.web.ogc`` parses the request and encodes the answer (GeoJSON or HTML);
here a collection is loaded as :class:`Item` rows (id, shapely geometry in EPSG:4326, properties,
time span), filtered by ``bbox``, ``datetime`` and the collection's property filters, and paged.
Record collections use the same filters as the JSON API (``geo_app.services.records.list_records``),
the coverage collection the same settings and filters as ``/api/coverage``.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta, timezone
from typing import Any

import shapely
from sqlalchemy.orm import Session

from ..errors import NotFound, ValidationError
from ..store.adapter import desa_frame, kabupaten_frame, kecamatan_frame
from ..store.db import data_version as _data_version
from . import coverage as coverage_service
from . import records as records_service
from .boundaries import kabupaten_code, kabupaten_count, require_boundaries

MAX_LIMIT = 10_000
DEFAULT_LIMIT = 10
#: query parameters of every /items request (OGC API – Features Part 1)
CORE_PARAMS = ("f", "bbox", "limit", "offset", "datetime")
CRS84_URIS = ("http://www.opengis.net/def/crs/OGC/1.3/CRS84", "https://www.opengis.net/def/crs/OGC/1.3/CRS84")
WIB = timezone(timedelta(hours=7))


@dataclass(frozen=True)
class Collection:
    id: str
    title: str
    description: str
    geometry: str  # "polygon" or "point"
    filters: tuple[str, ...] = ()
    temporal: str | None = None  # the property holding the record's date or time
    record_kind: str | None = None  # kind in geo_app.services.records
    settings: bool = False  # coverage settings accepted as query parameters


COLLECTIONS: dict[str, Collection] = {
    c.id: c
    for c in (
        Collection("kabupaten", "Kabupaten", "Batas kabupaten / district boundary (Kemendagri).", "polygon"),
        Collection(
            "kecamatan",
            "Kecamatan",
            "Batas kecamatan dengan jumlah desa / sub-district boundaries.",
            "polygon",
            ("kabupaten",),
        ),
        Collection("desa", "Desa", "Batas desa/kelurahan / village boundaries.", "polygon", ("kabupaten", "kecamatan")),
        Collection(
            "coverage",
            "Cakupan koordinasi per desa / coverage per desa",
            "Desa dengan status, alasan dan angka untuk pengaturan saat ini; pengaturan sebagai parameter "
            "(date, window_days, incident_window_days, ...) seperti /api/coverage / desa with status, "
            "reasons and figures for the settings given as query parameters, as /api/coverage takes them.",
            "polygon",
            ("kabupaten", "kecamatan", "status"),
            settings=True,
        ),
        Collection(
            "tps",
            "TPS",
            "Tempat pemungutan suara / polling stations.",
            "point",
            tuple(sorted(records_service.FILTERS["tps"])),
            record_kind="tps",
        ),
        Collection(
            "incidents",
            "Insiden / incidents",
            "Laporan insiden / incident reports (datetime: occurred_at, WIB).",
            "point",
            tuple(sorted(records_service.FILTERS["incidents"])),
            temporal="occurred_at",
            record_kind="incidents",
        ),
        Collection(
            "rakor",
            "Rakor / coordination meetings",
            "Rapat koordinasi di tempatnya / coordination meetings at their venue (datetime: date).",
            "point",
            tuple(sorted(records_service.FILTERS["meetings"])),
            temporal="date",
            record_kind="meetings",
        ),
    )
}


@dataclass
class Item:
    id: str | int
    geometry: Any
    properties: dict[str, Any]
    start: datetime | None = None
    end: datetime | None = None


@dataclass
class Query:
    bbox: tuple[float, float, float, float] | None = None
    interval: tuple[datetime | None, datetime | None] | None = None
    limit: int = DEFAULT_LIMIT
    offset: int = 0
    filters: dict[str, str] = field(default_factory=dict)
    settings: dict[str, str] = field(default_factory=dict)


@dataclass
class ItemPage:
    items: list[Item]
    matched: int
    query: Query


def data_version(session: Session) -> str:
    return _data_version(session)


def collection(cid: str) -> Collection:
    if cid not in COLLECTIONS:
        raise NotFound(f"koleksi {cid!r} tidak ada / no such collection; pilihan: {', '.join(COLLECTIONS)}")
    return COLLECTIONS[cid]


def spatial_extent(session: Session) -> list[float]:
    require_boundaries(session)
    kab = kabupaten_frame(session)
    frame = kab if len(kab) else kecamatan_frame(session)
    return [round(float(v), 6) for v in frame.total_bounds]


# --- parameters ------------------------------------------------------------------------------------


def _bad(name: str, message: str) -> ValidationError:
    return ValidationError(f"{name}: {message}", details={name: message})


def parse_int(name: str, raw: str | None, default: int, minimum: int, maximum: int | None = None) -> int:
    if raw is None or not raw.strip():
        return default
    text = raw.strip()
    if not re.fullmatch(r"\d+", text):
        raise _bad(name, f"harus bilangan bulat >= {minimum} / expected a whole number >= {minimum}, got {raw!r}")
    value = int(text)
    if value < minimum:
        raise _bad(name, f"harus >= {minimum} / must be >= {minimum}, got {value}")
    return min(value, maximum) if maximum is not None else value  # OGC: a larger limit is not an error


def parse_bbox(raw: str | None) -> tuple[float, float, float, float] | None:
    if raw is None or not raw.strip():
        return None
    parts = raw.split(",")
    try:
        values = [float(p) for p in parts]
    except ValueError:
        raise _bad(
            "bbox", f"harus 4 angka minx,miny,maxx,maxy / expected 4 numbers minx,miny,maxx,maxy, got {raw!r}"
        ) from None
    if len(values) == 6:
        values = [values[0], values[1], values[3], values[4]]
    if len(values) != 4 or not all(v == v and abs(v) != float("inf") for v in values):
        raise _bad("bbox", f"harus 4 (atau 6) angka / expected 4 (or 6) numbers, got {raw!r}")
    minx, miny, maxx, maxy = values
    if not (-180 <= minx <= 180 and -180 <= maxx <= 180 and -90 <= miny <= 90 and -90 <= maxy <= 90):
        raise _bad("bbox", "di luar WGS 84 lon/lat / outside WGS 84 longitude/latitude")
    if miny > maxy or minx > maxx:
        raise _bad("bbox", "minimum lebih besar dari maksimum / minimum greater than maximum")
    return minx, miny, maxx, maxy


_DATE = re.compile(r"^\d{4}-\d{2}-\d{2}$")


def _instant(text: str, end: bool) -> datetime:
    """An RFC 3339 date or date-time as a naive WIB datetime; a date is its whole day."""
    if _DATE.match(text):
        day = date.fromisoformat(text)
        return datetime.combine(day, time.max if end else time.min)
    value = datetime.fromisoformat(text.replace("z", "Z").replace("Z", "+00:00").replace("t", "T"))
    if "T" not in text.upper():
        raise ValueError(text)
    if value.tzinfo is not None:
        value = value.astimezone(WIB).replace(tzinfo=None)
    return value


def parse_datetime(raw: str | None) -> tuple[datetime | None, datetime | None] | None:
    """``datetime``: an instant, or an interval ``start/end`` with ``..`` (or nothing) for an open end."""
    if raw is None or not raw.strip():
        return None
    text = raw.strip()
    try:
        if "/" in text:
            a, _, b = text.partition("/")
            start = None if a in ("", "..") else _instant(a, end=False)
            end = None if b in ("", "..") else _instant(b, end=True)
            if start is None and end is None:
                raise ValueError(text)
            if start and end and start > end:
                raise _bad("datetime", "awal setelah akhir / start after end")
            return start, end
        return _instant(text, end=False), _instant(text, end=True)
    except ValidationError:
        raise
    except ValueError:
        raise _bad(
            "datetime",
            "harus waktu RFC 3339 atau interval / expected an RFC 3339 date(-time) or interval such as "
            f"2024-11-01/2024-11-27, 2024-11-20T08:00:00Z or ../2024-11-27; got {raw!r}",
        ) from None


def parse_query(coll: Collection, args: Mapping[str, str]) -> Query:
    """The /items parameters; unknown ones are a 400 naming them (coverage: settings pass through)."""
    query = Query(
        bbox=parse_bbox(args.get("bbox")),
        limit=parse_int("limit", args.get("limit"), DEFAULT_LIMIT, 1, MAX_LIMIT),
        offset=parse_int("offset", args.get("offset"), 0, 0),
    )
    if args.get("datetime", "").strip():
        if coll.temporal is None:
            raise _bad("datetime", f"koleksi {coll.id} tidak bertanggal / collection {coll.id} has no dates")
        query.interval = parse_datetime(args.get("datetime"))
    for name in ("crs", "bbox-crs"):  # Part 2: only CRS84 is offered
        value = args.get(name, "").strip()
        if value and value not in CRS84_URIS:
            raise _bad(name, f"hanya / only {CRS84_URIS[0]} is supported, got {value!r}")
    for name, value in args.items():
        if name in CORE_PARAMS or name in ("crs", "bbox-crs"):
            continue
        if name in coll.filters:
            if value.strip():
                query.filters[name] = value.strip()
        elif coll.settings:
            query.settings[name] = value
        else:
            known = ", ".join((*CORE_PARAMS, *coll.filters))
            raise _bad(name, f"parameter tidak dikenal / unknown parameter; pilihan / choose: {known}")
    return query


# --- loading ----------------------------------------------------------------------------------------


def _areas(frame: Any, columns: list[str]) -> list[Item]:
    rows = coverage_service.rows(frame, columns)
    return [Item(r["code"], g, r) for r, g in zip(rows, frame.geometry.to_numpy())]


KECAMATAN_COLUMNS = ["code", "name", "kabupaten_code", "area_km2", "desa_count", "rep_lon", "rep_lat"]
DESA_COLUMNS = ["code", "name", "kind", "kecamatan_code", "kecamatan_name", "area_km2", "rep_lon", "rep_lat"]


def coverage_columns(frame: Any, several_kabupaten: bool = False) -> list[str]:
    """The /api/coverage columns first, then whatever else the coverage result holds (flags, ...); the
    kabupaten code and name only when several kabupaten are loaded (as /api/coverage)."""
    cols = [c for c in coverage_service.DESA_COLUMNS if c in frame.columns]
    if several_kabupaten:
        at = cols.index("kind") + 1 if "kind" in cols else len(cols)
        cols[at:at] = [c for c in coverage_service.KABUPATEN_ROW_COLUMNS if c in frame.columns]
    skip = set(cols) | set(coverage_service.KABUPATEN_ROW_COLUMNS) | {frame.geometry.name}
    return cols + [c for c in frame.columns if c not in skip]


def _coverage_items(session: Session, query: Query, cache: Any) -> tuple[list[Item], Any]:
    settings = coverage_service.coverage_settings(query.settings)
    result = coverage_service.get_coverage(session, settings, cache)
    kecamatan = coverage_service.resolve_kecamatan(result, query.filters.get("kecamatan"))
    kabupaten = coverage_service.resolve_kabupaten(result, query.filters.get("kabupaten"))
    coverage_service.check_kecamatan_in_kabupaten(result, kecamatan, kabupaten)
    statuses = coverage_service.parse_statuses(query.filters.get("status"))
    desa = coverage_service.filter_desa(result.desa, kecamatan, statuses, kabupaten)
    return _areas(desa, coverage_columns(desa, coverage_service.several_kabupaten(result))), result


def _record_time(kind: str, rec: dict[str, Any]) -> tuple[datetime | None, datetime | None]:
    if kind == "meetings" and rec.get("date"):
        day = date.fromisoformat(str(rec["date"])[:10])
        return datetime.combine(day, time.min), datetime.combine(day, time.max)
    if kind == "incidents" and rec.get("occurred_at"):
        when = datetime.fromisoformat(str(rec["occurred_at"]))
        return when, when
    return None, None


def record_points(session: Session) -> tuple[dict[str, tuple[float, float]], dict[str, tuple[float, float]]]:
    def points(frame: Any) -> dict[str, tuple[float, float]]:
        return {c: (float(x), float(y)) for c, x, y in zip(frame["code"], frame["rep_lon"], frame["rep_lat"])}

    return points(desa_frame(session)), points(kecamatan_frame(session))


def record_point(rec: dict[str, Any], desa_points: Mapping, kec_points: Mapping) -> tuple[Any, str | None]:
    """Where a record is drawn (as the JSON API's GeoJSON): its point, its desa's, its kecamatan's."""
    if rec.get("lon") is not None and rec.get("lat") is not None:
        return shapely.Point(float(rec["lon"]), float(rec["lat"])), "point"
    desa = rec.get("desa_code") or rec.get("host_desa_code")
    if desa and desa in desa_points:
        return shapely.Point(*desa_points[desa]), "desa"
    kec = rec.get("host_kecamatan_code")
    if kec and kec in kec_points:
        return shapely.Point(*kec_points[kec]), "kecamatan"
    return None, None


def all_records(session: Session, app_settings: dict[str, Any], kind: str, filters: dict[str, str]) -> list[dict]:
    """Every record matching the JSON API's filters, in the JSON API's order."""
    out: list[dict[str, Any]] = []
    page = 1
    while True:
        got = records_service.list_records(session, app_settings, kind, filters, page, records_service.MAX_PER_PAGE)
        out.extend(got.items)
        if len(out) >= got.total or not got.items:
            return out
        page += 1


def _record_items(session: Session, app_settings: dict[str, Any], kind: str, filters: dict[str, str]) -> list[Item]:
    desa_points, kec_points = record_points(session)
    items = []
    for rec in all_records(session, app_settings, kind, filters):
        geom, source = record_point(rec, desa_points, kec_points)
        start, end = _record_time(kind, rec)
        items.append(Item(rec["id"], geom, {**rec, "point_source": source}, start, end))
    return items


def load_items(
    session: Session, app_settings: dict[str, Any], coll: Collection, query: Query, cache: Any = None
) -> list[Item]:
    """Every item of ``coll`` matching the property filters (before bbox, datetime and paging)."""
    require_boundaries(session)
    if coll.id == "kabupaten":
        return _areas(kabupaten_frame(session), ["code", "name", "area_km2", "rep_lon", "rep_lat"])
    if coll.id == "kecamatan":
        kec = kecamatan_frame(session)
        counts = desa_frame(session)["kecamatan_code"].value_counts()
        kec = kec.assign(desa_count=[int(counts.get(c, 0)) for c in kec["code"]])
        kab = kabupaten_code(session, query.filters.get("kabupaten"))
        if kab:
            kec = kec[kec["kabupaten_code"] == kab]
        return _areas(kec, KECAMATAN_COLUMNS)
    if coll.id == "desa":
        desa = desa_frame(session, kabupaten=kabupaten_code(session, query.filters.get("kabupaten")))
        several = kabupaten_count(session) > 1
        wanted = query.filters.get("kecamatan")
        if wanted:
            kec = kecamatan_frame(session)
            match = kec[(kec["code"] == wanted) | (kec["name"].str.casefold() == wanted.casefold())]
            if match.empty:
                raise _bad("kecamatan", f"{wanted!r} tidak dikenal / unknown; pakai kode / use a code like 17.06.08")
            desa = desa[desa["kecamatan_code"].isin(match["code"])]
        return _areas(
            desa,
            [*DESA_COLUMNS[:3], *coverage_service.KABUPATEN_ROW_COLUMNS, *DESA_COLUMNS[3:]]
            if several
            else DESA_COLUMNS,
        )
    if coll.id == "coverage":
        return _coverage_items(session, query, cache)[0]
    return _record_items(session, app_settings, coll.record_kind or coll.id, query.filters)


def select_items(items: list[Item], query: Query) -> list[Item]:
    """Items within ``bbox`` and overlapping the ``datetime`` interval."""
    out = items
    if query.bbox is not None:
        box = shapely.box(*query.bbox)
        out = [i for i in out if i.geometry is not None and shapely.intersects(i.geometry, box)]
    if query.interval is not None:
        lo, hi = query.interval
        out = [
            i
            for i in out
            if i.start is not None and (hi is None or i.start <= hi) and (lo is None or (i.end or i.start) >= lo)
        ]
    return out


def items_page(
    session: Session, app_settings: dict[str, Any], cid: str, args: Mapping[str, str], cache: Any = None
) -> ItemPage:
    coll = collection(cid)
    query = parse_query(coll, args)
    selected = select_items(load_items(session, app_settings, coll, query, cache), query)
    return ItemPage(selected[query.offset : query.offset + query.limit], len(selected), query)


def item(
    session: Session, app_settings: dict[str, Any], cid: str, fid: str, args: Mapping[str, str], cache: Any = None
) -> Item:
    coll = collection(cid)
    query = parse_query(coll, {k: v for k, v in args.items() if k not in ("bbox", "limit", "offset", "datetime")})
    if coll.record_kind:
        if not fid.isdigit():
            raise NotFound(f"{cid} {fid!r} tidak ditemukan / not found")
        rec = records_service.get_record(session, coll.record_kind, int(fid))
        desa_points, kec_points = record_points(session)
        geom, source = record_point(rec, desa_points, kec_points)
        start, end = _record_time(coll.record_kind, rec)
        return Item(rec["id"], geom, {**rec, "point_source": source}, start, end)
    query.filters = {}  # one feature by its id, whatever the filters
    for found in load_items(session, app_settings, coll, query, cache):
        if str(found.id) == fid:
            return found
    raise NotFound(f"{cid} {fid!r} tidak ditemukan / not found")


def temporal_extent(session: Session, app_settings: dict[str, Any], coll: Collection) -> list[str | None] | None:
    if coll.temporal is None:
        return None
    times = [i.start for i in _record_items(session, app_settings, coll.record_kind or coll.id, {}) if i.start]
    if not times:
        return [None, None]

    def rfc3339(value: datetime) -> str:
        return value.replace(tzinfo=WIB).isoformat(timespec="seconds")

    return [rfc3339(min(times)), rfc3339(max(times))]
