"""Issue 12: translations done the standard way (gettext catalogs through Flask-Babel).

The catalog is complete (every msgid has English, placeholders agree, nothing in the code or templates is
missing from it); with the language set to English no Indonesian interface text is left on any HTML page
an admin can open, and the Indonesian pages show Indonesian; dates are dd/mm/yyyy, times WIB, numbers
and the ``;`` CSV follow the language.
"""

from __future__ import annotations

import csv
import io
import re
from datetime import UTC, date, datetime
from html.parser import HTMLParser
from pathlib import Path

import pytest
from babel.messages.extract import extract_from_dir
from babel.messages.pofile import read_po
from sqlalchemy import select

from geo_app import i18n
from geo_app.app_db import get_session
from geo_app.config import TRANSLATIONS_DIR
from geo_app.store.models import AuditEntry
from tests.conftest import TEST_ADMIN, DbConnection, login_as

REPO = Path(__file__).resolve().parents[2]
PO = TRANSLATIONS_DIR / "en" / "LC_MESSAGES" / "messages.po"
PLACEHOLDER = re.compile(r"%(?:\([a-z_]+\))?[srd]")


def _catalog():
    with PO.open("rb") as fh:
        return read_po(fh, locale="en")


def _messages():
    return [m for m in _catalog() if m.id]


# --- the catalog -------------------------------------------------------------------------------------


def test_every_msgid_has_an_english_msgstr_with_the_same_placeholders():
    messages = _messages()
    assert len(messages) > 200  # the whole interface, not a stub
    empty = [m.id for m in messages if not m.string]
    assert not empty, f"msgids without English in {PO.relative_to(REPO)}: {empty}"
    fuzzy = [m.id for m in messages if m.fuzzy]
    assert not fuzzy, f"fuzzy (unchecked) translations: {fuzzy}"
    for m in messages:
        assert sorted(PLACEHOLDER.findall(m.id)) == sorted(PLACEHOLDER.findall(m.string)), m.id


def test_the_catalog_holds_every_msgid_of_the_code_and_templates():
    """What `make translations` would extract (babel.cfg, the Makefile's keywords) is all in the .po:
    a new _('…') without English fails here, not in front of a user."""
    method_map = [("geo_app/**.py", "python"), ("templates/**.html", "jinja2")]
    keywords = {
        "_": None,
        "gettext": None,
        "N_": None,
        "pgettext": ((1, "c"), 2),
        "NP_": ((1, "c"), 2),
        "msg": None,
        "msg_as": (2,),
    }
    found = set()
    for _file, _line, message, _comments, context in extract_from_dir(
        str(REPO), method_map, keywords=keywords, comment_tags=()
    ):
        msgid = message[0] if isinstance(message, tuple) else message
        found.add((context, msgid))
    assert len(found) > 200
    in_po = {(m.context, m.id) for m in _messages()}
    missing = sorted(found - in_po, key=str)
    assert not missing, f"run `make translations` and fill the English: {missing}"


def test_compiled_catalog_follows_the_po(tmp_path):
    """create_app compiles a missing or stale .mo, so a fresh clone never reads old translations."""
    folder = tmp_path / "translations" / "en" / "LC_MESSAGES"
    folder.mkdir(parents=True)
    po = folder / "messages.po"
    po.write_bytes(PO.read_bytes())
    assert i18n.compile_catalogs(tmp_path / "translations") == [po.with_suffix(".mo")]
    assert i18n.compile_catalogs(tmp_path / "translations") == []  # up to date: nothing to do
    text = po.read_text(encoding="utf-8").replace('msgstr "Regency summary"', 'msgstr "District overview"')
    po.write_text(text, encoding="utf-8")
    mo = po.with_suffix(".mo")
    stamp = mo.stat().st_mtime - 10
    import os

    os.utime(mo, (stamp, stamp))  # the .po is now newer than its .mo
    assert i18n.compile_catalogs(tmp_path / "translations") == [mo]
    from babel.support import Translations

    assert Translations.load(str(tmp_path / "translations"), ["en"]).gettext("Ringkasan kabupaten") == (
        "District overview"
    )


def test_labels_and_messages_come_from_the_catalog():
    by_id = {(m.context, m.id): m.string for m in _messages()}
    assert i18n.t("dashboard", "en") == by_id[(None, "Ringkasan kabupaten")]
    assert i18n.t("dashboard", "id") == "Ringkasan kabupaten"
    assert i18n.t("layer.tps", "en") == by_id[("map layer", "TPS")] != i18n.t("tps", "en")
    message = i18n.msg("Kecamatan dengan kode %(code)r tidak ditemukan", code="17.06.99")
    english = by_id[(None, "Kecamatan dengan kode %(code)r tidak ditemukan")] % {"code": "17.06.99"}
    assert (
        message.in_lang("en") == english and message.in_lang("id") == "Kecamatan dengan kode '17.06.99' tidak ditemukan"
    )
    assert str(message) == f"Kecamatan dengan kode '17.06.99' tidak ditemukan / {english}"  # what the JSON API says


# --- dates, times, numbers ---------------------------------------------------------------------------


def test_dates_times_and_numbers_per_language():
    assert i18n.format_date(date(2024, 11, 27)) == i18n.format_date("2024-11-27", "en") == "27/11/2024"
    assert i18n.format_date(None) == "-"
    # incident times are stored as WIB wall-clock; audit times are UTC (SQLite returns them naive)
    assert i18n.format_datetime(datetime(2024, 11, 27, 9, 5)) == "27/11/2024 09:05 WIB"
    assert i18n.format_datetime(datetime(2024, 11, 27, 20, 30), naive="utc") == "28/11/2024 03:30 WIB"
    assert i18n.format_datetime(datetime(2024, 11, 27, 20, 30, tzinfo=UTC), "en") == "28/11/2024 03:30 WIB"
    assert (i18n.format_number(139976, "id"), i18n.format_number(139976, "en")) == ("139.976", "139,976")
    assert (i18n.format_number(12.25, "id", 1), i18n.format_number(1234.5, "en", 1)) == ("12,2", "1,234.5")
    assert (i18n.decimal_text(12.5, "id"), i18n.decimal_text(12.5, "en")) == ("12,5", "12.5")
    assert i18n.decimal_text(1234.5, "id") == "1234,5"  # no grouping in a CSV cell


def _real_voters(app) -> int:
    con = DbConnection(app)
    try:
        return int(con.execute("SELECT SUM(voters) FROM polling_station WHERE deleted_at IS NULL").fetchone()[0])
    finally:
        con.close()


def test_pages_format_numbers_dates_and_times_per_language(demo_app):
    client = demo_app.test_client()
    login_as(client, TEST_ADMIN)
    voters = _real_voters(demo_app)
    assert voters > 1000  # grouped in both languages
    indonesian = client.get("/?lang=id").get_data(as_text=True)
    assert f"{voters:,}".replace(",", ".") in indonesian
    english = client.get("/?lang=en").get_data(as_text=True)
    assert f"{voters:,}" in english
    # import batches: the time of the batch in WIB, dd/mm/yyyy HH:MM
    with demo_app.app_context():
        first = get_session().scalars(select(AuditEntry.at).where(AuditEntry.batch.is_not(None))).first()
    assert first is not None
    page = client.get("/impor").get_data(as_text=True)
    assert i18n.format_datetime(first, naive="utc") in page
    assert "UTC" not in _visible_text(page)


def test_semicolon_csv_writes_decimal_commas_in_indonesian(demo_app):
    client = demo_app.test_client()
    login_as(client, TEST_ADMIN)
    api = {g["code"]: g["priority"] for g in client.get("/api/gaps").get_json()["gaps"]}
    for lang, mark in (("id", ","), ("en", ".")):
        text = client.get(f"/gaps.csv?lang={lang}").data.decode("utf-8-sig")
        rows = list(csv.reader(io.StringIO(text), delimiter=";"))
        header = rows[0]
        priority = header.index(i18n.t("priority", lang))
        planned = header.index(i18n.t("planned_meeting", lang))
        decimals = [r[priority] for r in rows[1:] if not float(r[priority].replace(",", ".")).is_integer()]
        assert decimals and all(mark in cell and ("." if mark == "," else ",") not in cell for cell in decimals)
        for r in rows[1:]:
            assert float(r[priority].replace(",", ".")) == pytest.approx(api[r[header.index(i18n.t("code", lang))]])
            assert r[planned] == "" or re.fullmatch(r"\d\d/\d\d/\d{4}", r[planned])


# --- no Indonesian left on English pages ----------------------------------------------------------------

#: attributes a user sees (tooltips, alt text, placeholders, labels drawn by CSS on phone cards)
VISIBLE_ATTRIBUTES = {"title", "alt", "placeholder", "aria-label", "data-label"}


class _TextCollector(HTMLParser):
    def __init__(self, scripts: bool) -> None:
        super().__init__(convert_charrefs=True)
        self.parts: list[str] = []
        self.scripts = scripts
        self._skip = 0
        self._in_script = False

    def handle_starttag(self, tag, attrs):
        if tag in ("style", "template"):
            self._skip += 1
        if tag == "script":
            self._in_script = True
        values = dict(attrs)
        for name in VISIBLE_ATTRIBUTES & set(values):
            self.parts.append(values[name] or "")
        if tag == "input" and values.get("type") in ("submit", "button") and values.get("value"):
            self.parts.append(values["value"])

    def handle_endtag(self, tag):
        if tag in ("style", "template") and self._skip:
            self._skip -= 1
        if tag == "script":
            self._in_script = False

    def handle_data(self, data):
        if self._in_script:
            if self.scripts:  # map pages draw their texts from JSON in the page's scripts
                self.parts.extend(_js_strings(data))
        elif not self._skip:
            self.parts.append(data)


def _js_strings(code: str) -> list[str]:
    import json

    out = []
    for literal in re.findall(r'"(?:[^"\\\n]|\\.)*"', code):
        try:
            out.append(json.loads(literal))
        except ValueError:
            continue
    # text, not code: identifiers (``priority``, ``maxZoom``), URLs and colours are left out
    texts = [s for s in out if " " in s.strip() or re.fullmatch(r"[A-Z][a-z]+|\W*[^\x00-\x7f]\w*", s.strip())]
    return [re.sub(r"<[^>]+>", " ", s) for s in texts]


def _visible_text(html: str, scripts: bool = False) -> str:
    parser = _TextCollector(scripts)
    parser.feed(html)
    return " ".join(" ".join(parser.parts).split())


def _data_strings(app) -> list[str]:
    """Every text stored in the database (place names, record content, user names): shown as entered,
    so not interface text; removed from a page before it is checked."""
    con = DbConnection(app)
    try:
        values: set[str] = set()
        for table in con.table_names():
            for row in con.execute(f'SELECT * FROM "{table}"'):
                values.update(v for v in row if isinstance(v, str) and 2 <= len(v) <= 500)
    finally:
        con.close()
    return sorted(values, key=len, reverse=True)


def _strip_data(text: str, data: list[str]) -> str:
    for value in data:
        if value in text:
            text = text.replace(value, " ")
    return text


def _fragments(text: str) -> list[str]:
    """The literal pieces of a msgid or msgstr (placeholders cut out), trimmed of punctuation."""
    pieces = PLACEHOLDER.split(text)
    out = []
    for piece in pieces:
        piece = piece.strip(" .,;:()/-–—*'\"!?→←…+")
        if re.search(r"[A-Za-z]{3,}", piece):
            out.append(piece)
    return out


def _one_way_words(source: list[str], target: list[str]) -> list[str]:
    """Fragments of ``source`` texts that never occur in any ``target`` text (word-bounded, any case):
    the words a page in the target language must not show."""
    corpus = "\n".join(target).lower()
    found = []
    for text in source:
        for fragment in _fragments(text):
            if not re.search(r"(?<!\w)" + re.escape(fragment.lower()) + r"(?!\w)", corpus):
                found.append(fragment)
    return sorted(set(found), key=len, reverse=True)


#: common Indonesian words of an interface: a string outside the catalog shows up by these
INDONESIAN_WORDS = {
    "dan", "yang", "tidak", "dari", "untuk", "belum", "sudah", "atau", "dengan", "pilih", "semua", "baru",
    "ubah", "hapus", "simpan", "batal", "batalkan", "tambah", "cari", "lihat", "unduh", "cetak", "halaman",
    "tanggal", "waktu", "jumlah", "oleh", "jenis", "berkas", "impor", "keluar", "masuk", "kembali", "sampai",
    "hari", "terakhir", "peta", "beranda", "catatan", "tempat", "alamat", "nomor", "judul", "uraian",
    "kategori", "keparahan", "tingkat", "instansi", "pemilih", "personel", "kekurangan", "daftar", "celah",
    "ada", "bukan", "harus", "wajib", "isi", "di", "ke", "sintetis", "lokasi", "titik", "dipilih", "saring",
    "peringatan", "gagal", "berhasil", "kesalahan", "tanpa", "terjangkau", "rawan", "aman", "kurang",
    "rencana", "direncanakan", "lintang", "bujur", "pengguna", "sandi", "lainnya", "sebelumnya", "berikutnya",
}  # fmt: skip
ENGLISH_WORDS = {
    "the", "and", "of", "not", "from", "with", "choose", "all", "new", "edit", "delete", "save", "cancel",
    "add", "search", "download", "print", "page", "date", "time", "import", "log", "back", "days", "map",
    "home", "records", "place", "address", "number", "title", "description", "category", "severity",
    "level", "agencies", "voters", "personnel", "list", "gaps", "none", "must", "required", "location",
    "point", "warning", "failed", "error", "without", "reached", "short", "planned", "latitude", "longitude",
    "user", "password", "other", "previous", "next", "file",
}  # fmt: skip

SKIPPED_PREFIXES = ("/api", "/ogc", "/assets", "/static", "/healthz", "/favicon")
SKIPPED_SUFFIXES = (".csv", ".xlsx", ".png", ".pdf", ".gpkg", ".zip", ".ico", ".svg")


def _html_urls(app) -> list[str]:
    """One URL for every GET route that answers with an HTML page, its arguments filled from the data."""
    con = DbConnection(app)
    try:
        kec = con.execute("SELECT code FROM kecamatan ORDER BY code").fetchone()[0]
        desa = con.execute("SELECT code FROM desa WHERE code LIKE '17.06.08.%' ORDER BY code").fetchone()[0]
        ids = {
            slug: con.execute(f"SELECT MIN(id) FROM {table} WHERE deleted_at IS NULL").fetchone()[0]
            for slug, table in (("rakor", "meeting"), ("tps", "polling_station"), ("insiden", "incident"))
        }
        batch = con.execute("SELECT batch FROM audit_log WHERE batch IS NOT NULL LIMIT 1").fetchone()
    finally:
        con.close()
    urls, unbuilt = [], []
    for rule in app.url_map.iter_rules():
        if "GET" not in rule.methods or rule.rule.startswith(SKIPPED_PREFIXES) or rule.rule.endswith(SKIPPED_SUFFIXES):
            continue
        args = set(rule.arguments)
        slugs = ["rakor", "tps", "insiden"] if "slug" in args else [None]
        for slug in slugs:
            values: dict[str, object] = {"slug": slug} if slug else {}
            if "record_id" in args:
                values["record_id"] = ids[slug]
            if "code" in args:
                values["code"] = (
                    kec if "kecamatan" in rule.endpoint else kec[:5] if "kabupaten" in rule.endpoint else desa
                )
            if "batch" in args:
                if batch is None:
                    unbuilt.append(rule.rule)
                    continue
                values["batch"] = batch[0]
            if args - set(values):
                unbuilt.append(rule.rule)
                continue
            with app.test_request_context():
                from flask import url_for

                urls.append(url_for(rule.endpoint, **values))
    assert not unbuilt, f"tests/web/test_i18n.py cannot fill the arguments of {unbuilt}: teach _html_urls"
    return sorted(set(urls))


def _pages(app, lang: str) -> dict[str, str]:
    """Every HTML page (and the 404 and 403 pages) in ``lang``, as its visible text without data."""
    client = app.test_client()
    client.get(f"/login?lang={lang}")  # the login page, before logging in
    login_as(client, TEST_ADMIN)
    client.get(f"/?lang={lang}")
    data = _data_strings(app)
    pages: dict[str, str] = {}
    for url in [*_html_urls(app), "/no-such-page", "/kecamatan/17.06.99"]:
        response = client.get(url)
        assert response.status_code in (200, 404), (url, response.status_code)
        if response.mimetype != "text/html":
            continue
        html = response.get_data(as_text=True)
        pages[url] = _strip_data(_visible_text(html, scripts=url.startswith("/map")), data)
    anonymous = app.test_client()
    anonymous.get(f"/login?lang={lang}")
    pages["/login"] = _strip_data(_visible_text(anonymous.get("/login").get_data(as_text=True)), data)
    viewer = _viewer_client(app, lang)
    refused = viewer.get("/impor")
    assert refused.status_code == 403
    pages["403 /impor"] = _strip_data(_visible_text(refused.get_data(as_text=True)), data)
    return pages


def _viewer_client(app, lang: str):
    from geo_app.services.users import create_user

    with app.app_context():
        try:
            create_user(get_session(), "vera-i18n", "vera-i18n-password", "viewer")
        except Exception:  # noqa: BLE001 - already made by the other language's run
            pass
    client = app.test_client()
    client.get(f"/login?lang={lang}")
    login_as(client, "vera-i18n")
    return client


def _hits(words: list[str], text: str) -> list[str]:
    return [w for w in words if re.search(r"(?<!\w)" + re.escape(w) + r"(?!\w)", text, re.IGNORECASE)]


def test_english_pages_show_no_indonesian_interface_text(demo_app):
    """Every page an admin opens (and the 404, 403 and login pages) with the language set to English:
    none of the catalog's Indonesian texts that differ from their English, and no common Indonesian
    word, remains in the visible text (record content and place names, from the database, aside)."""
    messages = _messages()
    indonesian_only = _one_way_words([m.id for m in messages], [m.string for m in messages])
    assert "Ringkasan kabupaten" in indonesian_only  # the check has teeth
    pages = _pages(demo_app, "en")
    assert len(pages) >= 15 and any(u.startswith("/map") for u in pages)
    leftovers = {}
    for url, text in pages.items():
        found = _hits(indonesian_only, text) + sorted(w for w in INDONESIAN_WORDS if _hits([w], text))
        if found:
            leftovers[url] = found
    assert not leftovers, "Indonesian on English pages:\n" + "\n".join(f"{u}: {w}" for u, w in leftovers.items())


def test_indonesian_pages_show_indonesian(demo_app):
    """The reverse check: the same pages in Bahasa Indonesia carry Indonesian words and none of the
    English-only texts of the catalog."""
    messages = _messages()
    english_only = _one_way_words([m.string for m in messages], [m.id for m in messages])
    pages = _pages(demo_app, "id")
    leftovers, silent = {}, []
    for url, text in pages.items():
        found = _hits(english_only, text) + sorted(w for w in ENGLISH_WORDS if _hits([w], text))
        if found:
            leftovers[url] = found
        if not any(_hits([w], text) for w in INDONESIAN_WORDS):
            silent.append(url)
    assert not leftovers, "English on Indonesian pages:\n" + "\n".join(f"{u}: {w}" for u, w in leftovers.items())
    assert not silent, f"pages without an Indonesian word: {silent}"


# --- messages raised below the web layer (location checks, coverage settings) -------------------------


def _language_leftovers(text: str, lang: str) -> list[str]:
    """Words of the other language on a page in ``lang`` (the checks of the two tests above)."""
    messages = _messages()
    ids, strings = [m.id for m in messages], [m.string for m in messages]
    if lang == "en":
        return _hits(_one_way_words(ids, strings), text) + sorted(w for w in INDONESIAN_WORDS if _hits([w], text))
    return _hits(_one_way_words(strings, ids), text) + sorted(w for w in ENGLISH_WORDS if _hits([w], text))


def _field_error(html: str, name: str) -> str:
    match = re.search(rf'<span class="error field-error" id="err-{name}">(.*?)</span>', html, re.S)
    assert match, f"no message next to {name}"
    return _visible_text(match.group(1))


@pytest.mark.parametrize(
    ("url", "form", "expected"),
    [
        (
            "/tps/baru",
            {"desa_code": "17.06.10.2001", "number": "7", "voters": "100", "lat": "101.1", "lon": "-2.5"},
            {
                "en": "location: latitude and longitude look swapped (latitude=101.1, longitude=-2.5)",
                "id": "lokasi: lintang dan bujur tampaknya tertukar (lintang=101.1, bujur=-2.5)",
            },
        ),
        (
            "/insiden/baru",
            {"occurred_at": "2024-11-01T10:00", "category": "lainnya", "severity": "tinggi", "description": "x"}
            | {"lat": "-9", "lon": "200"},
            {
                "en": "location: coordinates latitude=-9.0, longitude=200.0 are not in Indonesia",
                "id": "lokasi: koordinat lintang=-9.0, bujur=200.0 tidak berada di Indonesia",
            },
        ),
    ],
)
def test_record_forms_give_location_errors_in_the_page_language(app, client, url, form, expected):
    for lang in ("en", "id"):
        client.get(f"/?lang={lang}")
        response = client.post(url, data=form)
        assert response.status_code == 400
        shown = _field_error(response.get_data(as_text=True), "lat")
        assert shown.startswith(expected[lang]), shown
        assert not _language_leftovers(shown, lang), shown


#: a bad view setting on the pages that take one → (what the Indonesian page says, the API's message, which stays)
SETTINGS_PAGES = {
    "/?window_days=abc": (
        "window_days: harus bilangan bulat hari dari 0 sampai 3650, bukan 'abc'",
        "window_days: expected a whole number of days from 0 to 3650, got 'abc'",
    ),
    "/gaps?date=1800-01-01": (
        "reference_date: harus tanggal dari 1900-01-01 sampai 2200-12-31, bukan 1800-01-01",
        "reference_date: expected a date from 1900-01-01 to 2200-12-31, got 1800-01-01",
    ),
    "/map?preset=zzz": (
        "preset: preset pengamanan 'zzz' tidak dikenal",
        "preset: unknown security preset 'zzz'; known: mukomuko-2024, pilkada-2020, pemilu-2019",
    ),
    "/kecamatan/17.06.08?incident_window_days=99999": (
        "incident_window_days: harus bilangan bulat hari dari 0 sampai 3650, bukan 99999",
        "incident_window_days: expected a whole number of days from 0 to 3650, got 99999",
    ),
    "/gaps?category=zz": (
        "category: kategori insiden 'zz' tidak dikenal; pilihan: money_politics,",
        "category: kategori insiden 'zz' tidak dikenal / unknown incident category; pilihan / choose: "
        "money_politics, intimidation, neutrality_asn, neutrality_village, neutrality_bpd, hoax, apk, violence, "
        "logistics, other",
    ),
}


@pytest.mark.parametrize("url", sorted(SETTINGS_PAGES))
def test_bad_view_settings_are_told_in_the_page_language(app, client, url):
    """A page refusing a coverage setting says why in its own language (message and details); the API
    keeps the text it always gave."""
    from geo_app.records.vocab import INCIDENT_CATEGORIES

    indonesian, api_message = SETTINGS_PAGES[url]
    query = url.split("?")[1]
    key = query.split("=")[0]
    for lang in ("en", "id"):
        client.get(f"/?lang={lang}")
        response = client.get(url)
        assert response.status_code == 400
        text = _visible_text(response.get_data(as_text=True))
        assert key in text
        assert (indonesian in text) == (lang == "id"), text
        # the parameter's name and the values it accepts are codes a user types, not interface text
        codes = [key, *(INCIDENT_CATEGORIES if key == "category" else ())]
        assert not _language_leftovers(_strip_data(text, sorted(codes, key=len, reverse=True)), lang), (lang, text)
    api = f"/api/coverage?{query}" if key != "category" else f"/api/map/desa?zoom=10&bbox=101,-3,102,-2&{query}"
    answer = client.get(api)
    assert answer.status_code == 400 and answer.json["message"] == api_message


def test_unknown_coverage_setting_in_the_api_keeps_its_text(client):
    response = client.get("/api/coverage?min_police=abc")
    assert response.status_code == 400
    assert response.json == {
        "details": {"min_police": "unknown setting"},
        "error": "invalid_input",
        "message": "min_police: unknown coverage setting; known: date, window_days, incident_window_days, preset, "
        "tni_counts_as_police, at_risk_threshold, severity_weight.<severity>, requirement.<class>.<force>, "
        "unresolved_statuses, priority_weight.<name>",
    }


def test_bad_list_filters_are_told_in_the_page_language(app, client):
    """A records list refusing a filter (an unknown desa, a class not in the vocabulary) says why in the
    page's language; the API keeps its ``filter <name>: <Indonesian> / <English>`` text."""
    for lang, expected in (
        ("en", "Invalid filter: desa: unknown desa 'Penarikk'; did you mean: Penarik (Kec. Penarik)"),
        ("id", "Saringan tidak valid: desa: desa 'Penarikk' tidak dikenal; mungkin: Penarik (Kec. Penarik)"),
    ):
        client.get(f"/?lang={lang}")
        response = client.get("/tps?desa=Penarikk")
        assert response.status_code == 400
        text = _visible_text(response.get_data(as_text=True))
        assert expected in text
        error = text[text.index(expected.split(":")[0]) :]
        assert not _language_leftovers(_strip_data(error, ["Penarikk", "Penarik"]), lang), error
    api = client.get("/api/polling-stations?desa=Penarikk")
    assert api.status_code == 400
    assert api.json["message"] == (
        "filter desa: desa 'Penarikk' tidak dikenal / unknown desa; mungkin / did you mean: Penarik (Kec. Penarik)"
    )
    assert api.json["details"] == {"desa": api.json["message"].removeprefix("filter desa: ")}
