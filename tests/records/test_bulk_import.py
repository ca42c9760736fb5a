"""Imports in bulk (issue 11): a file is read in chunks, validated column by column, written with
batched statements in one transaction. Bad rows deep inside a big file, duplicates across chunks,
dry runs, rollback and the audit trail behave as they did row by row; the column path gives exactly
the values the row-by-row cleaner gives (or hands the row to it)."""

from __future__ import annotations

import csv
import io
import itertools
import os
import re
from pathlib import Path

import pytest
import shapely
from pyproj import Transformer
from sqlalchemy import func, select

from geo_app.app_db import get_session
from geo_app.errors import RecordInvalid, ValidationError
from geo_app.ingest.records_file import read_records_file
from geo_app.records.columns import ColumnCleaner, row_getter
from geo_app.records.schema import clean_record
from geo_app.services.audit import rollback_batch
from geo_app.services.records import record_context
from geo_app.services.records_import import import_records
from geo_app.services.synthetic import CSV_HEADERS, synthetic_incidents, write_incidents_csv
from geo_app.store.adapter import desa_frame
from geo_app.store.models import AuditEntry, Incident
from geo_app.store.records import to_dict
from tests.conftest import snapshot

METRIC = "EPSG:32747"
TO_LONLAT = Transformer.from_crs(METRIC, "EPSG:4326", always_xy=True)


def settings(app) -> dict:
    return app.config["GEO_APP_SETTINGS"]


@pytest.fixture
def big_csv(app, tmp_path) -> Path:
    """5,000 synthetic incidents (header on row 1, so data row k is spreadsheet row k + 1)."""
    with app.app_context():
        frame = synthetic_incidents(desa_frame(get_session()), 5000, seed=5)
    return write_incidents_csv(frame, tmp_path / "insiden.csv")


def edit_rows(path: Path, edits: dict[int, dict[str, str]]) -> Path:
    """Change cells of spreadsheet rows (``{row: {header: value}}``) of a CSV written by the generator."""
    with open(path, encoding="utf-8", newline="") as f:
        rows = list(csv.reader(f, delimiter=";"))
    header = rows[0]
    for number, cells in edits.items():
        for name, value in cells.items():
            rows[number - 1][header.index(name)] = value
    out = path.with_name("edited-" + path.name)
    with open(out, "w", encoding="utf-8", newline="") as f:
        csv.writer(f, delimiter=";", lineterminator="\n").writerows(rows)
    return out


def count_incidents(app) -> int:
    with app.app_context():
        return get_session().scalar(select(func.count()).select_from(Incident))


# --- bad rows deep inside a big file ---------------------------------------------------------------------


def test_bad_rows_in_the_middle_of_a_big_file_are_named_and_nothing_is_stored(app, big_csv):
    path = edit_rows(
        big_csv,
        {
            2500: {"lintang": "101.35", "bujur": "-2.70"},  # swapped
            4321: {"kategori": "=cmd|' /C calc'!A0"},  # hostile and unknown
            4999: {"waktu_kejadian": "31/02/2024 10:00"},  # no such day
        },
    )
    before = snapshot(app)
    with pytest.raises(ValidationError, match=r"3 dari 5000 baris tidak valid, tidak ada yang disimpan") as info:
        with app.app_context():
            # chunks of 1,000 rows: the first chunks are written (inside the transaction) before row 4,321
            import_records(get_session(), settings(app), "incidents", path, chunk_rows=1000)
    errors = info.value.details["errors"]
    assert [(e["row"], e["column"]) for e in errors] == [
        (2500, "lintang"),
        (4321, "kategori"),
        (4999, "waktu_kejadian"),
    ]
    assert "swapped" in errors[0]["reason"]
    assert "tidak dikenal" in errors[1]["reason"] and "=cmd" in errors[1]["reason"]
    assert "bukan tanggal-jam" in errors[2]["reason"]
    assert "baris 2500, kolom lintang" in info.value.message
    assert snapshot(app) == before


def test_cli_names_row_4321_and_its_column(app, runner, big_csv):
    path = edit_rows(big_csv, {4321: {"keparahan": "parah sekali"}})
    before = snapshot(app)
    result = runner.invoke(args=["import", "incidents", str(path)])
    assert result.exit_code == 1
    assert "baris/row 4321, kolom keparahan: 'parah sekali' tidak dikenal" in result.output
    assert "1 dari 5000 baris tidak valid" in result.output
    assert snapshot(app) == before


def test_skip_invalid_writes_the_good_rows_of_every_chunk(app, big_csv, tmp_path):
    path = edit_rows(big_csv, {3: {"uraian": ""}, 4321: {"kode_desa": "17.06.99.9999"}})
    rejects = tmp_path / "ditolak.csv"
    with app.app_context():
        result = import_records(
            get_session(), settings(app), "incidents", path, skip_invalid=True, rejects_path=rejects, chunk_rows=700
        )
    assert (result.inserted, result.rejected) == (4998, 2)
    assert count_incidents(app) == 4998
    rows = list(csv.reader(io.StringIO(rejects.read_text(encoding="utf-8-sig")), delimiter=";"))
    assert rows[0][-1] == "alasan" and [r[rows[0].index("id")] for r in rows[1:]] == [
        "SYN-INC-000002",
        "SYN-INC-004320",
    ]
    assert rows[1][-1].startswith("uraian: wajib diisi") and rows[2][-1].startswith(
        "kode_desa: kode desa 17.06.99.9999"
    )


# --- duplicates across chunks ----------------------------------------------------------------------------


def test_duplicates_inside_the_file_across_chunks_name_both_rows(app, big_csv):
    with open(big_csv, encoding="utf-8") as f:
        lines = f.read().splitlines()
    header = lines[0].split(";")
    copy_of_300 = lines[299].split(";")  # spreadsheet row 300
    copy_of_300[header.index("id")] = "LAIN-1"  # another id, the same content
    row_3700 = lines[3699].split(";")
    row_3700[header.index("id")] = "SYN-INC-000011"  # the id of row 12, another content
    lines[4799] = ";".join(copy_of_300)
    lines[3699] = ";".join(row_3700)
    path = big_csv.with_name("dups.csv")
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    before = snapshot(app)
    with pytest.raises(ValidationError, match=r"2 dari 5000 baris") as info:
        with app.app_context():
            import_records(get_session(), settings(app), "incidents", path, chunk_rows=1000)
    assert [(e["row"], e["column"], e["reason"]) for e in info.value.details["errors"]] == [
        (3700, "id", "duplikat baris 12 (id 'SYN-INC-000011') / duplicate of baris 12"),
        (4800, "(baris)", "duplikat baris 300 (isi sama / same content) / duplicate of baris 300"),
    ]
    assert snapshot(app) == before


# --- dry run, re-import, rollback, audit -------------------------------------------------------------------


def test_dry_run_of_a_large_file_stores_nothing(app, big_csv):
    before = snapshot(app)
    with app.app_context():
        result = import_records(get_session(), settings(app), "incidents", big_csv, dry_run=True, chunk_rows=1000)
    assert (result.inserted, result.updated, result.unchanged, result.dry_run) == (5000, 0, 0, True)
    assert snapshot(app) == before


def test_big_import_then_again_then_rollback_then_back(app, big_csv):
    with app.app_context():
        session = get_session()
        first = import_records(session, settings(app), "incidents", big_csv, chunk_rows=1500, actor="tester")
        assert (first.inserted, first.updated, first.unchanged) == (5000, 0, 0)
        entries = session.scalars(select(AuditEntry).where(AuditEntry.batch == first.batch)).all()
        assert sorted(e.action for e in entries) == ["create"] * 5000 + ["import"]
        assert {e.actor for e in entries} == {"tester"}
        # the audit keeps each record as to_dict shows it (times aside: stored without their zone)
        created = {e.record_id: e.after for e in entries if e.action == "create"}
        for obj in session.scalars(select(Incident).order_by(Incident.id).limit(50)):
            expected = {
                k: v
                for k, v in to_dict(obj, "incidents").items()
                if not k.endswith("_at")
                or k
                in (
                    "occurred_at",
                    "reported_at",
                )
            }
            assert {k: v for k, v in created[obj.id].items() if k in expected} == expected
            assert created[obj.id]["created_at"].endswith("+00:00")
        again = import_records(session, settings(app), "incidents", big_csv, chunk_rows=1500)
        assert (again.inserted, again.updated, again.unchanged) == (0, 0, 5000)
        assert rollback_batch(session, first.batch)["deleted"] == 5000
        assert session.scalar(select(func.count()).where(Incident.deleted_at.is_(None))) == 0
        # records removed by a rollback come back through a new import (as updates), once
        back = import_records(session, settings(app), "incidents", big_csv, chunk_rows=1500)
        assert (back.inserted, back.updated, back.unchanged) == (0, 5000, 0)
        assert session.scalar(select(func.count()).where(Incident.deleted_at.is_(None))) == 5000
        assert session.scalar(select(func.count()).select_from(Incident)) == 5000


def test_a_row_deleted_by_hand_is_refused_in_a_big_file(app, big_csv, client):
    with app.app_context():
        import_records(get_session(), settings(app), "incidents", big_csv)
        victim = get_session().scalar(select(Incident.id).where(Incident.external_id == "SYN-INC-004320"))
    assert client.delete(f"/api/incidents/{victim}").status_code in (200, 204)
    before = snapshot(app)
    with pytest.raises(ValidationError) as info:
        with app.app_context():
            import_records(get_session(), settings(app), "incidents", big_csv, chunk_rows=1000)
    assert [(e["row"], e["column"]) for e in info.value.details["errors"]] == [(4321, "id")]
    assert f"id {victim} yang telah dihapus" in info.value.details["errors"][0]["reason"]
    assert snapshot(app) == before


def test_update_freeing_a_content_hash_lets_a_later_row_take_it(app, tmp_path):
    """Rows are matched as if written one by one: the first row moves stored record 'a' to new
    content, so the second row (no id, a's old content) is a new record, not a conflict."""
    head = "id;tanggal_kejadian;kategori;keparahan;uraian;kode_desa\n"
    old = "01/10/2024;apk;rendah;x;17.06.08.2006"
    with app.app_context():
        session = get_session()
        import_records(session, settings(app), "incidents", (head + f"a;{old}\n").encode(), "a.csv")
        text = head + "a;02/10/2024;apk;rendah;x;17.06.08.2006\n" + f";{old}\n"
        result = import_records(session, settings(app), "incidents", text.encode(), "b.csv")
        assert (result.inserted, result.updated) == (1, 1)
        # and the other way round is the conflict it always was
        text = head + f"c;{old}\n"
        with pytest.raises(ValidationError, match=r"baris 2 bentrok dengan data yang sudah tersimpan"):
            import_records(session, settings(app), "incidents", text.encode(), "c.csv")


# --- the column path gives what the row-by-row cleaner gives ------------------------------------------------


def _lonlat(point: shapely.Point) -> tuple[float, float]:
    lon, lat = TO_LONLAT.transform(point.x, point.y)
    return round(float(lon), 6), round(float(lat), 6)


def _hard_points(desa) -> list[tuple[tuple[float, float], list[str]]]:
    """Points on the real polygons' hard cases, each with desa codes to declare: in overlaps (both
    desa), in gaps within and beyond the tolerance, on a border, deep inside."""
    metric = desa.to_crs(METRIC).set_index("code").geometry
    geoms, codes = metric.to_numpy(), list(metric.index)
    tree = shapely.STRtree(geoms)
    out = []
    for i, g in enumerate(geoms):
        for j in tree.query(g, predicate="intersects"):
            inter = g.intersection(geoms[j]) if j > i else None
            if inter is not None and inter.area > 0:
                piece = max(shapely.get_parts(inter), key=lambda p: p.area)
                out.append(
                    (_lonlat(shapely.get_point(shapely.maximum_inscribed_circle(piece), 0)), [codes[i], codes[j]])
                )
    union = shapely.union_all(geoms)
    for distance in (20, 250, 480, 900):
        ring = union.buffer(distance).exterior
        for f in (0.1, 0.37, 0.8):
            out.append((_lonlat(ring.interpolate(f, normalized=True)), []))
    for code in codes[::10]:
        out.append((_lonlat(metric[code].representative_point()), [code]))
        out.append(
            (
                _lonlat(
                    metric[code].exterior.interpolate(0.3, normalized=True)
                    if metric[code].geom_type == "Polygon"
                    else metric[code].representative_point()
                ),
                [code],
            )
        )
    return out


def test_column_path_agrees_with_clean_record(app):
    with app.app_context():
        ctx = record_context(get_session(), settings(app))
    desa = ctx.desa
    names = dict(zip(desa["code"], desa["name"]))
    kec_names = dict(zip(desa["code"], desa["kecamatan_name"]))
    other = desa["code"].iloc[5]
    raws = []
    variants = itertools.cycle(
        [
            {"occurred_at": "05/10/2024 14:30", "category": "Politik uang", "severity": "sedang"},
            {"occurred_at": "2024-11-20T14:00:00Z", "category": "hoaks", "severity": "Tinggi", "status": "Diteruskan"},
            {"occurred_at": "31/02/2024 10:00", "category": "apk", "severity": "low"},
            {"occurred_at": " 05/10/2024 14:30 ", "category": "APK", "severity": "low", "reported_at": "04/10/2024"},
            {
                "occurred_at": "05/10/2024",
                "category": "lainnya",
                "severity": "rendah",
                "reported_at": "06/10/2024 09.15",
            },
            {"occurred_at": "05/10/2024 14:30", "category": "nope", "severity": "low", "synthetic": "mungkin"},
            {"occurred_at": "05/10/2024 14:30", "category": "apk", "severity": "low", "source_url": "ftp://x"},
            {"occurred_at": "05/10/2024 14:30", "category": "apk", "severity": "low", "external_id": " A  b "},
            {"occurred_at": "05/10/2024 14:30", "category": "apk", "severity": "low", "description": ""},
        ]
    )
    hard = _hard_points(desa)[::2]
    ctx.prefetch([point for point, _ in hard])  # the row-by-row side places them in one join too
    for (lon, lat), declared in hard:
        for code in [None, *declared, other]:
            for place in ("code", "name", "name+kec", "code+wrong-name", "none"):
                raw = {
                    "description": f"uraian {len(raws)}",
                    "lat": f"{lat}".replace(".", ",") if len(raws) % 3 == 0 else lat,
                    "lon": f"{lon}".replace(".", ",") if len(raws) % 3 == 0 else lon,
                    **next(variants),
                }
                if code is not None and place == "code":
                    raw["desa_code"] = code
                elif code is not None and place == "name":
                    raw["desa"] = names[code]
                elif code is not None and place == "name+kec":
                    raw.update(desa=names[code], kecamatan=kec_names[code])
                elif code is not None and place == "code+wrong-name":
                    raw.update(desa_code=code, desa=names[other], kecamatan=kec_names[other])
                raws.append(raw)
    raws += [
        {"occurred_at": "01/10/2024 10:00", "category": "apk", "severity": "low", "description": "x", "lat": "-2,7"},
        {
            "occurred_at": "01/10/2024 10:00",
            "category": "apk",
            "severity": "low",
            "description": "x",
            "lat": 101.3,
            "lon": -2.7,
        },
        {
            "occurred_at": "01/10/2024 10:00",
            "category": "apk",
            "severity": "low",
            "description": "x",
            "lat": "a",
            "lon": "b",
        },
        {
            "occurred_at": "01/10/2024 10:00",
            "category": "apk",
            "severity": "low",
            "description": "x",
            "desa": "Penarikk",
        },
    ]
    cleaner = ColumnCleaner("incidents", ctx)
    fast = cleaner.clean(row_getter(raws), len(raws))
    agreed = good = 0
    for raw, values in zip(raws, fast):
        try:
            expected = clean_record("incidents", raw, ctx)
        except RecordInvalid:
            expected = None
        good += expected is not None
        if values is not None:
            assert values == expected, raw
            agreed += 1
        # (None: the row goes to clean_record, which gives its values or its message)
    assert good > 200 and agreed >= 0.9 * good  # the column path handles the good rows itself
    assert any(v is not None and v["placement"] == "overlap" for v in fast)
    assert any(v is not None and v["placement"] == "nearest" for v in fast)
    assert any(v is not None and v["location_mismatch"] for v in fast)


def test_tps_column_path_agrees_with_clean_record(app):
    with app.app_context():
        ctx = record_context(get_session(), settings(app))
    codes = list(ctx.desa["code"])
    raws = [
        {"desa_code": codes[i % len(codes)], "number": n, "voters": v, "vulnerability": vul, "police": p}
        for i, (n, v, vul, p) in enumerate(
            itertools.product(
                ["1", "2,0", "1.000", "0", "x", 5.0, 7],
                ["300", "601", "", 12.5],
                ["rawan", "Aman", "", "??"],
                ["", "1", "100"],
            )
        )
    ]
    fast = ColumnCleaner("tps", ctx).clean(row_getter(raws), len(raws))
    good = 0
    for raw, values in zip(raws, fast):
        try:
            expected = clean_record("tps", raw, ctx)
        except RecordInvalid:
            expected = None
        good += expected is not None
        assert values is None or values == expected, raw
        assert (values is None) == (expected is None), raw  # every good TPS row goes the column way
    assert good >= 20


def test_synthetic_csv_columns_are_what_the_reader_maps():
    rows = read_records_file(
        (";".join(CSV_HEADERS.values()) + "\n" + ";".join("" for _ in CSV_HEADERS) + "x\n").encode(),
        "x.csv",
        "incidents",
    )
    assert set(rows.mapping) == set(CSV_HEADERS)


def test_bulk_rows_are_stored_as_the_orm_stores_them(app, tmp_path):
    """The fast SQLite path sends values through the columns' own processors: the stored text of dates,
    times, flags and JSON has the same shape as a record saved one at a time (``create_record``)."""
    from sqlalchemy import text

    from geo_app.services.records import create_record

    head = "id;tanggal_kejadian;waktu_lapor;kategori;keparahan;uraian;kode_desa;sintetis\n"
    row = {
        "occurred_at": "01/10/2024 10:00",
        "reported_at": "02/10/2024 11:30",
        "category": "apk",
        "severity": "low",
        "description": "satu",
        "desa_code": "17.06.08.2006",
        "synthetic": "ya",
    }
    rakor_head = "id;judul;tanggal;jam;tingkat;kecamatan;instansi\n"
    with app.app_context():
        session = get_session()
        create_record(session, settings(app), "incidents", {**row, "external_id": "orm"})
        create_record(
            session,
            settings(app),
            "meetings",
            {
                "external_id": "orm",
                "title": "R",
                "date": "05/11/2024",
                "start_time": "09:00",
                "level": "kecamatan",
                "kecamatan": "Ipuh",
                "agencies": "camat",
            },
        )
        line = "bulk;01/10/2024 10:00;02/10/2024 11:30;apk;low;dua;17.06.08.2006;ya\n"
        import_records(session, settings(app), "incidents", (head + line).encode(), "i.csv")
        import_records(
            session,
            settings(app),
            "meetings",
            (rakor_head + "bulk;R2;05/11/2024;09:00;kecamatan;Ipuh;camat\n").encode(),
            "r.csv",
        )

        def shapes(table: str, cols: str) -> dict[str, tuple]:
            rows = session.execute(text(f"SELECT external_id, {cols} FROM {table}")).all()
            return {r[0]: tuple(re.sub(r"\d", "9", repr(v)) for v in r[1:]) for r in rows}

        incidents = shapes("incident", "occurred_at, reported_at, created_at, updated_at, synthetic, location_mismatch")
        assert incidents["bulk"] == incidents["orm"]
        meetings = shapes("meeting", "date, start_time, agencies, created_at, reaches_all_desa")
        assert meetings["bulk"] == meetings["orm"]
        # as text, so that JSON null and SQL NULL differ on PostgreSQL too
        audit = session.execute(text("SELECT CAST(before AS TEXT), after FROM audit_log WHERE action = 'create'")).all()
        assert {type(b) for b, _ in audit} == {str} and {b for b, _ in audit} == {"null"}


# --- PostgreSQL: COPY ---------------------------------------------------------------------------------------

PG_URL = os.environ.get("GEO_APP_TEST_POSTGRES_URL")


@pytest.mark.skipif(not PG_URL, reason="GEO_APP_TEST_POSTGRES_URL not set (.ci/run sets it)")
def test_bulk_import_on_postgres_uses_copy_and_the_sequence(tmp_path, boundary_source, monkeypatch):
    from geo_app import create_app
    from geo_app.services.boundaries import import_boundaries
    from geo_app.services.records import create_record
    from geo_app.store import records as store
    from tests.conftest import postgres_database

    copies: list[str] = []
    real_copy = store._copy_rows
    monkeypatch.setattr(
        store,
        "_copy_rows",
        lambda session, table, *a, **k: copies.append(table.name) or real_copy(session, table, *a, **k),
    )
    with postgres_database(PG_URL) as url:
        app = create_app(
            {
                "TESTING": True,
                "DATABASE_URL": url,
                "SHAPEFILE_DIR": str(tmp_path / "shp"),
                "BOUNDARY_SOURCE": boundary_source,
            }
        )
        try:
            with app.app_context():
                session, conf = get_session(), app.config["GEO_APP_SETTINGS"]
                import_boundaries(session, conf)
                path = write_incidents_csv(synthetic_incidents(desa_frame(session), 3000, seed=9), tmp_path / "i.csv")
                before = create_record(
                    session,
                    conf,
                    "incidents",
                    {
                        "occurred_at": "01/10/2024",
                        "category": "apk",
                        "severity": "low",
                        "description": "orm",
                        "desa": "Penarik",
                    },
                )
                first = import_records(session, conf, "incidents", path, chunk_rows=1000)
                assert first.inserted == 3000 and copies.count("incident") == 3 and "audit_log" in copies
                ids = sorted(session.scalars(select(Incident.id)))
                assert len(ids) == len(set(ids)) == 3001 and ids[0] == before["id"]
                after = create_record(
                    session,
                    conf,
                    "incidents",
                    {
                        "occurred_at": "02/10/2024",
                        "category": "apk",
                        "severity": "low",
                        "description": "orm 2",
                        "desa": "Penarik",
                    },
                )
                assert after["id"] > max(ids)  # COPY took its ids from the sequence
                stored = session.scalars(select(Incident).where(Incident.external_id == "SYN-INC-000001")).one()
                entry = session.scalars(
                    select(AuditEntry).where(AuditEntry.record_id == stored.id, AuditEntry.action == "create")
                ).one()
                assert entry.after["external_id"] == "SYN-INC-000001" and entry.before is None
                assert entry.after["occurred_at"] == to_dict(stored, "incidents")["occurred_at"]
                again = import_records(session, conf, "incidents", path)
                assert (again.inserted, again.unchanged) == (0, 3000)
                assert rollback_batch(session, first.batch)["deleted"] == 3000
                # a key someone else wrote meanwhile: COPY refused by the unique index, the import fails cleanly
                monkeypatch.setattr(store, "stored_matches", lambda *a, **k: [])
                with pytest.raises(ValidationError, match=r"bentrok dengan data yang sudah tersimpan"):
                    import_records(session, conf, "incidents", path)
                assert session.scalar(select(func.count()).select_from(Incident)) == 3002
        finally:
            app.extensions["geo_app.engine"].dispose()


def test_a_key_written_by_someone_else_meanwhile_fails_the_import_cleanly(app, tmp_path, monkeypatch):
    """The database's unique keys still guard a race: the lookup saw nothing, the insert is refused."""
    from geo_app.store import records as store

    head = "id;tanggal_kejadian;kategori;keparahan;uraian;kode_desa\n"
    text = head + "a;01/10/2024;apk;rendah;x;17.06.08.2006\n" + "b;02/10/2024;apk;rendah;y;17.06.08.2006\n"
    with app.app_context():
        import_records(get_session(), settings(app), "incidents", text.encode(), "a.csv")
    before = snapshot(app)
    monkeypatch.setattr(store, "stored_matches", lambda *a, **k: [])  # as if written after the lookup
    with pytest.raises(ValidationError, match=r"b\.csv: baris 2-3 bentrok dengan data yang sudah tersimpan"):
        with app.app_context():
            import_records(get_session(), settings(app), "incidents", text.encode(), "b.csv")
    assert snapshot(app) == before


def test_a_field_the_column_path_does_not_read_sends_rows_the_row_by_row_way(app, big_csv):
    with app.app_context():
        ctx = record_context(get_session(), settings(app))
    mapping = read_records_file(big_csv, None, "incidents").mapping
    assert ColumnCleaner("incidents", ctx, inputs=mapping).enabled  # the generator's file: column by column
    raws = [{"desa_code": "17.06.08.2006", "number": "1", "voters": "100", "phone": "0812"}]
    cleaner = ColumnCleaner("tps", ctx, inputs=["desa_code", "number", "voters", "phone"])
    assert not cleaner.enabled and cleaner.clean(row_getter(raws), 1) == [None]
    assert not ColumnCleaner("meetings", ctx, inputs=["title"]).enabled
