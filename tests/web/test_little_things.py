"""Issue 12 little things: the favicon (no 404 on any page) and gap-list exports that say which date,
settings and data version made them."""

from __future__ import annotations

import csv
import io
import json
import re
from datetime import date
from urllib.parse import parse_qs

from geo_app.analysis.coverage import CoverageSettings
from geo_app.app_db import get_session
from geo_app.services.boundaries import current_data_version


def test_favicon_is_served_to_everyone(secure_app):
    from PIL import Image

    client = secure_app.test_client()
    ico = client.get("/favicon.ico")
    assert ico.status_code == 200 and ico.mimetype == "image/vnd.microsoft.icon"
    assert Image.open(io.BytesIO(ico.data)).format == "ICO"
    svg = client.get("/favicon.svg")
    assert svg.status_code == 200 and svg.mimetype == "image/svg+xml" and svg.text.startswith("<svg")
    login = client.get("/login").text  # pages carry the same drawing inline (no request at all)
    assert '<link rel="icon" type="image/svg+xml" href="data:image/svg+xml,' in login


# --- exports say what made them --------------------------------------------------------------------------------


def test_gap_csv_and_xlsx_carry_date_settings_and_data_version(demo_app, demo_client):
    from openpyxl import load_workbook

    with demo_app.app_context():
        version = current_data_version(get_session())
    query = "date=2024-11-20&window_days=45&incident_window_days=20&sort=-voters"
    resp = demo_client.get(f"/gaps.csv?{query}")
    assert resp.status_code == 200 and "celah_cakupan_2024-11-20.csv" in resp.headers["Content-Disposition"]
    rows = list(csv.reader(io.StringIO(resp.data.decode("utf-8-sig")), delimiter=";"))
    header = rows[0]
    assert header[-7:] == [
        "Dibuat (WIB)",
        "Tanggal acuan",
        "Jendela rakor (hari)",
        "Jendela insiden (hari)",
        "Preset keamanan",
        "Parameter tampilan",
        "Versi data",
    ]
    assert len(rows) > 2 and all(len(r) == len(header) for r in rows)
    meta = {tuple(r[-7:]) for r in rows[1:]}
    assert len(meta) == 1  # the same description on every row
    generated, ref, window, incident_window, preset, view, data_version = meta.pop()
    assert re.fullmatch(r"\d\d/\d\d/\d{4} \d\d:\d\d WIB", generated)
    assert (ref, window, incident_window, data_version) == ("20/11/2024", "45", "20", version)
    assert preset == CoverageSettings().preset
    params = parse_qs(view)
    assert params["date"] == ["2024-11-20"] and params["window_days"] == ["45"] and params["sort"] == ["-voters"]
    # the view parameters give the same rows back
    again = list(csv.reader(io.StringIO(demo_client.get(f"/gaps.csv?{view}").data.decode("utf-8-sig")), delimiter=";"))
    assert [r[:-7] for r in again] == [r[:-7] for r in rows]

    book = load_workbook(io.BytesIO(demo_client.get(f"/gaps.xlsx?{query}").data))
    assert book.sheetnames[-1] == "Info" and book.active.title != "Info"
    info = {a: b for a, b in book["Info"].iter_rows(values_only=True)}
    assert info["Tanggal acuan"] == "20/11/2024" and info["Versi data"] == version
    settings = json.loads(info["Pengaturan lengkap (JSON)"])
    assert settings["meeting_window_days"] == 45 and settings["reference_date"] == date(2024, 11, 20).isoformat()
    english = load_workbook(io.BytesIO(demo_client.get(f"/gaps.xlsx?{query}&lang=en").data))
    assert "Reference date" in {a for a, _ in english["Info"].iter_rows(values_only=True)}
