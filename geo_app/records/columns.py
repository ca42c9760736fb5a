"""Validate a chunk of incident or TPS rows column by column (issue 11: imports at scale).

``clean_records`` (``schema.py``) reads one row at a time; a file of 100,000 incidents spent most of
its time there, looking the same desa names and category labels up again on every row. Here each
field is read down its column, remembering the result for each distinct value (a category column
holds a handful), dates in the common ``dd/mm/yyyy HH:MM`` form are read by pandas in one call, and
all points are placed with one spatial join (``analysis.placement.place_points``).

The column path only decides which rows are certainly good and what their values are; it mirrors
``clean_incident``/``clean_tps`` field by field. Every row it is not sure about (any error, any
value it does not know how to read) comes back as ``None``: the caller cleans that row with
``clean_record``, so a bad row gets exactly the message it always got. Meetings (few rows, lists of
reached desa) always go row by row. ``tests/records/test_bulk_import.py`` checks that both paths
agree, value for value and hash for hash.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping, Sequence
from typing import Any

import numpy as np
import pandas as pd

from ..analysis.placement import place_points
from ..geo import LAT_RANGE, LON_RANGE
from . import parse, vocab
from .schema import MAX_PERSONNEL_PER_TPS, MAX_VOTERS_PER_TPS, RecordContext, _url, content_hash

#: Kinds the column path handles; other kinds are cleaned row by row.
COLUMN_KINDS = ("incidents", "tps")
#: The location fields ``_locate`` reads (besides each kind's plain fields in ``_fields``).
LOCATION_FIELDS = ("desa_code", "desa", "kecamatan", "kabupaten", "lat", "lon")

_FAILED = object()
_DATETIME_FAST = r"\d{2}/\d{2}/\d{4} \d{2}:\d{2}"  # dd/mm/yyyy HH:MM, what Excel writes in Indonesia


def _choice(allowed, aliases=None) -> Callable[[Any], str]:
    def parse_choice(value: Any) -> str:
        key = vocab.lookup(str(value), allowed, aliases)
        if key is None:
            raise ValueError("unknown")
        return key

    return parse_choice


def _text(max_len: int) -> Callable[[Any], str | None]:
    return lambda v: parse.parse_text(v, max_len)


def _personnel(value: Any) -> int | None:
    return parse.parse_int(value, minimum=0, maximum=MAX_PERSONNEL_PER_TPS)


# (field, parser, required, default, distinct values are few): the plain fields of
# schema.clean_incident / clean_tps, in their order
_COMMON = [
    ("notes", _text(4000), False, None, True),
    ("source_url", _url, False, None, True),
    ("synthetic", parse.parse_bool, False, False, True),
]


def _fields(kind: str, ctx: RecordContext) -> list[tuple[str, Callable[[Any], Any], bool, Any, bool]]:
    if kind == "incidents":
        return [
            ("external_id", _text(64), False, None, False),
            ("occurred_at", parse.parse_datetime, True, None, False),
            ("reported_at", parse.parse_datetime, False, None, False),
            ("category", _choice(vocab.INCIDENT_CATEGORIES, vocab.CATEGORY_ALIASES), True, None, True),
            ("severity", _choice(vocab.SEVERITIES, vocab.SEVERITY_ALIASES), True, None, True),
            ("status", _choice(vocab.STATUSES, vocab.STATUS_ALIASES), False, "reported", True),
            ("description", _text(4000), True, None, False),
            ("source", _choice(vocab.SOURCES, vocab.SOURCE_ALIASES), False, None, True),
            *_COMMON,
        ]
    return [
        ("number", lambda v: parse.parse_int(v, minimum=1, maximum=999), True, None, True),
        ("voters", lambda v: parse.parse_int(v, minimum=0, maximum=MAX_VOTERS_PER_TPS), True, None, True),
        ("address", _text(200), False, None, False),
        (
            "vulnerability",
            _choice(
                ctx.vulnerability_classes,
                {"tidak rawan": "tidak_rawan", "aman": "tidak_rawan", "kurang rawan": "tidak_rawan"},
            ),
            False,
            "tidak_rawan",
            True,
        ),
        ("police", _personnel, False, 0, True),
        ("tni", _personnel, False, 0, True),
        ("linmas", _personnel, False, 0, True),
        *_COMMON,
    ]


class _Memo:
    """``fn`` remembered per distinct argument (by type and value, so ``1``, ``1.0`` and ``True`` stay
    apart); ``_FAILED`` where it raised ``ValueError`` (``DesaLookupError`` is one)."""

    def __init__(self, fn: Callable[..., Any]) -> None:
        self.fn = fn
        self.cache: dict[Any, Any] = {}
        self.text_cache: dict[str, Any] = {}

    def __call__(self, *args: Any) -> Any:
        if len(args) == 1 and type(args[0]) is str:  # the cells of a CSV
            try:
                return self.text_cache[args[0]]
            except KeyError:
                out = self.text_cache[args[0]] = self._run(args)
                return out
        key = tuple((type(a), a) for a in args)
        try:
            return self.cache[key]
        except KeyError:
            pass
        except TypeError:  # an unhashable cell (a GeoJSON list): not remembered
            return self._run(args)
        out = self.cache[key] = self._run(args)
        return out

    def _run(self, args: tuple[Any, ...]) -> Any:
        try:
            return self.fn(*args)
        except ValueError:
            return _FAILED


def _blank(value: Any) -> bool:
    """``parse.is_blank``, quicker for the text cells of a CSV."""
    if type(value) is str:
        return not value or value.isspace()
    return parse.is_blank(value)


def _read_column(
    values: Sequence[Any],
    parser: Callable[[Any], Any],
    required: bool,
    default: Any,
    bad: np.ndarray,
    run: _Memo | None = None,
) -> list[Any]:
    """``_Collector.get`` down a column: blank -> default (or bad when required), else the parsed value
    (default where the parser gives None); a value the parser refuses marks its row bad. ``run``
    remembers the parser's results per distinct value."""
    out: list[Any] = [default] * len(values)
    for j, value in enumerate(values):
        if _blank(value):
            if required:
                bad[j] = True
            continue
        if run is not None:
            result = run(value)
        else:
            try:
                result = parser(value)
            except ValueError:
                result = _FAILED
        if result is _FAILED:
            bad[j] = True
        elif result is not None:
            out[j] = result
    return out


def _read_datetimes(values: Sequence[Any], required: bool, bad: np.ndarray) -> list[Any]:
    """``parse.parse_datetime`` down a column: cells shaped exactly ``dd/mm/yyyy HH:MM`` (the only
    format that shape can match first) in one pandas call, every other cell by the parser itself."""
    series = pd.Series(list(values), dtype=object)
    is_text = series.map(type).eq(str)
    fast = pd.Series(False, index=series.index)
    if is_text.any():
        fast[is_text] = series[is_text].str.fullmatch(_DATETIME_FAST).fillna(False).astype(bool)
    out: list[Any] = [None] * len(values)
    if fast.any():
        stamps = pd.to_datetime(series[fast], format="%d/%m/%Y %H:%M", errors="coerce")
        good = stamps.notna()
        for j, stamp in zip(stamps.index[good], stamps[good].dt.to_pydatetime()):
            out[j] = stamp
        fast[stamps.index[~good]] = False  # impossible dates (31/02): the parser gives the message
    rest = np.flatnonzero(~fast.to_numpy())
    if len(rest):
        failed_rows = np.zeros(len(rest), dtype=bool)
        slow = _read_column([values[j] for j in rest], parse.parse_datetime, required, None, failed_rows)
        for j, value, failed in zip(rest, slow, failed_rows):
            out[j] = value
            bad[j] = bad[j] or failed
    return out


def _locate(
    column: Callable[[str], list[Any]], n: int, ctx: RecordContext, bad: np.ndarray, memos: dict[str, _Memo]
) -> dict[str, list[Any]]:
    """``schema._location`` (need_desa=True) for a whole chunk: the desa from its code or name (names
    checked against the code as ``_check_code_against_names`` does), the point placed by the one rule
    in one spatial join, the mismatch flag, a ``kabupaten`` given checked against the desa; rows where
    anything is off are marked bad."""
    lookup = ctx.lookup
    raw_code, raw_desa, raw_kec = column("desa_code"), column("desa"), column("kecamatan")
    raw_kab = column("kabupaten")
    by_code = memos.setdefault("desa_code", _Memo(lookup.desa_code))
    by_name = memos.setdefault("desa_by_name", _Memo(lookup.desa_by_name))
    kecamatan = memos.setdefault("kecamatan", _Memo(lookup.kecamatan))
    kabupaten = memos.setdefault("kabupaten", _Memo(lookup.kabupaten))
    code: list[str | None] = [None] * n
    kab: list[str | None] = [None] * n
    for j in range(n):
        if not _blank(raw_kab[j]):
            found = kabupaten(raw_kab[j])
            if found is _FAILED:
                bad[j] = True
                continue
            kab[j] = found
        if not _blank(raw_code[j]):
            found = by_code(raw_code[j])
            if found is _FAILED:
                bad[j] = True
                continue
            code[j] = found
            kec_of = lookup.kecamatan_of[found]
            if not _blank(raw_kec[j]):
                other = kecamatan(raw_kec[j])
                if other is not _FAILED and other != kec_of:
                    bad[j] = True
            if not _blank(raw_desa[j]):
                other = by_name(raw_desa[j], kec_of)
                if other is not _FAILED and other != found:
                    bad[j] = True
        elif not _blank(raw_desa[j]):
            found = by_name(raw_desa[j], raw_kec[j], kab[j])
            if found is _FAILED:
                bad[j] = True
            else:
                code[j] = found
    lat = _read_column(column("lat"), parse.parse_float, False, None, bad)
    lon = _read_column(column("lon"), parse.parse_float, False, None, bad)
    lat_a = np.array([np.nan if v is None else v for v in lat], dtype=float)
    lon_a = np.array([np.nan if v is None else v for v in lon], dtype=float)
    has_lat, has_lon = ~np.isnan(lat_a), ~np.isnan(lon_a)
    bad |= has_lat != has_lon  # one of the two
    point = has_lat & has_lon
    in_range = (lat_a >= LAT_RANGE[0]) & (lat_a <= LAT_RANGE[1]) & (lon_a >= LON_RANGE[0]) & (lon_a <= LON_RANGE[1])
    bad |= point & ~in_range  # swapped or outside Indonesia
    out: dict[str, list[Any]] = {
        "lon": [None] * n,
        "lat": [None] * n,
        "point_desa_code": [None] * n,
        "location_mismatch": [False] * n,
        "placement": [None] * n,
        "desa_code": code,
    }
    todo = np.flatnonzero(point & ~bad)
    if len(todo):
        pairs = ctx.covering(lon_a[todo], lat_a[todo]) if ctx.covering is not None else None
        placed = place_points(
            lon_a[todo], lat_a[todo], ctx.desa, ctx.tolerance_m, declared=[code[j] for j in todo], covering_pairs=pairs
        )
        for j, desa, how in zip(todo, placed["desa_code"].tolist(), placed["placement"].tolist()):
            if desa is None:
                bad[j] = True  # outside the kabupaten
                continue
            out["lon"][j], out["lat"][j] = lon[j], lat[j]
            out["point_desa_code"][j], out["placement"][j] = desa, how
            if code[j] is None:
                code[j] = desa
            elif code[j] != desa:
                out["location_mismatch"][j] = True
    kab_of = lookup.kecamatan_kabupaten
    for j in range(n):
        if code[j] is None:
            bad[j] = True  # neither a desa nor a point
        elif kab[j] is not None and kab_of[lookup.kecamatan_of[code[j]]] != kab[j]:
            bad[j] = True  # the desa is in another kabupaten than the one given
        elif out["placement"][j] is None:
            out["placement"][j] = "desa"
    return out


class ColumnCleaner:
    """Cleans the chunks of one import column by column (``clean``), remembering per distinct value
    what each field's parser and the desa lookups said across the chunks."""

    def __init__(self, kind: str, ctx: RecordContext, inputs: Iterable[str] | None = None) -> None:
        """``inputs``: the canonical fields the rows carry (a file's mapped columns). A field this
        path does not read (one added to ``clean_record`` only) sends every row the row-by-row way."""
        self.kind, self.ctx = kind, ctx
        self.fields = _fields(kind, ctx) if kind in COLUMN_KINDS else []
        known = {name for name, *_ in self.fields} | set(LOCATION_FIELDS)
        self.enabled = kind in COLUMN_KINDS and not (set(inputs or ()) - known)
        self.memos: dict[str, _Memo] = {name: _Memo(parser) for name, parser, _, _, few in self.fields if few}

    def clean(self, column: Callable[[str], list[Any]], n: int) -> list[dict[str, Any] | None]:
        """The cleaned values of each of ``n`` rows (``column(field)`` gives a field's raw values down
        the chunk), exactly as ``clean_record`` gives them, or ``None`` for a row to clean with
        ``clean_record`` (any doubt, any error; every row of a kind outside ``COLUMN_KINDS``)."""
        kind = self.kind
        if not self.enabled:
            return [None] * n
        bad = np.zeros(n, dtype=bool)
        values: dict[str, list[Any]] = {}
        for name, parser, required, default, _ in self.fields:
            if parser is parse.parse_datetime:
                values[name] = _read_datetimes(column(name), required, bad)
            else:
                values[name] = _read_column(column(name), parser, required, default, bad, self.memos.get(name))
        if kind == "incidents":
            for j, (occurred, reported) in enumerate(zip(values["occurred_at"], values["reported_at"])):
                if occurred and reported and reported < occurred:
                    bad[j] = True
        else:
            values.pop("source_url")
        values.update(_locate(column, n, self.ctx, bad, self.memos))
        names = list(values)
        out: list[dict[str, Any] | None] = [None] * n
        for j in np.flatnonzero(~bad).tolist():
            row = {name: values[name][j] for name in names}
            if kind == "incidents":
                row["content_hash"] = content_hash(kind, row)
            out[j] = row
        return out


def clean_columns(
    kind: str, column: Callable[[str], list[Any]], n: int, ctx: RecordContext
) -> list[dict[str, Any] | None]:
    """``ColumnCleaner(kind, ctx).clean(column, n)`` for one chunk."""
    return ColumnCleaner(kind, ctx).clean(column, n)


def row_getter(rows: Sequence[Mapping[str, Any]]) -> Callable[[str], list[Any]]:
    """``column`` for ``clean_columns`` over raw row dicts (tests, callers holding rows)."""
    return lambda name: [r.get(name) for r in rows]
