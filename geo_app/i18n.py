"""Labels for maps and pages: Bahasa Indonesia first, English by a switch (``?lang=en``).

A small dictionary is enough: the page chrome, legends and status names. Data (desa names, venues,
descriptions) is shown as entered. No Flask import: map builders take ``lang`` as an argument.
"""

from __future__ import annotations

from typing import Any

from .records.vocab import INCIDENT_CATEGORIES
from .records.vocab import SEVERITIES as SEVERITY_LABELS_ID

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
#: fill pattern on top of a status colour (a second cue besides colour): ``diagonal`` = thin dark
#: diagonal lines (web map: an SVG pattern; print maps: matplotlib hatch ``STATUS_HATCHES``)
STATUS_PATTERNS = {"uncovered": "diagonal"}
#: the matplotlib hatch of each pattern
PATTERN_HATCHES = {"diagonal": "///"}
#: outline of the desa a search found: ΔE00 ≥ 20 from every status colour (all three visions) and
#: from the kecamatan outlines (#222222); dark navy, not the "uncovered" red
SEARCH_OUTLINE_COLOR = "#000055"
#: incident heat layer (Leaflet.heat gradient, intensity → colour): one neutral ink ramp, light grey to
#: black, so density reads as darkness and no stop looks like a status hue (the old blue→red did)
HEAT_GRADIENT = {0.3: "#d9d9d9", 0.6: "#737373", 1.0: "#000000"}
#: outline of desa a planned rakor will reach (drawn over the status fill)
PLANNED_COLOR = "#2c7bb6"
#: incident severity → awesome-markers colour
SEVERITY_MARKER_COLORS = {"high": "darkred", "medium": "orange", "low": "beige"}

_EN_CATEGORIES = {
    "money_politics": "Money politics",
    "intimidation": "Intimidation",
    "neutrality_asn": "Civil-servant neutrality",
    "neutrality_village": "Village officials' neutrality",
    "neutrality_bpd": "BPD neutrality",
    "hoax": "Hoax/disinformation",
    "apk": "Campaign material damage/illegal posting",
    "violence": "Clash/violence",
    "logistics": "Logistics disruption",
    "other": "Other",
}

TEXTS: dict[str, dict[str, str]] = {
    "id": {
        "app_title": "Peta Koordinasi Pilkada Kabupaten Mukomuko",
        "nav_home": "Beranda",
        "nav_map": "Peta",
        "nav_gaps": "Daftar celah",
        "nav_print": "Cetak",
        "status.uncovered": "Belum terjangkau rakor",
        "status.at_risk": "Rawan insiden",
        "status.insecure": "Kurang personel",
        "status.covered": "Aman",
        "status.no_data": "Belum ada data TPS",
        "flag.uncovered": "belum terjangkau",
        "flag.at_risk": "rawan insiden",
        "flag.insecure": "kurang personel",
        "flag.no_data": "tanpa data TPS",
        "flag.follow_up": "perlu tindak lanjut",
        "flag.location_mismatch": "lokasi tidak cocok",
        "flags": "Tanda",
        "planned_meeting": "Rakor terencana",
        "plan.none": "belum terjangkau, belum ada rencana",
        "plan.planned": "belum terjangkau, direncanakan",
        "plan.reached": "terjangkau",
        "layer.planned": "Jangkauan rakor terencana",
        "desa_without_tps": "Desa tanpa data TPS",
        "personnel_required": "Personel dibutuhkan",
        "personnel_assigned": "Personel ditugaskan",
        "personnel_short": "Kekurangan",
        "legend_title": "Status cakupan desa",
        "layer.desa": "Desa/Kelurahan",
        "layer.kecamatan": "Batas kecamatan",
        "layer.kecamatan_labels": "Nama kecamatan",
        "layer.desa_labels": "Nama desa",
        "layer.tps": "TPS",
        "layer.incidents": "Insiden",
        "layer.heat": "Peta panas insiden",
        "layer.meetings": "Rakor",
        "layer.highlight": "Desa terpilih",
        "desa": "Desa",
        "kecamatan": "Kecamatan",
        "code": "Kode",
        "status": "Status",
        "reasons": "Alasan",
        "tps": "TPS",
        "voters": "Pemilih",
        "class": "Kelas",
        "personnel": "Personel",
        "requirement": "Kebutuhan",
        "tps_number": "TPS nomor",
        "shortfall": "Kekurangan personel",
        "priority": "Prioritas",
        "rank": "Peringkat",
        "date": "Tanggal",
        "venue": "Tempat",
        "agencies": "Instansi",
        "desa_reached": "Desa terjangkau",
        "level": "Tingkat",
        "category": "Kategori",
        "severity": "Keparahan",
        "incident_status": "Status insiden",
        "description": "Uraian",
        "occurred_at": "Waktu kejadian",
        "meetings": "Rakor",
        "incidents": "Insiden",
        "all_desa_of_kecamatan": "semua desa di kecamatan",
        "open_desa": "Buka halaman desa",
        "rawan": "rawan",
        "tidak_rawan": "tidak rawan",
        "secured": "cukup",
        "short": "kurang",
        "dashboard": "Ringkasan kabupaten",
        "share_reached": "Desa terjangkau rakor",
        "tps_secured": "TPS dengan personel cukup",
        "voters_uncovered": "Pemilih di desa belum terjangkau",
        "incidents_by_severity": "Insiden menurut keparahan",
        "top_gaps": "Sepuluh celah prioritas tertinggi",
        "all_gaps": "Semua celah",
        "gap_list": "Daftar celah cakupan",
        "filter": "Saring",
        "reset": "Atur ulang",
        "all": "semua",
        "download_csv": "Unduh CSV",
        "download_xlsx": "Unduh XLSX",
        "print_view": "Tampilan cetak",
        "reference_date": "Tanggal acuan",
        "window_days": "Jendela rakor (hari)",
        "incident_window_days": "Jendela insiden (hari)",
        "apply": "Terapkan",
        "no_gaps": "Tidak ada celah.",
        "map_of": "Peta",
        "records": "Catatan",
        "none": "Tidak ada.",
        "synthetic": "sintetis",
        "print_title": "Celah cakupan per kecamatan",
        "print_hint": "Cetak ke PDF lewat menu cetak peramban.",
        "kecamatan_table": "Kecamatan",
        "desa_count": "Jumlah desa",
        "share_tps": "TPS aman",
        "last_meeting": "Rakor terakhir",
        "view_settings": "Pengaturan tampilan",
        "language": "English",
        "low": "Rendah",
        "medium": "Sedang",
        "high": "Tinggi",
        "total": "Jumlah",
        "boundaries_missing": "Batas wilayah belum diimpor. Jalankan",
        "area_km2": "Luas (km²)",
        "open_map": "Buka peta layar penuh",
        "number": "Nomor",
        "address": "Alamat",
        "title": "Judul",
    },
    "en": {
        "app_title": "Pilkada Coordination Map, Mukomuko Regency",
        "nav_home": "Home",
        "nav_map": "Map",
        "nav_gaps": "Gap list",
        "nav_print": "Print",
        "status.uncovered": "Not reached by a meeting",
        "status.at_risk": "Incident risk",
        "status.insecure": "Short of personnel",
        "status.covered": "Covered",
        "status.no_data": "No TPS data",
        "flag.uncovered": "not reached",
        "flag.at_risk": "incident risk",
        "flag.insecure": "short of personnel",
        "flag.no_data": "no TPS data",
        "flag.follow_up": "needs follow-up",
        "flag.location_mismatch": "location mismatch",
        "flags": "Flags",
        "planned_meeting": "Planned meeting",
        "plan.none": "not reached, nothing planned",
        "plan.planned": "not reached, planned",
        "plan.reached": "reached",
        "layer.planned": "Reach of planned meetings",
        "desa_without_tps": "Desa without TPS data",
        "personnel_required": "Personnel required",
        "personnel_assigned": "Personnel assigned",
        "personnel_short": "Short",
        "legend_title": "Desa coverage status",
        "layer.desa": "Desa/Kelurahan",
        "layer.kecamatan": "Kecamatan boundaries",
        "layer.kecamatan_labels": "Kecamatan names",
        "layer.desa_labels": "Desa names",
        "layer.tps": "Polling stations (TPS)",
        "layer.incidents": "Incidents",
        "layer.heat": "Incident heat map",
        "layer.meetings": "Coordination meetings",
        "layer.highlight": "Selected desa",
        "desa": "Desa",
        "kecamatan": "Kecamatan",
        "code": "Code",
        "status": "Status",
        "reasons": "Reasons",
        "tps": "TPS",
        "voters": "Voters",
        "class": "Class",
        "personnel": "Personnel",
        "requirement": "Requirement",
        "tps_number": "TPS number",
        "shortfall": "Personnel shortfall",
        "priority": "Priority",
        "rank": "Rank",
        "date": "Date",
        "venue": "Venue",
        "agencies": "Agencies",
        "desa_reached": "Desa reached",
        "level": "Level",
        "category": "Category",
        "severity": "Severity",
        "incident_status": "Incident status",
        "description": "Description",
        "occurred_at": "Occurred",
        "meetings": "Meetings",
        "incidents": "Incidents",
        "all_desa_of_kecamatan": "every desa of the kecamatan",
        "open_desa": "Open the desa page",
        "rawan": "vulnerable",
        "tidak_rawan": "not vulnerable",
        "secured": "enough",
        "short": "short",
        "dashboard": "Regency summary",
        "share_reached": "Desa reached by a meeting",
        "tps_secured": "TPS with enough personnel",
        "voters_uncovered": "Voters in unreached desa",
        "incidents_by_severity": "Incidents by severity",
        "top_gaps": "Ten highest-priority gaps",
        "all_gaps": "All gaps",
        "gap_list": "Coverage gap list",
        "filter": "Filter",
        "reset": "Reset",
        "all": "all",
        "download_csv": "Download CSV",
        "download_xlsx": "Download XLSX",
        "print_view": "Print view",
        "reference_date": "Reference date",
        "window_days": "Meeting window (days)",
        "incident_window_days": "Incident window (days)",
        "apply": "Apply",
        "no_gaps": "No gaps.",
        "map_of": "Map of",
        "records": "Records",
        "none": "None.",
        "synthetic": "synthetic",
        "print_title": "Coverage gaps per kecamatan",
        "print_hint": "Print to PDF from the browser's print menu.",
        "kecamatan_table": "Kecamatan",
        "desa_count": "Desa",
        "share_tps": "TPS secured",
        "last_meeting": "Last meeting",
        "view_settings": "View settings",
        "language": "Bahasa Indonesia",
        "low": "Low",
        "medium": "Medium",
        "high": "High",
        "total": "Total",
        "boundaries_missing": "Boundaries not imported yet. Run",
        "area_km2": "Area (km²)",
        "open_map": "Open the full-screen map",
        "number": "Number",
        "address": "Address",
        "title": "Title",
    },
}


def check_lang(lang: str | None) -> str:
    return lang if lang in LANGS else DEFAULT_LANG


def t(key: str, lang: str = DEFAULT_LANG) -> str:
    """The label for ``key``; the Indonesian one when English lacks it, the key itself as a last resort."""
    return TEXTS[check_lang(lang)].get(key) or TEXTS[DEFAULT_LANG].get(key, key)


def status_label(status: str, lang: str = DEFAULT_LANG) -> str:
    return t(f"status.{status}", lang)


def severity_label(severity: str, lang: str = DEFAULT_LANG) -> str:
    return t(severity, lang) if severity in SEVERITY_LABELS_ID else str(severity)


def category_label(category: str, lang: str = DEFAULT_LANG) -> str:
    table = _EN_CATEGORIES if check_lang(lang) == "en" else INCIDENT_CATEGORIES
    return table.get(category, str(category))


def flag_label(flag: str, lang: str = DEFAULT_LANG) -> str:
    return t(f"flag.{flag}", lang)


# --- coverage reason texts (one line per flag of a desa row) -------------------------------------

FORCE_LABELS = {
    "id": {"police": "Polri", "tni": "TNI", "linmas": "Linmas"},
    "en": {"police": "police", "tni": "TNI", "linmas": "Linmas"},
}


def _day(value: Any) -> str:
    import pandas as pd

    return "-" if value is None or pd.isna(value) else pd.Timestamp(value).strftime("%d-%m-%Y")


def _num(value: float) -> str:
    return f"{value:g}"


def reason_texts(row: Any, settings: Any, lang: str = DEFAULT_LANG) -> list[str]:
    """Plain-language lines for each flag of one coverage row (``CoverageResult.desa`` row)."""
    en = check_lang(lang) == "en"
    out: list[str] = []
    first, last = (_day(d) for d in settings.meeting_window)
    for flag in row.flags:
        if flag == "uncovered":
            planned = getattr(row, "planned_meeting_date", None)
            plan = (
                (f"; planned {_day(planned)}" if en else f"; direncanakan {_day(planned)}")
                if planned is not None and not _isna(planned)
                else ("; nothing planned" if en else "; belum ada rencana rakor")
            )
            out.append(
                f"No coordination meeting reached it from {first} to {last} ({row.tps_count} TPS, {row.voters} voters){plan}"
                if en
                else f"Belum dijangkau rakor dari {first} sampai {last} ({row.tps_count} TPS, {row.voters} pemilih){plan}"
            )
        elif flag == "insecure":
            names = FORCE_LABELS["en" if en else "id"]
            short = {f: int(getattr(row, f"shortfall_{f}")) for f in ("police", "tni", "linmas")}
            parts = ", ".join(f"{n} {names[f]}" for f, n in short.items() if n)
            if en:
                text = f"{row.tps_below_requirement} of {row.tps_count} TPS below the required security personnel"
                out.append(text + (f"; the desa is short of {parts}" if parts else ""))
            else:
                text = f"{row.tps_below_requirement} dari {row.tps_count} TPS kurang personel pengamanan"
                out.append(text + (f"; desa kurang {parts}" if parts else ""))
        elif flag == "at_risk":
            days = settings.incident_window_days
            out.append(
                f"{row.unresolved_count} unresolved incidents weighing {_num(row.unresolved_weight)} "
                f"(threshold {_num(settings.at_risk_threshold)}) in the last {days} days"
                if en
                else f"{row.unresolved_count} insiden belum tuntas dengan bobot {_num(row.unresolved_weight)} "
                f"(ambang {_num(settings.at_risk_threshold)}) dalam {days} hari terakhir"
            )
        elif flag == "no_data":
            out.append(
                "No TPS recorded: security cannot be judged"
                if en
                else "Belum ada data TPS: pengamanan belum bisa dinilai"
            )
        elif flag == "follow_up":
            out.append(
                f"An unresolved incident ({_day(row.last_incident_at)}) came after the last meeting "
                f"({_day(row.last_meeting_date)})"
                if en
                else f"Ada insiden belum tuntas ({_day(row.last_incident_at)}) setelah rakor terakhir "
                f"({_day(row.last_meeting_date)})"
            )
        elif flag == "location_mismatch":
            out.append(
                "A TPS point lies outside its recorded desa" if en else "Titik TPS berada di luar desa yang dicatat"
            )
    return out


def _isna(value: Any) -> bool:
    import pandas as pd

    return bool(pd.isna(value))
