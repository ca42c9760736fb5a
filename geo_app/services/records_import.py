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

from ..errors import Conflict, RecordInvalid, ValidationError
from ..geo import LAT_RANGE, LON_RANGE
from ..ingest.records_file import DEFAULT_MAX_ROWS, RecordRows, read_records_file, rejects_csv
from ..records import parse
from ..records.schema import clean_record, meeting_warnings
from ..store.db import bump_version, transaction
from ..store.models import utcnow
from ..store.records import MODELS
from .audit import batch_label, record_change
from .records import KIND_LABELS, KIND_RESOURCES, check_kind, deleted_by_hand, record_context, upsert_record

#: ``progress(done, total)``: called as rows are validated and written (the CLI draws a bar).
Progress = Callable[[int, int], None]
MAX_LISTED_ERRORS = 200


@dataclass
class RowError:
    row: int
    column: str
    reason: str
    unit: str = "baris"

    def text(self) -> str:
        return f"{self.unit} {self.row}, kolom {self.column}: {self.reason}"

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


def _points(rows: RecordRows) -> list[tuple[float, float]]:
    """Every usable (lon, lat) in the file, for one spatial join before row-by-row validation."""
    out = []
    for raw in rows.rows:
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
    keys.append((("hash", values["content_hash"]), "(baris)", "isi sama / same content"))
    return keys


def _lookup_key(kind: str, values: dict[str, Any]) -> tuple[tuple, str]:
    """The key ``records.find_existing`` matches a row by, and the field to blame."""
    if kind == "tps":
        return ("tps", values["desa_code"], values["number"]), "number"
    if values.get("external_id"):
        return ("id", values["external_id"]), "external_id"
    return ("hash", values["content_hash"]), "(baris)"


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
) -> ImportResult:
    """Validate and import a file of ``kind`` records; see the module docstring for the modes.

    Raises ``InputFileError`` for an unreadable file and ``ValidationError`` (details: every bad row)
    when rows are invalid and ``skip_invalid`` is off; in both cases nothing is written.
    """
    check_kind(kind)
    max_rows = int(settings.get("MAX_IMPORT_ROWS", DEFAULT_MAX_ROWS))
    rows = read_records_file(path_or_bytes, filename, kind, max_rows=max_rows)  # TooLarge past max_rows
    name = rows.filename
    ctx = record_context(session, settings)
    deleted = _deleted_keys(session, kind)
    ctx.prefetch(_points(rows))
    n = len(rows)
    total = n if dry_run else 2 * n
    errors: dict[int, list[RowError]] = {}
    for number, column, reason in rows.row_errors:
        errors.setdefault(number, []).append(RowError(number, column, reason, rows.unit))
    cleaned: list[tuple[int, dict[str, Any]]] = []
    row_warnings: list[str] = []  # e.g. a rakor that reaches no desa but its venue (issue 10)
    seen: dict[Any, int] = {}
    for i, (number, raw) in enumerate(zip(rows.row_numbers, rows.rows)):
        try:
            values = clean_record(kind, raw, ctx)
        except RecordInvalid as exc:
            for fname, reason in exc.errors.items():
                errors.setdefault(number, []).append(RowError(number, rows.column_of(fname), reason, rows.unit))
        else:
            dup = False
            for key, blame, what in _natural_keys(kind, values):
                if key in seen:
                    errors.setdefault(number, []).append(
                        RowError(
                            number,
                            rows.column_of(blame),
                            f"duplikat {rows.unit} {seen[key]} ({what}) / duplicate of {rows.unit} {seen[key]}",
                            rows.unit,
                        )
                    )
                    dup = True
                    break
            if not dup:
                for key, _, _ in _natural_keys(kind, values):
                    seen[key] = number
            key, blame = _lookup_key(kind, values)
            if key in deleted:
                twin = deleted[key]
                where = f"POST /api/{KIND_RESOURCES[kind]}/{twin}/restore"
                errors.setdefault(number, []).append(
                    RowError(
                        number,
                        rows.column_of(blame),
                        f"sama dengan {KIND_LABELS[kind]} id {twin} yang telah dihapus; hanya admin yang dapat "
                        f"memulihkannya ({where}) / matches deleted record {twin}, only an admin can restore it",
                        rows.unit,
                    )
                )
            if number not in errors:
                cleaned.append((number, values))
                if kind == "meetings":
                    row_warnings += [f"{rows.unit} {number}: {w}" for w in meeting_warnings(values, ctx)]
        if progress and (i % 25 == 24 or i == n - 1):
            progress(i + 1, total)
    bad = [e for number in sorted(errors) for e in errors[number]]
    result = ImportResult(
        kind=kind,
        filename=name,
        batch=uuid.uuid4().hex,
        rows=n,
        dry_run=dry_run,
        warnings=[*rows.warnings, *row_warnings],
        actor=actor,
    )
    if bad and not skip_invalid:
        first = bad[0].text()
        raise ValidationError(
            f"{name}: {len(errors)} dari {n} {rows.unit} tidak valid, tidak ada yang disimpan / "
            f"{len(errors)} of {n} rows invalid, nothing written (pertama / first: {first})",
            details={"file": name, "errors": [e.to_dict() for e in bad], "warnings": rows.warnings},
        )
    result.errors = bad
    result.rejected = len(errors)
    counts = {"inserted": 0, "updated": 0, "unchanged": 0}
    good_rows = {number for number, _ in cleaned}
    try:
        with transaction(session):
            for j, (number, values) in enumerate(cleaned):
                try:
                    counts[upsert_record(session, kind, values, result.batch, actor=actor, revive_deleted=False)] += 1
                except Conflict as exc:  # deleted meanwhile by someone else
                    raise ValidationError(
                        f"{name}: {rows.unit} {number}: {exc.message}; tidak ada yang disimpan / nothing written",
                        details={"file": name, "errors": [{"row": number, "column": "(baris)", "reason": exc.message}]},
                    ) from None
                except IntegrityError:
                    raise ValidationError(
                        f"{name}: {rows.unit} {number} bentrok dengan data yang sudah tersimpan (id eksternal lain, isi "
                        "sama) / conflicts with a stored record; tidak ada yang disimpan / nothing written",
                        details={
                            "file": name,
                            "errors": [{"row": number, "column": "(baris)", "reason": "conflict with a stored record"}],
                        },
                    ) from None
                if progress and (j % 25 == 24 or j == len(cleaned) - 1) and not dry_run:
                    progress(n + j + 1, total)
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
    if progress and not dry_run:
        progress(total, total)
    result.inserted, result.updated, result.unchanged = counts["inserted"], counts["updated"], counts["unchanged"]
    if bad:
        originals = {
            number: (rows.original(i), "; ".join(f"{e.column}: {e.reason}" for e in errors[number]))
            for i, number in enumerate(rows.row_numbers)
            if number not in good_rows
        }
        result.rejects_data = rejects_csv(rows.headers, [originals[k] for k in sorted(originals)])
        if rejects_path and not dry_run:
            _write_rejects(rejects_path, result.rejects_data)
            result.rejects_path = str(rejects_path)
    return result


class _DryRun(Exception):
    """Raised inside the transaction of a dry run so that it rolls back."""
