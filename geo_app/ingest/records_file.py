"""Read rakor/TPS/incident rows from the files regency staff keep: CSV as Excel writes it in
Indonesia (``;`` or ``,``, UTF-8 with BOM or Windows-1252), XLSX, and GeoJSON points.

Pure: bytes in, rows of canonical field names (see ``geo_app.records.schema``) out; no database.
Values stay as read (strings from CSV, typed cells from XLSX); ``records.parse`` interprets them.
Row numbers are what a spreadsheet shows: the header is row 1.

Reading is bounded by what a file holds, never by what it claims: rows are streamed, blank rows
cost nothing and are not kept, at most ``max_rows`` data rows are read (one more raises ``TooLarge``
before any validation), rows are cut to the header's width (at most ``MAX_COLUMNS``), an XLSX
sheet's declared dimension is ignored and its package is checked for zip bombs
(``geo_app.ingest.xlsx_guard``) before openpyxl opens it, and a GeoJSON's nesting and number of
objects are bounded.
"""

from __future__ import annotations

import csv
import io
import json
import re
import zipfile
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime, time
from pathlib import Path
from typing import Any

from ..errors import InputFileError, TooLarge
from ..i18n import N_, Message, msg_as
from ..spreadsheet_formulas import neutralise_text
from .xlsx_guard import check_xlsx_package

#: Data rows read from one file unless the caller passes its own limit (setting MAX_IMPORT_ROWS).
DEFAULT_MAX_ROWS = 200_000
#: Columns a header may have (real files have a few dozen); rows are cut to the header's width.
MAX_COLUMNS = 256
#: Cells (data rows x header width) kept from one file: bounds the work of a wide file.
MAX_CELLS = 20_000_000
#: A file read from disk larger than this is refused before it is read (uploads are limited by
#: MAX_CONTENT_LENGTH).
MAX_FILE_BYTES = 256 * 1024 * 1024
#: The last row of a worksheet (Excel's limit): XLSX rows below it are not read.
XLSX_MAX_ROW = 1_048_576
#: JSON objects and arrays a GeoJSON may hold per allowed feature (a point feature needs 3-4).
GEOJSON_CONTAINERS_PER_FEATURE = 16

#: Location fields every kind accepts.
_LOCATION = ("desa_code", "desa", "kecamatan", "kabupaten", "lat", "lon")

#: Canonical input fields per kind (geo_app/records/schema.py).
KIND_FIELDS: dict[str, tuple[str, ...]] = {
    "meetings": _LOCATION
    + (
        "external_id",
        "title",
        "date",
        "start_time",
        "level",
        "venue",
        "organiser",
        "agencies",
        "reached_desa",
        "reaches_all_desa",
        "notes",
        "source_url",
        "synthetic",
    ),
    "tps": _LOCATION
    + ("number", "voters", "address", "vulnerability", "police", "tni", "linmas", "notes", "synthetic"),
    "incidents": _LOCATION
    + (
        "external_id",
        "occurred_at",
        "reported_at",
        "category",
        "severity",
        "status",
        "description",
        "source",
        "source_url",
        "notes",
        "synthetic",
    ),
}

#: Columns a file must have (a location column is checked separately: desa code, desa name or lat+lon).
REQUIRED: dict[str, tuple[str, ...]] = {
    "meetings": ("title", "date", "level"),
    "tps": ("number", "voters"),
    "incidents": ("occurred_at", "category", "severity", "description"),
}
NEEDS_LOCATION = {"meetings": False, "tps": True, "incidents": True}

#: Header aliases (English and Indonesian), compared after ``header_key``.
ALIASES: dict[str, tuple[str, ...]] = {
    "desa_code": (
        "kode_desa",
        "kd_desa",
        "kode_kelurahan",
        "kode_desa_kelurahan",
        "desa_code",
        "village_code",
        "kdepum",
    ),
    "desa": (
        "desa",
        "nama_desa",
        "kelurahan",
        "nama_kelurahan",
        "desa_kelurahan",
        "desa/kelurahan",
        "village",
        "village_name",
        "desa_name",
    ),
    "kecamatan": ("kecamatan", "kec", "nama_kecamatan", "kode_kecamatan", "kd_kecamatan", "district", "subdistrict"),
    "kabupaten": (
        "kabupaten",
        "kab",
        "kabupaten_kota",
        "kabupaten/kota",
        "kab_kota",
        "nama_kabupaten",
        "kode_kabupaten",
        "kd_kabupaten",
        "kode_kab",
        "regency",
        "kabupaten_code",
    ),
    "date": ("tanggal", "tgl", "date", "tanggal_rakor", "tanggal_kegiatan", "hari_tanggal"),
    "start_time": ("jam", "waktu_mulai", "jam_mulai", "pukul", "start_time", "time"),
    "level": ("tingkat", "level", "tingkat_rakor"),
    "title": ("judul", "nama_kegiatan", "kegiatan", "nama_rakor", "acara", "title"),
    "venue": ("tempat", "lokasi", "tempat_kegiatan", "venue"),
    "organiser": ("penyelenggara", "pelaksana", "organiser", "organizer"),
    "agencies": ("instansi", "peserta", "instansi_hadir", "unsur", "agencies"),
    "reached_desa": ("desa_terjangkau", "desa_hadir", "desa_yang_hadir", "jangkauan", "reached_desa"),
    "reaches_all_desa": ("semua_desa", "seluruh_desa", "reaches_all_desa"),
    "lat": ("lintang", "latitude", "lat", "y"),
    "lon": ("bujur", "longitude", "lon", "lng", "long", "x"),
    "number": ("no_tps", "nomor_tps", "tps", "tps_no", "number"),
    "voters": ("jumlah_dpt", "dpt", "pemilih", "jumlah_pemilih", "voters", "registered_voters"),
    "address": ("alamat", "alamat_tps", "address"),
    "vulnerability": (
        "kerawanan",
        "status_kerawanan",
        "klasifikasi",
        "klasifikasi_kerawanan",
        "kelas",
        "vulnerability",
        "class",
    ),
    "police": ("polisi", "polri", "personel_polri", "jumlah_polri", "police"),
    "tni": ("tni", "personel_tni", "jumlah_tni"),
    "linmas": ("linmas", "personel_linmas", "jumlah_linmas"),
    "occurred_at": ("waktu_kejadian", "tanggal_kejadian", "tgl_kejadian", "occurred_at", "occurred"),
    "reported_at": ("waktu_lapor", "tanggal_lapor", "tgl_lapor", "waktu_laporan", "reported_at", "reported"),
    "category": ("kategori", "jenis", "jenis_pelanggaran", "jenis_kejadian", "category"),
    "severity": ("tingkat_keparahan", "keparahan", "severity"),
    "status": ("status", "status_penanganan"),
    "description": ("uraian", "keterangan", "deskripsi", "uraian_kejadian", "kronologi", "description"),
    "source": ("sumber", "source"),
    "source_url": ("tautan", "url", "sumber_url", "source_url", "link"),
    "notes": ("catatan", "notes", "note"),
    "external_id": ("id", "id_eksternal", "external_id"),
    "synthetic": ("sintetis", "synthetic", "data_contoh"),
}
#: Where one word means different things per kind ("keterangan" is a description of an incident,
#: a note on a TPS or a rakor; an incident's "tanggal" is when it happened).
KIND_ALIASES: dict[str, dict[str, str]] = {
    "meetings": {"keterangan": "notes", "nama": "title", "waktu": "start_time"},
    "tps": {"keterangan": "notes", "lokasi": "address", "nomor": "number", "no": "number"},
    "incidents": {"tanggal": "occurred_at", "tgl": "occurred_at", "waktu": "occurred_at"},
}
#: Sheet names (after ``header_key``) an XLSX sheet may carry for each kind.
SHEET_NAMES = {
    "meetings": {"meetings", "meeting", "rakor", "rapat", "rapatkoordinasi", "pertemuan"},
    "tps": {"tps", "pollingstations", "pollingstation", "tempatpemungutansuara"},
    "incidents": {"incidents", "incident", "insiden", "kejadian", "pelanggaran", "laporan"},
}


def header_key(text: object) -> str:
    """Case-, space-, underscore- and punctuation-insensitive form of a header."""
    return re.sub(r"[^0-9a-z]", "", str(text or "").lower())


def field_for(header: object, kind: str) -> str | None:
    key = header_key(header)
    if not key:
        return None
    special = {header_key(k): v for k, v in KIND_ALIASES.get(kind, {}).items()}
    if key in special:
        return special[key]
    for name, aliases in ALIASES.items():
        if key in {header_key(a) for a in aliases}:
            return name
    return None


@dataclass
class RecordRows:
    """What a file held: canonical rows, the original cells (for a rejects file) and messages."""

    filename: str
    kind: str
    headers: list[str]
    mapping: dict[str, str]  # canonical field -> the header it came from
    rows: list[dict[str, Any]] = field(default_factory=list)
    #: each row's cells under the file's headers, as read (see ``original``)
    cells: list[Sequence[Any]] = field(default_factory=list, repr=False)
    row_numbers: list[int] = field(default_factory=list)
    row_errors: list[tuple[int, str, str]] = field(default_factory=list)  # (row, column, reason)
    warnings: list[str] = field(default_factory=list)
    unit: str = "baris"  # "fitur" for GeoJSON features

    def column_of(self, name: str) -> str:
        """The file's own header for a canonical field (for messages), else the field name."""
        return self.mapping.get(name, name)

    def original(self, index: int) -> dict[str, Any]:
        """Row ``index`` (0-based, as in ``rows``) under its own headers, for a rejects file."""
        cells = self.cells[index]
        return {h: (cells[i] if i < len(cells) else None) for i, h in enumerate(self.headers) if h}

    @property
    def originals(self) -> list[dict[str, Any]]:
        return [self.original(i) for i in range(len(self.cells))]

    def __len__(self) -> int:
        return len(self.rows)


@dataclass
class RecordChunk:
    """Consecutive data rows of a file (see ``RecordStream.chunks``): their cells as read, cut to the
    header's width, and the "more cells than headers" errors of these rows."""

    headers: list[str]
    columns: dict[int, str]  # column index -> canonical field
    row_numbers: list[int]
    cells: list[Sequence[Any]]
    row_errors: list[tuple[int, str, str]] = field(default_factory=list)

    def __len__(self) -> int:
        return len(self.row_numbers)

    def column(self, name: str) -> list[Any]:
        """The raw values of canonical field ``name`` down the chunk (None where the file lacks it)."""
        index = next((i for i, f in self.columns.items() if f == name), None)
        if index is None:
            return [None] * len(self.cells)
        return [c[index] if index < len(c) else None for c in self.cells]

    def raw(self, j: int) -> dict[str, Any]:
        """Row ``j`` (0-based in the chunk) as canonical fields, as ``RecordRows.rows`` holds it."""
        cells = self.cells[j]
        return {f: cells[i] if i < len(cells) else None for i, f in self.columns.items()}

    def original(self, j: int) -> dict[str, Any]:
        """Row ``j`` under its own headers, for a rejects file."""
        cells = self.cells[j]
        return {h: (cells[i] if i < len(cells) else None) for i, h in enumerate(self.headers) if h}


#: Rows per chunk when a file is read in chunks (bounded memory; see ``RecordStream``).
CHUNK_ROWS = 10_000


@dataclass
class RecordStream:
    """A record file opened for reading in chunks: its header mapping, warnings, the number of data
    rows and the file-level row errors are known at once (the whole file was scanned, so every limit
    was checked before any validation); ``chunks`` reads the rows again, ``size`` at a time, so
    only one chunk of rows is in memory (CSV; XLSX and GeoJSON rows are held as read)."""

    filename: str
    kind: str
    headers: list[str]
    mapping: dict[str, str]
    columns: dict[int, str]
    total: int
    warnings: list[str] = field(default_factory=list)
    row_errors: list[tuple[int, str, str]] = field(default_factory=list)  # e.g. GeoJSON features
    unit: str = "baris"
    _table: _Table | None = field(default=None, repr=False)

    def column_of(self, name: str) -> str:
        """The file's own header for a canonical field (for messages), else the field name."""
        return self.mapping.get(name, name)

    def __len__(self) -> int:
        return self.total

    def chunks(self, size: int = CHUNK_ROWS) -> Iterator[RecordChunk]:
        """The data rows, ``size`` at a time, in file order (blank rows skipped, numbers kept)."""
        size = max(int(size), 1)
        width = len(self.headers)

        def chunk() -> RecordChunk:
            return RecordChunk(self.headers, self.columns, [], [], [])

        current = chunk()
        for number, cells, extra in self._table.iter_rows():
            if extra:
                current.row_errors.append((number, WHOLE_ROW, _extra_cells_reason(width, extra)))
            current.row_numbers.append(number)
            current.cells.append(cells)
            if len(current.row_numbers) >= size:
                yield current
                current = chunk()
        if current.row_numbers:
            yield current


def _extra_cells_reason(width: int, extra: int) -> str:
    return msg_as(
        f"{width + extra} sel tetapi {width} judul kolom; ada koma desimal tanpa tanda kutip? / more cells than headers",
        "%(cells)s sel tetapi %(headers)s judul kolom; ada koma desimal tanpa tanda kutip?",
        cells=width + extra,
        headers=width,
    )


#: the "column" of an error about a whole row (too many cells, a duplicate, a conflict)
WHOLE_ROW = msg_as("(baris)", "(baris)")


def _empty(name: str) -> InputFileError:
    return InputFileError(msg_as(f"{name}: berkas kosong / the file is empty", "%(file)s: berkas kosong", file=name))


def _joined(parts: list[str]) -> str:
    """``", ".join(parts)``, kept a Message when a part is one (each part then shows in the page's language)."""
    text = ", ".join(parts)
    if not any(isinstance(p, Message) for p in parts):
        return text
    params = {f"part_{i}": p for i, p in enumerate(parts)}
    return Message(", ".join(f"%({k})s" for k in params), params, text)  # placeholders only: no catalog entry


# --- entry point ---------------------------------------------------------------------------------


def read_records_file(
    source: str | Path | bytes, filename: str | None, kind: str, max_rows: int | None = None
) -> RecordRows:
    """Read a CSV, XLSX or GeoJSON file of ``kind`` records. Raises ``InputFileError`` naming the file,
    ``TooLarge`` (a subclass, HTTP 413) for more than ``max_rows`` data rows or other size limits."""
    stream = open_records_file(source, filename, kind, max_rows)
    out = RecordRows(
        filename=stream.filename,
        kind=kind,
        headers=list(stream.headers),
        mapping=stream.mapping,
        warnings=stream.warnings,
        unit=stream.unit,
    )
    extra_errors: list[tuple[int, str, str]] = []
    for part in stream.chunks():
        extra_errors += part.row_errors
        out.rows += [part.raw(j) for j in range(len(part))]
        out.cells += part.cells
        out.row_numbers += part.row_numbers
    out.row_errors = [*stream.row_errors, *extra_errors]
    return out


def open_records_file(
    source: str | Path | bytes, filename: str | None, kind: str, max_rows: int | None = None
) -> RecordStream:
    """Open a CSV, XLSX or GeoJSON file of ``kind`` records for reading in chunks (``RecordStream``).
    Raises what ``read_records_file`` raises, all before the first chunk is read."""
    limit = DEFAULT_MAX_ROWS if max_rows is None else max(int(max_rows), 0)
    if kind not in KIND_FIELDS:
        raise InputFileError(
            msg_as(
                f"jenis data {kind!r} tidak dikenal / unknown record kind; pilihan: {', '.join(KIND_FIELDS)}",
                "jenis data %(kind)r tidak dikenal; pilihan: %(choices)s",
                kind=kind,
                choices=", ".join(KIND_FIELDS),
            )
        )
    if isinstance(source, (bytes, bytearray)):
        data = bytes(source)
        name = filename or "upload"
    else:
        path = Path(source)
        name = filename or path.name
        try:
            size = path.stat().st_size
            if size > MAX_FILE_BYTES:
                raise TooLarge(
                    msg_as(
                        f"{name}: berkas {size // 2**20} MB melebihi batas {MAX_FILE_BYTES // 2**20} MB / "
                        f"file larger than {MAX_FILE_BYTES // 2**20} MB",
                        "%(file)s: berkas %(size)s MB melebihi batas %(limit)s MB",
                        file=name,
                        size=size // 2**20,
                        limit=MAX_FILE_BYTES // 2**20,
                    ),
                    details={"file": name},
                )
            data = path.read_bytes()
        except FileNotFoundError:
            raise InputFileError(
                msg_as(
                    f"{name}: berkas tidak ditemukan / file not found", "%(file)s: berkas tidak ditemukan", file=name
                )
            ) from None
        except OSError as exc:
            raise InputFileError(
                msg_as(
                    f"{name}: berkas tidak bisa dibaca / cannot read the file ({exc.strerror})",
                    "%(file)s: berkas tidak bisa dibaca (%(error)s)",
                    file=name,
                    error=exc.strerror,
                )
            ) from None
    if not data.strip():
        raise _empty(name)
    ext = Path(name).suffix.lower()
    if ext in (".xlsx", ".xlsm"):
        table = _read_xlsx(data, name, kind, limit)
    elif ext in (".geojson", ".json"):
        table = _read_geojson(data, name, limit)
    elif ext in (".csv", ".txt", ""):
        table = _read_csv(data, name, limit)
    elif ext == ".xls":
        raise InputFileError(
            msg_as(
                f"{name}: format Excel lama (.xls) tidak didukung; simpan sebagai .xlsx atau CSV / "
                "old .xls is not supported, save as .xlsx or CSV",
                "%(file)s: format Excel lama (.xls) tidak didukung; simpan sebagai .xlsx atau CSV",
                file=name,
            )
        )
    else:
        raise InputFileError(
            msg_as(
                f"{name}: format {ext} tidak didukung; gunakan CSV, XLSX atau GeoJSON / "
                "unsupported format, use CSV, XLSX or GeoJSON",
                "%(file)s: format %(ext)s tidak didukung; gunakan CSV, XLSX atau GeoJSON",
                file=name,
                ext=ext,
            )
        )
    return _map_header(table, name, kind)


# --- formats -------------------------------------------------------------------------------------


@dataclass
class _Table:
    """A file's cells before header mapping: the rows as a list, or (CSV) counted and re-read by ``rescan``."""

    headers: list[str]
    rows: (
        list[tuple[int, Sequence[Any], int]] | None
    )  # (row number, cells cut to the header, non-blank cells beyond it)
    warnings: list[str] = field(default_factory=list)
    errors: list[tuple[int, str, str]] = field(default_factory=list)
    unit: str = "baris"
    count: int | None = None
    #: the untitled columns holding data somewhere (found while counting, when ``rows`` is None)
    untitled_with_data: set[int] | None = None
    rescan: Callable[[], Iterator[tuple[int, Sequence[Any], int]]] | None = None

    def __len__(self) -> int:
        return len(self.rows) if self.rows is not None else int(self.count or 0)

    def iter_rows(self) -> Iterator[tuple[int, Sequence[Any], int]]:
        return iter(self.rows) if self.rows is not None else self.rescan()


def _looks_binary(data: bytes) -> bool:
    sample = data[:8192]
    if b"\x00" in sample:
        return True
    controls = sum(1 for b in sample if b < 32 and b not in (9, 10, 13))
    return controls > max(2, len(sample) // 100)


def _decode(data: bytes, name: str, warnings: list[str]) -> tuple[str, str]:
    """The file's text and the codec that gave it."""
    if data.startswith(b"PK\x03\x04"):
        raise InputFileError(
            msg_as(
                f"{name}: ini berkas ZIP/XLSX, bukan CSV; beri akhiran .xlsx / "
                "this is a ZIP/XLSX file, not CSV: name it .xlsx",
                "%(file)s: ini berkas ZIP/XLSX, bukan CSV; beri akhiran .xlsx",
                file=name,
            )
        )
    if _looks_binary(data):
        raise InputFileError(
            msg_as(
                f"{name}: bukan berkas teks CSV (isi biner) / not a text CSV file (binary content)",
                "%(file)s: bukan berkas teks CSV (isi biner)",
                file=name,
            )
        )
    try:
        return data.decode("utf-8-sig"), "utf-8-sig"
    except UnicodeDecodeError as exc:
        utf8_error = exc
    for encoding, label in (("cp1252", "Windows-1252"), ("latin-1", "Latin-1")):
        try:
            text = data.decode(encoding)
        except UnicodeDecodeError:
            continue
        warnings.append(
            msg_as(
                f"{name}: bukan UTF-8 (byte {utf8_error.start + 1}); dibaca sebagai {label} / "
                f"not UTF-8, read as {label}: periksa huruf khusus / check special characters",
                "%(file)s: bukan UTF-8 (byte %(byte)s); dibaca sebagai %(encoding)s: periksa huruf khusus",
                file=name,
                byte=utf8_error.start + 1,
                encoding=label,
            )
        )
        return text, encoding
    raise InputFileError(  # pragma: no cover
        msg_as(
            f"{name}: pengkodean teks tidak dikenali; simpan sebagai CSV UTF-8 / "
            "unknown text encoding, save as CSV UTF-8",
            "%(file)s: pengkodean teks tidak dikenali; simpan sebagai CSV UTF-8",
            file=name,
        )
    )


_SEP_LINE = re.compile(r"sep=(.)\r?(?:\n|\Z)")  # Excel's delimiter hint line; Excel does not show it as a row
_NON_SPACE = re.compile(r"\S")
_LINE_END = re.compile(r"[\r\n]")


def _delimiter(text: str) -> str:
    """The header line tells the delimiter: data cells may hold decimal commas, headers do not.
    Found without splitting the text into lines (a file may be millions of blank lines)."""
    first = _NON_SPACE.search(text)
    if first is None:
        return ","
    line_start = max(text.rfind("\n", 0, first.start()), text.rfind("\r", 0, first.start())) + 1
    end = _LINE_END.search(text, first.start())
    header = text[line_start : end.start() if end else len(text)]
    counts = {d: header.count(d) for d in (";", ",", "\t")}
    best = max(counts, key=lambda d: (counts[d], d == ";"))
    return best if counts[best] else ","


def _read_csv(data: bytes, name: str, max_rows: int) -> _Table:
    """Two passes over the bytes, decoded a block at a time (a ``StringIO`` of the whole text costs
    four bytes a character): the first finds the header, counts the data rows (``TooLarge`` past
    ``max_rows``) and the untitled columns with data; the second (``_Table.rescan``) yields the rows."""
    warnings: list[str] = []
    text, encoding = _decode(data, name, warnings)
    hint = _SEP_LINE.match(text)
    if hint:
        delimiter, skip = hint.group(1), hint.end()
    else:
        delimiter, skip = _delimiter(text), 0
    del text

    def rows_of() -> tuple[Any, Iterator[tuple[int, list[str]]]]:
        stream = io.TextIOWrapper(io.BytesIO(data), encoding=encoding, newline="")
        if skip:
            stream.read(skip)
        reader = csv.reader(stream, delimiter=delimiter)
        return reader, enumerate(reader, start=1)  # a blank line is a row too (Excel shows it), but costs nothing

    reader, numbered = rows_of()
    try:
        header_row = next(((n, cells) for n, cells in numbered if any(c.strip() for c in cells)), None)
        if header_row is None:
            raise _empty(name)
        header_number = header_row[0]
        header = _header(header_row[1], name)
        untitled = {i for i, h in enumerate(header) if not h}
        found: set[int] = set()
        count = 0
        for _, cells, _ in _scan_rows(numbered, len(header), name, max_rows):
            count += 1
            if untitled - found:
                found.update(i for i in untitled - found if i < len(cells) and not _blank(cells[i]))
    except csv.Error as exc:
        raise _malformed(name, reader, exc) from None

    def rescan() -> Iterator[tuple[int, Sequence[Any], int]]:
        again, rows = rows_of()
        try:
            for number, _ in rows:
                if number == header_number:
                    break
            yield from _scan_rows(rows, len(header), name, max_rows)
        except csv.Error as exc:  # pragma: no cover - the first pass read the same bytes
            raise _malformed(name, again, exc) from None

    return _Table(header, None, warnings, count=count, untitled_with_data=found, rescan=rescan)


def _malformed(name: str, reader: Any, exc: csv.Error) -> InputFileError:
    where = f"baris / row {reader.line_num}: " if reader.line_num else ""
    detail: str = str(exc)
    if reader.line_num:
        detail = msg_as(f"{where}{exc}", "baris %(row)s: %(note)s", row=reader.line_num, note=str(exc))
    return InputFileError(
        msg_as(
            f"{name}: CSV rusak / malformed CSV: {where}{exc}",
            "%(file)s: CSV rusak: %(detail)s",
            file=name,
            detail=detail,
        )
    )


def _cell_text(value: Any) -> Any:
    if isinstance(value, str):
        return value.strip()
    return value


def _read_xlsx(data: bytes, name: str, kind: str, max_rows: int) -> _Table:
    from openpyxl import load_workbook

    check_xlsx_package(data, name)  # zip bombs, before openpyxl unpacks anything
    warnings: list[str] = []
    try:
        wb = load_workbook(io.BytesIO(data), read_only=True, data_only=True)
    except Exception as exc:  # openpyxl raises many types for a broken or non-XLSX file
        reason = "bukan XLSX atau rusak/terpotong / not an XLSX file, or damaged/truncated"
        raise InputFileError(
            msg_as(
                f"{name}: {reason} ({type(exc).__name__})",
                "%(file)s: bukan XLSX atau rusak/terpotong (%(error)s)",
                file=name,
                error=type(exc).__name__,
            )
        ) from None
    try:
        sheets = wb.worksheets
        if not sheets:
            raise InputFileError(
                msg_as(f"{name}: tidak ada lembar kerja / no worksheet", "%(file)s: tidak ada lembar kerja", file=name)
            )
        wanted = SHEET_NAMES[kind]
        sheet = next((s for s in sheets if header_key(s.title) in wanted), sheets[0])
        if len(sheets) > 1:
            titles = ", ".join(repr(s.title) for s in sheets)
            warnings.append(
                msg_as(
                    f"{name}: dibaca lembar / reading sheet {sheet.title!r} (dari / of {titles})",
                    "%(file)s: dibaca lembar %(sheet)r (dari %(sheets)s)",
                    file=name,
                    sheet=sheet.title,
                    sheets=titles,
                )
            )
        # The sheet's <dimension> is what the file claims (A1:XFD1048576 is 17 billion cells): ignore it.
        # Look for the header row no wider than MAX_COLUMNS + 1 and read that one row in full; read the
        # rows below no wider than MAX_COLUMNS + 1 either, keeping only the header's width of them (the
        # cells beyond are only counted, for the "more cells than headers" error).
        if hasattr(sheet, "reset_dimensions"):
            sheet.reset_dimensions()
        scan = sheet.iter_rows(min_row=1, max_row=XLSX_MAX_ROW, max_col=MAX_COLUMNS + 1, values_only=True)
        try:
            header_row = next(((n, cells) for n, cells in enumerate(scan, start=1) if not _blank_row(cells)), None)
        finally:
            _close(scan)
        if header_row is None:
            raise _empty(name)
        number, cells = header_row
        whole = sheet.iter_rows(min_row=number, max_row=number, values_only=True)  # one row, as wide as it is
        try:
            cells = next(whole, cells)
        finally:
            _close(whole)
        header = _header([_cell_text(c) for c in cells], name)
        body = sheet.iter_rows(min_row=number + 1, max_row=XLSX_MAX_ROW, max_col=MAX_COLUMNS + 1, values_only=True)
        try:
            rows = _data_rows(enumerate(body, start=number + 1), len(header), name, max_rows, clean=_cell_text)
        finally:
            _close(body)
    except InputFileError:
        raise
    except (zipfile.BadZipFile, KeyError, ValueError, OSError, EOFError) as exc:
        raise InputFileError(
            msg_as(
                f"{name}: XLSX rusak/terpotong / damaged or truncated XLSX ({type(exc).__name__})",
                "%(file)s: XLSX rusak/terpotong (%(error)s)",
                file=name,
                error=type(exc).__name__,
            )
        ) from None
    finally:
        wb.close()
    return _Table(header, rows, warnings)


def _close(rows: Iterator[Any]) -> None:
    """Stop a sheet's row generator (it holds the zip member open)."""
    close = getattr(rows, "close", None)
    if close is not None:
        close()


def _read_geojson(data: bytes, name: str, max_rows: int) -> _Table:
    warnings: list[str] = []
    # every feature is an object: a file with far more objects and arrays than the row limit allows
    # is refused before it is parsed (json.loads makes about 60 bytes of memory from "{}," )
    containers = data.count(b"{") + data.count(b"[")
    if containers > GEOJSON_CONTAINERS_PER_FEATURE * max_rows + 1000:
        found = msg_as(
            f"{containers} objek/larik JSON / JSON objects and arrays", "%(count)s objek/larik JSON", count=containers
        )
        raise too_many_rows(name, max_rows, "fitur", found)
    try:
        doc = json.loads(data.decode("utf-8-sig"))
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise InputFileError(
            msg_as(
                f"{name}: bukan GeoJSON yang sah / not valid GeoJSON ({exc})",
                "%(file)s: bukan GeoJSON yang sah (%(error)s)",
                file=name,
                error=str(exc),
            )
        ) from None
    except RecursionError:
        raise _too_deep(name) from None
    try:
        return _geojson_table(doc, name, max_rows, warnings)
    except RecursionError:  # a property nested too deeply to be written back as JSON text
        raise _too_deep(name) from None


def _too_deep(name: str) -> InputFileError:
    return InputFileError(
        msg_as(
            f"{name}: GeoJSON bersarang terlalu dalam / GeoJSON nested too deeply "
            "(objek/larik di dalam objek/larik / objects or arrays within each other)",
            "%(file)s: GeoJSON bersarang terlalu dalam (objek/larik di dalam objek/larik)",
            file=name,
        )
    )


def _geojson_table(doc: Any, name: str, max_rows: int, warnings: list[str]) -> _Table:
    if isinstance(doc, dict) and doc.get("type") == "Feature":
        doc = {"type": "FeatureCollection", "features": [doc]}
    if not isinstance(doc, dict) or doc.get("type") != "FeatureCollection" or not isinstance(doc.get("features"), list):
        raise InputFileError(
            msg_as(
                f"{name}: GeoJSON harus FeatureCollection / GeoJSON must be a FeatureCollection",
                "%(file)s: GeoJSON harus FeatureCollection",
                file=name,
            )
        )
    crs_doc = doc.get("crs")
    crs_props = crs_doc.get("properties") if isinstance(crs_doc, dict) else None
    crs = str(crs_props.get("name") or "") if isinstance(crs_props, dict) else ("?" if crs_doc else "")
    if crs and not re.search(r"(CRS84|4326)$", crs):
        raise InputFileError(
            msg_as(
                f"{name}: CRS {crs} tidak didukung; GeoJSON harus lon/lat WGS84 (EPSG:4326) / "
                "unsupported CRS, GeoJSON must be WGS84 lon/lat",
                "%(file)s: CRS %(crs)s tidak didukung; GeoJSON harus lon/lat WGS84 (EPSG:4326)",
                file=name,
                crs=crs,
            )
        )
    features = doc["features"]
    if len(features) > max_rows:
        found = msg_as(f"{len(features)} fitur / features", "%(count)s fitur", count=len(features))
        raise too_many_rows(name, max_rows, "fitur", found)
    headers: list[str] = []
    seen: set[str] = set()

    def props(feat: Any) -> dict:
        value = feat.get("properties") if isinstance(feat, dict) else None
        return value if isinstance(value, dict) else {}

    for f in features:
        for key in props(f):
            if str(key) not in seen:
                seen.add(str(key))
                headers.append(str(key))
    if len(headers) > MAX_COLUMNS:
        raise _too_many_columns(name, len(headers))
    geo_cols = ["lon", "lat"]
    clash = [
        h
        for h in headers
        if header_key(h) in {"lat", "lon", "lintang", "bujur", "latitude", "longitude", "lng", "x", "y"}
    ]
    if clash:
        warnings.append(
            msg_as(
                f"{name}: kolom {', '.join(clash)} diabaikan: titik diambil dari geometri / "
                "ignored, the point comes from the geometry",
                "%(file)s: kolom %(columns)s diabaikan: titik diambil dari geometri",
                file=name,
                columns=", ".join(clash),
            )
        )
        headers = [h for h in headers if h not in clash]
    rows: list[tuple[int, Sequence[Any], int]] = []
    errors: list[tuple[int, str, str]] = []
    for i, feat in enumerate(features, start=1):
        if not isinstance(feat, dict) or feat.get("type") != "Feature":
            errors.append((i, "geometry", msg_as("bukan Feature / not a Feature", "bukan Feature")))
            rows.append((i, [None] * (len(headers) + 2), 0))
            continue
        if feat.get("properties") is not None and not isinstance(feat.get("properties"), dict):
            errors.append(
                (i, "properties", msg_as("properties harus objek / must be an object", "properties harus objek"))
            )
        cells = [_json_cell(props(feat).get(h)) for h in headers]
        geom = feat.get("geometry")
        lon = lat = None
        if geom is not None:
            coords = geom.get("coordinates") if isinstance(geom, dict) else None
            if not isinstance(geom, dict) or geom.get("type") != "Point":
                gtype = str(geom.get("type"))[:40] if isinstance(geom, dict) else type(geom).__name__
                only_points = msg_as(
                    f"hanya titik (Point) / only Point geometries, not {gtype}",
                    "hanya titik (Point), bukan %(type)s",
                    type=gtype,
                )
                errors.append((i, "geometry", only_points))
            elif (
                not isinstance(coords, list)
                or len(coords) < 2
                or not all(isinstance(c, (int, float)) and not isinstance(c, bool) for c in coords[:2])
            ):
                bad_point = msg_as("koordinat titik tidak sah / invalid point coordinates", "koordinat titik tidak sah")
                errors.append((i, "geometry", bad_point))
            else:
                lon, lat = float(coords[0]), float(coords[1])
        rows.append((i, cells + [lon, lat], 0))
    if not rows:
        raise InputFileError(
            msg_as(f"{name}: GeoJSON tanpa fitur / no features", "%(file)s: GeoJSON tanpa fitur", file=name)
        )
    return _Table(headers + geo_cols, rows, warnings, errors, unit="fitur")


def _json_cell(value: Any) -> Any:
    """A property as a cell: objects, and arrays holding objects or arrays, become JSON text."""
    if isinstance(value, dict) or (isinstance(value, list) and any(isinstance(v, (dict, list)) for v in value)):
        return json.dumps(value, ensure_ascii=False)
    return value


# --- rows ---------------------------------------------------------------------------------------------


def too_many_rows(name: str, limit: int, unit: str = "baris", found: str | None = None) -> TooLarge:
    """The message for a file beyond the import row limit (GEO_APP_MAX_IMPORT_ROWS)."""
    en = "features" if unit == "fitur" else "data rows"
    seen = f" ({found})" if found else ""
    msgids = _TOO_MANY_FEATURES if unit == "fitur" else _TOO_MANY_ROWS
    return TooLarge(
        msg_as(
            f"{name}: lebih dari {limit} {unit} data{seen}; batas impor / import limit "
            f"GEO_APP_MAX_IMPORT_ROWS = {limit}: bagi berkasnya / more than {limit} {en}, split the file",
            msgids[bool(found)],
            file=name,
            limit=limit,
            found=found or "",
        ),
        details={"file": name, "limit": limit},
    )


#: too many rows (msgids; without and with what was found)
_TOO_MANY_ROWS = (
    N_("%(file)s: lebih dari %(limit)s baris data; batas impor GEO_APP_MAX_IMPORT_ROWS = %(limit)s: bagi berkasnya"),
    N_(
        "%(file)s: lebih dari %(limit)s baris data (%(found)s); batas impor GEO_APP_MAX_IMPORT_ROWS = %(limit)s: "
        "bagi berkasnya"
    ),
)
_TOO_MANY_FEATURES = (
    N_("%(file)s: lebih dari %(limit)s fitur data; batas impor GEO_APP_MAX_IMPORT_ROWS = %(limit)s: bagi berkasnya"),
    N_(
        "%(file)s: lebih dari %(limit)s fitur data (%(found)s); batas impor GEO_APP_MAX_IMPORT_ROWS = %(limit)s: "
        "bagi berkasnya"
    ),
)


def _too_many_columns(name: str, count: int) -> TooLarge:
    return TooLarge(
        msg_as(
            f"{name}: {count} kolom, batas / limit {MAX_COLUMNS}; hapus kolom yang tidak dipakai / "
            "too many columns, remove the unused ones",
            "%(file)s: %(count)s kolom, batas %(limit)s; hapus kolom yang tidak dipakai",
            file=name,
            count=count,
            limit=MAX_COLUMNS,
        ),
        details={"file": name, "limit": MAX_COLUMNS},
    )


def _header(cells: Sequence[Any], name: str) -> list[str]:
    header = ["" if _blank(c) else str(c).strip() for c in cells]
    while header and not header[-1]:
        header.pop()
    if len(header) > MAX_COLUMNS:
        raise _too_many_columns(name, len(header))
    return header


def _blank_row(cells: Sequence[Any]) -> bool:
    if not cells or cells.count(None) == len(cells):  # the common cases at C speed
        return True
    first = cells[0]
    if type(first) is str and first and not first.isspace():  # a CSV row with its first cell filled
        return False
    return all(_blank(c) for c in cells)


def _data_rows(
    numbered: Iterable[tuple[int, Sequence[Any]]], width: int, name: str, max_rows: int, clean=None
) -> list[tuple[int, Sequence[Any], int]]:
    """The non-blank rows below the header, cut to its ``width``, with how many non-blank cells each
    had beyond it; stops with ``TooLarge`` at data row ``max_rows + 1``, before anything is validated."""
    return list(_scan_rows(numbered, width, name, max_rows, clean))


def _scan_rows(
    numbered: Iterable[tuple[int, Sequence[Any]]], width: int, name: str, max_rows: int, clean=None
) -> Iterator[tuple[int, Sequence[Any], int]]:
    """``_data_rows`` one row at a time."""
    kept_rows = 0
    max_kept = min(max_rows, MAX_CELLS // max(width, 1))
    for number, cells in numbered:
        if _blank_row(cells):
            continue
        kept = cells[:width]
        if clean is not None:
            kept = [clean(c) for c in kept]
        extra = 0
        if len(cells) > width:
            beyond = cells[width:]
            extra = 0 if beyond.count(None) == len(beyond) else sum(1 for c in beyond if not _blank(c))
        if not extra and _blank_row(kept):
            continue
        if kept_rows >= max_kept:
            if kept_rows >= max_rows:
                raise too_many_rows(name, max_rows)
            raise TooLarge(
                msg_as(
                    f"{name}: lebih dari {MAX_CELLS} sel ({kept_rows} baris x {width} kolom); hapus kolom "
                    f"yang tidak dipakai / more than {MAX_CELLS} cells, remove unused columns",
                    "%(file)s: lebih dari %(limit)s sel (%(rows)s baris x %(columns)s kolom); hapus kolom yang "
                    "tidak dipakai",
                    file=name,
                    limit=MAX_CELLS,
                    rows=kept_rows,
                    columns=width,
                ),
                details={"file": name, "limit": MAX_CELLS},
            )
        kept_rows += 1
        yield number, kept, extra


def _blank(value: Any) -> bool:
    return value is None or (isinstance(value, str) and not value.strip())


# --- header mapping --------------------------------------------------------------------------------


def _location_ok(mapping: dict[str, str]) -> bool:
    return "desa_code" in mapping or "desa" in mapping or ("lat" in mapping and "lon" in mapping)


def _untitled_with_data(headers: list[str], rows: list[tuple[int, Sequence[Any], int]]) -> set[int]:
    """Indexes of the columns without a header that hold data somewhere (one pass over the rows)."""
    untitled = {i for i, h in enumerate(headers) if not h}
    found: set[int] = set()
    for _, cells, _ in rows:
        if not untitled - found:
            break
        found.update(i for i in untitled - found if i < len(cells) and not _blank(cells[i]))
    return found


def _map_header(table: _Table, name: str, kind: str) -> RecordStream:
    headers, warnings, unit = table.headers, table.warnings, table.unit
    allowed = set(KIND_FIELDS[kind])
    mapping: dict[str, str] = {}
    columns: dict[int, str] = {}  # column index -> canonical field
    unknown: list[str] = []
    unused: list[str] = []
    untitled = (
        table.untitled_with_data
        if table.untitled_with_data is not None
        else _untitled_with_data(headers, table.rows or [])
    )
    for i, h in enumerate(headers):
        if not h:
            if i in untitled:
                warnings.append(
                    msg_as(
                        f"{name}: kolom ke-{i + 1} tanpa judul diabaikan / column {i + 1} has no header, ignored",
                        "%(file)s: kolom ke-%(number)s tanpa judul diabaikan",
                        file=name,
                        number=i + 1,
                    )
                )
            continue
        fname = field_for(h, kind)
        if fname is None:
            unknown.append(h)
        elif fname not in allowed:
            unused.append(h)
        elif fname in mapping:
            raise InputFileError(
                msg_as(
                    f"{name}: kolom {mapping[fname]!r} dan {h!r} sama-sama berarti {fname!r} / "
                    f"both columns mean {fname!r}: keep one",
                    "%(file)s: kolom %(first)r dan %(second)r sama-sama berarti %(field)r; pakai satu saja",
                    file=name,
                    first=mapping[fname],
                    second=h,
                    field=fname,
                )
            )
        else:
            mapping[fname] = h
            columns[i] = fname
    if unknown:
        warnings.append(
            msg_as(
                f"{name}: kolom tidak dikenal diabaikan / unknown columns ignored: {', '.join(unknown)}",
                "%(file)s: kolom tidak dikenal diabaikan: %(columns)s",
                file=name,
                columns=", ".join(unknown),
            )
        )
    if unused:
        warnings.append(
            msg_as(
                f"{name}: kolom tidak dipakai untuk data {kind} / columns not used for {kind}: {', '.join(unused)}",
                "%(file)s: kolom tidak dipakai untuk data %(kind)s: %(columns)s",
                file=name,
                kind=kind,
                columns=", ".join(unused),
            )
        )
    missing = [f for f in REQUIRED[kind] if f not in mapping]
    if NEEDS_LOCATION[kind] and not _location_ok(mapping):
        missing.append("desa_code/desa/lat+lon")
    if missing:
        examples = {f: ALIASES.get(f, (f,))[0] for f in REQUIRED[kind]}
        hint = _joined(
            [
                f"{f} ({examples[f]})"
                if f in examples
                else msg_as(
                    f"{f} (kode_desa, desa atau lintang+bujur)",
                    "%(field)s (kode_desa, desa atau lintang+bujur)",
                    field=f,
                )
                for f in missing
            ]
        )
        found = ", ".join(h for h in headers if h) or msg_as("(none)", "(tidak ada)")
        raise InputFileError(
            msg_as(
                f"{name}: kolom wajib tidak ada / missing required columns: {hint}; kolom yang ada / headers found: {found}",
                "%(file)s: kolom wajib tidak ada: %(missing)s; kolom yang ada: %(found)s",
                file=name,
                missing=hint,
                found=found,
            )
        )
    if not len(table):
        raise InputFileError(
            msg_as(
                f"{name}: tidak ada baris data di bawah judul kolom / no data rows below the header",
                "%(file)s: tidak ada baris data di bawah judul kolom",
                file=name,
            )
        )
    return RecordStream(
        filename=name,
        kind=kind,
        headers=list(headers),
        mapping=mapping,
        columns=columns,
        total=len(table),
        warnings=warnings,
        row_errors=list(table.errors),
        unit=unit,
        _table=table,
    )


# --- writing a rejects file ------------------------------------------------------------------------


def safe_cell(value: Any) -> str:
    """Text for a spreadsheet cell that cannot run as a formula (OWASP CSV injection): cells starting
    with = + - @ (or tab/CR) get a leading apostrophe; plain numbers such as -2,56 are left alone."""
    if value is None:
        return ""
    if isinstance(value, datetime):
        text = value.strftime("%d/%m/%Y %H:%M")
    elif isinstance(value, date):
        text = value.strftime("%d/%m/%Y")
    elif isinstance(value, time):
        text = value.strftime("%H:%M")
    else:
        text = str(value)
    return neutralise_text(text)


def rejects_csv(headers: list[str], rows: list[tuple[dict[str, Any], str]]) -> bytes:
    """A semicolon CSV with BOM (opens in Excel as is): the original columns plus ``alasan``."""
    buf = io.StringIO()
    writer = csv.writer(buf, delimiter=";", lineterminator="\r\n")
    cols = [h for h in headers if h]
    writer.writerow([safe_cell(h) for h in cols] + ["alasan"])
    for original, reason in rows:
        writer.writerow([safe_cell(original.get(h)) for h in cols] + [safe_cell(reason)])
    return ("\ufeff" + buf.getvalue()).encode("utf-8")
