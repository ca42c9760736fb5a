"""Validate one raw record (a mapping of canonical field names to user values) into stored values.

Canonical input fields (file headers and API bodies are mapped onto these):

- location, all kinds: ``desa_code`` or ``desa`` (+ ``kecamatan`` or ``kabupaten``, code or name, when the
  name repeats), ``lat``, ``lon``; a ``kabupaten`` given must be the desa's (and the host kecamatan's)
- meetings: ``external_id``, ``title``, ``date``, ``start_time``, ``level``, ``kecamatan`` (host),
  ``kabupaten`` (host; stored as ``host_kabupaten_code``: given, else the host kecamatan's, else the reached
  desa's when they lie in one, else the only one loaded; with several loaded a kabupaten-level rakor
  without any of these is an error), ``venue``, ``organiser``, ``agencies``, ``reached_desa`` (codes or
  names; "semua"/"all" = every desa of the host kecamatan), ``reaches_all_desa``, ``notes``, ``source_url``,
  ``synthetic``
- tps: ``number``, ``voters``, ``address``, ``vulnerability``, ``police``, ``tni``, ``linmas``, ``notes``
- incidents: ``external_id``, ``occurred_at``, ``reported_at``, ``category``, ``severity``, ``status``,
  ``description``, ``source``, ``source_url``, ``notes``

Every problem is collected per field and raised together as ``RecordInvalid``.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

import geopandas as gpd
import numpy as np
import pandas as pd

from ..analysis.placement import DEFAULT_TOLERANCE_M, candidates, choose_desa
from ..errors import RecordInvalid, ValidationError
from ..geo import check_lat_lon
from ..i18n import msg, msg_as, reason_of
from . import parse, vocab
from .desa_lookup import DesaLookup, DesaLookupError

KINDS = ("meetings", "tps", "incidents")
MAX_VOTERS_PER_TPS = 600  # PKPU: at most 600 voters per TPS in Pilkada 2024 (FACTS.md)
MAX_PERSONNEL_PER_TPS = 99  # police/TNI/Linmas per TPS; real plans use 1-2 of each (FACTS.md)


@dataclass
class RecordContext:
    """What validation needs to know about the boundaries and settings; built once per request/import."""

    desa: gpd.GeoDataFrame
    tolerance_m: float = DEFAULT_TOLERANCE_M
    vulnerability_classes: tuple[str, ...] = vocab.VULNERABILITY_CLASSES
    allow_extra_agencies: bool = True
    #: the database's answer to "which desa cover these (lon, lat) points" as (point, code) pairs, when it can
    #: give one (PostGIS); imports then skip the in-memory spatial join
    covering: Callable[[np.ndarray, np.ndarray], pd.DataFrame] | None = None
    lookup: DesaLookup = field(init=False)
    _placed: dict[tuple[float, float], tuple[list[str], str | None, float]] = field(default_factory=dict, init=False)

    def __post_init__(self) -> None:
        self.lookup = DesaLookup(self.desa)

    def prefetch(self, points: list[tuple[float, float]]) -> None:
        """Place many (lon, lat) points in one spatial join (imports call this before cleaning rows)."""
        todo = sorted({p for p in points if p not in self._placed})
        if not todo:
            return
        geoms = gpd.GeoSeries(gpd.points_from_xy([p[0] for p in todo], [p[1] for p in todo]), crs="EPSG:4326")
        covering, nearest, distance = candidates(geoms, self.desa, self.tolerance_m)
        for p, cov, near, dist in zip(todo, covering, nearest, distance.tolist()):
            self._placed[p] = (cov, near, float(dist))

    def place(self, lon: float, lat: float, declared: str | None = None) -> tuple[str | None, str, float]:
        """(desa code, how, distance in m) by the one placement rule (``analysis.placement``)."""
        self.prefetch([(lon, lat)])
        cov, near, dist = self._placed[(lon, lat)]
        code, how = choose_desa(cov, near, declared)
        return code, how, (0.0 if cov else dist) if code else float("nan")


class _Collector:
    """Runs field parsers and gathers their errors."""

    def __init__(self, raw: Mapping[str, Any]) -> None:
        self.raw = raw
        self.errors: dict[str, str] = {}

    def get(self, name: str, parser: Callable[[Any], Any], required: bool = False, default: Any = None) -> Any:
        value = self.raw.get(name)
        if parse.is_blank(value):
            if required:
                self.errors[name] = msg("wajib diisi")
            return default
        try:
            result = parser(value)
        except (ValueError, DesaLookupError) as exc:
            self.errors[name] = reason_of(exc)
            return default
        return default if result is None else result

    def choice(
        self, name: str, allowed, aliases=None, required: bool = False, default: str | None = None
    ) -> str | None:
        def _parse(value: Any) -> str:
            key = vocab.lookup(str(value), allowed, aliases)
            if key is None:
                options = ", ".join(allowed)
                raise ValueError(msg("%(value)r tidak dikenal; pilihan: %(options)s", value=value, options=options))
            return key

        return self.get(name, _parse, required=required, default=default)

    def fail(self, name: str, reason: str) -> None:
        self.errors.setdefault(name, reason)


def _check_code_against_names(c: _Collector, ctx: RecordContext, code: str) -> None:
    """Spreadsheets often carry code, desa and kecamatan names together, and a copied row can keep a
    wrong code: a name that clearly means another desa or kecamatan is an error (an unknown spelling
    of the same desa is not; the code decides)."""
    kec_of = ctx.lookup.kecamatan_of[code]
    kec_name = ctx.lookup.kecamatan_names[kec_of]
    if not parse.is_blank(c.raw.get("kecamatan")):
        try:
            other = ctx.lookup.kecamatan(c.raw.get("kecamatan"))
        except DesaLookupError:
            other = kec_of
        if other != kec_of:
            c.fail(
                "kecamatan",
                msg(
                    "desa %(code)s ada di kecamatan %(kec)s (%(kec_name)s), bukan %(other)s (%(other_name)s)",
                    code=code,
                    kec=kec_of,
                    kec_name=kec_name,
                    other=other,
                    other_name=ctx.lookup.kecamatan_names[other],
                ),
            )
    if not parse.is_blank(c.raw.get("desa")):
        try:
            other = ctx.lookup.desa_by_name(c.raw.get("desa"), kec_of)
        except DesaLookupError:
            other = code
        if other != code:
            c.fail(
                "desa",
                msg(
                    "kode %(code)s adalah Desa %(name)s, bukan %(other_name)s (%(other)s)",
                    code=code,
                    name=ctx.lookup.names[code],
                    other_name=ctx.lookup.names[other],
                    other=other,
                ),
            )


def outside_area(ctx: RecordContext, lat: float, lon: float) -> str:
    """The message for a point beyond the tolerance of every loaded desa, naming the loaded area from the
    boundaries ("Kabupaten Mukomuko", or the kabupaten/kota loaded)."""
    names = list(ctx.lookup.kabupaten_names.values())
    area: Any = names[0] if len(names) == 1 else "wilayah yang dimuat"
    if len(names) > 1:
        short = ", ".join(n.removeprefix("Kabupaten ") for n in names)
        area = msg("%(count)s kabupaten/kota yang dimuat (%(names)s)", count=len(names), names=short)
    return msg(
        "titik (%(lat)s, %(lon)s) di luar %(area)s (lebih dari %(tolerance)s m dari desa mana pun)",
        lat=lat,
        lon=lon,
        area=area,
        tolerance=f"{ctx.tolerance_m:g}",
    )


def _kabupaten(c: _Collector, ctx: RecordContext) -> str | None:
    """The ``kabupaten`` field (code or name) as a code; ``None`` when blank or unknown (an error then)."""
    if parse.is_blank(c.raw.get("kabupaten")):
        return None
    return c.get("kabupaten", ctx.lookup.kabupaten)


def _check_kabupaten(c: _Collector, ctx: RecordContext, desa_code: str, kab_code: str | None) -> None:
    """A kabupaten given beside a desa (by code, name or point) must be that desa's."""
    if not kab_code:
        return
    actual = ctx.lookup.kecamatan_kabupaten[ctx.lookup.kecamatan_of[desa_code]]
    if actual != kab_code:
        c.fail(
            "kabupaten",
            msg(
                "desa %(code)s (%(name)s) ada di %(actual)s, bukan %(given)s",
                code=desa_code,
                name=ctx.lookup.names[desa_code],
                actual=ctx.lookup.kabupaten_names[actual],
                given=ctx.lookup.kabupaten_names[kab_code],
            ),
        )


def _location(c: _Collector, ctx: RecordContext, need_desa: bool) -> dict[str, Any]:
    """Resolve desa from code/name (narrowed by kecamatan and kabupaten) and place the point; flag
    disagreement between the two."""
    out: dict[str, Any] = {
        "lon": None,
        "lat": None,
        "point_desa_code": None,
        "location_mismatch": False,
        "placement": None,
        "desa_code": None,
    }
    desa_code = None
    kab_code = _kabupaten(c, ctx)
    if not parse.is_blank(c.raw.get("desa_code")):
        desa_code = c.get("desa_code", ctx.lookup.desa_code)
        if desa_code is not None:
            _check_code_against_names(c, ctx, desa_code)
    elif not parse.is_blank(c.raw.get("desa")) and "kabupaten" not in c.errors:
        try:
            desa_code = ctx.lookup.desa_by_name(c.raw.get("desa"), c.raw.get("kecamatan"), kab_code)
        except DesaLookupError as exc:
            c.fail(exc.field, reason_of(exc))
    lat = c.get("lat", parse.parse_float)
    lon = c.get("lon", parse.parse_float)
    if (lat is None) != (lon is None):
        c.fail("lat" if lat is None else "lon", msg("lintang dan bujur harus diisi berdua"))
    elif lat is not None:
        try:
            check_lat_lon(lat, lon, msg("lokasi"))
        except ValidationError as exc:
            c.fail("lat", exc.message)
        else:
            placed, how, distance = ctx.place(lon, lat, desa_code)
            if placed is None:
                c.fail("lat", outside_area(ctx, lat, lon))
            else:
                out.update(lon=lon, lat=lat, point_desa_code=placed, placement=how)
                if desa_code is None and "desa_code" not in c.errors and "desa" not in c.errors:
                    desa_code = placed
                elif desa_code is not None and desa_code != placed:
                    out["location_mismatch"] = True
    if desa_code is not None:
        _check_kabupaten(c, ctx, desa_code, kab_code)
    if (
        desa_code is None
        and need_desa
        and not any(k in c.errors for k in ("desa", "desa_code", "lat", "lon", "kecamatan", "kabupaten"))
    ):
        c.fail("desa", msg("isi kode desa, nama desa, atau lintang/bujur"))
    if desa_code is not None and out["placement"] is None:
        out["placement"] = "desa"
    out["desa_code"] = desa_code
    return out


#: ``json.dumps(..., default=str, sort_keys=True, ensure_ascii=False)``, made once (imports hash every row).
_HASH_JSON = json.JSONEncoder(default=str, sort_keys=True, ensure_ascii=False)


def content_hash(kind: str, values: Mapping[str, Any]) -> str:
    """A stable hash of a record's content: the natural key when no external id is given."""
    skip = {"synthetic", "notes", "source_url", "content_hash", "external_id", "legacy_content_hash"}
    keys = sorted(k for k in values if k not in skip)
    payload = _HASH_JSON.encode({k: values[k] for k in keys})
    return hashlib.sha256(f"{kind}|{payload}".encode()).hexdigest()


def _common(c: _Collector) -> dict[str, Any]:
    return {
        "notes": c.get("notes", lambda v: parse.parse_text(v, 4000)),
        "source_url": c.get("source_url", _url),
        "synthetic": c.get("synthetic", parse.parse_bool, default=False),
    }


def _url(value: Any) -> str | None:
    text = parse.parse_text(value, 500)
    if text and not text.lower().startswith(("http://", "https://")):
        raise ValueError(
            msg_as(
                "harus diawali http:// atau https:// / must start with http:// or https://",
                "harus diawali http:// atau https://",
            )
        )
    return text


def clean_meeting(raw: Mapping[str, Any], ctx: RecordContext) -> dict[str, Any]:
    c = _Collector(raw)
    level = c.choice("level", vocab.MEETING_LEVELS, {"kab": "kabupaten", "kec": "kecamatan"}, required=True)
    values: dict[str, Any] = {
        "external_id": c.get("external_id", lambda v: parse.parse_text(v, 64)),
        "title": c.get("title", lambda v: parse.parse_text(v, 200), required=True),
        "date": c.get("date", parse.parse_date, required=True),
        "start_time": c.get("start_time", parse.parse_time),
        "level": level,
        "venue": c.get("venue", lambda v: parse.parse_text(v, 200)),
        "organiser": c.get("organiser", lambda v: parse.parse_text(v, 200)),
        **_common(c),
    }
    values["agencies"] = _agencies(c, ctx)
    loc = _location(c, ctx, need_desa=(level == "desa"))
    host_kec = None
    kab_code = (
        None
        if "kabupaten" in c.errors or parse.is_blank(raw.get("kabupaten"))
        else ctx.lookup.kabupaten(raw["kabupaten"])
    )
    if not parse.is_blank(raw.get("kecamatan")):
        host_kec = c.get("kecamatan", lambda v: ctx.lookup.kecamatan(v, kab_code))
    if loc["desa_code"]:  # the desa the meeting was held in (given, or where its venue point lies)
        desa_kec = ctx.lookup.kecamatan_of[loc["desa_code"]]
        if host_kec and host_kec != desa_kec:
            c.fail(
                "kecamatan",
                msg_as(
                    f"desa {loc['desa_code']} ada di kecamatan {desa_kec}, bukan {host_kec} / desa is in another kecamatan",
                    "desa %(code)s ada di kecamatan %(actual)s, bukan %(given)s",
                    code=loc["desa_code"],
                    actual=desa_kec,
                    given=host_kec,
                ),
            )
        host_kec = host_kec or desa_kec
    if level == "kecamatan" and not host_kec and "kecamatan" not in c.errors:
        c.fail(
            "kecamatan",
            msg("rakor tingkat kecamatan perlu kecamatan tuan rumah"),
        )
    host_desa = loc.pop("desa_code")
    values.update(loc, host_kecamatan_code=host_kec, host_desa_code=host_desa)
    kab_ok = "kabupaten" not in c.errors and "kecamatan" not in c.errors
    if kab_code and host_kec and kab_ok and ctx.lookup.kecamatan_kabupaten[host_kec] != kab_code:
        c.fail(
            "kabupaten",
            msg(
                "kecamatan tuan rumah %(kecamatan)s ada di %(actual)s, bukan %(given)s",
                kecamatan=ctx.lookup.kecamatan_names[host_kec],
                actual=ctx.lookup.kabupaten_names[ctx.lookup.kecamatan_kabupaten[host_kec]],
                given=ctx.lookup.kabupaten_names[kab_code],
            ),
        )
    reaches_all = c.get("reaches_all_desa", parse.parse_bool, default=False)
    reached: list[str] = []
    for item in parse.parse_list(raw.get("reached_desa")):
        if vocab.normalise_key(item) in {"semua", "all", "semua desa", "all desa"}:
            reaches_all = True
            continue
        try:
            if item[:2].isdigit():
                reached.append(ctx.lookup.desa_code(item))
            else:
                try:
                    reached.append(ctx.lookup.desa_by_name(item, host_kec, kab_code))
                except DesaLookupError:
                    if not host_kec:
                        raise
                    # a desa of another kecamatan, named unambiguously across the kabupaten (the one
                    # given, or with several loaded the host kecamatan's)
                    host_kab = ctx.lookup.kecamatan_kabupaten[host_kec] if ctx.lookup.several_kabupaten else None
                    reached.append(ctx.lookup.desa_by_name(item, None, kab_code or host_kab))
        except DesaLookupError as exc:
            c.fail("reached_desa", reason_of(exc))
    if reaches_all and level and level != "kecamatan":
        c.fail("reaches_all_desa", msg("'semua desa' hanya untuk rakor tingkat kecamatan"))
    values["reaches_all_desa"] = bool(reaches_all)
    values["reached_desa_codes"] = sorted(set(reached))
    implied = _implied_kabupaten(ctx, host_kec, values["reached_desa_codes"])
    values["host_kabupaten_code"] = kab_code or implied
    if values["host_kabupaten_code"] is None and level == "kabupaten" and kab_ok and "reached_desa" not in c.errors:
        c.fail(
            "kabupaten",
            msg(
                "rakor tingkat kabupaten tanpa kecamatan tuan rumah perlu kabupaten: %(count)s kabupaten/kota dimuat",
                count=len(ctx.lookup.kabupaten_names),
            ),
        )
    if c.errors:
        raise RecordInvalid(c.errors)
    values["content_hash"], legacy = meeting_hashes(values, implied)
    if legacy:  # what the rakor was stored under before it named its kabupaten (records.find_existing)
        values["legacy_content_hash"] = legacy
    return values


def _implied_kabupaten(ctx: RecordContext, host_kec: str | None, reached: list[str]) -> str | None:
    """The kabupaten a rakor is held in without its ``kabupaten`` field: its host kecamatan's, else that
    of its reached desa when they all lie in one, else the only one loaded (migration 0006 fills stored
    rows by the same rule)."""
    lookup = ctx.lookup
    if host_kec:
        return lookup.kecamatan_kabupaten[host_kec]
    kabs = {lookup.kecamatan_kabupaten[lookup.kecamatan_of[code]] for code in reached}
    if len(kabs) == 1:
        return kabs.pop()
    if len(lookup.kabupaten_names) == 1:
        return next(iter(lookup.kabupaten_names))
    return None


def meeting_hashes(values: Mapping[str, Any], implied: str | None) -> tuple[str, str | None]:
    """``content_hash`` of a rakor, and the hash it had before rakor named their kabupaten when that differs.

    ``host_kabupaten_code`` counts only when the other fields do not imply it (a kabupaten-level rakor
    without host kecamatan whose reached desa do not lie in one kabupaten, with several loaded): so two such
    rakor of different kabupaten are two records, while every rakor whose kabupaten follows from its host
    or reach, and every rakor of a one-kabupaten deployment, keeps the hash it had before the field existed
    (re-imports stay "unchanged"). For the others the old hash is returned too: a stored rakor with that
    hash and no kabupaten (migration 0006 could not place it) or the same one is the same rakor."""
    hashed = {k: v for k, v in values.items() if k != "host_kabupaten_code"}
    legacy = content_hash("meetings", hashed)
    if values.get("host_kabupaten_code") == implied:
        return legacy, None
    return content_hash("meetings", {**hashed, "host_kabupaten_code": values["host_kabupaten_code"]}), legacy


def _agencies(c: _Collector, ctx: RecordContext) -> list[str]:
    out: list[str] = []
    for item in parse.parse_list(c.raw.get("agencies")):
        key = vocab.lookup(item, vocab.AGENCIES, vocab.AGENCY_ALIASES)
        if key is None:
            if not ctx.allow_extra_agencies:
                c.fail("agencies", msg("instansi %(item)r tidak dikenal", item=item))
                continue
            key = parse.parse_text(item, 60)
        if key not in out:
            out.append(key)
    return out


def _personnel(value: Any) -> int | None:
    # bounded so a typo cannot overflow the integer column (a 500 instead of a field message)
    return parse.parse_int(value, minimum=0, maximum=MAX_PERSONNEL_PER_TPS)


def clean_tps(raw: Mapping[str, Any], ctx: RecordContext) -> dict[str, Any]:
    c = _Collector(raw)
    values: dict[str, Any] = {
        "number": c.get("number", lambda v: parse.parse_int(v, minimum=1, maximum=999), required=True),
        "voters": c.get("voters", lambda v: parse.parse_int(v, minimum=0, maximum=MAX_VOTERS_PER_TPS), required=True),
        "address": c.get("address", lambda v: parse.parse_text(v, 200)),
        "vulnerability": c.choice(
            "vulnerability",
            ctx.vulnerability_classes,
            {"tidak rawan": "tidak_rawan", "aman": "tidak_rawan", "kurang rawan": "tidak_rawan"},
            default="tidak_rawan",
        ),
        "police": c.get("police", _personnel, default=0),
        "tni": c.get("tni", _personnel, default=0),
        "linmas": c.get("linmas", _personnel, default=0),
        **_common(c),
    }
    values.pop("source_url")
    loc = _location(c, ctx, need_desa=True)
    values.update(loc)
    if c.errors:
        raise RecordInvalid(c.errors)
    return values


def clean_incident(raw: Mapping[str, Any], ctx: RecordContext) -> dict[str, Any]:
    c = _Collector(raw)
    values: dict[str, Any] = {
        "external_id": c.get("external_id", lambda v: parse.parse_text(v, 64)),
        "occurred_at": c.get("occurred_at", parse.parse_datetime, required=True),
        "reported_at": c.get("reported_at", parse.parse_datetime),
        "category": c.choice("category", vocab.INCIDENT_CATEGORIES, vocab.CATEGORY_ALIASES, required=True),
        "severity": c.choice("severity", vocab.SEVERITIES, vocab.SEVERITY_ALIASES, required=True),
        "status": c.choice("status", vocab.STATUSES, vocab.STATUS_ALIASES, default="reported"),
        "description": c.get("description", lambda v: parse.parse_text(v, 4000), required=True),
        "source": c.choice("source", vocab.SOURCES, vocab.SOURCE_ALIASES),
        **_common(c),
    }
    if values["occurred_at"] and values["reported_at"] and values["reported_at"] < values["occurred_at"]:
        c.fail("reported_at", msg("tanggal lapor sebelum kejadian"))
    values.update(_location(c, ctx, need_desa=True))
    if c.errors:
        raise RecordInvalid(c.errors)
    values["content_hash"] = content_hash("incidents", values)
    return values


CLEANERS: dict[str, Callable[[Mapping[str, Any], RecordContext], dict[str, Any]]] = {
    "meetings": clean_meeting,
    "tps": clean_tps,
    "incidents": clean_incident,
}


def clean_record(kind: str, raw: Mapping[str, Any], ctx: RecordContext) -> dict[str, Any]:
    if kind not in CLEANERS:
        raise ValidationError(
            msg("jenis data %(kind)r tidak dikenal; pilihan: %(choices)s", kind=kind, choices=", ".join(KINDS))
        )
    return CLEANERS[kind](raw, ctx)


def meeting_warnings(values: Mapping[str, Any], ctx: RecordContext) -> list[str]:
    """Warnings (not errors) for a cleaned rakor: a kabupaten- or kecamatan-level one that reaches no
    desa other than its venue, by the one reach rule (``analysis.coverage.meeting_reach``). A desa-level
    rakor is meant for its own desa, so reaching only its venue is what it should do."""
    from ..analysis.coverage import meeting_reach, reaches_only_venue

    if values.get("level") == "desa":
        return []

    by_kec: dict[str, list[str]] = {}
    for code, kec in ctx.lookup.kecamatan_of.items():
        by_kec.setdefault(kec, []).append(code)
    venue = values.get("host_desa_code")
    reached = meeting_reach(
        values.get("level"),
        values.get("host_kecamatan_code"),
        venue,
        bool(values.get("reaches_all_desa")),
        values.get("reached_desa_codes") or [],
        by_kec,
    )
    if not reaches_only_venue(reached, venue):
        return []
    if venue:
        return [
            msg(
                "rakor ini menjangkau hanya desa tempatnya (%(venue)s): isi desa_terjangkau atau 'semua'",
                venue=ctx.lookup.names.get(venue, venue),
            )
        ]
    return [msg("rakor ini menjangkau tidak satu desa pun: isi desa_terjangkau atau 'semua'")]
