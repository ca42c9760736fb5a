"""Controlled vocabularies. Labels are Bahasa Indonesia first; keys are what is stored."""

from __future__ import annotations

MEETING_LEVELS = {"kabupaten": "Kabupaten", "kecamatan": "Kecamatan", "desa": "Desa"}

#: Agencies that attend rakor (FACTS.md; news report of the Teramang Jaya rakor, 11 Nov 2024).
#: Extensible: unknown agencies are kept as written unless the setting ``EXTRA_AGENCIES`` is off.
AGENCIES = {
    "camat": "Camat",
    "forkopimcam": "Forkopimcam",
    "ppk": "PPK",
    "pps": "PPS",
    "panwascam": "Panwascam/Panwaslu",
    "bawaslu": "Bawaslu",
    "kpu": "KPU",
    "kades": "Kepala desa (kades)",
    "bpd": "BPD",
    "puskesmas": "Puskesmas",
    "uptd_pendidikan": "UPTD Pendidikan",
    "kb": "Koordinator penyuluh KB",
    "polri": "Polsek/Polres",
    "tni": "Koramil/Kodim",
    "linmas": "Linmas",
    "kesbangpol": "Kesbangpol",
    "tokoh": "Tokoh masyarakat dan agama",
    "sekda": "Sekretaris daerah",
    "pemkab": "OPD Pemkab",
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
    "money_politics": "Politik uang",
    "intimidation": "Intimidasi",
    "neutrality_asn": "Netralitas ASN",
    "neutrality_village": "Netralitas perangkat desa",
    "neutrality_bpd": "Netralitas BPD",
    "hoax": "Hoaks/disinformasi",
    "apk": "Kerusakan/pemasangan APK ilegal",
    "violence": "Bentrok/kekerasan",
    "logistics": "Gangguan logistik",
    "other": "Lainnya",
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
SEVERITIES = {"low": "Rendah", "medium": "Sedang", "high": "Tinggi"}
SEVERITY_ALIASES = {"rendah": "low", "sedang": "medium", "tinggi": "high"}
STATUSES = {
    "reported": "Dilaporkan",
    "verified": "Terverifikasi",
    "forwarded": "Diteruskan",
    "closed": "Selesai",
    "dismissed": "Tidak ditindaklanjuti",
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
    "bawaslu": "Temuan Bawaslu",
    "public": "Laporan masyarakat",
    "police": "Polisi",
    "media": "Media",
    "other": "Lainnya",
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
