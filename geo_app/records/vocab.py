"""Controlled vocabularies. Labels are Bahasa Indonesia (the msgids of the translation catalog); keys are
what is stored."""

from __future__ import annotations

from ..i18n import N_  # marks the labels as msgids; pages show them through the catalog

MEETING_LEVELS = {"kabupaten": N_("Kabupaten"), "kecamatan": N_("Kecamatan"), "desa": N_("Desa")}

#: Agencies that attend rakor (FACTS.md; news report of the Teramang Jaya rakor, 11 Nov 2024).
#: Extensible: unknown agencies are kept as written unless the setting ``EXTRA_AGENCIES`` is off.
AGENCIES = {
    "camat": N_("Camat"),
    "forkopimcam": N_("Forkopimcam"),
    "ppk": N_("PPK"),
    "pps": N_("PPS"),
    "panwascam": N_("Panwascam/Panwaslu"),
    "bawaslu": N_("Bawaslu"),
    "kpu": N_("KPU"),
    "kades": N_("Kepala desa (kades)"),
    "bpd": N_("BPD"),
    "puskesmas": N_("Puskesmas"),
    "uptd_pendidikan": N_("UPTD Pendidikan"),
    "kb": N_("Koordinator penyuluh KB"),
    "polri": N_("Polsek/Polres"),
    "tni": N_("Koramil/Kodim"),
    "linmas": N_("Linmas"),
    "kesbangpol": N_("Kesbangpol"),
    "tokoh": N_("Tokoh masyarakat dan agama"),
    "sekda": N_("Sekretaris daerah"),
    "pemkab": N_("OPD Pemkab"),
}
AGENCY_ALIASES = {
    "panwaslu": "panwascam",
    "panwaslu kecamatan": "panwascam",
    "polsek": "polri",
    "polres": "polri",
    "polisi": "polri",
    "police": "polri",
    "koramil": "tni",
    "kodim": "tni",
    "kepala desa": "kades",
    "village heads": "kades",
    "uptd": "uptd_pendidikan",
    "uptd pendidikan": "uptd_pendidikan",
    "kb coordinator": "kb",
    "penyuluh kb": "kb",
    "tokoh masyarakat": "tokoh",
    "tokoh agama": "tokoh",
    "community leaders": "tokoh",
    "religious leaders": "tokoh",
    "sekretaris daerah": "sekda",
}

#: TPS vulnerability classes; the list is configurable (settings ``VULNERABILITY_CLASSES``).
VULNERABILITY_CLASSES = ("tidak_rawan", "rawan")

INCIDENT_CATEGORIES = {
    "money_politics": N_("Politik uang"),
    "intimidation": N_("Intimidasi"),
    "neutrality_asn": N_("Netralitas ASN"),
    "neutrality_village": N_("Netralitas perangkat desa"),
    "neutrality_bpd": N_("Netralitas BPD"),
    "hoax": N_("Hoaks/disinformasi"),
    "apk": N_("Kerusakan/pemasangan APK ilegal"),
    "violence": N_("Bentrok/kekerasan"),
    "logistics": N_("Gangguan logistik"),
    "other": N_("Lainnya"),
}
CATEGORY_ALIASES = {
    "politik uang": "money_politics",
    "intimidasi": "intimidation",
    "netralitas asn": "neutrality_asn",
    "netralitas perangkat desa": "neutrality_village",
    "netralitas kades": "neutrality_village",
    "netralitas bpd": "neutrality_bpd",
    "hoaks": "hoax",
    "hoax": "hoax",
    "disinformasi": "hoax",
    "apk": "apk",
    "alat peraga kampanye": "apk",
    "kekerasan": "violence",
    "bentrok": "violence",
    "logistik": "logistics",
    "lainnya": "other",
    "lain-lain": "other",
}
SEVERITIES = {"low": N_("Rendah"), "medium": N_("Sedang"), "high": N_("Tinggi")}
SEVERITY_ALIASES = {"rendah": "low", "sedang": "medium", "tinggi": "high"}
STATUSES = {
    "reported": N_("Dilaporkan"),
    "verified": N_("Terverifikasi"),
    "forwarded": N_("Diteruskan"),
    "closed": N_("Selesai"),
    "dismissed": N_("Tidak ditindaklanjuti"),
}
STATUS_ALIASES = {
    "dilaporkan": "reported",
    "terverifikasi": "verified",
    "diteruskan": "forwarded",
    "selesai": "closed",
    "ditutup": "closed",
    "dihentikan": "dismissed",
}
UNRESOLVED_STATUSES = ("reported", "verified", "forwarded")
SOURCES = {
    "bawaslu": N_("Temuan Bawaslu"),
    "public": N_("Laporan masyarakat"),
    "police": N_("Polisi"),
    "media": N_("Media"),
    "other": N_("Lainnya"),
}
SOURCE_ALIASES = {
    "temuan bawaslu": "bawaslu",
    "laporan masyarakat": "public",
    "masyarakat": "public",
    "polisi": "police",
    "polri": "police",
}


def normalise_key(value: str) -> str:
    return " ".join(str(value).strip().lower().replace("_", " ").replace("-", " ").split())


def lookup(value: str, allowed: dict[str, str] | tuple[str, ...], aliases: dict[str, str] | None = None) -> str | None:
    """Map user text (key, label or alias, any case/spacing) to a stored key, or None."""
    key = normalise_key(value)
    keys = list(allowed)
    for k in keys:
        if normalise_key(k) == key:
            return k
    if isinstance(allowed, dict):
        for k, label in allowed.items():
            if normalise_key(label) == key:
                return k
    if aliases and key in aliases:
        return aliases[key]
    return None
