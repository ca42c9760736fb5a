"""Importing rakor/TPS/incident files (CSV as Excel writes it in Indonesia, XLSX, GeoJSON) through the
service and the CLI. Every failure mode asserts that nothing was written (``snapshot``)."""

from __future__ import annotations

import csv
import io
import json
from datetime import date, datetime, time
from pathlib import Path

import pytest
from openpyxl import Workbook
from sqlalchemy import select

from geo_app.app_db import get_session
from geo_app.errors import InputFileError, ValidationError
from geo_app.ingest.records_file import field_for, read_records_file, safe_cell
from geo_app.services.records_import import import_records
from geo_app.store.models import DataVersion, Incident, Meeting, PollingStation
from tests.conftest import REPO, snapshot

# Points inside their desa (checked by test_points_used_here_are_inside_their_desa below).
TERAMANG_JAYA = ("17.06.08.2006", -2.797706, 101.370524)
PONDOK_BARU_SELAGAN = ("17.06.09.2005", -2.447073, 101.451507)
BUMI_MULYA = ("17.06.10.2003", -2.68296, 101.311426)

MESSY_TPS = (
    "\ufeffKode Desa ; NAMA_DESA;Kec.;No. TPS;Jumlah DPT;Alamat;Status Kerawanan;Personel Polri;TNI;Linmas;"
    "Lintang;Bujur;Sintetis;Keterangan;Kolom Lain\r\n"
    "17.06.08.2006;;;1;412;Balai Desa;tidak rawan;1;0;2;-2,797706;101,370524;ya;contoh;x\r\n"
    ";pondok  baru;Selagan Raya;2;1.0;SD Negeri 11;Rawan;2;;2;-2,447073;101,451507;Ya;;\r\n"
    "\r\n"
    ';;;3;598;"Jl. Lintas Barat; RT 03";;1;0;2;-2,68296;101,311426;tidak;"=HYPERLINK(""x"")";\r\n'
)


def settings(app) -> dict:
    return app.config["GEO_APP_SETTINGS"]


def write(tmp_path: Path, name: str, text: str, encoding: str = "utf-8") -> Path:
    path = tmp_path / name
    path.write_bytes(text.encode(encoding))
    return path


def run_import(app, kind, source, filename=None, **kw):
    with app.app_context():
        return import_records(get_session(), settings(app), kind, source, filename, **kw)


def tps_rows(app):
    with app.app_context():
        rows = get_session().scalars(select(PollingStation).order_by(PollingStation.desa_code, PollingStation.number))
        return [
            (
                r.desa_code,
                r.number,
                r.voters,
                r.address,
                r.vulnerability,
                r.police,
                r.tni,
                r.linmas,
                r.lat,
                r.lon,
                r.synthetic,
                r.notes,
                r.placement,
            )
            for r in rows
        ]


# --- the happy paths --------------------------------------------------------------------------------


def test_messy_semicolon_csv_with_bom_decimal_commas_and_indonesian_headers(app, tmp_path):
    path = write(tmp_path, "tps.csv", MESSY_TPS)
    result = run_import(app, "tps", path)
    assert (result.inserted, result.updated, result.unchanged, result.rejected) == (3, 0, 0, 0)
    assert any("Kolom Lain" in w and "unknown columns" in w for w in result.warnings)
    assert tps_rows(app) == [
        (
            "17.06.08.2006",
            1,
            412,
            "Balai Desa",
            "tidak_rawan",
            1,
            0,
            2,
            -2.797706,
            101.370524,
            True,
            "contoh",
            "inside",
        ),
        ("17.06.09.2005", 2, 1, "SD Negeri 11", "rawan", 2, 0, 2, -2.447073, 101.451507, True, None, "inside"),
        (
            "17.06.10.2003",
            3,
            598,
            "Jl. Lintas Barat; RT 03",
            "tidak_rawan",
            1,
            0,
            2,
            -2.68296,
            101.311426,
            False,
            '=HYPERLINK("x")',
            "inside",
        ),
    ]
    with app.app_context():
        batches = set(get_session().scalars(select(PollingStation.import_batch)))
    assert batches == {result.batch}
    assert "TPS: 3 baru/new, 0 diperbarui/updated, 0 tetap/unchanged, 0 ditolak/rejected" in result.lines()


def test_reimporting_the_same_file_changes_nothing(app, tmp_path):
    path = write(tmp_path, "tps.csv", MESSY_TPS)
    run_import(app, "tps", path)
    before = snapshot(app)
    again = run_import(app, "tps", path)
    assert (again.inserted, again.updated, again.unchanged) == (0, 0, 3)
    assert snapshot(app) == before  # no version bump, no audit entry, same batch ids


def test_changed_row_is_updated_in_place(app, tmp_path):
    run_import(app, "tps", write(tmp_path, "tps.csv", MESSY_TPS))
    with app.app_context():
        version = get_session().get(DataVersion, "records").version
    result = run_import(app, "tps", write(tmp_path, "tps2.csv", MESSY_TPS.replace(";412;", ";415;")))
    assert (result.inserted, result.updated, result.unchanged) == (0, 1, 2)
    assert tps_rows(app)[0][2] == 415
    with app.app_context():
        assert get_session().get(DataVersion, "records").version == version + 1


def test_meetings_csv(app, tmp_path):
    text = (
        "id;Judul;Tanggal;Jam;Tingkat;Kecamatan;Tempat;Penyelenggara;Instansi;Desa Terjangkau;Tautan;Catatan\n"
        "r-1;Rakor Pilkada damai;21/10/2024;09.00 WIB;kecamatan;XIV Koto;Aula Camat;Pemkab Mukomuko;"
        "camat, Polsek, Panwaslu, kepala desa, Karang Taruna;Lubuk Sanai, 17.06.11.2002;https://example.org/a;\n"
        "r-2;Rakor Air Majunto;05/11/2024;;kec;Air Majunto;;;camat;semua;;catatan\n"
    )
    result = run_import(app, "meetings", write(tmp_path, "rakor.csv", text, "utf-8-sig"))
    assert result.inserted == 2
    with app.app_context():
        rows = {m.external_id: m for m in get_session().scalars(select(Meeting))}
        m1, m2 = rows["r-1"], rows["r-2"]
        assert (m1.title, m1.date, m1.start_time, m1.level, m1.host_kecamatan_code) == (
            "Rakor Pilkada damai",
            date(2024, 10, 21),
            time(9, 0),
            "kecamatan",
            "17.06.11",
        )
        assert m1.agencies == ["camat", "polri", "panwascam", "kades", "Karang Taruna"]
        assert [d.code for d in m1.reached_desa] == ["17.06.11.2001", "17.06.11.2002"]
        assert m1.source_url == "https://example.org/a" and not m1.reaches_all_desa
        assert (m2.host_kecamatan_code, m2.reaches_all_desa, m2.notes) == ("17.06.13", True, "catatan")


def test_incidents_csv_datetimes_and_labels(app, tmp_path):
    code, lat, lon = BUMI_MULYA
    text = (
        "Tanggal Kejadian,Tanggal Lapor,Kategori,Keparahan,Status,Desa,Kecamatan,Lintang,Bujur,Uraian,Sumber\n"
        f'05/10/2024 14:30,06/10/2024 09:00,Politik uang,sedang,dilaporkan,Bumi Mulya,Penarik,"{lat}","{lon}",'
        '"Dugaan pembagian uang, sembako",masyarakat\n'
        "2024-11-20T14:00:00Z,,hoaks,Tinggi,Diteruskan,Pondok Lunang,Air Dikit,,,Pesan berantai,media\n"
    )
    result = run_import(app, "incidents", write(tmp_path, "insiden.csv", text))
    assert result.inserted == 2
    with app.app_context():
        rows = sorted(get_session().scalars(select(Incident)), key=lambda i: i.occurred_at)
        assert [
            (i.occurred_at, i.reported_at, i.category, i.severity, i.status, i.desa_code, i.source, i.description)
            for i in rows
        ] == [
            (
                datetime(2024, 10, 5, 14, 30),
                datetime(2024, 10, 6, 9, 0),
                "money_politics",
                "medium",
                "reported",
                code,
                "public",
                "Dugaan pembagian uang, sembako",
            ),
            (
                datetime(2024, 11, 20, 21, 0),
                None,
                "hoax",
                "high",
                "forwarded",
                "17.06.14.2003",
                "media",
                "Pesan berantai",
            ),  # 14:00 UTC is 21:00 WIB
        ]
        assert rows[0].external_id is None and rows[0].content_hash


def test_comma_delimited_csv_in_cp1252(app, tmp_path):
    code, lat, lon = TERAMANG_JAYA
    text = f'kode_desa,no_tps,jumlah_dpt,alamat,lintang,bujur\n{code},4,300,Café – depan pasar,"{lat}","{lon}"\n'
    result = run_import(app, "tps", write(tmp_path, "tps.csv", text, "cp1252"))
    assert result.inserted == 1
    assert any("Windows-1252" in w for w in result.warnings)
    assert tps_rows(app)[0][3] == "Café – depan pasar"


def test_xlsx_import_picks_the_sheet_named_like_the_kind(app, tmp_path):
    wb = Workbook()
    wb.active.title = "Catatan"
    wb.active.append(["ini bukan data"])
    ws = wb.create_sheet("TPS")
    ws.append(["Kode Desa", "No TPS", "Jumlah DPT", "Lintang", "Bujur", "Kerawanan"])
    ws.append([TERAMANG_JAYA[0], 1.0, 412, TERAMANG_JAYA[1], TERAMANG_JAYA[2], "rawan"])
    ws.append(["17.06.02.1009", 2, "598", None, None, None])
    path = tmp_path / "data.xlsx"
    wb.save(path)
    result = run_import(app, "tps", path)
    assert result.inserted == 2 and any("'TPS'" in w for w in result.warnings)
    rows = tps_rows(app)
    assert [(r[0], r[1], r[2], r[4], r[8]) for r in rows] == [
        ("17.06.02.1009", 2, 598, "tidak_rawan", None),
        ("17.06.08.2006", 1, 412, "rawan", -2.797706),
    ]


def test_xlsx_meeting_with_date_and_time_cells(app, tmp_path):
    wb = Workbook()
    ws = wb.active
    ws.append(["judul", "tanggal", "jam", "tingkat", "desa", "kecamatan"])
    ws.append(["Rakor desa", datetime(2024, 11, 18), time(19, 30), "desa", "Resno", "V Koto"])
    path = tmp_path / "rakor.xlsx"
    wb.save(path)
    assert run_import(app, "meetings", path).inserted == 1
    with app.app_context():
        m = get_session().scalars(select(Meeting)).one()
        assert (m.date, m.start_time, m.host_desa_code, m.host_kecamatan_code) == (
            date(2024, 11, 18),
            time(19, 30),
            "17.06.12.2002",
            "17.06.12",
        )


def test_geojson_points_import(app, tmp_path):
    code, lat, lon = PONDOK_BARU_SELAGAN
    doc = {
        "type": "FeatureCollection",
        "features": [
            {
                "type": "Feature",
                "geometry": {"type": "Point", "coordinates": [lon, lat]},
                "properties": {"no_tps": 5, "jumlah_dpt": 250, "kerawanan": "tidak rawan", "lintang": 0},
            },
            {
                "type": "Feature",
                "geometry": None,
                "properties": {"kode_desa": "17.06.02.1009", "no_tps": 6, "jumlah_dpt": 100},
            },
        ],
    }
    result = run_import(app, "tps", json.dumps(doc).encode(), "tps.geojson")
    assert result.inserted == 2 and any("lintang" in w and "geometri" in w for w in result.warnings)
    rows = tps_rows(app)
    assert [(r[0], r[1], r[8], r[9], r[12]) for r in rows] == [
        ("17.06.02.1009", 6, None, None, "desa"),
        (code, 5, lat, lon, "inside"),
    ]


def test_points_used_here_are_inside_their_desa(app, tmp_path):
    text = "kode_desa;no_tps;jumlah_dpt;lintang;bujur\n" + "".join(
        f"{c};9;10;{str(la).replace('.', ',')};{str(lo).replace('.', ',')}\n"
        for c, la, lo in (TERAMANG_JAYA, PONDOK_BARU_SELAGAN, BUMI_MULYA)
    )
    run_import(app, "tps", write(tmp_path, "p.csv", text))
    assert all(r[12] == "inside" for r in tps_rows(app))


def test_sample_files_import(app):
    for kind in ("tps", "meetings", "incidents"):
        path = REPO / "samples" / f"{kind}.csv"
        assert path.read_bytes().startswith(b"\xef\xbb\xbf")
        result = run_import(app, kind, path)
        assert result.rejected == 0 and result.inserted >= 3 and not result.warnings, result.lines()
    with app.app_context():
        s = get_session()
        assert all(t.synthetic for t in s.scalars(select(PollingStation)))
        assert all(m.synthetic for m in s.scalars(select(Meeting)))


def test_header_aliases_are_case_space_and_underscore_insensitive():
    assert (
        field_for("Kode Desa", "tps") == field_for("KODE_DESA", "tps") == field_for("kode-desa", "tps") == "desa_code"
    )
    assert field_for("Desa/Kelurahan", "tps") == "desa"
    assert field_for("keterangan", "incidents") == "description"
    assert field_for("keterangan", "tps") == "notes"
    assert field_for("tanggal", "incidents") == "occurred_at" and field_for("tanggal", "meetings") == "date"
    assert field_for("Tingkat Keparahan", "incidents") == "severity"
    assert field_for("nonsense", "tps") is None


# --- failure modes: clear message, nothing written ----------------------------------------------------


@pytest.fixture
def unchanged(app):
    """Asserts after the test body that the database is exactly as before."""
    before = snapshot(app)
    yield
    assert snapshot(app) == before


def test_bad_row_values_list_every_row_and_write_nothing(app, tmp_path, unchanged):
    text = (
        "kode_desa;no_tps;jumlah_dpt;lintang;bujur\n"
        "17.06.08.2006;1;300;;\n"
        "17.06.08.2006;2;banyak;;\n"
        "17.06.08.2006;3;700;;\n"
        "17.06.08.2006;4;100;101,2;-2,6\n"
    )
    with pytest.raises(ValidationError, match=r"tps\.csv: 3 dari 4 baris tidak valid, tidak ada yang disimpan") as info:
        run_import(app, "tps", write(tmp_path, "tps.csv", text))
    errors = [(e["row"], e["column"]) for e in info.value.details["errors"]]
    assert errors == [(3, "jumlah_dpt"), (4, "jumlah_dpt"), (5, "lintang")]
    reasons = [e["reason"] for e in info.value.details["errors"]]
    assert "bukan bilangan bulat" in reasons[0] and "maksimal 600" in reasons[1] and "swapped" in reasons[2]


def test_missing_required_column(app, tmp_path, unchanged):
    with pytest.raises(
        InputFileError,
        match=r"tps\.csv: kolom wajib tidak ada / missing required columns: "
        r"voters \(jumlah_dpt\).*headers found: kode_desa, no_tps, alamat",
    ):
        run_import(app, "tps", write(tmp_path, "tps.csv", "kode_desa;no_tps;alamat\n17.06.08.2006;1;x\n"))
    with pytest.raises(InputFileError, match=r"desa_code/desa/lat\+lon"):
        run_import(app, "tps", write(tmp_path, "tps.csv", "no_tps;jumlah_dpt\n1;100\n"))


def test_unknown_desa(app, tmp_path, unchanged):
    text = "desa;kecamatan;no_tps;jumlah_dpt\nTeramang Jaya;Teramang Jaya;1;100\nPondok Lunag;;1;100\n"
    with pytest.raises(
        ValidationError,
        match=r"1 dari 2 baris.*baris 3, kolom desa: desa 'Pondok Lunag' tidak "
        r"dikenal.*Pondok Lunang",
    ):
        run_import(app, "tps", write(tmp_path, "tps.csv", text))


def test_duplicate_key_within_file_names_both_rows(app, tmp_path, unchanged):
    text = (
        "kode_desa;desa;kecamatan;no_tps;jumlah_dpt\n"
        "17.06.08.2003;;;1;100\n"
        "17.06.08.2006;;;1;100\n"
        ";Pondok Baru;Teramang Jaya;1;120\n"
    )
    with pytest.raises(
        ValidationError, match=r"baris 4, kolom no_tps: duplikat baris 2 \(TPS 1 desa 17\.06\.08\.2003\)"
    ):
        run_import(app, "tps", write(tmp_path, "tps.csv", text))
    inc = (
        "id;tanggal_kejadian;kategori;keparahan;uraian;kode_desa\n"
        "a;01/10/2024;apk;rendah;x;17.06.08.2006\nb;01/10/2024;apk;rendah;x;17.06.08.2006\n"
    )
    with pytest.raises(
        ValidationError, match=r"baris 3, kolom \(baris\): duplikat baris 2 \(isi sama / same content\)"
    ):
        run_import(app, "incidents", write(tmp_path, "i.csv", inc))


@pytest.mark.parametrize(
    "name, data, message",
    [
        ("tps.csv", bytes(range(256)) * 4, r"tps\.csv: bukan berkas teks CSV \(isi biner\)"),
        ("tps.csv", b"", r"tps\.csv: berkas kosong"),
        ("tps.csv", b"\xef\xbb\xbf \r\n\r\n", r"tps\.csv: berkas kosong"),
        ("tps.csv", b"kode_desa;no_tps;jumlah_dpt\r\n", r"tps\.csv: tidak ada baris data"),
        ("tps.geojson", b'{"type": "FeatureCollection"', r"tps\.geojson: bukan GeoJSON yang sah"),
        (
            "tps.geojson",
            json.dumps(
                {
                    "type": "FeatureCollection",
                    "features": [],
                    "crs": {"type": "name", "properties": {"name": "urn:ogc:def:crs:EPSG::32747"}},
                }
            ).encode(),
            r"tps\.geojson: CRS urn:ogc:def:crs:EPSG::32747 tidak didukung",
        ),
        ("tps.xls", b"\xd0\xcf\x11\xe0 old excel", r"tps\.xls: format Excel lama"),
        ("tps.pdf", b"%PDF-1.4", r"tps\.pdf: format \.pdf tidak didukung"),
    ],
)
def test_unreadable_files_are_named(app, tmp_path, unchanged, name, data, message):
    with pytest.raises(InputFileError, match=message):
        run_import(app, "tps", write_bytes(tmp_path, name, data))


def write_bytes(tmp_path, name, data) -> Path:
    path = tmp_path / name
    path.write_bytes(data)
    return path


def test_truncated_xlsx(app, tmp_path, unchanged):
    wb = Workbook()
    wb.active.append(["kode_desa", "no_tps", "jumlah_dpt"])
    wb.active.append(["17.06.08.2006", 1, 100])
    buf = io.BytesIO()
    wb.save(buf)
    data = buf.getvalue()
    with pytest.raises(InputFileError, match=r"tps\.xlsx: bukan XLSX atau rusak/terpotong"):
        run_import(app, "tps", write_bytes(tmp_path, "tps.xlsx", data[: len(data) // 2]))
    with pytest.raises(InputFileError, match=r"tps\.csv: ini berkas ZIP/XLSX, bukan CSV"):
        run_import(app, "tps", write_bytes(tmp_path, "tps.csv", data))


def test_geojson_with_a_line_is_rejected(app, tmp_path, unchanged):
    doc = {
        "type": "FeatureCollection",
        "features": [
            {
                "type": "Feature",
                "properties": {"kode_desa": "17.06.08.2006", "no_tps": 1, "jumlah_dpt": 10},
                "geometry": {"type": "LineString", "coordinates": [[101.3, -2.7], [101.4, -2.8]]},
            }
        ],
    }
    with pytest.raises(ValidationError, match=r"fitur 1, kolom geometry: hanya titik \(Point\)"):
        run_import(app, "tps", json.dumps(doc).encode(), "t.geojson")


def test_unquoted_decimal_comma_in_a_comma_csv(app, tmp_path, unchanged):
    text = "kode_desa,no_tps,jumlah_dpt,lintang,bujur\n17.06.08.2006,1,100,-2,797706,101,370524\n"
    with pytest.raises(ValidationError, match=r"baris 2, kolom \(baris\): 7 sel tetapi 5 judul kolom"):
        run_import(app, "tps", write(tmp_path, "tps.csv", text))


def test_row_conflicting_with_a_stored_record_writes_nothing(app, tmp_path):
    head = "id;tanggal_kejadian;kategori;keparahan;uraian;kode_desa\n"
    run_import(app, "incidents", write(tmp_path, "a.csv", head + "a;01/10/2024;apk;rendah;x;17.06.08.2006\n"))
    before = snapshot(app)
    text = head + "c;02/10/2024;apk;rendah;y;17.06.08.2006\nb;01/10/2024;apk;rendah;x;17.06.08.2006\n"
    with pytest.raises(ValidationError, match=r"b\.csv: baris 3 bentrok dengan data yang sudah tersimpan"):
        run_import(app, "incidents", write(tmp_path, "b.csv", text))
    assert snapshot(app) == before


def test_dry_run_writes_nothing_but_counts(app, tmp_path, unchanged):
    result = run_import(app, "tps", write(tmp_path, "tps.csv", MESSY_TPS), dry_run=True)
    assert (result.inserted, result.updated, result.unchanged, result.dry_run) == (3, 0, 0, True)
    assert any("nothing written" in line for line in result.lines())


def test_skip_invalid_imports_the_rest_and_writes_rejects(app, tmp_path):
    text = (
        "kode_desa;no_tps;jumlah_dpt;alamat\n"
        "17.06.08.2006;1;300;Balai desa\n"
        "17.06.08.2006;2;banyak;=cmd|' /C calc'!A0\n"
        "17.06.99.9999;3;100;@SUM(A1)\n"
        "17.06.08.2006;4;-5;-2,5\n"
    )
    rejects = tmp_path / "out" / "ditolak.csv"
    result = run_import(app, "tps", write(tmp_path, "tps.csv", text), skip_invalid=True, rejects_path=rejects)
    assert (result.inserted, result.rejected) == (1, 3)
    assert rejects.read_bytes() == result.rejects_data
    assert [r[1] for r in tps_rows(app)] == [1]
    raw = rejects.read_bytes()
    assert raw.startswith(b"\xef\xbb\xbf")
    rows = list(csv.reader(io.StringIO(raw.decode("utf-8-sig")), delimiter=";"))
    assert rows[0] == ["kode_desa", "no_tps", "jumlah_dpt", "alamat", "alasan"]
    assert [r[:4] for r in rows[1:]] == [
        ["17.06.08.2006", "2", "banyak", "'=cmd|' /C calc'!A0"],
        ["17.06.99.9999", "3", "100", "'@SUM(A1)"],
        ["17.06.08.2006", "4", "-5", "-2,5"],  # plain numbers are not formulas
    ]
    assert rows[1][4].startswith("jumlah_dpt: ") and "bukan bilangan bulat" in rows[1][4]
    assert rows[2][4].startswith("kode_desa: kode desa 17.06.99.9999 tidak ada")
    assert "minimal 0" in rows[3][4]


def test_safe_cell_escapes_formulas_only():
    assert safe_cell("=1+1") == "'=1+1" and safe_cell("+62 812") == "'+62 812" and safe_cell("@x") == "'@x"
    assert safe_cell("-2,56") == "-2,56" and safe_cell("- catatan") == "'- catatan"
    assert safe_cell(date(2024, 11, 11)) == "11/11/2024" and safe_cell(None) == ""


def test_read_is_pure_and_numbers_rows_like_a_spreadsheet(tmp_path):
    rows = read_records_file(MESSY_TPS.encode(), "tps.csv", "tps")
    assert rows.row_numbers == [2, 3, 5]  # the blank line 4 keeps its number
    assert rows.mapping["voters"] == "Jumlah DPT" and rows.rows[0]["lat"] == "-2,797706"
    # Excel's "sep=," line wins over counting delimiters in the header (4 ";" against 3 ",")
    hinted = read_records_file(
        b"sep=,\r\nkode_desa,no_tps,jumlah_dpt,a;b;c;d\r\n17.06.08.2006,1,2,x\r\n", "t.csv", "tps"
    )
    assert hinted.rows == [{"desa_code": "17.06.08.2006", "number": "1", "voters": "2"}] and hinted.row_numbers == [2]
    assert hinted.warnings == ["t.csv: kolom tidak dikenal diabaikan / unknown columns ignored: a;b;c;d"]


# --- command line ------------------------------------------------------------------------------------


def test_cli_import_ok_and_rerun(app, runner, tmp_path):
    path = write(tmp_path, "tps.csv", MESSY_TPS)
    result = runner.invoke(args=["import", "tps", str(path)])
    assert result.exit_code == 0, result.output
    assert "TPS: 3 baru/new" in result.output
    result = runner.invoke(args=["import", "tps", str(path), "--dry-run"])
    assert "TPS: akan / would be: 0 baru/new, 0 diperbarui/updated, 3 tetap/unchanged" in result.output


def test_cli_failure_lists_rows_and_exits_non_zero(app, runner, tmp_path, unchanged):
    text = "kode_desa;no_tps;jumlah_dpt\n17.06.08.2006;1;banyak\n17.06.08.2006;2;900\n"
    result = runner.invoke(args=["import", "tps", str(write(tmp_path, "tps.csv", text))])
    assert result.exit_code == 1
    assert "baris/row 2, kolom jumlah_dpt" in result.output and "baris/row 3, kolom jumlah_dpt" in result.output
    assert "Error: tps.csv: 2 dari 2 baris tidak valid" in result.output


def test_cli_skip_invalid_needs_rejects(app, runner, tmp_path, unchanged):
    path = write(tmp_path, "tps.csv", MESSY_TPS)
    result = runner.invoke(args=["import", "tps", str(path), "--skip-invalid"])
    assert result.exit_code == 2 and "--skip-invalid perlu --rejects" in result.output
    result = runner.invoke(args=["import", "meetings", str(tmp_path / "missing.csv")])
    assert result.exit_code == 1 and "missing.csv: berkas tidak ditemukan" in result.output


def test_cli_progress_bar_on_large_files(app, runner, tmp_path):
    with app.app_context():
        from geo_app.store.models import Desa

        codes = list(get_session().scalars(select(Desa.code).order_by(Desa.code)))
    lines = [f"{c};{n};{100 + n}" for n in (1, 2, 3) for c in codes][:320]
    path = write(tmp_path, "tps.csv", "kode_desa;no_tps;jumlah_dpt\n" + "\n".join(lines) + "\n")
    result = runner.invoke(args=["import", "tps", str(path)])
    assert result.exit_code == 0, result.output
    assert "validating and writing" in result.output and "TPS: 320 baru/new" in result.output
    small = write(tmp_path, "small.csv", "kode_desa;no_tps;jumlah_dpt\n" + "\n".join(lines[:300]) + "\n")
    result = runner.invoke(args=["import", "tps", str(small)])
    assert "validating and writing" not in result.output and "300 tetap/unchanged" in result.output


def test_samples_are_committed_next_to_the_readme():
    readme = (REPO / "README.md").read_text(encoding="utf-8")
    for name in ("samples/tps.csv", "samples/meetings.csv", "samples/incidents.csv", "jumlah_dpt", "kode_desa"):
        assert name in readme


def test_import_and_demo_need_boundaries(empty_app, tmp_path):
    path = write(tmp_path, "tps.csv", MESSY_TPS)
    before = snapshot(empty_app)
    runner = empty_app.test_cli_runner()
    for args in (["import", "tps", str(path)], ["demo", "load"]):
        result = runner.invoke(args=args)
        assert result.exit_code == 1 and "geo-app boundaries import" in result.output, args
    assert snapshot(empty_app) == before
