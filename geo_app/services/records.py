"""Record use cases (create, read, update, soft-delete, list, upsert) shared by API, forms and imports."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import datetime, time
from functools import partial
from typing import Any

from sqlalchemy import and_, func, or_, select, true
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from ..config import setting
from ..errors import Conflict, NotFound, ValidationError
from ..geo import check_lat_lon
from ..i18n import N_, msg, msg_as, reason_of
from ..records import parse, vocab
from ..records.schema import KINDS, RecordContext, clean_record, meeting_warnings
from ..store import spatial
from ..store.adapter import desa_frame
from ..store.db import bump_version, transaction
from ..store.models import AuditEntry, Desa, Incident, Kecamatan, Meeting, PollingStation, meeting_desa, utcnow
from ..store.records import MODELS, apply_values, to_dict, to_raw
from .audit import record_change
from .boundaries import require_boundaries

KIND_LABELS = {"meetings": N_("rakor"), "tps": N_("TPS"), "incidents": N_("insiden")}
#: API path segment of each kind (for the restore hint in a conflict message).
KIND_RESOURCES = {"meetings": "meetings", "tps": "polling-stations", "incidents": "incidents"}
MAX_PER_PAGE = 500


def check_kind(kind: str) -> str:
    if kind not in KINDS:
        raise ValidationError(
            msg("jenis data %(kind)r tidak dikenal; pilihan: %(choices)s", kind=kind, choices=", ".join(KINDS))
        )
    return kind


def record_context(session: Session, settings: dict[str, Any]) -> RecordContext:
    """Boundaries and settings that validation needs."""
    require_boundaries(session)
    return RecordContext(
        desa=desa_frame(session),
        tolerance_m=float(setting(settings, "PLACEMENT_TOLERANCE_M")),
        vulnerability_classes=tuple(setting(settings, "VULNERABILITY_CLASSES")),
        allow_extra_agencies=bool(setting(settings, "EXTRA_AGENCIES")),
        # PostGIS: the covering desa of an import's points come from the GiST index (same rule after that)
        covering=partial(spatial.covering_desa, session) if spatial.is_postgis(session) else None,
    )


def find_existing(session: Session, kind: str, values: dict[str, Any], exclude_id: int | None = None):
    """The stored row (deleted or not) with the same natural key: TPS by desa + number; meetings and
    incidents by external id when given, else by content hash."""
    model = MODELS[kind]
    if kind == "tps":
        stmt = select(model).where(model.desa_code == values["desa_code"], model.number == values["number"])
    elif values.get("external_id"):
        stmt = select(model).where(model.external_id == values["external_id"])
    else:
        stmt = select(model).where(model.content_hash == values["content_hash"])
    if exclude_id is not None:
        stmt = stmt.where(model.id != exclude_id)
    found = session.scalars(stmt).first()
    if found is None and kind == "meetings" and values.get("legacy_content_hash") and not values.get("external_id"):
        # a rakor stored before it named its kabupaten (schema.meeting_hashes): the same one unless it
        # is held in another kabupaten
        stmt = select(model).where(
            model.content_hash == values["legacy_content_hash"],
            or_(model.host_kabupaten_code.is_(None), model.host_kabupaten_code == values["host_kabupaten_code"]),
        )
        if exclude_id is not None:
            stmt = stmt.where(model.id != exclude_id)
        found = session.scalars(stmt).first()
    return found


def deleted_by_hand(session: Session, kind: str, objs: list) -> set[int]:
    """Ids of the soft-deleted ``objs`` whose deletion a person decided: deleted (and not restored
    since), or not known to come from rolling back the import that created them. Only a record a
    rollback removed may come back through a new create or import; the others need an admin's restore."""
    ids = [o.id for o in objs if o.deleted_at is not None]
    if not ids:
        return set()
    last: dict[int, str] = {}
    for i in range(0, len(ids), 500):
        chunk = ids[i : i + 500]
        latest = (
            select(func.max(AuditEntry.id))
            .where(
                AuditEntry.kind == kind, AuditEntry.record_id.in_(chunk), AuditEntry.action.in_(("delete", "restore"))
            )
            .group_by(AuditEntry.record_id)
        )
        for record_id, action in session.execute(
            select(AuditEntry.record_id, AuditEntry.action).where(AuditEntry.id.in_(latest))
        ):
            last[record_id] = action
    batches = {o.import_batch for o in objs if o.deleted_at is not None and o.import_batch}
    rolled_back = (
        set(
            session.scalars(
                select(AuditEntry.batch).where(AuditEntry.batch.in_(batches), AuditEntry.action == "rollback")
            )
        )
        if batches
        else set()
    )
    return {
        o.id
        for o in objs
        if o.deleted_at is not None and (last.get(o.id) == "delete" or o.import_batch not in rolled_back)
    }


def deleted_twin_conflict(kind: str, values: dict[str, Any], twin) -> Conflict:
    """409 for a create or import matching a record someone deleted: restoring it is an admin's decision."""
    where = f"POST /api/{KIND_RESOURCES[kind]}/{twin.id}/restore"
    return Conflict(
        msg(
            "%(what)s sudah ada tetapi telah dihapus (id %(id)s); hanya admin yang dapat memulihkannya: "
            "tombol Pulihkan atau %(where)s",
            what=_natural_key_text(kind, values),
            id=twin.id,
            where=where,
        ),
        details={"id": twin.id, "deleted": True, "restore": where},
    )


def _natural_key_text(kind: str, values: dict[str, Any]) -> str:
    if kind == "tps":
        return msg("TPS %(number)s di desa %(desa)s", number=values["number"], desa=values["desa_code"])
    if values.get("external_id"):
        return msg("%(kind)s dengan id eksternal %(id)r", kind=msg(KIND_LABELS[kind]), id=values["external_id"])
    return msg("%(kind)s dengan isi yang sama", kind=msg(KIND_LABELS[kind]))


@contextmanager
def _saved_meanwhile(kind: str, values: dict[str, Any]) -> Iterator[None]:
    """A 409, not a 500, when another worker or host saved a record with the same key between this
    request's look-up and its write (the database's unique key refuses the second)."""
    try:
        yield
    except IntegrityError:
        raise Conflict(
            msg(
                "%(what)s baru saja disimpan oleh pengguna lain; muat ulang lalu periksa",
                what=_natural_key_text(kind, values),
            )
        ) from None


def _get(session: Session, kind: str, record_id: int, include_deleted: bool = False):
    model = MODELS[check_kind(kind)]
    # ids beyond a 64-bit integer cannot exist (SQLite would raise OverflowError, a 500)
    obj = session.get(model, record_id) if 0 < record_id < 2**63 else None
    if obj is None or (obj.deleted_at is not None and not include_deleted):
        raise NotFound(msg("%(kind)s %(id)s tidak ditemukan", kind=msg(KIND_LABELS[kind]), id=record_id))
    return obj


def get_record(session: Session, kind: str, record_id: int) -> dict[str, Any]:
    return to_dict(_get(session, kind, record_id), kind)


class LikelyDuplicate(Conflict):
    """A rakor on the same date, at the same host, reaching the same desa as a stored one: probably the
    same meeting entered twice (with another title or agencies). Saved only when the caller confirms."""

    code = "likely_duplicate"


def likely_duplicate(session: Session, values: dict[str, Any], exclude_id: int | None = None) -> Meeting | None:
    """The live rakor that ``values`` (cleaned) probably repeats: same date, host kecamatan and host
    desa, and the same reached desa (both "all desa of the host" or both not, and the same list);
    ``exclude_id``: the rakor being edited."""
    stmt = select(Meeting).where(
        Meeting.id != exclude_id if exclude_id is not None else true(),
        Meeting.deleted_at.is_(None),
        Meeting.date == values["date"],
        Meeting.host_kecamatan_code.is_(None)
        if values.get("host_kecamatan_code") is None
        else Meeting.host_kecamatan_code == values["host_kecamatan_code"],
        Meeting.host_desa_code.is_(None)
        if values.get("host_desa_code") is None
        else Meeting.host_desa_code == values["host_desa_code"],
        # a kabupaten-level rakor without host: the same meeting only in the same kabupaten (or one not
        # yet placed by migration 0006)
        or_(Meeting.host_kabupaten_code.is_(None), Meeting.host_kabupaten_code == values.get("host_kabupaten_code")),
    )
    wanted = sorted(values.get("reached_desa_codes") or [])
    for meeting in session.scalars(stmt.order_by(Meeting.id)):
        same_reach = sorted(d.code for d in meeting.reached_desa) == wanted
        if same_reach and bool(meeting.reaches_all_desa) == bool(values.get("reaches_all_desa")):
            return meeting
    return None


#: with the date and the reach, what makes two rakor the same meeting for ``likely_duplicate``
_MEETING_HOSTS = ("host_kecamatan_code", "host_desa_code", "host_kabupaten_code")


def _meeting_key(values: dict[str, Any]) -> tuple[Any, ...]:
    """A rakor's date, hosts and reach, from cleaned values or a stored record's dict (date as text)."""
    day = values.get("date")
    return (
        str(day)[:10] if day is not None else None,
        *(values.get(k) for k in _MEETING_HOSTS),
        bool(values.get("reaches_all_desa")),
        tuple(sorted(values.get("reached_desa_codes") or [])),
    )


def _duplicate_conflict(twin: Meeting) -> LikelyDuplicate:
    return LikelyDuplicate(
        msg(
            "kemungkinan rakor ganda: rakor id %(id)s (%(title)r) punya tanggal, tuan rumah dan desa terjangkau "
            "yang sama; simpan tetap dengan allow_duplicate=true",
            id=twin.id,
            title=twin.title,
        ),
        details={"id": twin.id, "likely_duplicate": True, "title": twin.title},
    )


def create_record(
    session: Session,
    settings: dict[str, Any],
    kind: str,
    payload: dict[str, Any],
    ctx: RecordContext | None = None,
    actor: str | None = None,
    allow_duplicate: bool = True,
) -> dict[str, Any]:
    """Validate and insert; 409 when the natural key exists, also when its record was deleted (for
    everyone: an admin restores it instead). Only a record removed by rolling back its import is revived.

    With ``allow_duplicate`` off, a rakor that ``likely_duplicate`` matches is a ``LikelyDuplicate``
    (409 naming the stored one): the forms and the API ask before saving the same meeting twice."""
    check_kind(kind)
    ctx = ctx or record_context(session, settings)
    values = clean_record(kind, payload, ctx)
    with _saved_meanwhile(kind, values), transaction(session):
        existing = find_existing(session, kind, values)
        if existing is not None and existing.deleted_at is None:
            raise Conflict(
                msg("%(what)s sudah ada (id %(id)s)", what=_natural_key_text(kind, values), id=existing.id),
                details={"id": existing.id},
            )
        if existing is not None and deleted_by_hand(session, kind, [existing]):
            raise deleted_twin_conflict(kind, values, existing)
        if kind == "meetings" and not allow_duplicate:
            twin = likely_duplicate(session, values)
            if twin is not None:
                raise _duplicate_conflict(twin)
        obj = existing or MODELS[kind]()
        if existing is None:
            session.add(obj)
        before = to_dict(existing, kind) if existing is not None else None
        obj.deleted_at = None
        apply_values(session, obj, kind, values)
        session.flush()
        after = to_dict(obj, kind)
        record_change(session, "create", kind, obj.id, before, after, actor)
        bump_version(session, "records")
    warnings = meeting_warnings(values, ctx) if kind == "meetings" else []
    return {**after, "warnings": warnings} if warnings else after


def update_record(
    session: Session,
    settings: dict[str, Any],
    kind: str,
    record_id: int,
    payload: dict[str, Any],
    actor: str | None = None,
    allow_duplicate: bool = True,
) -> dict[str, Any]:
    """Merge a (partial) payload into the stored record, validate the whole, save.

    With ``allow_duplicate`` off, an edit that moves a rakor's date, host or reached desa onto another
    stored rakor is a ``LikelyDuplicate``, as on create (an edit of anything else is never one)."""
    obj = _get(session, kind, record_id)
    raw = to_raw(obj, kind)
    names_desa = "desa" in payload and "desa_code" not in payload
    moves_point = ("lat" in payload or "lon" in payload) and not ({"desa", "desa_code"} & set(payload))
    desa_from_point = obj.point_desa_code is not None and obj.point_desa_code == raw.get("desa_code")
    if names_desa or (moves_point and desa_from_point):
        raw.pop("desa_code", None)  # the desa follows the new name or the moved point
    moves_host = any(not parse.is_blank(payload.get(k)) for k in ("kecamatan", "desa", "desa_code", "lat", "lon"))
    if kind == "meetings" and moves_host and "kabupaten" not in payload:
        raw.pop("kabupaten", None)  # a rakor's kabupaten follows a new host (kept when the host is removed)
    raw.update(payload)
    values = clean_record(kind, raw, record_context(session, settings))
    with _saved_meanwhile(kind, values), transaction(session):
        twin = find_existing(session, kind, values, exclude_id=obj.id)
        if twin is not None:
            raise Conflict(
                msg("%(what)s sudah ada (id %(id)s)", what=_natural_key_text(kind, values), id=twin.id),
                details={"id": twin.id},
            )
        before = to_dict(obj, kind)
        if kind == "meetings" and not allow_duplicate and _meeting_key(before) != _meeting_key(values):
            same = likely_duplicate(session, values, exclude_id=obj.id)
            if same is not None:
                raise _duplicate_conflict(same)
        if apply_values(session, obj, kind, values):
            session.flush()
            record_change(session, "update", kind, obj.id, before, to_dict(obj, kind), actor)
            bump_version(session, "records")
    return to_dict(obj, kind)


def delete_record(session: Session, kind: str, record_id: int, actor: str | None = None) -> None:
    """Soft delete: the row is hidden, not erased, so it can be restored."""
    obj = _get(session, kind, record_id)
    with transaction(session):
        record_change(session, "delete", kind, obj.id, to_dict(obj, kind), None, actor)
        obj.deleted_at = utcnow()
        bump_version(session, "records")


def restore_record(session: Session, kind: str, record_id: int, actor: str | None = None) -> dict[str, Any]:
    obj = _get(session, kind, record_id, include_deleted=True)
    with transaction(session):
        obj.deleted_at = None
        record_change(session, "restore", kind, obj.id, None, to_dict(obj, kind), actor)
        bump_version(session, "records")
    return to_dict(obj, kind)


def upsert_record(
    session: Session,
    kind: str,
    values: dict[str, Any],
    batch: str | None = None,
    actor: str | None = None,
    revive_deleted: bool = True,
) -> str:
    """Write cleaned values by natural key inside the caller's transaction (imports, demo load).

    Returns ``inserted``, ``updated`` or ``unchanged``. With ``revive_deleted`` off (file imports), a
    record someone deleted raises ``Conflict`` instead of coming back (see ``deleted_by_hand``).
    """
    existing = find_existing(session, kind, values)
    if existing is not None and not revive_deleted and deleted_by_hand(session, kind, [existing]):
        raise deleted_twin_conflict(kind, values, existing)
    if existing is None:
        obj = MODELS[kind](import_batch=batch)
        session.add(obj)
        apply_values(session, obj, kind, values)
        session.flush()
        record_change(session, "create", kind, obj.id, None, to_dict(obj, kind), actor, batch)
        return "inserted"
    before = to_dict(existing, kind)
    revived = existing.deleted_at is not None
    existing.deleted_at = None
    changed = apply_values(session, existing, kind, values)
    if changed or revived:
        existing.import_batch = batch or existing.import_batch
        session.flush()
        record_change(session, "update", kind, existing.id, before, to_dict(existing, kind), actor, batch)
        return "updated"
    return "unchanged"


# --- where a point falls, and what a write changed on the map ------------------------------------------


def locate(session: Session, settings: dict[str, Any], lat: object, lon: object) -> dict[str, Any]:
    """The desa a point falls in by the placement rule the imports and the API use (``RecordContext.place``),
    for "use my location" in the forms. 400 for a missing, non-numeric, NaN or out-of-range coordinate."""
    try:
        lat_f, lon_f = parse.parse_float(lat), parse.parse_float(lon)
    except ValueError as exc:
        raise ValidationError(f"lat/lon: {exc}", details={"lat": str(exc)}) from None
    if lat_f is None or lon_f is None:
        raise ValidationError(
            "isi lat dan lon / give both lat and lon", details={"lat" if lat_f is None else "lon": "missing"}
        )
    check_lat_lon(lat_f, lon_f, msg("lokasi"))  # str: "lokasi / location", as before
    ctx = record_context(session, settings)
    code, how, distance = ctx.place(lon_f, lat_f)
    out: dict[str, Any] = {"lat": lat_f, "lon": lon_f, "placement": how, "desa_code": code}
    if code is None:
        return {**out, "desa": None, "kecamatan_code": None, "kecamatan": None, "distance_m": None}
    kec = ctx.lookup.kecamatan_of[code]
    return {
        **out,
        "desa": ctx.lookup.names.get(code, code),
        "kecamatan_code": kec,
        "kecamatan": ctx.lookup.kecamatan_names.get(kec, kec),
        "distance_m": round(float(distance), 1),
    }


def coverage_statuses(session: Session, cache: Any = None) -> dict[str, dict[str, str]]:
    """``desa code -> {status, name, kecamatan}`` with the default coverage settings (what the dashboard
    shows first), from ``cache`` (a ``coverage.CoverageCache``) when the data did not change."""
    from . import coverage

    result = coverage.get_coverage(session, cache=cache)
    desa = result.desa
    return {
        code: {"status": status, "name": name, "kecamatan": kec}
        for code, status, name, kec in zip(desa["code"], desa["status"], desa["name"], desa["kecamatan_name"])
    }


def coverage_changes(before: dict[str, dict[str, str]], after: dict[str, dict[str, str]]) -> list[dict[str, str]]:
    """The desa whose coverage status differs between two ``coverage_statuses`` snapshots, in code order,
    so a planner sees what a save changed on the map ("Arah Tiga: uncovered → at_risk")."""
    return [
        {
            "code": code,
            "name": now["name"],
            "kecamatan": now["kecamatan"],
            "before": before[code]["status"],
            "after": now["status"],
        }
        for code, now in sorted(after.items())
        if code in before and before[code]["status"] != now["status"]
    ]


# --- listing ------------------------------------------------------------------------------------------


@dataclass
class Page:
    items: list[dict[str, Any]]
    total: int
    page: int
    per_page: int


FILTERS = {
    "meetings": {"kabupaten", "kecamatan", "desa", "date_from", "date_to", "level", "synthetic", "mismatch"},
    "tps": {"kabupaten", "kecamatan", "desa", "class", "synthetic", "mismatch"},
    "incidents": {
        "kabupaten",
        "kecamatan",
        "desa",
        "date_from",
        "date_to",
        "category",
        "status",
        "severity",
        "synthetic",
        "mismatch",
    },
}


def _filter_error(name: str, reason: str) -> ValidationError:
    """``filter <name>: <reason>`` (the API's text); the list page shows ``reason`` in its language."""
    return ValidationError(
        msg_as(f"filter {name}: {reason}", "%(field)s: %(reason)s", field=name, reason=reason), details={name: reason}
    )


def _parse_filter(name: str, parser, value: str):
    try:
        return parser(value)
    except ValueError as exc:
        raise _filter_error(name, reason_of(exc)) from None


def _desa_filter(session: Session, settings: dict[str, Any], filters: dict[str, str]) -> str:
    """A desa filter given as a code, or as a name (with ``kecamatan`` or ``kabupaten`` when the name repeats)."""
    value = filters["desa"].strip()
    lookup = record_context(session, settings).lookup
    try:
        if value[:2].isdigit():
            return lookup.desa_code(value)
        return lookup.desa_by_name(value, filters.get("kecamatan"), filters.get("kabupaten"))
    except ValueError as exc:
        raise _filter_error("desa", reason_of(exc)) from None


def list_records(
    session: Session, settings: dict[str, Any], kind: str, filters: dict[str, str], page: int = 1, per_page: int = 50
) -> Page:
    """Records matching the filters (unknown filter names and bad values are 400s), newest first."""
    check_kind(kind)
    unknown = sorted(set(filters) - FILTERS[kind])
    if unknown:
        choices = ", ".join(sorted(FILTERS[kind]))
        raise _filter_error(
            unknown[0],
            msg_as(
                f"filter tidak dikenal / unknown filter; pilihan: {choices}",
                "filter tidak dikenal; pilihan: %(choices)s",
                choices=choices,
            ),
        )
    if page < 1 or not 1 <= per_page <= MAX_PER_PAGE:
        raise ValidationError(f"page >= 1 dan 1 <= per_page <= {MAX_PER_PAGE}")
    model = MODELS[kind]
    stmt = select(model).where(model.deleted_at.is_(None))
    desa_col = model.host_desa_code if kind == "meetings" else model.desa_code
    if "kabupaten" in filters:
        try:
            kab = record_context(session, settings).lookup.kabupaten(filters["kabupaten"])
        except ValueError as exc:
            raise _filter_error("kabupaten", reason_of(exc)) from None
        kab_desa = select(Desa.code).where(
            Desa.kecamatan_code.in_(select(Kecamatan.code).where(Kecamatan.kabupaten_code == kab))
        )
        if kind == "meetings":  # held there (its host kabupaten), or reaching one of its desa
            stmt = stmt.where(
                or_(
                    model.host_kabupaten_code == kab,
                    model.id.in_(select(meeting_desa.c.meeting_id).where(meeting_desa.c.desa_code.in_(kab_desa))),
                )
            )
        else:
            stmt = stmt.where(desa_col.in_(kab_desa))
    if "kecamatan" in filters:
        ctx = record_context(session, settings)
        try:
            kec = ctx.lookup.kecamatan(filters["kecamatan"])
        except ValueError as exc:
            raise _filter_error("kecamatan", reason_of(exc)) from None
        if kind == "meetings":
            stmt = stmt.where(
                or_(
                    model.host_kecamatan_code == kec,
                    model.id.in_(
                        select(meeting_desa.c.meeting_id)
                        .join(Desa, Desa.code == meeting_desa.c.desa_code)
                        .where(Desa.kecamatan_code == kec)
                    ),
                )
            )
        else:
            stmt = stmt.where(desa_col.in_(select(Desa.code).where(Desa.kecamatan_code == kec)))
    if "desa" in filters:
        code = _desa_filter(session, settings, filters)
        if kind == "meetings":
            stmt = stmt.where(
                or_(
                    desa_col == code,
                    model.id.in_(select(meeting_desa.c.meeting_id).where(meeting_desa.c.desa_code == code)),
                    and_(model.reaches_all_desa.is_(True), model.host_kecamatan_code == code[:8]),
                )
            )
        else:
            stmt = stmt.where(desa_col == code)
    date_col = {"meetings": getattr(model, "date", None), "incidents": getattr(model, "occurred_at", None)}.get(kind)
    if "date_from" in filters:
        d = _parse_filter("date_from", parse.parse_date, filters["date_from"])
        stmt = stmt.where(date_col >= (d if kind == "meetings" else datetime.combine(d, time())))
    if "date_to" in filters:
        d = _parse_filter("date_to", parse.parse_date, filters["date_to"])
        stmt = stmt.where(date_col <= (d if kind == "meetings" else datetime.combine(d, time.max)))
    for name, column, allowed, aliases in (
        ("level", "level", vocab.MEETING_LEVELS, None),
        ("category", "category", vocab.INCIDENT_CATEGORIES, vocab.CATEGORY_ALIASES),
        ("status", "status", vocab.STATUSES, vocab.STATUS_ALIASES),
        ("severity", "severity", vocab.SEVERITIES, vocab.SEVERITY_ALIASES),
        (
            "class",
            "vulnerability",
            tuple(setting(settings, "VULNERABILITY_CLASSES")),
            {"tidak rawan": "tidak_rawan"},
        ),
    ):
        if name in filters:
            key = vocab.lookup(filters[name], allowed, aliases)
            if key is None:
                options = ", ".join(allowed)
                reason = msg_as(
                    f"{filters[name]!r} tidak dikenal / unknown; pilihan: {options}",
                    "%(value)r tidak dikenal; pilihan: %(options)s",
                    value=filters[name],
                    options=options,
                )
                raise _filter_error(name, reason)
            stmt = stmt.where(getattr(model, column) == key)
    for name, column in (("synthetic", "synthetic"), ("mismatch", "location_mismatch")):
        if name in filters:
            stmt = stmt.where(getattr(model, column).is_(_parse_filter(name, parse.parse_bool, filters[name])))
    total = session.scalar(select(func.count()).select_from(stmt.subquery()))
    if kind == "meetings":
        order = (model.date.desc(), model.id.desc())
    elif kind == "incidents":
        order = (Incident.occurred_at.desc(), Incident.id.desc())
    else:
        order = (PollingStation.desa_code, PollingStation.number)
    rows = session.scalars(stmt.order_by(*order).offset((page - 1) * per_page).limit(per_page)).all()
    return Page([to_dict(r, kind) for r in rows], total, page, per_page)


def mismatches(session: Session) -> list[dict[str, Any]]:
    """Every record whose point and desa disagree, for the listing the issue asks for."""
    out = []
    for kind, model in MODELS.items():
        rows = session.scalars(select(model).where(model.deleted_at.is_(None), model.location_mismatch.is_(True)))
        out.extend({"kind": kind, **to_dict(r, kind)} for r in rows)
    return out
