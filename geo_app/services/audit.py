"""Audit trail: every record write and every import leaves an entry (inside the same transaction)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from ..i18n import msg
from ..store.models import AuditEntry


def record_change(
    session: Session,
    action: str,
    kind: str,
    record_id: int | None,
    before: dict[str, Any] | None,
    after: dict[str, Any] | None,
    actor: str | None = None,
    batch: str | None = None,
) -> None:
    """Add one audit entry; only the fields that changed are kept for updates."""
    if action == "update" and before is not None and after is not None:
        keys = [k for k in {**before, **after} if before.get(k) != after.get(k) and k != "updated_at"]
        before = {k: before.get(k) for k in keys}
        after = {k: after.get(k) for k in keys}
    session.add(
        AuditEntry(
            actor=actor or "system",
            action=action,
            kind=kind,
            record_id=record_id,
            batch=batch,
            before=before,
            after=after,
        )
    )


def history(
    session: Session, kind: str | None = None, record_id: int | None = None, limit: int = 200
) -> list[dict[str, Any]]:
    stmt = select(AuditEntry).order_by(AuditEntry.id.desc()).limit(limit)
    if kind:
        stmt = stmt.where(AuditEntry.kind == kind)
    if record_id is not None:
        stmt = stmt.where(AuditEntry.record_id == record_id)
    return [
        {
            "id": e.id,
            "at": e.at.isoformat(timespec="seconds"),
            "actor": e.actor,
            "action": e.action,
            "kind": e.kind,
            "record_id": e.record_id,
            "batch": e.batch,
            "before": e.before,
            "after": e.after,
        }
        for e in session.scalars(stmt)
    ]


# --- import batches -------------------------------------------------------------------------------------

#: Western Indonesia Time (Mukomuko), UTC+7 all year.
WIB = timezone(timedelta(hours=7), "WIB")


def format_wib(at: datetime | None = None) -> str:
    """``dd/mm/yyyy HH:MM WIB`` for a stored time (UTC; SQLite gives it back without a zone); now by default."""
    at = datetime.now(UTC) if at is None else at
    aware = at if at.tzinfo is not None else at.replace(tzinfo=UTC)
    return aware.astimezone(WIB).strftime("%d/%m/%Y %H:%M WIB")


def batch_label(filename: str | None, at: datetime, actor: str | None, kind: str | None = None) -> str:
    """How people name an import batch: its file, when (WIB) and by whom, e.g.
    ``tps.csv · 27/11/2024 09:15 WIB · admin`` (the hex id stays the key in URLs and the API)."""
    what = filename or (msg("impor %(kind)s", kind=kind) if kind else msg("impor"))
    # a Message: a batch without a file name is "impor tps" on Indonesian pages, "import tps" on English ones
    return msg("%(what)s · %(at)s · %(who)s", what=what, at=format_wib(at), who=actor or "system")


def list_batches(session: Session) -> list[dict[str, Any]]:
    """Every import batch with its counts, newest first."""
    from sqlalchemy import func

    stmt = (
        select(
            AuditEntry.batch,
            AuditEntry.kind,
            AuditEntry.action,
            func.count(),
            func.min(AuditEntry.at),
            func.min(AuditEntry.actor),
        )
        .where(AuditEntry.batch.is_not(None))
        .group_by(AuditEntry.batch, AuditEntry.kind, AuditEntry.action)
    )
    batches: dict[str, dict[str, Any]] = {}
    for batch, kind, action, count, at, who in session.execute(stmt):
        entry = batches.setdefault(
            batch,
            {
                "batch": batch,
                "kind": None,
                "at": at,
                "actor": who,
                "file": None,
                "created": 0,
                "updated": 0,
                "rolled_back": False,
            },
        )
        if action == "rollback":
            entry["rolled_back"] = True
            continue
        if action == "import":
            summary = session.scalar(
                select(AuditEntry.after).where(AuditEntry.batch == batch, AuditEntry.action == "import")
            )
            entry["file"] = (summary or {}).get("file")
            continue
        entry["kind"] = kind
        entry["at"] = min(entry["at"], at)
        entry[{"create": "created", "update": "updated"}.get(action, action)] = count
    out = sorted(batches.values(), key=lambda b: b["at"], reverse=True)
    for b in out:
        b["label"] = batch_label(b["file"], b["at"], b["actor"], b["kind"])
        b["at_wib"] = format_wib(b["at"])
        b["at"] = b["at"].isoformat(timespec="seconds")
    return out


def get_batch(session: Session, batch: str) -> dict[str, Any]:
    """One batch as ``list_batches`` describes it (for the rollback confirmation); 404 when unknown."""
    from ..errors import NotFound

    if not session.scalar(select(AuditEntry.id).where(AuditEntry.batch == batch).limit(1)):
        raise NotFound(f"batch impor {batch!r} tidak ditemukan / no such import batch")
    return next(b for b in list_batches(session) if b["batch"] == batch)


def rollback_batch(session: Session, batch: str, actor: str | None = None) -> dict[str, int]:
    """Undo a whole import: records it created are deleted (softly), records it updated get their
    previous values back. Refused when a record was changed again after the import."""
    from ..errors import Conflict, NotFound
    from ..records import parse
    from ..store.db import bump_version, transaction
    from ..store.models import utcnow
    from ..store.records import MODELS, apply_values

    entries = list(session.scalars(select(AuditEntry).where(AuditEntry.batch == batch).order_by(AuditEntry.id)))
    if not entries:
        raise NotFound(f"batch impor {batch!r} tidak ditemukan / no such import batch")
    if any(e.action == "rollback" for e in entries):
        raise Conflict(f"batch impor {batch!r} sudah dibatalkan / already rolled back")
    last_id = entries[-1].id
    touched = {(e.kind, e.record_id) for e in entries if e.record_id is not None}
    later = session.scalars(select(AuditEntry).where(AuditEntry.id > last_id, AuditEntry.record_id.is_not(None))).all()
    changed_since = sorted({f"{e.kind} {e.record_id}" for e in later if (e.kind, e.record_id) in touched})
    if changed_since:
        raise Conflict(
            "data sudah diubah setelah impor, batalkan manual / records changed after the import: "
            + ", ".join(changed_since[:20]),
            details=changed_since,
        )
    typed = {
        "date": parse.parse_date,
        "start_time": parse.parse_time,
        "occurred_at": parse.parse_datetime,
        "reported_at": parse.parse_datetime,
    }
    counts = {"deleted": 0, "restored": 0}
    with transaction(session):
        for e in reversed(entries):
            if e.record_id is None:  # the import's own summary entry
                continue
            obj = session.get(MODELS[e.kind], e.record_id)
            if obj is None:
                continue
            if e.action == "create":
                obj.deleted_at = utcnow()
                counts["deleted"] += 1
            elif e.action == "update":
                values = {
                    k: (typed[k](v) if k in typed and v is not None else v)
                    for k, v in (e.before or {}).items()
                    if k not in {"id", "created_at", "updated_at", "deleted_at"}
                }
                apply_values(session, obj, e.kind, values)
                if (e.before or {}).get("deleted_at"):
                    obj.deleted_at = utcnow()
                counts["restored"] += 1
        session.add(
            AuditEntry(actor=actor or "system", action="rollback", kind="batch", batch=batch, before=None, after=counts)
        )
        bump_version(session, "records")
    return counts
