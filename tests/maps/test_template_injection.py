"""Text typed into a record, read from a boundary file or imported from a spreadsheet never runs as a
template (and never as matplotlib mathtext).

folium builds its HTML with branca, which renders each element's output through Jinja a second time:
any user text that reached a map element unencoded was template source (``{{7*7}}`` showed as ``49``,
``{{ lipsum.__globals__.os.popen(..) }}`` ran a command, ``{% if %}`` made every map answer 500).
Every payload below sits in every text field of rakor, TPS and insiden (JSON API and XLSX import) and
in desa, kecamatan and kabupaten names (a BIG-style GeoPackage); every page, map, export and the
``layers build`` output must answer 200 and show the text literally.
"""

from __future__ import annotations

import csv
import html
import io
import json
import re
from pathlib import Path

import geopandas as gpd
import markupsafe
import openpyxl
import pytest

from geo_app.app_db import get_session
from geo_app.ingest.vector import PRESETS
from geo_app.services import layers as layer_service
from geo_app.services.boundaries import import_boundaries
from tests.web.test_injection import _assert_safe_html, _delim, post_records

#: payload → what it renders as when run as a template (None: a template error, the page would 500)
PAYLOADS = {
    "{{7*7}}": "49",
    "{{ lipsum.__globals__.os.popen('echo PWNED').read() }}": "PWNED\n",
    "{% for i in range(3) %}x{% endfor %}": "xxx",
    "{# c #}": "",
    "{{ config.items() }}": None,
    "{% if %}": None,
    "{{": None,
    "{%": None,
    r"$\frac{$": None,  # matplotlib mathtext (a pair of $): raises when parsed (print view PNGs)
}
IDS = [
    "expression",
    "shell",
    "statement",
    "comment",
    "undefined-call",
    "bad-if",
    "open-expression",
    "open-statement",
    "mathtext",
]
PENARIK, PENARIK_KEC = "17.06.10.2001", "17.06.10"


def tagged(tag: str, payload: str) -> str:
    """The text stored in a field: a tag naming the field, the payload in brackets (``tag[payload]``)."""
    return f"{tag}[{payload}]"


def _json_forms(text: str) -> set[str]:
    """``text`` as a JSON string body: plain, with <>&' as \\u escapes (Jinja's tojson, folium), with
    ``{`` before ``{%#`` as \\u007b (Jinja-inert JSON), and ASCII-only."""
    out = set()
    for body in (json.dumps(text, ensure_ascii=False)[1:-1], json.dumps(text)[1:-1]):
        out.add(body)
        for c in "<>&'":
            body = body.replace(c, f"\\u{ord(c):04x}")
        out.add(body)
        out.add(re.sub(r"\{(?=[{%#])", r"\\u007b", body))
    return out


def forms(text: str) -> set[str]:
    """Every way ``text`` may literally appear in a response: as it is (CSV, JSON parsed elsewhere),
    HTML-escaped (Jinja pages, Python's html.escape), HTML-escaped with braces as &#123;/&#125; (map
    elements), and each of those as a JSON string (popups and GeoJSON in map scripts)."""
    escaped = {str(markupsafe.escape(text)), html.escape(text, quote=True), html.escape(text, quote=False)}
    out = {text, *escaped, *(e.replace("{", "&#123;").replace("}", "&#125;") for e in escaped)}
    for f in list(out):
        out |= _json_forms(f)
    return out


def assert_literal(body: str, texts, where: str) -> None:
    for text in texts:
        assert any(f in body for f in forms(text)), f"{text!r} not shown literally in {where}"


def assert_not_run(body: str, tags, payloads, where: str) -> None:
    """No payload ran: its output never stands where the payload was, and the shell command's output
    appears only as part of the literal payload."""
    assert body.count("PWNED") == body.count("echo PWNED"), f"command output in {where}"
    for payload in payloads:
        ran = PAYLOADS[payload]
        if ran is None or ran == PAYLOADS["{{ lipsum.__globals__.os.popen('echo PWNED').read() }}"]:
            continue
        for tag in tags:
            for f in forms(tagged(tag, ran)):
                assert f not in body, f"{payload!r} ran as a template in {where}: {f!r}"


def get_ok(client, url: str):
    response = client.get(url)
    assert response.status_code == 200, f"{url}: {response.status_code}\n{response.get_data(as_text=True)[:2000]}"
    return response


def check_html(client, url: str, tags, payloads, shown=()) -> str:
    body = get_ok(client, url).get_data(as_text=True)
    assert_not_run(body, tags, payloads, url)
    _assert_safe_html(body, url)
    assert_literal(body, shown, url)
    return body


#: the data sources a map shell names (geo_app/maps/remote.py: script_json of {"url", "params", "view"})
_SOURCE = re.compile(r'\{"url":"(/api/map/[\w/]+)","params":(\{[^{}]*\}),"view":"(\w+)"\}')
#: a view holding the whole kabupaten at a zoom where its records are drawn one by one
_AREA = {"bbox": "100,-4,103,-1", "zoom": "12"}


def check_map(client, url: str, tags, payloads, shown=()) -> None:
    """A map page is a shell (no record in it) whose layers fetch their data: the shell and every
    response it asks for (each source with its view parameters, for the whole kabupaten) must be safe,
    and ``shown`` must be literal in the data (names as text, popups HTML-escaped)."""
    body = check_html(client, url, tags, payloads)
    sources = {(path, params, view) for path, params, view in _SOURCE.findall(body)}
    assert {path for path, _p, _v in sources} >= {"/api/map/desa", "/api/map/points/incidents"}, url
    strings = []
    for path, params, view in sorted(sources):
        query = dict(json.loads(params))
        if view != "none":
            query["zoom"] = _AREA["zoom"]
        if view == "bbox":
            query["bbox"] = _AREA["bbox"]
        response = client.get(path, query_string=query)
        assert response.status_code == 200, f"{url} -> {path}: {response.status_code}"
        assert_not_run(response.get_data(as_text=True), tags, payloads, f"{url} -> {path}")
        strings += json_strings(response.get_json())
    data = "\n".join(strings)
    assert_not_run(data, tags, payloads, f"{url} (data)")
    assert_literal(data, shown, f"{url} (data)")


def check_png(client, url: str) -> None:
    response = get_ok(client, url)
    assert response.mimetype == "image/png" and response.data.startswith(b"\x89PNG"), url


def csv_cells(response) -> list[str]:
    text = response.get_data(as_text=True).lstrip("\ufeff")
    return [c for row in csv.reader(io.StringIO(text), delimiter=_delim(response)) for c in row]


def xlsx_cells(data: bytes) -> list[str]:
    book = openpyxl.load_workbook(io.BytesIO(data))
    return [str(c.value) for ws in book.worksheets for row in ws.iter_rows() for c in row if c.value is not None]


def json_strings(value) -> list[str]:
    """Every string (keys and values) anywhere in a parsed JSON document."""
    if isinstance(value, str):
        return [value]
    if isinstance(value, dict):
        return [s for k, v in value.items() for s in (k, *json_strings(v))]
    if isinstance(value, list):
        return [s for v in value for s in json_strings(v)]
    return []


def assert_exact(values: list[str], texts, where: str) -> None:
    """Exports hold the stored text exactly (no encoding at all), and nothing that ran."""
    joined = "\n".join(values)
    assert joined.count("PWNED") == joined.count("echo PWNED"), where
    for text in texts:
        assert text in values or any(text in v for v in values), f"{text!r} missing from {where}"


def check_layers_build(
    app, tmp_path: Path, tags, payloads, shown_overview, shown_kecamatan: dict[str, list[str]], exact_tables=()
) -> None:
    out = tmp_path / "layers"
    report = layer_service.run_build(app, out, {})
    assert not report.skipped
    for name in ("overview.html", *(f"kecamatan-{c}.html" for c in shown_kecamatan)):
        body = (out / name).read_text(encoding="utf-8")
        assert_not_run(body, tags, payloads, name)
        _assert_safe_html(body, name)
        assert_literal(body, shown_overview if name == "overview.html" else shown_kecamatan[name[10:-5]], name)
    for name in ("coverage_desa.csv", "coverage_kecamatan.csv", "gaps.csv"):
        text = (out / name).read_text(encoding="utf-8")
        assert text.count("PWNED") == text.count("echo PWNED"), name
    geo = json.loads((out / "coverage_desa.geojson").read_text(encoding="utf-8"))
    assert_exact(json_strings(geo), exact_tables, "coverage_desa.geojson")
    cells = [c for row in csv.reader(io.StringIO((out / "coverage_desa.csv").read_text(encoding="utf-8"))) for c in row]
    assert_exact(cells, exact_tables, "coverage_desa.csv")


# --- records typed into the JSON API --------------------------------------------------------------------

MEETING_TAGS = ("judul", "tempat", "penyelenggara", "catatan", "inst", "id", "tautan")
TPS_TAGS = ("alamat", "catatan")
INCIDENT_TAGS = ("uraian", "catatan", "id", "tautan")
ALL_TAGS = sorted({*MEETING_TAGS, *TPS_TAGS, *INCIDENT_TAGS})


def field_text(tag: str, payload: str) -> str:
    # a URL must start with http(s); an agency name is at most 60 characters ("inst" keeps it short)
    text = tagged("inst" if tag == "instansi" else tag, payload)
    return "https://example.org/" + text if tag == "tautan" else text


@pytest.fixture(params=list(PAYLOADS), ids=IDS)
def typed(request, client):
    """One record of each kind in Desa Penarik with the payload in every free-text field."""
    payload = request.param
    records = post_records(client, lambda tag: field_text(tag, payload))
    return payload, records, (lambda tag: field_text(tag, payload))


def test_typed_records_never_run_as_templates(client, typed):
    payload, records, text = typed
    tags, payloads = ALL_TAGS, [payload]
    ids = {k: r["id"] for k, r in records.items()}
    popups = [text(t) for t in ("judul", "tempat", "instansi", "alamat", "uraian")]
    # maps: every popup text in the data the map pages fetch
    for url in (
        "/map",
        f"/map/kecamatan/{PENARIK_KEC}",
        f"/map/desa/{PENARIK}",
        "/map?lang=en",
    ):
        check_map(client, url, tags, payloads, popups)
    # a category the typed incident is not in: its popup is not shown, the others are
    check_map(client, "/map?peta_dasar=none&category=money_politics", tags, payloads, popups[:4])
    # pages: Jinja-escaped text
    check_html(client, f"/desa/{PENARIK}", tags, payloads, [text(t) for t in ("judul", "tempat", "alamat", "uraian")])
    check_html(client, "/rakor", tags, payloads, [text("judul"), text("instansi")])
    check_html(client, "/tps", tags, payloads, [text("alamat")])
    check_html(client, "/insiden", tags, payloads, [text("uraian")])
    check_html(
        client,
        f"/rakor/{ids['meeting']}/ubah",
        tags,
        payloads,
        [text(t) for t in ("judul", "tempat", "penyelenggara", "catatan", "instansi", "tautan")],
    )
    check_html(client, f"/tps/{ids['tps']}/ubah", tags, payloads, [text("alamat"), text("catatan")])
    check_html(
        client, f"/insiden/{ids['incident']}/ubah", tags, payloads, [text(t) for t in ("uraian", "catatan", "tautan")]
    )
    for url in ("/", "/?lang=en", "/gaps", "/gaps/print", f"/kecamatan/{PENARIK_KEC}", "/impor"):
        check_html(client, url, tags, payloads)
    check_png(client, f"/gaps/print/{PENARIK_KEC}.png")
    # exports and the API hold the text exactly
    for resource, record, fields in (
        ("meetings", "meeting", MEETING_TAGS),
        ("polling-stations", "tps", TPS_TAGS),
        ("incidents", "incident", INCIDENT_TAGS),
    ):
        expected = [text("instansi" if t == "inst" else t) for t in fields]
        for url in (f"/api/{resource}", f"/api/{resource}?format=geojson", f"/api/{resource}/{ids[record]}"):
            assert_exact(json_strings(get_ok(client, url).json), expected, url)
    for url in ("/gaps.csv", "/api/coverage?format=csv", "/api/gaps?format=csv"):
        assert_exact(csv_cells(get_ok(client, url)), [], url)
    assert_exact(xlsx_cells(get_ok(client, "/gaps.xlsx").data), [], "/gaps.xlsx")
    assert_exact(json_strings(get_ok(client, "/api/coverage?format=geojson").json), [], "coverage geojson")


def post_every_payload(client) -> list[str]:
    """Per payload one rakor, TPS and insiden in Penarik with it in their map texts; returns those texts."""
    texts = []
    for n, payload in enumerate(PAYLOADS):

        def text(tag, payload=payload):
            return field_text(tag, payload)

        meeting = client.post(
            "/api/meetings",
            json={
                "title": text("judul"),
                "date": "2024-11-20",
                "level": "desa",
                "desa_code": PENARIK,
                "venue": text("tempat"),
                "agencies": [text("instansi")],
                "lat": -2.6,
                "lon": 101.52,
                "allow_duplicate": True,  # one rakor per payload, same day and desa
            },
        )
        assert meeting.status_code == 201, meeting.json
        tps = client.post(
            "/api/polling-stations",
            json={"desa_code": PENARIK, "number": 40 + n, "voters": 200, "address": text("alamat")},
        )
        assert tps.status_code == 201, tps.json
        incident = client.post(
            "/api/incidents",
            json={
                "occurred_at": "2024-11-20T10:00",
                "category": "hoax",
                "severity": "low",
                "desa_code": PENARIK,
                "description": text("uraian"),
            },
        )
        assert incident.status_code == 201, incident.json
        texts += [text(t) for t in ("judul", "tempat", "instansi", "alamat", "uraian")]
    return texts


def test_typed_records_in_layers_build(client, tmp_path):
    """Every payload at once (one record set each) in the standalone maps of ``geo-app layers build``."""
    texts = post_every_payload(client)
    check_layers_build(client.application, tmp_path, ALL_TAGS, list(PAYLOADS), texts, {PENARIK_KEC: texts})


# --- records imported from a spreadsheet ----------------------------------------------------------------


def _workbook(path: Path) -> Path:
    """Sheets Rakor, TPS and Insiden: one row per payload, the payload in every text column."""
    wb = openpyxl.Workbook()
    rakor = wb.active
    rakor.title = "Rakor"
    rakor.append(
        [
            "id",
            "Judul",
            "Tanggal",
            "Tingkat",
            "Desa",
            "Kecamatan",
            "Tempat",
            "Penyelenggara",
            "Instansi",
            "Tautan",
            "Catatan",
            "Lintang",
            "Bujur",
        ]
    )
    tps = wb.create_sheet("TPS")
    tps.append(["Kode Desa", "No TPS", "Jumlah DPT", "Alamat", "Keterangan", "Lintang", "Bujur"])
    insiden = wb.create_sheet("Insiden")
    insiden.append(
        [
            "id",
            "Tanggal Kejadian",
            "Kategori",
            "Keparahan",
            "Kode Desa",
            "Uraian",
            "Catatan",
            "Tautan",
            "Lintang",
            "Bujur",
        ]
    )
    for n, payload in enumerate(PAYLOADS):

        def t(tag: str, payload: str = payload) -> str:
            return field_text(tag, payload)

        rakor.append(
            [
                t("id"),
                t("judul"),
                "20/11/2024",
                "desa",
                "Penarik",
                "Penarik",
                t("tempat"),
                t("penyelenggara"),
                t("instansi"),
                t("tautan"),
                t("catatan"),
                -2.6,
                101.52,
            ]
        )
        tps.append([PENARIK, 50 + n, 250, t("alamat"), t("catatan"), -2.6, 101.52])
        insiden.append(
            [
                t("id"),
                "20/11/2024 10:00",
                "hoaks",
                "sedang",
                PENARIK,
                t("uraian"),
                t("catatan"),
                t("tautan"),
                -2.6,
                101.52,
            ]
        )
    wb.save(path)
    return path


def test_spreadsheet_import_never_runs_as_templates(client, tmp_path):
    book = _workbook(tmp_path / "catatan.xlsx")
    for slug in ("rakor", "tps", "insiden"):
        with book.open("rb") as fh:
            response = client.post(
                f"/api/import/{slug}", data={"file": (fh, "catatan.xlsx")}, content_type="multipart/form-data"
            )
        assert response.status_code in (200, 201), response.json
    texts = {
        tag: [field_text(tag, p) for p in PAYLOADS]
        for tag in ("judul", "tempat", "penyelenggara", "instansi", "tautan", "catatan", "alamat", "uraian", "id")
    }
    popups = [x for tag in ("judul", "tempat", "instansi", "alamat", "uraian") for x in texts[tag]]
    tags, payloads = ALL_TAGS, list(PAYLOADS)
    for url in ("/map", f"/map/kecamatan/{PENARIK_KEC}", f"/map/desa/{PENARIK}"):
        check_map(client, url, tags, payloads, popups)
    check_html(client, f"/desa/{PENARIK}", tags, payloads, texts["judul"] + texts["alamat"] + texts["uraian"])
    check_html(client, "/rakor", tags, payloads, texts["judul"])
    check_html(client, "/tps", tags, payloads, texts["alamat"])
    check_html(client, "/insiden", tags, payloads, texts["uraian"])
    for url in ("/", "/gaps", "/gaps/print", f"/kecamatan/{PENARIK_KEC}", "/impor"):
        check_html(client, url, tags, payloads)
    check_png(client, f"/gaps/print/{PENARIK_KEC}.png")
    meetings = get_ok(client, "/api/meetings?per_page=100").json
    assert_exact(
        json_strings(meetings),
        [x for tag in ("judul", "tempat", "penyelenggara", "instansi", "tautan", "catatan", "id") for x in texts[tag]],
        "/api/meetings",
    )
    incidents = get_ok(client, "/api/incidents?format=geojson&per_page=100").json
    assert_exact(json_strings(incidents), texts["uraian"] + texts["catatan"] + texts["id"], "/api/incidents")
    tps = get_ok(client, "/api/polling-stations?per_page=100").json
    assert_exact(json_strings(tps), texts["alamat"] + texts["catatan"], "/api/polling-stations")


# --- names from a boundary file ---------------------------------------------------------------------------

#: payload i names the kecamatan NAME_KEC[i] and its desa NAME_DESA[i] (Penarik first: the records are there)
NAME_KEC = ["17.06.10", "17.06.01", "17.06.02", "17.06.03", "17.06.04", "17.06.05", "17.06.06", "17.06.07", "17.06.08"]


@pytest.fixture
def renamed(app, client, bigstyle_shapefile, tmp_path):
    """The real BIG-style desa layer as a GeoPackage with payloads in desa, kecamatan and kabupaten names,
    imported over the upstream boundaries with the ``big`` preset; one record of each kind in Penarik and
    a TPS in each renamed desa."""
    big = gpd.read_file(bigstyle_shapefile)
    desa_names, kec_names = {}, {}
    for code, payload in zip(NAME_KEC, PAYLOADS):
        own = big[big["KDCPUM"] == code]
        desa_code = PENARIK if code == PENARIK_KEC else sorted(own["KDEPUM"])[0]
        desa_names[desa_code] = tagged("desa", payload)
        kec_names[code] = tagged("kec", payload)
        big.loc[big["KDCPUM"] == code, "WADMKC"] = kec_names[code]
        big.loc[big["KDEPUM"] == desa_code, "NAMOBJ"] = desa_names[desa_code]
    big["WADMKK"] = tagged("kab", "{{7*7}}")
    path = tmp_path / "desa_payload.gpkg"
    big.to_file(path, layer="desa", driver="GPKG", engine="pyogrio")
    with app.app_context():
        import_boundaries(get_session(), app.config["GEO_APP_SETTINGS"], path, mapping=PRESETS["big"])
    post_records(client, lambda tag: field_text(tag, "-"))
    for code in desa_names:  # a desa with voters and no rakor is a gap: listed on the gap pages and exports
        tps = client.post("/api/polling-stations", json={"desa_code": code, "number": 1, "voters": 250})
        assert tps.status_code == 201, tps.json
    return desa_names, kec_names


def test_boundary_names_never_run_as_templates(client, renamed, tmp_path):
    desa_names, kec_names = renamed
    tags, payloads = ("desa", "kec", "kab"), list(PAYLOADS)
    names = [*desa_names.values(), *kec_names.values()]
    check_map(client, "/map", tags, payloads, names)
    check_map(client, "/map?lang=en&peta_dasar=none", tags, payloads, names)
    for code, kec in kec_names.items():
        own_desa = [d for c, d in desa_names.items() if c.startswith(code + ".")]
        check_map(client, f"/map/kecamatan/{code}", tags, payloads, [kec, *own_desa])
        check_html(client, f"/kecamatan/{code}", tags, payloads, [kec, *own_desa])
        check_png(client, f"/gaps/print/{code}.png")
        check_png(client, f"/gaps/print/{code}.png?lang=en")
    for code, desa in desa_names.items():
        check_map(client, f"/map/desa/{code}", tags, payloads, [desa, kec_names[code[:8]]])
        check_html(client, f"/desa/{code}", tags, payloads, [desa, kec_names[code[:8]]])
    check_html(client, "/", tags, payloads, list(kec_names.values()))
    check_html(client, "/gaps", tags, payloads, names)
    check_html(client, "/gaps/print", tags, payloads, names)
    for url in ("/rakor", "/tps", "/insiden"):
        check_html(client, url, tags, payloads, [desa_names[PENARIK], kec_names[PENARIK_KEC]])
    for url in ("/gaps.csv", "/api/coverage?format=csv", "/api/gaps?format=csv"):
        assert_exact(csv_cells(get_ok(client, url)), names, url)
    assert_exact(
        csv_cells(get_ok(client, "/api/coverage/kecamatan?format=csv")),
        list(kec_names.values()),
        "coverage kecamatan csv",
    )
    assert_exact(xlsx_cells(get_ok(client, "/gaps.xlsx").data), names, "/gaps.xlsx")
    for url in ("/api/coverage?format=geojson", "/api/desa", "/api/gaps"):
        assert_exact(json_strings(get_ok(client, url).json), names, url)
    for url in ("/api/coverage/kecamatan?format=geojson", "/api/kecamatan"):
        assert_exact(json_strings(get_ok(client, url).json), list(kec_names.values()), url)
    check_layers_build(
        client.application,
        tmp_path,
        tags,
        payloads,
        names,
        {
            code: [kec, *(d for c, d in desa_names.items() if c.startswith(code + "."))]
            for code, kec in kec_names.items()
        },
        exact_tables=names,
    )


# --- the cause: no map element's output is template source ---------------------------------------------


def test_no_map_element_output_is_template_source(client, renamed):
    """branca turns each element's rendered output into a Jinja template (``Element(output)``) and
    renders it again: with payloads in names and records, every such output must lex as plain text."""
    from branca.element import Element
    from jinja2 import Environment

    from geo_app.maps.shell import MapShell, MapSources, build_map_shell
    from geo_app.services import map_data

    desa_names, _kec_names = renamed
    post_every_payload(client)
    app, env = client.application, Environment()
    with app.app_context():
        session = get_session()
        view, prep = map_data.load(session, {})
        bounds = tuple(float(v) for v in prep.desa.total_bounds)
        # a page opened from disk carries its data inline (layers build): names and records in the page
        inline = MapSources(**map_data.standalone_sources(prep, view, bounds, "id"))
        served = MapSources.endpoints("/api/map", {"kecamatan": PENARIK_KEC, "lang": "en"})
        maps = [
            build_map_shell(MapShell(bounds=bounds, sources=inline, title=desa_names[PENARIK], highlight=PENARIK)),
            build_map_shell(
                MapShell(bounds=bounds, sources=served, lang="en", title=desa_names[PENARIK], back=("/", "x"))
            ),
        ]
    for m in maps:
        figure = m.get_root()
        figure.render()
        outputs = [
            el._template_str
            for part in (figure.header, figure.html, figure.script)
            for el in part._children.values()
            if type(el) is Element and el._template_str
        ]
        assert len(outputs) > 10
        for text in outputs:
            kinds = {kind for _line, kind, _value in env.lex(text)}
            assert kinds <= {"data"}, f"template syntax {kinds} in an element's output: {text[:300]}"
