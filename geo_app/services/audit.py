"""Audit trail: every record write and every import leaves an entry (inside the same transaction)."""
from __future__ import annotations

from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from ..store.models import AuditEntry


def record_change(session: Session, action: str, kind: str, record_id: int | None,
                  before: dict[str, Any] | None, after: dict[str, Any] | None,
                  actor: str | None = None, batch: str | None = None) -> None:
    """Add one audit entry; only the fields that changed are kept for updates."""
    if action == "update" and before is not None and after is not None:
        keys = [k for k in after if before.get(k) != after.get(k) and k != "updated_at"]
        before = {k: before.get(k) for k in keys}
        after = {k: after.get(k) for k in keys}
    session.add(AuditEntry(actor=actor or "system", action=action, kind=kind, record_id=record_id,
                           batch=batch, before=before, after=after))


def history(session: Session, kind: str | None = None, record_id: int | None = None,
            limit: int = 200) -> list[dict[str, Any]]:
    stmt = select(AuditEntry).order_by(AuditEntry.id.desc()).limit(limit)
    if kind:
        stmt = stmt.where(AuditEntry.kind == kind)
    if record_id is not None:
        stmt = stmt.where(AuditEntry.record_id == record_id)
    return [
        {"id": e.id, "at": e.at.isoformat(timespec="seconds"), "actor": e.actor, "action": e.action,
         "kind": e.kind, "record_id": e.record_id, "batch": e.batch, "before": e.before, "after": e.after}
        for e in session.scalars(stmt)
    ]
