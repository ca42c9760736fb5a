"""Import rakor/TPS/incident files: validate every row, then write all of them in one transaction.

Default all-or-nothing: one bad row and nothing is written, with every bad row listed (row number,
column, reason). ``skip_invalid`` writes the good rows and a rejects file with the reasons;
``dry_run`` validates (and counts what would change) without writing. Rows are written by natural
key (TPS: desa + number; rakor and incidents: external id, else content hash), so importing the
same file again changes nothing.

A file with more than ``MAX_IMPORT_ROWS`` data rows is refused while it is read, before any
validation (``TooLarge``, HTTP 413). A row matching a record someone deleted is rejected on its own
row: restoring it is an admin's decision (only records removed by rolling back their import come
back through a new import).
"""

from __future__ import annotations

import os
import tempfile
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from ..errors import RecordInvalid, ValidationError
from ..geo import LAT_RANGE, LON_RANGE
from ..i18n import N_, Message, msg_as
from ..ingest.records_file import (
    CHUNK_ROWS,
    DEFAULT_MAX_ROWS,
    WHOLE_ROW,
    RecordChunk,
    open_records_file,
    rejects_csv,
)
from ..records import parse
from ..records.columns import ColumnCleaner
from ..records.schema import RecordContext, clean_record, meeting_warnings
from ..store import records as store
from ..store.db import bump_version, transaction
from ..store.models import utcnow
from ..store.records import MODELS
from .audit import batch_label, record_change
from .records import KIND_LABELS, KIND_RESOURCES, check_kind, deleted_by_hand, record_context

#: ``progress(done, total)``: rows validated and written so far, of the file's rows (the CLI draws a bar).
Progress = Callable[[int, int], None]
MAX_LISTED_ERRORS = 200

#: per unit of a file ("baris", GeoJSON "fitur"): where a row's message points, for the pages (msgids)
_ROW_MSGIDS = {
    "baris": N_("baris %(row)s, kolom %(column)s: %(reason)s"),
    "fitur": N_("fitur %(row)s, kolom %(column)s: %(reason)s"),
}
#: per unit: a row's note (a rakor warning), for the pages (msgids)
_ROW_NOTE_MSGIDS = {"baris": N_("baris %(row)s: %(note)s"), "fitur": N_("fitur %(row)s: %(note)s")}
#: per unit: a row that repeats an earlier one (msgids)
_DUPLICATE_MSGIDS = {"baris": N_("duplikat baris %(row)s (%(what)s)"), "fitur": N_("duplikat fitur %(row)s (%(what)s)")}
#: per unit: a row that conflicts with a stored record (msgids)
_CONFLICT_MSGIDS = {
    "baris": N_(
        "%(file)s: baris %(rows)s bentrok dengan data yang sudah tersimpan (id eksternal lain, isi sama); "
        "tidak ada yang disimpan"
    ),
    "fitur": N_(
        "%(file)s: fitur %(rows)s bentrok dengan data yang sudah tersimpan (id eksternal lain, isi sama); "
        "tidak ada yang disimpan"
    ),
}
#: per unit: the summary of a refused import, for the pages (msgids)
_REFUSED_MSGIDS = {
    "baris": N_("%(file)s: %(bad)s dari %(total)s baris tidak valid, tidak ada yang disimpan (pertama: %(first)s)"),
    "fitur": N_("%(file)s: %(bad)s dari %(total)s fitur tidak valid, tidak ada yang disimpan (pertama: %(first)s)"),
}


@dataclass
class RowError:
    row: int
    column: str
    reason: str
    unit: str = "baris"

    def text(self) -> str:
        return f"{self.unit} {self.row}, kolom {self.column}: {self.reason}"

    def message(self) -> Message:
        """``text()`` as a Message (its ``str`` is ``text()``): a page shows it, reason included, in one
        language."""
        msgid = _ROW_MSGIDS.get(self.unit, _ROW_MSGIDS["baris"])
        return msg_as(self.text(), msgid, row=self.row, column=self.column, reason=self.reason)

    def to_dict(self) -> dict[str, Any]:
        return {"row": self.row, "column": self.column, "reason": self.reason}


@dataclass
class ImportResult:
    kind: str
    filename: str
    batch: str
    rows: int
    dry_run: bool = False
    inserted: int = 0
    updated: int = 0
    unchanged: int = 0
    rejected: int = 0
    warnings: list[str] = field(default_factory=list)
    errors: list[RowError] = field(default_factory=list)
    rejects_path: str | None = None
    #: the rejects file's content (also without ``rejects_path``, e.g. for a download after a web upload)
    rejects_data: bytes | None = field(default=None, repr=False)
    actor: str | None = None
    at: datetime = field(default_factory=utcnow)

    @property
    def batch_label(self) -> str:
        """The batch as people name it: file, time (WIB) and user (``audit.batch_label``)."""
        return batch_label(self.filename, self.at, self.actor, self.kind)

    @property
    def changed(self) -> bool:
        return bool(self.inserted or self.updated)

    def lines(self) -> list[str]:
        label = KIND_LABELS[self.kind]
        out = [f"Berkas / file: {self.filename} ({self.rows} baris / rows)"]
        out += [f"peringatan / warning: {w}" for w in self.warnings]
        out += [f"ditolak / rejected: {e.text()}" for e in self.errors[:MAX_LISTED_ERRORS]]
        if len(self.errors) > MAX_LISTED_ERRORS:
            out.append(f"... dan / and {len(self.errors) - MAX_LISTED_ERRORS} lagi / more")
        verb = "akan / would be: " if self.dry_run else ""
        out.append(
            f"{label}: {verb}{self.inserted} baru/new, {self.updated} diperbarui/updated, "
            f"{self.unchanged} tetap/unchanged, {self.rejected} ditolak/rejected"
        )
        if self.dry_run:
            out.append("uji coba (--dry-run): tidak ada yang disimpan / nothing written")
        elif self.changed:
            out.append(f"batch impor / import batch: {self.batch_label} ({self.batch})")
        if self.rejects_path:
            out.append(f"baris ditolak ditulis ke / rejects written to: {self.rejects_path}")
        return out

    def to_dict(self) -> dict[str, Any]:
        return {
            "kind": self.kind,
            "filename": self.filename,
            "batch": self.batch if self.changed else None,
            "batch_label": self.batch_label if self.changed else None,
            "rows": self.rows,
            "dry_run": self.dry_run,
            "inserted": self.inserted,
            "updated": self.updated,
            "unchanged": self.unchanged,
            "rejected": self.rejected,
            "warnings": self.warnings,
            "errors": [e.to_dict() for e in self.errors],
            "rejects_path": self.rejects_path,
        }


def _points(raws: list[dict[str, Any]]) -> list[tuple[float, float]]:
    """Every usable (lon, lat) among raw rows, for one spatial join before row-by-row validation."""
    out = []
    for raw in raws:
        try:
            lat, lon = parse.parse_float(raw.get("lat")), parse.parse_float(raw.get("lon"))
        except ValueError:
            continue
        if (
            lat is not None
            and lon is not None
            and LAT_RANGE[0] <= lat <= LAT_RANGE[1]
            and LON_RANGE[0] <= lon <= LON_RANGE[1]
        ):
            out.append((lon, lat))
    return out


def _natural_keys(kind: str, values: dict[str, Any]) -> list[tuple[str, Any, str]]:
    """(key, field to blame, what it means) for the in-file duplicate check; the database enforces
    the same keys (TPS desa+number; external id; content hash)."""
    if kind == "tps":
        return [
            (
                ("tps", values["desa_code"], values["number"]),
                "number",
                f"TPS {values['number']} desa {values['desa_code']}",
            )
        ]
    keys = []
    if values.get("external_id"):
        keys.append((("id", values["external_id"]), "external_id", f"id {values['external_id']!r}"))
    keys.append((("hash", values["content_hash"]), WHOLE_ROW, msg_as("isi sama / same content", "isi sama")))
    return keys


def _lookup_key(kind: str, values: dict[str, Any]) -> tuple[tuple, str]:
    """The key ``records.find_existing`` matches a row by, and the field to blame."""
    if kind == "tps":
        return ("tps", values["desa_code"], values["number"]), "number"
    if values.get("external_id"):
        return ("id", values["external_id"]), "external_id"
    return ("hash", values["content_hash"]), WHOLE_ROW


def _deleted_keys(session: Session, kind: str) -> dict[tuple, int]:
    """Natural keys of the records someone deleted (``records.deleted_by_hand``) -> their id."""
    model = MODELS[kind]
    deleted = list(session.scalars(select(model).where(model.deleted_at.is_not(None))))
    protected = deleted_by_hand(session, kind, deleted)
    keys: dict[tuple, int] = {}
    for obj in deleted:
        if obj.id not in protected:
            continue
        if kind == "tps":
            keys[("tps", obj.desa_code, obj.number)] = obj.id
            continue
        if obj.external_id:
            keys[("id", obj.external_id)] = obj.id
        keys[("hash", obj.content_hash)] = obj.id
    return keys


def _write_rejects(path: str | Path, data: bytes) -> None:
    """Write atomically, so a failed write never leaves half a rejects file."""
    target = Path(path)
    target.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=".rejects-", suffix=".csv", dir=target.parent)
    try:
        with os.fdopen(fd, "wb") as f:
            f.write(data)
        os.replace(tmp, target)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def import_records(
    session: Session,
    settings: dict[str, Any],
    kind: str,
    path_or_bytes: str | Path | bytes,
    filename: str | None = None,
    *,
    dry_run: bool = False,
    skip_invalid: bool = False,
    rejects_path: str | Path | None = None,
    progress: Progress | None = None,
    actor: str | None = None,
    chunk_rows: int = CHUNK_ROWS,
) -> ImportResult:
    """Validate and import a file of ``kind`` records; see the module docstring for the modes.

    Raises ``InputFileError`` for an unreadable file and ``ValidationError`` (details: every bad row)
    when rows are invalid and ``skip_invalid`` is off; in both cases nothing is written.

    The file is read ``chunk_rows`` rows at a time (memory stays bounded by a chunk): each chunk is
    validated column by column (``records.columns``; rows in doubt row by row, so their messages are
    the usual ones), checked for duplicates against the rows before it and against the database (one
    query), and written with batched statements, all inside one transaction that is rolled back on
    any bad row (unless ``skip_invalid``), on a conflict, and always for a dry run.
    """
    check_kind(kind)
    max_rows = int(settings.get("MAX_IMPORT_ROWS", DEFAULT_MAX_ROWS))
    stream = open_records_file(path_or_bytes, filename, kind, max_rows=max_rows)  # TooLarge past max_rows
    name, n, unit = stream.filename, stream.total, stream.unit
    ctx = record_context(session, settings)
    deleted = _deleted_keys(session, kind)
    errors: dict[int, list[RowError]] = {}
    for number, column, reason in stream.row_errors:
        errors.setdefault(number, []).append(RowError(number, column, reason, unit))
    result = ImportResult(
        kind=kind,
        filename=name,
        batch=uuid.uuid4().hex,
        rows=n,
        dry_run=dry_run,
        warnings=list(stream.warnings),
        actor=actor,
    )
    writer = _BulkWriter(session, kind, result.batch, actor, name, unit)
    cleaner = ColumnCleaner(kind, ctx, inputs=stream.mapping)
    seen: dict[Any, int] = {}
    row_warnings: list[str] = []  # e.g. a rakor that reaches no desa but its venue (issue 10)
    originals: dict[int, dict[str, Any]] = {}  # the bad rows as read, for the rejects file
    bad: list[RowError] = []
    done = 0
    try:
        with transaction(session):
            for chunk in stream.chunks(chunk_rows):
                for number, column, reason in chunk.row_errors:
                    errors.setdefault(number, []).append(RowError(number, column, reason, unit))
                good: list[tuple[int, dict[str, Any]]] = []
                for number, values in _clean_chunk(kind, chunk, ctx, cleaner, errors, stream.column_of, unit):
                    _check_keys(kind, number, values, seen, deleted, errors, stream.column_of, unit)
                    if number in errors:
                        continue
                    good.append((number, values))
                    if kind == "meetings":
                        row_warnings += [_row_note(unit, number, w) for w in meeting_warnings(values, ctx)]
                if skip_invalid:
                    for j, number in enumerate(chunk.row_numbers):
                        if number in errors:
                            originals[number] = chunk.original(j)
                if (skip_invalid or not errors) and writer.conflict is None:
                    writer.write(good)
                done += len(chunk)
                if progress:
                    progress(done, n)
            bad = [e for number in sorted(errors) for e in errors[number]]
            result.warnings += row_warnings
            if bad and not skip_invalid:
                first = bad[0].message()
                raise ValidationError(
                    msg_as(
                        f"{name}: {len(errors)} dari {n} {unit} tidak valid, tidak ada yang disimpan / "
                        f"{len(errors)} of {n} rows invalid, nothing written (pertama / first: {first})",
                        _REFUSED_MSGIDS.get(unit, _REFUSED_MSGIDS["baris"]),
                        file=name,
                        bad=len(errors),
                        total=n,
                        first=first,
                    ),
                    details={"file": name, "errors": [e.to_dict() for e in bad], "warnings": stream.warnings},
                )
            if writer.conflict is not None:
                raise writer.conflict
            counts = writer.counts
            if counts["inserted"] or counts["updated"]:
                bump_version(session, "records")
                record_change(
                    session,
                    "import",
                    kind,
                    None,
                    None,
                    {"file": name, "rows": n, **counts, "rejected": len(errors)},
                    actor,
                    result.batch,
                )
            if dry_run:
                raise _DryRun
    except _DryRun:
        pass  # transaction() rolled everything back: the counts say what would have changed
    result.errors = bad
    result.rejected = len(errors)
    result.inserted, result.updated, result.unchanged = (
        writer.counts["inserted"],
        writer.counts["updated"],
        writer.counts["unchanged"],
    )
    if bad:
        reasons = {number: "; ".join(f"{e.column}: {e.reason}" for e in errors[number]) for number in errors}
        result.rejects_data = rejects_csv(stream.headers, [(originals.get(k, {}), reasons[k]) for k in sorted(reasons)])
        if rejects_path and not dry_run:
            _write_rejects(rejects_path, result.rejects_data)
            result.rejects_path = str(rejects_path)
    return result


def _row_note(unit: str, number: int, text: str) -> Message:
    """``"baris 12: <text>"`` (a rakor warning of that row); pages show it in one language."""
    msgid = _ROW_NOTE_MSGIDS.get(unit, _ROW_NOTE_MSGIDS["baris"])
    return msg_as(f"{unit} {number}: {text}", msgid, row=number, note=text)


def _clean_chunk(
    kind: str,
    chunk: RecordChunk,
    ctx: RecordContext,
    cleaner: ColumnCleaner,
    errors: dict[int, list[RowError]],
    column_of: Callable[[str], str],
    unit: str,
) -> list[tuple[int, dict[str, Any]]]:
    """(row number, cleaned values) of the chunk's rows that clean; the others' errors
    go into ``errors``. Column by column first; rows in doubt through ``clean_record``, one by one."""
    fast = cleaner.clean(chunk.column, len(chunk))
    slow = [j for j, values in enumerate(fast) if values is None]
    if slow:  # their points in one spatial join, not one each
        ctx.prefetch(_points([chunk.raw(j) for j in slow]))
    out: list[tuple[int, dict[str, Any]]] = []
    for j, (number, values) in enumerate(zip(chunk.row_numbers, fast)):
        if values is None:
            try:
                values = clean_record(kind, chunk.raw(j), ctx)
            except RecordInvalid as exc:
                for fname, reason in exc.errors.items():
                    errors.setdefault(number, []).append(RowError(number, column_of(fname), reason, unit))
                continue
        out.append((number, values))
    return out


def _check_keys(
    kind: str,
    number: int,
    values: dict[str, Any],
    seen: dict[Any, int],
    deleted: dict[tuple, int],
    errors: dict[int, list[RowError]],
    column_of: Callable[[str], str],
    unit: str,
) -> None:
    """A cleaned row against the rows before it (natural keys) and the records someone deleted."""
    keys = _stored_keys(kind, values)  # the same keys as _natural_keys, without their texts
    if any(key in seen for key in keys):
        for key, blame, what in _natural_keys(kind, values):
            if key in seen:
                errors.setdefault(number, []).append(
                    RowError(
                        number,
                        column_of(blame),
                        msg_as(
                            f"duplikat {unit} {seen[key]} ({what}) / duplicate of {unit} {seen[key]}",
                            _DUPLICATE_MSGIDS.get(unit, _DUPLICATE_MSGIDS["baris"]),
                            row=seen[key],
                            what=what,
                        ),
                        unit,
                    )
                )
                break
    else:
        for key in keys:
            seen[key] = number
    key, blame = _lookup_key(kind, values)
    if key in deleted:
        twin = deleted[key]
        where = f"POST /api/{KIND_RESOURCES[kind]}/{twin}/restore"
        errors.setdefault(number, []).append(
            RowError(
                number,
                column_of(blame),
                msg_as(
                    f"sama dengan {KIND_LABELS[kind]} id {twin} yang telah dihapus; hanya admin yang dapat "
                    f"memulihkannya ({where}) / matches deleted record {twin}, only an admin can restore it",
                    "sama dengan %(kind)s id %(id)s yang telah dihapus; hanya admin yang dapat memulihkannya "
                    "(%(where)s)",
                    kind=msg_as(KIND_LABELS[kind], KIND_LABELS[kind]),
                    id=twin,
                    where=where,
                ),
                unit,
            )
        )


class _BulkWriter:
    """Writes the good rows of each chunk inside the import's transaction: one lookup of the stored
    records sharing a key with the chunk, then batched inserts, updates and audit entries.

    Rows are matched in file order exactly as writing them one by one would (``upsert_record``): a
    record's keys follow its update, so a later row sees the record as the earlier rows left it. A
    row that would take a content hash another stored record holds (the database's unique key) is a
    conflict: nothing is written from then on and the import fails naming that row."""

    def __init__(self, session: Session, kind: str, batch: str, actor: str | None, name: str, unit: str) -> None:
        self.session, self.kind, self.batch, self.actor, self.name, self.unit = session, kind, batch, actor, name, unit
        self.counts = {"inserted": 0, "updated": 0, "unchanged": 0}
        self.conflict: ValidationError | None = None

    def _conflict(self, number: int, last: int | None = None) -> None:
        """The import fails on row ``number`` (or, for a write refused by the database, on one of the
        rows ``number`` to ``last`` written together)."""
        where = f"{number}" if last is None or last == number else f"{number}-{last}"
        self.conflict = ValidationError(
            msg_as(
                f"{self.name}: {self.unit} {where} bentrok dengan data yang sudah tersimpan (id eksternal lain, isi "
                "sama) / conflicts with a stored record; tidak ada yang disimpan / nothing written",
                _CONFLICT_MSGIDS.get(self.unit, _CONFLICT_MSGIDS["baris"]),
                file=self.name,
                rows=where,
            ),
            details={
                "file": self.name,
                "errors": [
                    {
                        "row": number,
                        "column": WHOLE_ROW,
                        "reason": msg_as("conflict with a stored record", "bentrok dengan data yang sudah tersimpan"),
                    }
                ],
            },
        )

    def write(self, rows: list[tuple[int, dict[str, Any]]]) -> None:
        if not rows:
            return
        kind, session = self.kind, self.session
        if kind == "tps":
            stored = store.stored_matches(session, kind, desa_codes=[v["desa_code"] for _, v in rows])
        else:
            stored = store.stored_matches(
                session,
                kind,
                external_ids=[v["external_id"] for _, v in rows if v.get("external_id")],
                hashes=[h for _, v in rows for h in (v["content_hash"], v.get("legacy_content_hash")) if h],
            )
        index: dict[tuple, dict[str, Any]] = {}
        for rec in stored:
            for key in _stored_keys(kind, rec):
                index[key] = rec
        now = utcnow()
        inserts: list[dict[str, Any]] = []
        updates: list[dict[str, Any]] = []
        audit_updates: list[dict[str, Any]] = []
        for number, values in rows:
            key, _ = _lookup_key(kind, values)
            existing = index.get(key)
            if existing is None and values.get("legacy_content_hash") and not values.get("external_id"):
                twin = index.get(("hash", values["legacy_content_hash"]))  # a rakor stored before 0006
                if twin is not None and twin.get("host_kabupaten_code") in (None, values["host_kabupaten_code"]):
                    existing = twin
            holder = index.get(("hash", values["content_hash"])) if kind != "tps" else None
            if holder is not None and holder is not existing:
                self._conflict(number)  # the database's unique content hash: another record has it
                return
            if existing is None:
                new = {**values, "import_batch": self.batch, "created_at": now, "updated_at": now}
                inserts.append(new)
                for k in _stored_keys(kind, new):
                    index[k] = new
                continue
            changed = store.changed_fields(kind, existing, values)
            revived = existing["deleted_at"] is not None
            if not (changed or revived):
                self.counts["unchanged"] += 1
                continue
            before = store.record_dict(kind, existing)
            for k in _stored_keys(kind, existing):
                index.pop(k, None)
            reached_changed = kind == "meetings" and existing.get("reached_desa_codes") != list(
                values.get("reached_desa_codes") or []
            )
            existing.update(values)
            existing.update(
                import_batch=self.batch,
                deleted_at=None,
                updated_at=now if changed else existing["updated_at"],
                reached_changed=reached_changed,
            )
            for k in _stored_keys(kind, existing):
                index[k] = existing
            updates.append(existing)
            audit_updates.append(_audit_row("update", kind, existing["id"], before, store.record_dict(kind, existing)))
        try:
            store.update_records(session, kind, updates)
            ids = store.insert_records(session, kind, inserts)
        except IntegrityError:  # someone else wrote a record with one of these keys meanwhile
            self._conflict(rows[0][0], last=rows[-1][0])
            return
        entries = [
            _audit_row("create", kind, record_id, None, store.record_dict(kind, row, record_id))
            for record_id, row in zip(ids, inserts)
        ]
        for entry in (*audit_updates, *entries):
            entry.update(at=now, actor=self.actor or "system", batch=self.batch)
        store.insert_audit(session, [*audit_updates, *entries])
        self.counts["inserted"] += len(inserts)
        self.counts["updated"] += len(updates)


def _stored_keys(kind: str, rec: dict[str, Any]) -> list[tuple]:
    """The natural keys a (stored or new) record answers to."""
    if kind == "tps":
        return [("tps", rec["desa_code"], rec["number"])]
    keys: list[tuple] = [("hash", rec["content_hash"])]
    if rec.get("external_id"):
        keys.append(("id", rec["external_id"]))
    return keys


def _audit_row(
    action: str, kind: str, record_id: int, before: dict[str, Any] | None, after: dict[str, Any] | None
) -> dict[str, Any]:
    """An audit entry as ``audit.record_change`` writes it (an update keeps only the changed fields)."""
    if action == "update" and before is not None and after is not None:
        keys = [k for k in {**before, **after} if before.get(k) != after.get(k) and k != "updated_at"]
        before = {k: before.get(k) for k in keys}
        after = {k: after.get(k) for k in keys}
    return {"action": action, "kind": kind, "record_id": record_id, "before": before, "after": after}


class _DryRun(Exception):
    """Raised inside the transaction of a dry run so that it rolls back."""
