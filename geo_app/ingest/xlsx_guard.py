"""Bounds on what an uploaded XLSX may unpack to, checked before openpyxl opens it.

An XLSX is a zip of XML parts. openpyxl trusts them: it keeps the whole shared-strings table in
memory, builds each sheet row as one element tree, and parses every sheet of a workbook whose
``<dimension>`` is missing to the end. A few kilobytes of zip can unpack to gigabytes of such XML
(a zip bomb), so before any of that this module streams every part once, in C-speed chunks, and
refuses the file when

* the parts declare more than ``MAX_UNPACKED_BYTES`` in total (zipfile never yields more than a
  part declares), or there are more than ``MAX_PARTS`` of them;
* a part declares a DOCTYPE or entities (never in a real spreadsheet; entities can expand markup);
* one sheet row, or one shared string, holds more than ``MAX_SEGMENT_TAGS`` tags or
  ``MAX_SEGMENT_BYTES`` bytes, or a sheet more than ``MAX_SHEET_ROWS`` rows (Excel's limit);
* the shared strings number more than ``MAX_SHARED_STRINGS`` or exceed ``MAX_SHARED_STRING_BYTES``;
* everything else (styles, workbook, sheet headers and trailers, stray elements between rows,
  which openpyxl keeps in memory) holds more than ``MAX_OTHER_TAGS`` tags or ``MAX_OTHER_BYTES``.

Tags are counted by their ``<``, which XML allows nowhere else outside comments, CDATA and
processing instructions; from the first of those on, a part's row and string boundaries are no
longer trusted and the rest of the part counts as one segment, under the limits of one row.

The limits are far above what Excel, LibreOffice or openpyxl write for files at the import row limit.
"""

from __future__ import annotations

import io
import re
import zipfile
from dataclasses import dataclass
from typing import BinaryIO

from ..errors import InputFileError, TooLarge
from ..i18n import msg_as

MAX_PARTS = 1000
MAX_UNPACKED_BYTES = 256 * 1024 * 1024
MAX_SEGMENT_TAGS = 200_000  # one row: 16,384 cells of about 4-6 tags each fit
MAX_SEGMENT_BYTES = 16 * 1024 * 1024
MAX_SHEET_ROWS = 1_048_576
MAX_SHARED_STRINGS = 2_000_000
MAX_SHARED_STRING_BYTES = 100 * 1024 * 1024
MAX_OTHER_TAGS = 2_000_000
MAX_OTHER_BYTES = 64 * 1024 * 1024

_CHUNK = 1 << 20
_TAIL = 256  # bytes kept for the next chunk, so that a boundary tag cut in two is still found
#: Start and end tags that open a new segment: sheet rows, shared strings, the sheet data.
_BOUNDARY = re.compile(rb"<(/?)(?:[A-Za-z_][\w.\-]*:)?(row|si|sheetData)(?=[\s/>])")
_PROLOG = re.compile(rb"(?:\xef\xbb\xbf)?\s*<\?xml[^>]*\?>")
_DECLARATIONS = (b"<!DOCTYPE", b"<!ENTITY")


@dataclass
class _Totals:
    """Package-wide counters."""

    shared_strings: int = 0
    shared_string_bytes: int = 0
    other_tags: int = 0
    other_bytes: int = 0


def _too_large(name: str, what: str) -> TooLarge:
    return TooLarge(
        f"{name}: XLSX terlalu besar atau rumit setelah dibuka / XLSX too large or too complex once "
        f"unpacked: {what}; simpan ulang dari Excel/LibreOffice atau bagi berkasnya / save it again "
        "from Excel/LibreOffice or split it",
        details={"file": name},
    )


def check_xlsx_package(data: bytes | BinaryIO, name: str) -> None:
    """Raise ``TooLarge`` (413) for a package beyond the limits above, ``InputFileError`` for a damaged zip."""
    try:
        archive = zipfile.ZipFile(io.BytesIO(data) if isinstance(data, (bytes, bytearray)) else data)
    except (zipfile.BadZipFile, OSError, ValueError, EOFError) as exc:
        raise InputFileError(
            msg_as(
                f"{name}: bukan XLSX atau rusak/terpotong / not an XLSX file, or damaged/truncated ({type(exc).__name__})",
                "%(file)s: bukan XLSX atau rusak/terpotong (%(error)s)",
                file=name,
                error=type(exc).__name__,
            )
        ) from None
    with archive:
        infos = archive.infolist()
        if len(infos) > MAX_PARTS:
            raise _too_large(name, f"{len(infos)} bagian / parts (maks. {MAX_PARTS})")
        unpacked = sum(i.file_size for i in infos)
        if unpacked > MAX_UNPACKED_BYTES:
            raise _too_large(name, f"{unpacked // 2**20} MB (maks. {MAX_UNPACKED_BYTES // 2**20} MB)")
        totals = _Totals()
        for info in infos:
            if info.is_dir():
                continue
            try:
                with archive.open(info) as stream:
                    _scan_part(stream, f"{name}:{info.filename}", name, totals)
            except InputFileError:  # TooLarge included
                raise
            except (
                zipfile.BadZipFile,
                OSError,
                ValueError,
                EOFError,
                RuntimeError,
                NotImplementedError,
                zipfile.LargeZipFile,
            ) as exc:  # RuntimeError: encrypted; NotImplementedError: compression
                raise InputFileError(
                    msg_as(
                        f"{name}: XLSX rusak/terpotong / damaged or truncated XLSX ({type(exc).__name__}: {info.filename})",
                        "%(file)s: XLSX rusak/terpotong (%(error)s)",
                        file=name,
                        error=f"{type(exc).__name__}: {info.filename}",
                    )
                ) from None


def _scan_part(stream: BinaryIO, where: str, name: str, totals: _Totals) -> None:
    chunk = stream.read(_CHUNK)
    head = chunk[:4096].lstrip(b"\xef\xbb\xbf \t\r\n")
    if not (head.startswith(b"<") or chunk.startswith((b"\xff\xfe", b"\xfe\xff"))):
        while stream.read(_CHUNK):  # not XML (an image...): it only counts towards the unpacked size
            pass
        return
    segments = _Segments(where, name, totals)
    prolog = _PROLOG.match(chunk)
    start = prolog.end() if prolog else 0
    tail = b""
    while chunk:
        following = stream.read(_CHUNK)
        buf = tail + chunk
        end = len(buf) if not following else max(start, len(buf) - _TAIL)
        segments.feed(buf, start, end)
        tail, start, chunk = buf[end:], 0, following


class _Segments:
    """Counts tags (``<``) and bytes per segment of one part: a sheet row, a shared string, or other."""

    def __init__(self, where: str, name: str, totals: _Totals) -> None:
        self.where, self.name, self.totals = where, name, totals
        self.kind, self.tags, self.size, self.rows = "other", 0, 0, 0
        self.trusted = True

    def feed(self, buf: bytes, start: int, end: int) -> None:
        """Count ``buf[start:end]``; the rest of ``buf`` is counted with the next chunk."""
        if any(d in buf for d in _DECLARATIONS):
            raise InputFileError(
                f"{self.where}: XLSX berisi DOCTYPE/ENTITY XML / XLSX declares an XML DOCTYPE or "
                "entities; simpan ulang dari Excel/LibreOffice / save it again from Excel/LibreOffice"
            )
        stop = end  # where boundaries stop being trusted: comments, CDATA or instructions could hide them
        if self.trusted:
            found = [p for p in (buf.find(b"<!", start, end + 1), buf.find(b"<?", start, end + 1)) if p >= 0]
            stop = min(found) if found else end
        pos = start
        if self.trusted:
            for m in _BOUNDARY.finditer(buf, start):
                if m.start() >= stop:
                    break
                self._add(buf, pos, m.start())
                self.tags = self.size = 0
                closing, tag = m.group(1), m.group(2)
                self.kind = "other" if closing or tag == b"sheetData" else tag.decode()
                if self.kind == "row":
                    self.rows += 1
                    if self.rows > MAX_SHEET_ROWS:
                        raise _too_large(self.name, f"lebih dari / more than {MAX_SHEET_ROWS} baris / rows")
                elif self.kind == "si":
                    self.totals.shared_strings += 1
                    if self.totals.shared_strings > MAX_SHARED_STRINGS:
                        raise _too_large(
                            self.name, f"lebih dari / more than {MAX_SHARED_STRINGS} teks bersama / shared strings"
                        )
                pos = m.start()
            if stop < end:  # the rest of the part is one segment, under the limits of one row
                self._add(buf, pos, stop)
                self.trusted, self.kind, self.tags, self.size, pos = False, "tainted", 0, 0, stop
        self._add(buf, pos, end)

    def _add(self, buf: bytes, a: int, b: int) -> None:
        if b <= a:
            return
        tags, size, totals = buf.count(b"<", a, b), b - a, self.totals
        if self.kind == "other":
            totals.other_tags += tags
            totals.other_bytes += size
            if totals.other_tags > MAX_OTHER_TAGS or totals.other_bytes > MAX_OTHER_BYTES:
                raise _too_large(
                    self.name,
                    f"bagian {self.where} terlalu banyak elemen / too many elements "
                    f"(maks. {MAX_OTHER_TAGS} tag, {MAX_OTHER_BYTES // 2**20} MB)",
                )
            return
        self.tags += tags
        self.size += size
        if self.tags > MAX_SEGMENT_TAGS or self.size > MAX_SEGMENT_BYTES:
            what = {"row": "satu baris / one row", "si": "satu teks / one string"}.get(
                self.kind, "XML setelah komentar/CDATA / XML after a comment or CDATA"
            )
            raise _too_large(
                self.name,
                f"{what} di / in {self.where} melebihi / exceeds {MAX_SEGMENT_TAGS} tag "
                f"atau / or {MAX_SEGMENT_BYTES // 2**20} MB",
            )
        if self.kind == "si":
            totals.shared_string_bytes += size
            if totals.shared_string_bytes > MAX_SHARED_STRING_BYTES:
                raise _too_large(self.name, f"teks bersama / shared strings > {MAX_SHARED_STRING_BYTES // 2**20} MB")
