"""Rows of meetings, TPS and incidents ↔ dicts and (Geo)DataFrames.

Frames for the analysis carry a display point for every record: its own point when it has one,
else its desa's representative point (``point_source`` says which).
"""

from __future__ import annotations

from datetime import date, datetime, time
from typing import Any

import numpy as np
import pandas as pd
from sqlalchemy import JSON, DateTime, String, bindparam, delete, insert, or_, select, text, type_coerce, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from .models import AuditEntry, Desa, Incident, Meeting, PollingStation, meeting_desa, utcnow

MODELS = {"meetings": Meeting, "tps": PollingStation, "incidents": Incident}

#: Columns each kind stores (besides id and timestamps); order is the export order.
FIELDS = {
    "meetings": [
        "external_id",
        "title",
        "date",
        "start_time",
        "level",
        "host_kabupaten_code",
        "host_kecamatan_code",
        "host_desa_code",
        "venue",
        "organiser",
        "agencies",
        "reaches_all_desa",
        "reached_desa_codes",
        "lon",
        "lat",
        "point_desa_code",
        "location_mismatch",
        "placement",
        "notes",
        "source_url",
        "synthetic",
        "content_hash",
    ],
    "tps": [
        "desa_code",
        "number",
        "voters",
        "address",
        "vulnerability",
        "police",
        "tni",
        "linmas",
        "lon",
        "lat",
        "point_desa_code",
        "location_mismatch",
        "placement",
        "notes",
        "synthetic",
    ],
    "incidents": [
        "external_id",
        "occurred_at",
        "reported_at",
        "category",
        "severity",
        "status",
        "desa_code",
        "description",
        "source",
        "source_url",
        "lon",
        "lat",
        "point_desa_code",
        "location_mismatch",
        "placement",
        "notes",
        "synthetic",
        "content_hash",
    ],
}


def apply_values(session: Session, obj: Any, kind: str, values: dict[str, Any]) -> bool:
    """Set cleaned values on a row; returns whether anything changed."""
    changed = False
    for key in FIELDS[kind]:
        if key == "reached_desa_codes" or key not in values:
            continue
        if getattr(obj, key) != values[key]:
            setattr(obj, key, values[key])
            changed = True
    if kind == "meetings" and "reached_desa_codes" in values:
        current = [d.code for d in obj.reached_desa] if obj.id is not None else []
        wanted = list(values["reached_desa_codes"])
        if current != wanted:
            obj.reached_desa = [session.get(Desa, code) for code in wanted]
            changed = True
    if changed:
        obj.updated_at = utcnow()
    return changed


def _jsonable(value: Any) -> Any:
    if isinstance(value, datetime):
        return value.isoformat(timespec="minutes")
    if isinstance(value, (date, time)):
        return value.isoformat()
    return value


def to_dict(obj: Any, kind: str) -> dict[str, Any]:
    out: dict[str, Any] = {"id": obj.id}
    for key in FIELDS[kind]:
        if key == "reached_desa_codes":
            out[key] = [d.code for d in obj.reached_desa]
        else:
            out[key] = _jsonable(getattr(obj, key))
    out["created_at"] = _jsonable(obj.created_at)
    out["updated_at"] = _jsonable(obj.updated_at)
    if obj.deleted_at is not None:
        out["deleted_at"] = _jsonable(obj.deleted_at)
    return out


def to_raw(obj: Any, kind: str) -> dict[str, Any]:
    """A stored record back as canonical input fields, so an update can merge a partial payload."""
    raw = {k: v for k, v in to_dict(obj, kind).items() if k in FIELDS[kind]}
    if kind == "meetings":
        raw["kabupaten"] = raw.pop("host_kabupaten_code")
        raw["kecamatan"] = raw.pop("host_kecamatan_code")
        raw["desa_code"] = raw.pop("host_desa_code")
        raw["reached_desa"] = raw.pop("reached_desa_codes")
    for k in ("point_desa_code", "location_mismatch", "placement", "content_hash"):
        raw.pop(k, None)
    return raw


# --- writing many records at once (imports) -----------------------------------------------------------

#: Bound parameters one lookup query may carry (SQLite allows 32,766).
MAX_QUERY_PARAMS = 15_000
#: Rows per COPY or executemany call.
WRITE_BATCH = 5_000


def _record_columns(kind: str) -> list[str]:
    return [k for k in FIELDS[kind] if k != "reached_desa_codes"]


def stored_matches(
    session: Session,
    kind: str,
    external_ids: list[str] | None = None,
    hashes: list[str] | None = None,
    desa_codes: list[str] | None = None,
) -> list[dict[str, Any]]:
    """Stored rows (deleted or not) that may share a natural key with a chunk of an import: incidents
    and meetings by external id or content hash, TPS by desa (then by number in Python). One query for
    up to ``MAX_QUERY_PARAMS`` keys. Each row: ``id``, the stored fields, ``created_at``,
    ``updated_at``, ``deleted_at``, ``import_batch`` (meetings also ``reached_desa_codes``)."""
    table = MODELS[kind].__table__
    cols = ["id", *_record_columns(kind), "created_at", "updated_at", "deleted_at", "import_batch"]
    stmt = select(*[table.c[c] for c in cols])
    rows: list[dict[str, Any]] = []
    if kind == "tps":
        codes = sorted(set(desa_codes or []))
        for i in range(0, len(codes), MAX_QUERY_PARAMS):
            rows += [
                dict(r)
                for r in session.execute(stmt.where(table.c.desa_code.in_(codes[i : i + MAX_QUERY_PARAMS]))).mappings()
            ]
    else:
        ids, hs = sorted(set(external_ids or [])), sorted(set(hashes or []))
        step = MAX_QUERY_PARAMS // 2
        for i in range(0, max(len(ids), len(hs)), step):
            part_ids, part_hs = ids[i : i + step], hs[i : i + step]
            where = or_(table.c.external_id.in_(part_ids), table.c.content_hash.in_(part_hs))
            rows += [dict(r) for r in session.execute(stmt.where(where)).mappings()]
        unique = {r["id"]: r for r in rows}
        rows = [unique[k] for k in sorted(unique)]
    if kind == "meetings" and rows:
        ids = [r["id"] for r in rows]
        links: dict[int, list[str]] = {}
        for i in range(0, len(ids), MAX_QUERY_PARAMS):
            stmt_links = select(meeting_desa.c.meeting_id, meeting_desa.c.desa_code).where(
                meeting_desa.c.meeting_id.in_(ids[i : i + MAX_QUERY_PARAMS])
            )
            for meeting_id, code in session.execute(stmt_links):
                links.setdefault(meeting_id, []).append(code)
        for r in rows:
            r["reached_desa_codes"] = sorted(links.get(r["id"], []))
    return rows


#: Fields holding dates or times (written as ISO text in the audit log); the others are JSON as they are.
_TEMPORAL = {"date", "start_time", "occurred_at", "reported_at"}


def record_dict(kind: str, row: dict[str, Any], record_id: int | None = None) -> dict[str, Any]:
    """``to_dict`` of a record given as a plain row (``stored_matches``, or values with times and
    ``record_id``): what the audit log keeps."""
    out: dict[str, Any] = {"id": row["id"] if record_id is None else record_id}
    for key in FIELDS[kind]:
        value = row.get(key)
        out[key] = _jsonable(value) if key in _TEMPORAL and value is not None else value
    out["created_at"] = _jsonable_time(row["created_at"])
    out["updated_at"] = _jsonable_time(row["updated_at"])
    if row.get("deleted_at") is not None:
        out["deleted_at"] = _jsonable(row["deleted_at"])
    return out


def changed_fields(kind: str, stored: dict[str, Any], values: dict[str, Any]) -> bool:
    """Whether ``values`` (cleaned) differ from a stored row: ``apply_values`` without an object."""
    return any(key in values and stored.get(key) != values[key] for key in FIELDS[kind])


def insert_records(session: Session, kind: str, rows: list[dict[str, Any]]) -> list[int]:
    """Insert cleaned rows (each with ``import_batch``, ``created_at``, ``updated_at``) in batches;
    returns their ids in order. PostgreSQL: ids drawn from the sequence, rows sent with COPY;
    elsewhere one multi-row INSERT ... RETURNING per batch (SQLAlchemy's insertmanyvalues)."""
    if not rows:
        return []
    table = MODELS[kind].__table__
    cols = [*_record_columns(kind), "import_batch", "created_at", "updated_at"]
    ids: list[int] = []
    if _copy_ok(session):
        ids = _copy_rows(session, table, cols, rows, with_ids=True)
    elif session.get_bind().dialect.name == "sqlite":
        ids = _sqlite_insert(session, table, cols, rows, with_ids=True)
    else:
        params = [{c: r.get(c) for c in cols} for r in rows]
        stmt = insert(table).returning(table.c.id, sort_by_parameter_order=True)
        for i in range(0, len(params), WRITE_BATCH):
            ids += list(session.execute(stmt, params[i : i + WRITE_BATCH]).scalars())
    if kind == "meetings":
        links = [{"meeting_id": i, "desa_code": c} for i, r in zip(ids, rows) for c in r.get("reached_desa_codes", [])]
        _executemany(session, insert(meeting_desa), links)
    return ids


def update_records(session: Session, kind: str, rows: list[dict[str, Any]]) -> None:
    """Write cleaned rows over stored ones (each with ``id``, ``import_batch``, ``updated_at`` and
    ``deleted_at``): one executemany of UPDATE ... WHERE id = ? per batch; meetings' reached desa
    rewritten where given (``reached_changed``)."""
    if not rows:
        return
    table = MODELS[kind].__table__
    cols = [*_record_columns(kind), "import_batch", "updated_at", "deleted_at"]
    stmt = update(table).where(table.c.id == bindparam("_id")).values({c: bindparam(c) for c in cols})
    _executemany(session, stmt, [{"_id": r["id"], **{c: r.get(c) for c in cols}} for r in rows])
    if kind == "meetings":
        redo = [r for r in rows if r.get("reached_changed")]
        if redo:
            _executemany(
                session,
                delete(meeting_desa).where(meeting_desa.c.meeting_id == bindparam("_id")),
                [{"_id": r["id"]} for r in redo],
            )
            links = [{"meeting_id": r["id"], "desa_code": c} for r in redo for c in r.get("reached_desa_codes", [])]
            _executemany(session, insert(meeting_desa), links)


def insert_audit(session: Session, entries: list[dict[str, Any]]) -> None:
    """Audit entries (``AuditEntry`` columns but ``id``) in batches: COPY on PostgreSQL, else executemany."""
    if not entries:
        return
    table = AuditEntry.__table__
    cols = ["at", "actor", "action", "kind", "record_id", "batch", "before", "after"]
    if _copy_ok(session):
        _copy_rows(session, table, cols, entries, with_ids=False)
    elif session.get_bind().dialect.name == "sqlite":
        _sqlite_insert(session, table, cols, entries, with_ids=False)
    else:
        _executemany(session, insert(table), [{c: e.get(c) for c in cols} for e in entries])


def _executemany(session: Session, stmt: Any, params: list[dict[str, Any]]) -> None:
    for i in range(0, len(params), WRITE_BATCH):
        if params[i : i + WRITE_BATCH]:
            session.execute(stmt, params[i : i + WRITE_BATCH])


def _sqlite_insert(
    session: Session, table: Any, cols: list[str], params: list[dict[str, Any]], with_ids: bool
) -> list[int]:
    """SQLite (``params``: dicts holding at least ``cols``): values through the columns' own bind processors (what SQLAlchemy would send), then the
    driver's ``executemany`` per batch. A new row's id is one more than the table's largest (no
    AUTOINCREMENT, and this transaction holds the write lock from its first insert), so a batch's ids
    are the ``len(batch)`` ids up to ``max(id)`` after it; checked, not assumed."""
    conn = session.connection()
    dialect = conn.dialect
    quote = dialect.identifier_preparer.quote
    processors = [table.c[c].type.dialect_impl(dialect).bind_processor(dialect) for c in cols]
    # the same object again (the batch's timestamps, an empty 'before') is processed once
    converts = [(i, _last_value(f)) for i, f in enumerate(processors) if f is not None]
    sql = (
        f"INSERT INTO {quote(table.name)} ({', '.join(quote(c) for c in cols)}) VALUES ({', '.join('?' for _ in cols)})"
    )
    ids: list[int] = []
    for i in range(0, len(params), WRITE_BATCH):
        batch = params[i : i + WRITE_BATCH]
        rows = []
        for p in batch:
            row = [p.get(c) for c in cols]
            for j, convert in converts:
                row[j] = convert(row[j])
            rows.append(tuple(row))
        conn.exec_driver_sql(sql, rows)
        if with_ids:
            last = conn.exec_driver_sql(f"SELECT max(id) FROM {quote(table.name)}").scalar_one()
            first = last - len(rows) + 1
            newer = conn.exec_driver_sql(f"SELECT count(*) FROM {quote(table.name)} WHERE id >= ?", (first,))
            if newer.scalar_one() != len(rows):  # pragma: no cover - only at the 2**63 rowid limit
                raise RuntimeError(f"{table.name}: inserted ids are not consecutive")
            ids += range(first, last + 1)
    return ids


def _last_value(convert: Any) -> Any:
    """``convert`` remembering its last argument (by identity) and result."""
    last: list[Any] = [_NOTHING, None]

    def run(value: Any) -> Any:
        if value is not last[0]:
            last[0], last[1] = value, convert(value)
        return last[1]

    return run


_NOTHING = object()
#: ``_jsonable`` of an import's timestamps: the same ``now`` for every row of a batch
_jsonable_time = _last_value(lambda value: _jsonable(value))


def _copy_ok(session: Session) -> bool:
    """COPY needs psycopg 3 under SQLAlchemy (``postgresql+psycopg``)."""
    bind = session.get_bind()
    return bind.dialect.name == "postgresql" and bind.dialect.driver == "psycopg"


def _copy_rows(
    session: Session, table: Any, cols: list[str], params: list[dict[str, Any]], with_ids: bool
) -> list[int]:
    """COPY ``params`` into ``table`` through the session's psycopg connection; with ``with_ids``,
    ids are first taken from the table's sequence (so the caller learns them, as RETURNING would)."""
    import json

    raw = session.connection().connection.driver_connection
    ids: list[int] = []
    names = list(cols)
    if with_ids:
        sequence = session.execute(text("SELECT pg_get_serial_sequence(:t, 'id')"), {"t": table.name}).scalar_one()
        with raw.cursor() as cur:
            cur.execute("SELECT nextval(%s) FROM generate_series(1, %s)", (sequence, len(params)))
            ids = [r[0] for r in cur.fetchall()]
        names = ["id", *cols]
    json_cols = {c.name for c in table.columns if isinstance(c.type, JSON)}
    quoted = ", ".join(f'"{c}"' for c in names)
    import psycopg

    statement = f'COPY "{table.name}" ({quoted}) FROM STDIN'
    with raw.cursor() as cur:
        for i in range(0, len(params), WRITE_BATCH):
            try:
                with cur.copy(statement) as copy:
                    for k, p in enumerate(params[i : i + WRITE_BATCH], start=i):
                        row = [json.dumps(p.get(c)) if c in json_cols else p.get(c) for c in cols]
                        copy.write_row([ids[k], *row] if with_ids else row)
            except psycopg.IntegrityError as exc:  # as SQLAlchemy reports it for its own statements
                raise IntegrityError(statement, None, exc) from exc
    return ids


# --- frames for the analysis ------------------------------------------------------------------------


def _display_points(df: pd.DataFrame, desa_col: str, desa: pd.DataFrame) -> pd.DataFrame:
    rep = desa.set_index("code")[["rep_lon", "rep_lat"]]
    has_point = df["lon"].notna() & df["lat"].notna()
    fallback = rep.reindex(df[desa_col])
    df["point_source"] = np.where(has_point, "point", np.where(df[desa_col].notna(), "desa", None))
    df["display_lon"] = np.where(has_point, df["lon"], fallback["rep_lon"].to_numpy())
    df["display_lat"] = np.where(has_point, df["lat"], fallback["rep_lat"].to_numpy())
    return df


def _rows(session: Session, model, columns: list[str]) -> pd.DataFrame:
    """Live rows as a frame, built column by column. Naive date-times come as the database gives them and
    are parsed per column (vectorised): with 100,000 incidents, parsing them value by value in the
    driver layer and building the frame row by row took most of a map's first render."""
    names = ["id", *columns]
    attrs = [getattr(model, c) for c in names]
    naive = [isinstance(a.type, DateTime) and not a.type.timezone for a in attrs]
    cols = [type_coerce(a, String).label(n) if raw else a for a, n, raw in zip(attrs, names, naive)]
    rows = session.execute(select(*cols).where(model.deleted_at.is_(None)).order_by(model.id)).all()
    df = pd.DataFrame(dict(zip(names, map(list, zip(*rows)))) if rows else None, columns=names)
    for name, raw in zip(names, naive):
        if raw:
            df[name] = pd.to_datetime(df[name], format="ISO8601")
    return df


def _float(df: pd.DataFrame, cols: list[str]) -> pd.DataFrame:
    for c in cols:
        df[c] = pd.to_numeric(df[c], errors="coerce").astype(float)
    return df


def meetings_frame(session: Session, desa: pd.DataFrame) -> pd.DataFrame:
    cols = [
        "title",
        "date",
        "start_time",
        "level",
        "host_kabupaten_code",
        "host_kecamatan_code",
        "host_desa_code",
        "venue",
        "organiser",
        "agencies",
        "reaches_all_desa",
        "lon",
        "lat",
        "synthetic",
        "source_url",
        "location_mismatch",
    ]
    df = _float(_rows(session, Meeting, cols), ["lon", "lat"])
    links = pd.DataFrame(
        session.execute(select(meeting_desa.c.meeting_id, meeting_desa.c.desa_code)).all(),
        columns=["meeting_id", "desa_code"],
    )
    reached = links.sort_values("desa_code").groupby("meeting_id")["desa_code"].agg(list)
    df["reached_desa_codes"] = [reached.get(i, []) for i in df["id"]]
    df["date"] = pd.to_datetime(df["date"])
    df["reaches_all_desa"] = df["reaches_all_desa"].astype(bool)
    return _display_points(df, "host_desa_code", desa)


def tps_frame(session: Session, desa: pd.DataFrame) -> pd.DataFrame:
    cols = [
        "desa_code",
        "number",
        "voters",
        "address",
        "vulnerability",
        "police",
        "tni",
        "linmas",
        "lon",
        "lat",
        "synthetic",
        "location_mismatch",
    ]
    df = _float(_rows(session, PollingStation, cols), ["lon", "lat"])
    for c in ("number", "voters", "police", "tni", "linmas"):
        df[c] = df[c].astype("int64")
    return _display_points(df, "desa_code", desa)


def incidents_frame(session: Session, desa: pd.DataFrame) -> pd.DataFrame:
    cols = [
        "occurred_at",
        "reported_at",
        "category",
        "severity",
        "status",
        "desa_code",
        "description",
        "source",
        "source_url",
        "lon",
        "lat",
        "synthetic",
        "location_mismatch",
    ]
    df = _float(_rows(session, Incident, cols), ["lon", "lat"])
    df["occurred_at"] = pd.to_datetime(df["occurred_at"])
    df["reported_at"] = pd.to_datetime(df["reported_at"])
    return _display_points(df, "desa_code", desa)
