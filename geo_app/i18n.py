"""Labels and messages for maps, pages and exports: Bahasa Indonesia first, English by a switch (``?lang=en``).

Translations are gettext catalogs (Flask-Babel in the web layer): the msgids are the Indonesian texts
and ``translations/en/LC_MESSAGES/messages.po`` holds the English. Code outside a request (map builders,
exports, the CLI) passes ``lang`` to the functions here; ``t(key, lang)`` keeps the stable keys the map
builders and pages use. Data (desa names, venues, descriptions) is shown as entered. No Flask import.
"""

from __future__ import annotations

import functools
import gettext as gettext_module
import os
from collections.abc import Iterator, Mapping
from datetime import datetime
from pathlib import Path
from typing import Any

LANGS = ("id", "en")
DEFAULT_LANG = "id"

#: coverage status → fill colour. Chosen so that every two statuses differ by ΔE00 ≥ 20 for normal
#: vision AND simulated deuteranopia and protanopia (Machado 2009; geo_app/maps/colour_vision.py,
#: tests/maps/test_palette.py): deep red, orange, purple, mid grey, pale blue, which also differ in
#: lightness (38, 73, 41, 56, 89), so a greyscale print keeps most of them apart. The old red-yellow-green
#: set gave "Rawan insiden" and "Aman" ΔE00 ≈ 6 for red-green colour-blind viewers.
STATUS_COLORS = {
    "uncovered": "#b2182b",
    "at_risk": "#f7a13a",
    "insecure": "#6a51a3",
    "no_data": "#878787",
    "covered": "#bde5f5",
}
#: fill pattern on top of a status colour (a second cue besides colour): ``diagonal`` = thin light
#: diagonal lines over the fill (web map: an SVG pattern; print maps: matplotlib hatch ``PATTERN_HATCHES``)
STATUS_PATTERNS = {"uncovered": "diagonal"}
#: the matplotlib hatch of each pattern
PATTERN_HATCHES = {"diagonal": "///"}
#: outline of the desa a search found: ΔE00 ≥ 20 from every status colour (all three visions) and
#: from the kecamatan outlines (#222222); dark navy, not the "uncovered" red
SEARCH_OUTLINE_COLOR = "#000055"
#: incident heat layer (Leaflet.heat gradient, intensity → colour): one neutral ink ramp, light grey to
#: black, so density reads as darkness and no stop looks like a status hue (the old blue→red did)
HEAT_GRADIENT = {0.3: "#d9d9d9", 0.6: "#737373", 1.0: "#000000"}
#: roll-up maps (kabupaten, kecamatan at low zoom): share of uncovered desa → fill colour. One hue,
#: light to dark (ColorBrewer "Reds", 5 classes; sequential single-hue ramps stay ordered by lightness in
#: deuteranopia and protanopia and in greyscale), so "more gaps" reads as "darker" for every viewer; not
#: the status palette (a share is not a status). ``(upper bound of the class, colour)``, bounds inclusive.
SHARE_RAMP = (
    (0.0, "#fee5d9"),
    (0.1, "#fcae91"),
    (0.25, "#fb6a4a"),
    (0.5, "#de2d26"),
    (1.0, "#a50f15"),
)
#: outline of desa a planned rakor will reach (drawn over the status fill)
PLANNED_COLOR = "#2c7bb6"
#: incident severity → awesome-markers colour
SEVERITY_MARKER_COLORS = {"high": "darkred", "medium": "orange", "low": "beige"}

# --- the catalogs ----------------------------------------------------------------------------------------
#
# msgids are the Indonesian texts (the source language); English lives in
# translations/en/LC_MESSAGES/messages.po. Where one Indonesian word needs two English renderings
# (``Peta`` is "Map" and "Map of"), a msgctxt tells them apart. ``make translations`` extracts every
# msgid marked with _(), N_(), NP_(), msg(), gettext() or pgettext() (see babel.cfg).

WIB = "Asia/Jakarta"
_CATALOG_DOMAIN = "messages"


def N_(text: str) -> str:
    """Marks ``text`` as a msgid for extraction and returns it unchanged (translated where it is shown)."""
    return text


def NP_(context: str, text: str) -> tuple[str, str]:
    """Like ``N_`` with a msgctxt: for a word the catalog must translate two ways."""
    return (context, text)


def translations_dir() -> Path:
    from .config import TRANSLATIONS_DIR

    return TRANSLATIONS_DIR


def compile_catalogs(directory: Path | None = None) -> list[Path]:
    """Compile every ``.po`` under ``directory`` whose ``.mo`` is missing or older; returns those written.

    ``make install`` runs ``pybabel compile``; this is the same for a fresh clone or an edited ``.po``
    (create_app calls it), so nobody reads a stale catalog. The ``.mo`` is replaced atomically."""
    from babel.messages.mofile import write_mo
    from babel.messages.pofile import read_po

    written: list[Path] = []
    root = directory or translations_dir()
    for po in sorted(root.glob(f"*/LC_MESSAGES/{_CATALOG_DOMAIN}.po")):
        mo = po.with_suffix(".mo")
        if mo.exists() and mo.stat().st_mtime >= po.stat().st_mtime:
            continue
        with po.open("rb") as fh:
            catalog = read_po(fh, locale=po.parent.parent.name)
        tmp = mo.with_name(f".{mo.name}.{os.getpid()}.tmp")
        with tmp.open("wb") as fh:
            write_mo(fh, catalog, use_fuzzy=False)
        os.replace(tmp, mo)
        written.append(mo)
    return written


@functools.lru_cache(maxsize=8)
def _catalog_at(lang: str, stamp: float) -> gettext_module.NullTranslations:
    from babel.support import Translations

    if lang == DEFAULT_LANG:  # the source language: the msgids are the texts
        return gettext_module.NullTranslations()
    return Translations.load(str(translations_dir()), [lang], domain=_CATALOG_DOMAIN)


def catalog(lang: str) -> gettext_module.NullTranslations:
    """The compiled catalog of ``lang`` (compiled first when missing or stale; reloaded when it changes)."""
    lang = check_lang(lang)
    if lang == DEFAULT_LANG:
        return _catalog_at(lang, 0.0)
    po = translations_dir() / lang / "LC_MESSAGES" / f"{_CATALOG_DOMAIN}.po"
    mo = po.with_suffix(".mo")
    if po.exists() and (not mo.exists() or mo.stat().st_mtime < po.stat().st_mtime):
        compile_catalogs()
    return _catalog_at(lang, mo.stat().st_mtime if mo.exists() else 0.0)


def gettext(msgid: str, lang: str = DEFAULT_LANG) -> str:
    """``msgid`` (Indonesian) in ``lang``; the Indonesian text when the catalog lacks it."""
    return catalog(lang).gettext(msgid)


def pgettext(context: str, msgid: str, lang: str = DEFAULT_LANG) -> str:
    return catalog(lang).pgettext(context, msgid)


def _label(entry: str | tuple[str, str], lang: str) -> str:
    return pgettext(entry[0], entry[1], lang) if isinstance(entry, tuple) else gettext(entry, lang)


#: stable keys (used by maps, pages, exports) → Indonesian msgid, or (msgctxt, msgid)
LABELS: dict[str, str | tuple[str, str]] = {
    "nav_home": N_("Beranda"),
    "nav_map": N_("Peta"),
    "nav_gaps": N_("Daftar celah"),
    "nav_print": N_("Cetak"),
    "status.uncovered": N_("Belum terjangkau rakor"),
    "status.at_risk": N_("Rawan insiden"),
    "status.insecure": N_("Kurang personel"),
    "status.covered": N_("Aman"),
    "status.no_data": N_("Belum ada data TPS"),
    "flag.uncovered": N_("belum terjangkau"),
    "flag.at_risk": N_("rawan insiden"),
    "flag.insecure": N_("kurang personel"),
    "flag.no_data": N_("tanpa data TPS"),
    "flag.follow_up": N_("perlu tindak lanjut"),
    "flag.location_mismatch": N_("lokasi tidak cocok"),
    "flags": N_("Tanda"),
    "planned_meeting": N_("Rakor terencana"),
    "plan.none": N_("belum terjangkau, belum ada rencana"),
    "plan.planned": N_("belum terjangkau, direncanakan"),
    "plan.reached": N_("terjangkau"),
    "layer.planned": N_("Jangkauan rakor terencana"),
    "desa_without_tps": N_("Desa tanpa data TPS"),
    "personnel_required": N_("Personel dibutuhkan"),
    "personnel_assigned": N_("Personel ditugaskan"),
    "personnel_short": N_("Kekurangan"),
    "legend_title": N_("Status cakupan desa"),
    "layer.desa": N_("Desa/Kelurahan"),
    "layer.kecamatan": N_("Batas kecamatan"),
    "layer.kecamatan_labels": N_("Nama kecamatan"),
    "layer.desa_labels": N_("Nama desa"),
    "layer.tps": NP_("map layer", "TPS"),
    "layer.incidents": N_("Insiden"),
    "layer.heat": N_("Peta panas insiden"),
    "layer.meetings": NP_("map layer", "Rakor"),
    "layer.highlight": N_("Desa terpilih"),
    "layer.no_base": N_("Tanpa peta dasar"),
    "map.title": N_("Peta cakupan"),
    "map.search": N_("Cari desa/kelurahan"),
    "map.search_none": N_("Tidak ada desa dengan nama itu"),
    "map.copy_link": N_("Salin tautan"),
    "map.link_copied": N_("Tautan disalin"),
    "map.back_home": N_("← Beranda"),
    "map.back_kecamatan": N_("← Halaman kecamatan"),
    "map.back_desa": N_("← Halaman desa"),
    "map.legend": N_("Legenda"),
    "map.no_tiles": N_("Peta dasar tidak dapat dimuat (tanpa internet?): peta ditampilkan tanpa peta dasar."),
    "map.data_failed": N_("Data peta tidak dapat dimuat; geser peta untuk mencoba lagi."),
    "symbol.tps.secured": N_("TPS, personel cukup"),
    "symbol.tps.short": N_("TPS, personel kurang"),
    "symbol.incidents.high": N_("Insiden, keparahan tinggi"),
    "symbol.incidents.medium": N_("Insiden, keparahan sedang"),
    "symbol.incidents.low": N_("Insiden, keparahan rendah"),
    "symbol.meetings.meeting": N_("Rakor (tempat)"),
    "symbol.cluster": N_("Kelompok titik: angka = jumlah (klik untuk memperbesar)"),
    "symbol.heat": N_("Kepadatan insiden, berbobot keparahan"),
    "desa": N_("Desa"),
    "kecamatan": N_("Kecamatan"),
    "kabupaten": N_("Kabupaten/Kota"),
    "kabupaten_table": N_("Per kabupaten/kota"),
    "kecamatan_count": N_("Jumlah kecamatan"),
    "desa_uncovered": N_("Desa belum terjangkau"),
    "desa_at_risk": N_("Desa rawan insiden"),
    "share_uncovered": N_("Bagian desa belum terjangkau"),
    "open_kabupaten": N_("Halaman kabupaten/kota"),
    "code": N_("Kode"),
    "status": N_("Status"),
    "reasons": N_("Alasan"),
    "tps": N_("TPS"),
    "voters": N_("Pemilih"),
    "class": N_("Kelas"),
    "personnel": N_("Personel"),
    "requirement": N_("Kebutuhan"),
    "tps_number": N_("TPS nomor"),
    "shortfall": N_("Kekurangan personel"),
    "priority": N_("Prioritas"),
    "rank": N_("Peringkat"),
    "date": N_("Tanggal"),
    "venue": N_("Tempat"),
    "agencies": N_("Instansi"),
    "desa_reached": N_("Desa terjangkau"),
    "level": N_("Tingkat"),
    "category": N_("Kategori"),
    "severity": N_("Keparahan"),
    "incident_status": N_("Status insiden"),
    "description": N_("Uraian"),
    "occurred_at": N_("Waktu kejadian"),
    "meetings": N_("Rakor"),
    "incidents": N_("Insiden"),
    "all_desa_of_kecamatan": N_("semua desa di kecamatan"),
    "open_desa": N_("Buka halaman desa"),
    "rawan": N_("rawan"),
    "tidak_rawan": N_("tidak rawan"),
    "secured": N_("cukup"),
    "short": N_("kurang"),
    "dashboard": N_("Ringkasan kabupaten"),
    "share_reached": N_("Desa terjangkau rakor"),
    "tps_secured": N_("TPS dengan personel cukup"),
    "voters_uncovered": N_("Pemilih di desa belum terjangkau"),
    "incidents_by_severity": N_("Insiden menurut keparahan"),
    "top_gaps": N_("Sepuluh celah prioritas tertinggi"),
    "all_gaps": N_("Semua celah"),
    "gap_list": N_("Daftar celah cakupan"),
    "filter": N_("Saring"),
    "reset": N_("Atur ulang"),
    "all": N_("semua"),
    "download_csv": N_("Unduh CSV"),
    "download_xlsx": N_("Unduh XLSX"),
    "print_view": N_("Tampilan cetak"),
    "reference_date": N_("Tanggal acuan"),
    "window_days": N_("Jendela rakor (hari)"),
    "incident_window_days": N_("Jendela insiden (hari)"),
    "apply": N_("Terapkan"),
    "no_gaps": N_("Tidak ada celah."),
    "map_of": NP_("map of a place", "Peta"),
    "records": N_("Catatan"),
    "none": N_("Tidak ada."),
    "synthetic": N_("sintetis"),
    "print_title": N_("Celah cakupan per kecamatan"),
    "print_hint": N_("Cetak ke PDF lewat menu cetak peramban."),
    "kecamatan_table": N_("Kecamatan"),
    "desa_count": N_("Jumlah desa"),
    "share_tps": N_("TPS aman"),
    "last_meeting": N_("Rakor terakhir"),
    "view_settings": N_("Pengaturan tampilan"),
    # the A4 brief per kecamatan (maps/brief.py) and its links
    "brief.title": N_("Ringkasan kecamatan"),
    "brief.made": N_("dibuat"),
    "brief.preset": N_("Preset pengamanan"),
    "brief.data_version": N_("Versi data"),
    "brief.neighbours": N_("Kecamatan tetangga"),
    "brief.continued": N_("lanjutan"),
    "brief.page": N_("Halaman"),
    "brief.no": N_("No"),
    "brief.download": N_("Unduh ringkasan A4 (PDF)"),
    "brief.download_all": N_("Unduh ringkasan semua kecamatan (PDF)"),
    # TRANSLATORS: the link that switches to the other language: "English" on Indonesian pages
    "language": N_("English"),
    "low": N_("Rendah"),
    "medium": N_("Sedang"),
    "high": N_("Tinggi"),
    "total": N_("Jumlah"),
    "boundaries_missing": N_("Batas wilayah belum diimpor. Jalankan"),
    "area_km2": N_("Luas (km²)"),
    "open_map": N_("Buka peta layar penuh"),
    "number": N_("Nomor"),
    "address": N_("Alamat"),
    "title": N_("Judul"),
}


class _Texts(Mapping[str, dict[str, str]]):
    """``TEXTS[lang][key]`` as before the catalogs (read-only, computed from them)."""

    def __getitem__(self, lang: str) -> dict[str, str]:
        if lang not in LANGS:
            raise KeyError(lang)
        return {key: _label(entry, lang) for key, entry in LABELS.items()}

    def __iter__(self) -> Iterator[str]:
        return iter(LANGS)

    def __len__(self) -> int:
        return len(LANGS)


TEXTS: Mapping[str, dict[str, str]] = _Texts()


def check_lang(lang: str | None) -> str:
    return lang if lang in LANGS else DEFAULT_LANG


def t(key: str, lang: str = DEFAULT_LANG) -> str:
    """The label for ``key`` in ``lang`` from the catalog; the key itself when it is not a known label."""
    entry = LABELS.get(key)
    return key if entry is None else _label(entry, check_lang(lang))


def status_label(status: str, lang: str = DEFAULT_LANG) -> str:
    return t(f"status.{status}", lang)


def severity_label(severity: str, lang: str = DEFAULT_LANG) -> str:
    return t(severity, lang) if severity in ("low", "medium", "high") else str(severity)


def category_label(category: str, lang: str = DEFAULT_LANG) -> str:
    from .records.vocab import INCIDENT_CATEGORIES

    return gettext(INCIDENT_CATEGORIES[category], lang) if category in INCIDENT_CATEGORIES else str(category)


def flag_label(flag: str, lang: str = DEFAULT_LANG) -> str:
    return t(f"flag.{flag}", lang)


def vocab_labels(labels: Mapping[str, str], lang: str = DEFAULT_LANG) -> dict[str, str]:
    """A vocabulary (key → Indonesian label, see records/vocab.py) with its labels in ``lang``."""
    return {key: gettext(label, lang) for key, label in labels.items()}


# --- messages in both languages (errors, import reports) ------------------------------------------------


def _fill(template: str, params: Mapping[str, Any], lang: str) -> str:
    return template % {k: localize(v, lang) for k, v in params.items()} if params else template


class Message(str):
    """A user-facing message in both languages.

    As a ``str`` it is ``"<Indonesian> / <English>"`` (one text when both are equal): what the JSON API,
    the CLI and the logs show, as before the catalogs. A page shows ``in_lang(lang)``. Parameters may be
    Messages themselves (a file name before a row's reason) and follow the language too."""

    msgid: str
    params: dict[str, Any]

    def __new__(cls, msgid: str, params: Mapping[str, Any] | None = None, text: str | None = None) -> Message:
        params = dict(params or {})
        if text is None:
            indonesian = _fill(msgid, params, DEFAULT_LANG)
            english = _fill(gettext(msgid, "en"), params, "en")
            text = indonesian if indonesian == english else f"{indonesian} / {english}"
        self = super().__new__(cls, text)
        self.msgid = msgid
        self.params = params
        return self

    def in_lang(self, lang: str) -> str:
        return _fill(gettext(self.msgid, check_lang(lang)), self.params, check_lang(lang))

    def __reduce__(self) -> tuple[Any, ...]:
        return (Message, (self.msgid, self.params, str(self)))


def msg(msgid: str, **params: Any) -> Message:
    """A translatable message: ``msgid`` is the Indonesian text with ``%(name)s`` placeholders."""
    return Message(msgid, params)


def msg_as(text: str, msgid: str, **params: Any) -> Message:
    """A Message whose ``str`` stays ``text``: a bilingual text the JSON API and the CLI gave before the
    catalogs, which clients and tests match, e.g. ``"format: 'xml' tidak dikenal / unknown; pilihan /
    choose: …"``. Pages show ``msgid`` in their language like any Message."""
    return Message(msgid, params, text)


def reason_of(exc: BaseException) -> str:
    """The message an exception was raised with, a Message kept as one (``str(exc)`` would flatten it)."""
    first = exc.args[0] if exc.args else None
    return first if isinstance(first, Message) else str(exc)


def localize(value: Any, lang: str = DEFAULT_LANG) -> Any:
    """``value`` for a page in ``lang``: Messages in one language (inside lists and dicts too), the rest as is."""
    if isinstance(value, Message):
        return value.in_lang(lang)
    if isinstance(value, list | tuple):
        return type(value)(localize(v, lang) for v in value)
    if isinstance(value, dict):
        return {k: localize(v, lang) for k, v in value.items()}
    return value


# --- dates, times and numbers per language ---------------------------------------------------------------

DATE_PATTERN = "dd/MM/yyyy"  # both languages: the planners' habit, and unambiguous with the WIB suffix


def _is_missing(value: Any) -> bool:
    if value is None:
        return True
    try:
        import pandas as pd

        return bool(pd.isna(value))
    except (TypeError, ValueError):
        return False


def format_date(value: Any, lang: str = DEFAULT_LANG, missing: str = "-") -> str:
    """``dd/mm/yyyy`` for a date, datetime, pandas Timestamp or ISO text; ``missing`` for none/NaT."""
    if _is_missing(value) or value == "":
        return missing
    import pandas as pd

    return pd.Timestamp(value).strftime("%d/%m/%Y")


def to_wib(value: Any, naive: str = "wib") -> datetime:
    """A moment in WIB (UTC+7). ``naive``: what a naive value already is, ``"wib"`` (incident times are
    stored as WIB wall-clock time) or ``"utc"`` (audit times, which SQLite returns without their zone)."""
    import pandas as pd

    stamp = pd.Timestamp(value)
    if stamp.tzinfo is None:
        stamp = stamp.tz_localize(WIB if naive == "wib" else "UTC")
    return stamp.tz_convert(WIB).to_pydatetime()


def format_datetime(value: Any, lang: str = DEFAULT_LANG, naive: str = "wib", missing: str = "-") -> str:
    """``dd/mm/yyyy HH:MM WIB`` (24-hour clock in both languages)."""
    if _is_missing(value) or value == "":
        return missing
    return to_wib(value, naive).strftime("%d/%m/%Y %H:%M") + " WIB"


def format_number(value: Any, lang: str = DEFAULT_LANG, digits: int | None = None, missing: str = "-") -> str:
    """A number with the language's separators: ``139.976`` and ``12,5`` in Indonesian, ``139,976`` and
    ``12.5`` in English. ``digits``: fixed decimals (none: as many as the value has, up to three)."""
    if _is_missing(value):
        return missing
    from babel.numbers import format_decimal

    pattern = "#,##0" if digits == 0 else ("#,##0." + "0" * digits if digits else "#,##0.###")
    return format_decimal(value, format=pattern, locale=check_lang(lang))


def decimal_text(value: float, lang: str = DEFAULT_LANG) -> str:
    """A decimal for a ``;`` CSV cell: no grouping, the language's decimal mark (comma in Indonesian), so
    Excel with Indonesian settings reads it as a number."""
    from babel.numbers import format_decimal

    return format_decimal(float(value), format="0.##########", locale=check_lang(lang))


# --- coverage reason texts (one line per flag of a desa row) -------------------------------------

#: security forces → Indonesian label (msgid)
FORCE_LABELS_ID = {"police": N_("Polri"), "tni": N_("TNI"), "linmas": N_("Linmas")}


def _day(value: Any) -> str:
    return format_date(value)


def _num(value: float) -> str:
    return f"{value:g}"


def reason_texts(row: Any, settings: Any, lang: str = DEFAULT_LANG) -> list[str]:
    """Plain-language lines for each flag of one coverage row (``CoverageResult.desa`` row)."""
    lang = check_lang(lang)

    def _(msgid: str, **params: Any) -> str:
        return _fill(gettext(msgid, lang), params, lang)

    out: list[str] = []
    first, last = (_day(d) for d in settings.meeting_window)
    for flag in row.flags:
        if flag == "uncovered":
            planned = getattr(row, "planned_meeting_date", None)
            plan = (
                _("; direncanakan %(date)s", date=_day(planned))
                if planned is not None and not _is_missing(planned)
                else _("; belum ada rencana rakor")
            )
            out.append(
                _(
                    "Belum dijangkau rakor dari %(first)s sampai %(last)s (%(tps)s TPS, %(voters)s pemilih)%(plan)s",
                    first=first,
                    last=last,
                    tps=format_number(row.tps_count, lang),
                    voters=format_number(row.voters, lang),
                    plan=plan,
                )
            )
        elif flag == "insecure":
            short = {f: int(getattr(row, f"shortfall_{f}")) for f in ("police", "tni", "linmas")}
            parts = ", ".join(f"{n} {gettext(FORCE_LABELS_ID[f], lang)}" for f, n in short.items() if n)
            text = _(
                "%(below)s dari %(tps)s TPS kurang personel pengamanan",
                below=row.tps_below_requirement,
                tps=row.tps_count,
            )
            out.append(text + (_("; desa kurang %(parts)s", parts=parts) if parts else ""))
        elif flag == "at_risk":
            out.append(
                _(
                    "%(count)s insiden belum tuntas dengan bobot %(weight)s (ambang %(threshold)s) "
                    "dalam %(days)s hari terakhir",
                    count=row.unresolved_count,
                    weight=_num(row.unresolved_weight),
                    threshold=_num(settings.at_risk_threshold),
                    days=settings.incident_window_days,
                )
            )
        elif flag == "no_data":
            out.append(_("Belum ada data TPS: pengamanan belum bisa dinilai"))
        elif flag == "follow_up":
            out.append(
                _(
                    "Ada insiden belum tuntas (%(incident)s) setelah rakor terakhir (%(meeting)s)",
                    incident=_day(row.last_incident_at),
                    meeting=_day(row.last_meeting_date),
                )
            )
        elif flag == "location_mismatch":
            out.append(_("Titik TPS berada di luar desa yang dicatat"))
    return out
