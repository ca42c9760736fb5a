"""Resource limits on record files: rows, columns, blank lines, claimed XLSX dimensions, zip bombs,
deeply nested or huge GeoJSON. Each hostile file gets a clear message naming the file (and the row
or limit), a 4xx from the web or API upload, a non-zero exit from the CLI, and changes nothing.

Memory is checked in a child process (its peak resident size, VmHWM) only as a sanity bound that the
unbounded reading of before fails; timings are in scripts/bench_upload_limits.py, not here.
"""

from __future__ import annotations

import io
import json
import re
import subprocess
import sys
import textwrap
import zipfile
from pathlib import Path

import pytest
from openpyxl import Workbook

from geo_app.app_db import get_session
from geo_app.config import load_settings
from geo_app.errors import InputFileError, TooLarge
from geo_app.ingest import xlsx_guard
from geo_app.ingest.records_file import read_records_file
from geo_app.services import records_import
from geo_app.services.records_import import import_records
from tests.conftest import REPO, snapshot

HEADER = "kode_desa;no_tps;jumlah_dpt\n"


def tps_csv(rows: int, start: int = 1) -> bytes:
    return (HEADER + "".join(f"17.06.10.2001;{n};300\n" for n in range(start, start + rows))).encode()


def upload(client, url: str, data: bytes, name: str, **form):
    return client.post(url, data={"file": (io.BytesIO(data), name), **form}, content_type="multipart/form-data")


def xlsx(rows: list[list], edit=None, cell: tuple[int, object] | None = None) -> bytes:
    """A workbook written by openpyxl; ``edit(member, data)`` rewrites members inside the zip."""
    book = Workbook()
    for row in rows:
        book.active.append(row)
    if cell:
        book.active.cell(row=cell[0], column=1, value=cell[1])
    raw = io.BytesIO()
    book.save(raw)
    if edit is None:
        return raw.getvalue()
    out = io.BytesIO()
    with zipfile.ZipFile(raw) as src, zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as dst:
        for info in src.infolist():
            dst.writestr(info.filename, edit(info.filename, src.read(info.filename)), compresslevel=9)
    return out.getvalue()


def claim_dimension(ref: str):
    def edit(member: str, data: bytes) -> bytes:
        if member == "xl/worksheets/sheet1.xml":
            new, n = re.subn(rb'<dimension ref="[^"]*"', f'<dimension ref="{ref}"'.encode(), data)
            assert n == 1
            return new
        return data

    return edit


def edit_sheet(transform):
    def edit(member: str, data: bytes) -> bytes:
        return transform(data) if member == "xl/worksheets/sheet1.xml" else data

    return edit


def peak_mb_reading(path: Path, kind: str = "tps", memory_limit_gb: float = 2.0) -> tuple[str, float]:
    """Read ``path`` in a child process (address space limited, so that unbounded reading fails
    fast); returns its outcome and its peak resident memory in MB."""
    script = textwrap.dedent(f"""
        import resource
        limit = int({memory_limit_gb} * 1024 ** 3)
        resource.setrlimit(resource.RLIMIT_AS, (limit, limit))
        from geo_app.errors import GeoAppError
        from geo_app.ingest.records_file import read_records_file
        try:
            outcome = f"rows={{len(read_records_file({str(path)!r}, None, {kind!r}))}}"
        except GeoAppError as exc:
            outcome = type(exc).__name__
        except MemoryError:
            outcome = "MemoryError"
        peak = next(int(l.split()[1]) for l in open("/proc/self/status") if l.startswith("VmHWM:"))
        print(outcome, peak / 1024)
    """)
    proc = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, timeout=600, cwd=REPO)
    assert proc.returncode == 0, proc.stderr[-2000:]
    outcome, peak = proc.stdout.split()[-2:]
    return outcome, float(peak)


@pytest.fixture
def small_limit(app):
    app.config["GEO_APP_SETTINGS"]["MAX_IMPORT_ROWS"] = 5
    return 5


# --- the row limit ---------------------------------------------------------------------------------


def test_row_limit_setting_default_and_environment():
    assert load_settings(environ={})["MAX_IMPORT_ROWS"] == 200_000
    assert load_settings(environ={"GEO_APP_MAX_IMPORT_ROWS": "1500"})["MAX_IMPORT_ROWS"] == 1500


def test_rows_up_to_the_limit_are_imported(app, client, small_limit):
    response = upload(client, "/api/import/tps", tps_csv(5) + b"\n\n;;\n", "tps.csv")
    assert response.status_code == 201, response.json
    assert response.json["inserted"] == 5  # blank lines do not count


@pytest.mark.parametrize(
    "name, data",
    [
        ("tps.csv", tps_csv(6)),
        ("tps.xlsx", xlsx([["kode_desa", "no_tps", "jumlah_dpt"]] + [["17.06.10.2001", n, 300] for n in range(1, 7)])),
        (
            "tps.geojson",
            json.dumps(
                {
                    "type": "FeatureCollection",
                    "features": [
                        {
                            "type": "Feature",
                            "geometry": None,
                            "properties": {"kode_desa": "17.06.10.2001", "no_tps": n, "jumlah_dpt": 300},
                        }
                        for n in range(1, 7)
                    ],
                }
            ).encode(),
        ),
    ],
)
def test_api_upload_over_the_row_limit_is_413_and_writes_nothing(app, client, small_limit, name, data):
    before = snapshot(app)
    response = upload(client, "/api/import/tps", data, name)
    assert response.status_code == 413, response.json
    assert response.json["error"] == "too_large"
    message = response.json["message"]
    assert name in message and "5" in message and "GEO_APP_MAX_IMPORT_ROWS" in message
    assert response.json["details"] == {"file": name, "limit": 5}
    assert snapshot(app) == before


def test_import_page_and_dry_run_over_the_limit(app, client, small_limit):
    before = snapshot(app)
    page = upload(client, "/impor", tps_csv(6), "tps.csv", kind="tps", dry_run="1")
    assert page.status_code == 413
    assert "tps.csv" in page.get_data(as_text=True) and "GEO_APP_MAX_IMPORT_ROWS" in page.get_data(as_text=True)
    assert snapshot(app) == before


def test_cli_over_the_limit_exits_non_zero(app, runner, small_limit, tmp_path):
    before = snapshot(app)
    path = tmp_path / "tps.csv"
    path.write_bytes(tps_csv(6))
    for extra in ([], ["--dry-run"], ["--skip-invalid", "--rejects", str(tmp_path / "rejects.csv")]):
        result = runner.invoke(args=["import", "tps", str(path), *extra])
        assert result.exit_code == 1, result.output
        assert "tps.csv: lebih dari 5 baris data" in result.output and "GEO_APP_MAX_IMPORT_ROWS = 5" in result.output
    assert not (tmp_path / "rejects.csv").exists()
    assert snapshot(app) == before


def test_limit_is_checked_while_reading_before_any_validation(app, monkeypatch):
    """Rows past the limit are not read (a broken row 10 is never reached) and nothing is validated."""

    def no_validation(*args, **kwargs):
        raise AssertionError("validation started")

    monkeypatch.setattr(records_import, "record_context", no_validation)
    monkeypatch.setattr(records_import, "clean_record", no_validation)
    broken = tps_csv(8) + b'17.06.10.2001;9;"' + b"x" * 200_000 + b'"\n'
    with app.app_context():
        with pytest.raises(TooLarge, match=r"tps\.csv: lebih dari 5 baris"):
            import_records(
                get_session(), {**app.config["GEO_APP_SETTINGS"], "MAX_IMPORT_ROWS": 5}, "tps", broken, "tps.csv"
            )
        # the default limit (200,000) applies without the setting
        with pytest.raises(TooLarge, match="200000"):
            import_records(get_session(), {}, "tps", tps_csv(200_001), "tps.csv")


# --- CSV: blank lines, long lines, wide headers -------------------------------------------------------


def test_csv_of_blank_lines_reads_in_bounded_memory(tmp_path):
    path = tmp_path / "tps.csv"
    path.write_bytes(tps_csv(1) + b"\n" * 15_000_000)
    outcome, peak = peak_mb_reading(path)
    assert outcome == "rows=1"
    assert peak < 300, f"{peak:.0f} MB"  # 2.7 GB before


def test_blank_lines_keep_row_numbers():
    rows = read_records_file(b"\n\n" + tps_csv(1) + b"\r\n   \r\n;;\n17.06.10.2001;2;300\n", "tps.csv", "tps")
    assert rows.row_numbers == [4, 8]


def test_one_huge_field_names_the_file_and_row(app, client):
    before = snapshot(app)
    data = tps_csv(2) + b"17.06.10.2001;3;" + b"9" * 20_000_000 + b"\n"
    app.config["MAX_CONTENT_LENGTH"] = 64 * 1024 * 1024
    response = upload(client, "/api/import/tps", data, "tps.csv")
    assert response.status_code == 400
    assert response.json["message"].startswith("tps.csv: CSV rusak / malformed CSV: baris / row 4")
    assert snapshot(app) == before


def test_too_many_columns_is_413():
    header = ";".join(f"kolom{i}" for i in range(300))
    with pytest.raises(TooLarge, match=r"t\.csv: 300 kolom, batas / limit 256"):
        read_records_file(f"{header}\n1\n".encode(), "t.csv", "tps")
    # delimiters alone do not make columns: trailing empty headers are dropped, extra cells are an error
    rows = read_records_file(
        HEADER.encode().replace(b"\n", b";" * 5000 + b"\n") + b"17.06.10.2001;1;300;x\n", "t.csv", "tps"
    )
    assert [(r, c) for r, c, _ in rows.row_errors] == [(2, "(baris)")]


# --- XLSX ------------------------------------------------------------------------------------------------


def test_xlsx_claimed_dimension_is_ignored(tmp_path):
    """A 5 KB sheet claiming A1:XFD6000 took 10 s and 830 MB: rows were padded to the claim."""
    data = xlsx(
        [["kode_desa", "no_tps", "jumlah_dpt"], ["17.06.10.2001", 1, 300]],
        edit=claim_dimension("A1:XFD6000"),
        cell=(6000, " "),
    )
    assert len(data) < 10_000
    path = tmp_path / "tps.xlsx"
    path.write_bytes(data)
    outcome, peak = peak_mb_reading(path)
    assert outcome == "rows=1"
    assert peak < 150, f"{peak:.0f} MB"
    # the full-size claim (A1:XFD1048576, about 100 GB before) reads the same
    path.write_bytes(
        xlsx(
            [["kode_desa", "no_tps", "jumlah_dpt"], ["17.06.10.2001", 1, 300]],
            edit=claim_dimension("A1:XFD1048576"),
            cell=(1_048_576, " "),
        )
    )
    rows = read_records_file(path, None, "tps")
    assert rows.rows == [{"desa_code": "17.06.10.2001", "number": 1, "voters": 300}]


def test_xlsx_rows_are_cut_to_the_header(tmp_path):
    """A far-away cell does not widen every row; a header cell far away is refused."""
    data = xlsx(
        [["kode_desa", "no_tps", "jumlah_dpt"], ["17.06.10.2001", 1, 300], ["17.06.10.2001", 2, 301]],
        edit=claim_dimension("A1:XFD3"),
    )
    rows = read_records_file(data, "tps.xlsx", "tps")
    assert [len(c) for c in rows.cells] == [3, 3] and rows.row_numbers == [2, 3] and rows.row_errors == []
    # a value just right of the header is still an error of its row, as before
    book = Workbook()
    for row in (["kode_desa", "no_tps", "jumlah_dpt"], ["17.06.10.2001", 1, 300, None, "x"]):
        book.active.append(row)
    buffer = io.BytesIO()
    book.save(buffer)
    rows = read_records_file(buffer.getvalue(), "tps.xlsx", "tps")
    assert [(r, c) for r, c, _ in rows.row_errors] == [(2, "(baris)")] and [len(c) for c in rows.cells] == [3]
    wide = Workbook()
    wide.active.append(["kode_desa", "no_tps", "jumlah_dpt"])
    wide.active.cell(row=1, column=400, value="catatan")
    buffer = io.BytesIO()
    wide.save(buffer)
    with pytest.raises(TooLarge, match=r"tps\.xlsx: .*kolom"):
        read_records_file(buffer.getvalue(), "tps.xlsx", "tps")


def test_xlsx_zip_bombs_are_refused_before_openpyxl(app, client, monkeypatch):
    monkeypatch.setattr("openpyxl.load_workbook", lambda *a, **k: pytest.fail("openpyxl opened a bomb"))
    header = [["kode_desa", "no_tps", "jumlah_dpt"], ["17.06.10.2001", 1, 300]]
    bombs = {
        # one sheet row of 3 million empty cells (12 MB of XML, 12 KB zipped)
        "wide row": xlsx(header, edit=edit_sheet(lambda d: d.replace(b"</row>", b"<c/>" * 3_000_000 + b"</row>", 1))),
        # elements between rows, which openpyxl keeps in memory
        "junk": xlsx(header, edit=edit_sheet(lambda d: d.replace(b"</row>", b"</row>" + b"<x/>" * 2_100_000, 1))),
        # one 20 MB string
        "long text": xlsx(
            header, edit=edit_sheet(lambda d: d.replace(b"<t>17.06.10.2001</t>", b"<t>" + b"A" * 20_000_000 + b"</t>"))
        ),
        # more rows than a worksheet can have
        "rows": xlsx(
            header, edit=edit_sheet(lambda d: d.replace(b"</sheetData>", b"<row/>" * 1_048_580 + b"</sheetData>"))
        ),
    }
    before = snapshot(app)
    for what, data in bombs.items():
        assert len(data) < 200_000, what
        response = upload(client, "/api/import/tps", data, "tps.xlsx")
        assert response.status_code == 413, (what, response.json)
        assert response.json["message"].startswith("tps.xlsx: XLSX terlalu besar atau rumit"), what
    assert snapshot(app) == before


def test_xlsx_shared_strings_and_unpacked_size(monkeypatch):
    sst = (
        b'<sst xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main">'
        + b"<si><t>a</t></si>" * 10
        + b"</sst>"
    )
    base = xlsx([["kode_desa", "no_tps", "jumlah_dpt"], ["17.06.10.2001", 1, 300]])

    def with_member(name: str, data: bytes) -> bytes:
        out = io.BytesIO(base)
        with zipfile.ZipFile(out, "a", zipfile.ZIP_DEFLATED) as z:
            z.writestr(name, data)
        return out.getvalue()

    assert xlsx_guard.check_xlsx_package(with_member("xl/sharedStrings.xml", sst), "t.xlsx") is None
    monkeypatch.setattr(xlsx_guard, "MAX_SHARED_STRINGS", 9)
    with pytest.raises(TooLarge, match="shared strings"):
        xlsx_guard.check_xlsx_package(with_member("xl/sharedStrings.xml", sst), "t.xlsx")
    monkeypatch.setattr(xlsx_guard, "MAX_UNPACKED_BYTES", 1024 * 1024)
    with pytest.raises(TooLarge, match=r"t\.xlsx: .*\(maks\. 1 MB\)"):
        xlsx_guard.check_xlsx_package(with_member("xl/media/big.bin", b"\0" * 2 * 1024 * 1024), "t.xlsx")


def test_xlsx_doctype_is_refused():
    doctype = xlsx([["kode_desa"], ["x"]], edit=edit_sheet(lambda d: b'<!DOCTYPE worksheet [<!ENTITY a "aaaa">]>' + d))
    with pytest.raises(InputFileError, match=r"tps\.xlsx:xl/worksheets/sheet1\.xml: XLSX berisi DOCTYPE"):
        read_records_file(doctype, "tps.xlsx", "tps")


def test_xlsx_comments_do_not_hide_rows():
    """Boundary tags hidden in a comment cannot split one huge row into small ones."""
    hidden = b"".join(b"<c/>" * 1000 + b"<!-- <row> -->" for _ in range(300))
    data = xlsx(
        [["kode_desa", "no_tps", "jumlah_dpt"], ["17.06.10.2001", 1, 300]],
        edit=edit_sheet(lambda d: d.replace(b"</row>", hidden + b"</row>", 1)),
    )
    with pytest.raises(TooLarge, match="after a comment"):
        read_records_file(data, "tps.xlsx", "tps")


def test_real_workbooks_pass_the_guard():
    """What openpyxl writes with 5,000 rows of text, numbers and dates passes, and reads in full."""
    from datetime import date

    rows = [["kode_desa", "judul", "tanggal", "tingkat"]]
    rows += [["17.06.10.2001", f"Rakor {n} " + "x" * (n % 40), date(2024, 11, 1 + n % 28), "desa"] for n in range(5000)]
    table = read_records_file(xlsx(rows), "rakor.xlsx", "meetings")
    assert len(table) == 5000


# --- GeoJSON -----------------------------------------------------------------------------------------------


def test_geojson_nested_100k_deep_is_400(app, client):
    before = snapshot(app)
    deep = b'{"type":"FeatureCollection","features":[' + b"[" * 100_000 + b"]" * 100_000 + b"]}"
    response = upload(client, "/api/import/tps", deep, "tps.geojson")
    assert response.status_code == 400, response.json
    assert response.json["message"].startswith("tps.geojson: GeoJSON bersarang terlalu dalam")
    page = upload(client, "/impor", deep, "tps.geojson", kind="tps")
    assert page.status_code == 400 and "tps.geojson" in page.get_data(as_text=True)
    assert snapshot(app) == before


def test_geojson_property_nested_at_any_depth_is_never_a_500(app, client):
    """Around the parser's recursion limit a property is either read (as JSON text) or refused with
    a 400 naming the file."""
    before = snapshot(app)
    limit = sys.getrecursionlimit()
    for depth in (10, limit // 2, limit - 200, limit - 50, limit - 10, limit, limit + 10, 5 * limit):
        value = "[" * depth + "]" * depth
        doc = (
            '{"type":"FeatureCollection","features":[{"type":"Feature","geometry":null,"properties":'
            '{"kode_desa":"17.06.10.2001","no_tps":1,"jumlah_dpt":300,"catatan":' + value + "}}]}"
        ).encode()
        response = upload(client, "/api/import/tps", doc, "tps.geojson", dry_run="1")
        assert response.status_code in (200, 400), (depth, response.status_code)
        if response.status_code == 400:
            assert response.json["message"].startswith("tps.geojson: "), depth
    assert snapshot(app) == before


def test_geojson_with_millions_of_tiny_features_is_refused_before_parsing(app, client, small_limit):
    before = snapshot(app)
    many = b'{"type":"FeatureCollection","features":[' + b"{}," * 999 + b"{}]}"
    response = upload(client, "/api/import/tps", many, "tps.geojson")
    assert response.status_code == 413 and "tps.geojson: lebih dari 5 fitur" in response.json["message"]
    numbers = b'{"type":"FeatureCollection","features":[' + b"0," * 999 + b"0]}"
    response = upload(client, "/api/import/tps", numbers, "tps.geojson")
    assert response.status_code == 413 and "1000 fitur / features" in response.json["message"]
    assert snapshot(app) == before


def test_deeply_nested_json_bodies_to_the_records_api_are_400(app, client):
    before = snapshot(app)
    for body in (
        b"[" * 100_000 + b"]" * 100_000,
        b'{"desa":"Penarik","number":1,"voters":300,"notes":' + b"[" * 100_000 + b"]" * 100_000 + b"}",
        b'{"desa":"Penarik","number":1,"voters":300,"agencies":' + b"[" * 500 + b"]" * 500 + b"}",
    ):
        for url in ("/api/polling-stations", "/api/meetings", "/api/incidents"):
            response = client.post(url, data=body, content_type="application/json")
            assert response.status_code == 400, (url, response.status_code)
    response = client.put(
        "/api/polling-stations/1", data=b"[" * 100_000 + b"]" * 100_000, content_type="application/json"
    )
    assert response.status_code in (400, 404)
    assert snapshot(app) == before
