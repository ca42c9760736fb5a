"""Issue 14: a record's kabupaten (import column, API field) on the province's boundaries: it resolves a
desa name that repeats across kabupaten, it must agree with a desa code, and a point outside every
loaded desa is named by what is loaded, not by Mukomuko."""

from __future__ import annotations

import pandas as pd
import pytest
import shapely
from pyproj import Transformer

from geo_app.app_db import get_session
from geo_app.errors import RecordInvalid, ValidationError
from geo_app.records.columns import clean_columns, row_getter
from geo_app.records.schema import clean_record
from geo_app.services.records import record_context
from geo_app.services.records_import import import_records
from geo_app.store.adapter import desa_frame
from geo_app.store.models import PollingStation
from tests.conftest import TEST_ADMIN, login_as, snapshot

TO_LONLAT = Transformer.from_crs("EPSG:32747", "EPSG:4326", always_xy=True)


@pytest.fixture
def desa(province_app) -> pd.DataFrame:
    with province_app.app_context():
        return desa_frame(get_session()).drop(columns="geometry")


def repeated_name(desa: pd.DataFrame) -> tuple[str, pd.DataFrame]:
    """A desa name found once in each of several kabupaten (so the kabupaten alone picks the desa)."""
    for _, rows in desa.assign(key=desa["name"].str.lower()).groupby("key", sort=True):
        if rows["kabupaten_code"].nunique() > 1 and not rows["kabupaten_code"].duplicated().any():
            return str(rows["name"].iloc[0]), rows.sort_values("kabupaten_code")
    raise AssertionError("no desa name repeats across kabupaten")


def tps_csv(rows: list[dict[str, str]]) -> bytes:
    headers = list(rows[0])
    lines = [";".join(headers), *(";".join(str(r[h]) for h in headers) for r in rows)]
    return ("\n".join(lines) + "\n").encode()


def stored_tps(app) -> dict[int, str]:
    with app.app_context():
        return {t.number: t.desa_code for t in get_session().query(PollingStation).all()}


def test_an_ambiguous_desa_name_is_resolved_by_the_kabupaten_column(province_app, desa):
    name, candidates = repeated_name(desa)
    # the kabupaten by name (as people write it: without "Kabupaten") and by code
    first, second = candidates.iloc[0], candidates.iloc[1]
    rows = [
        {
            "no_tps": 1,
            "jumlah_dpt": 210,
            "desa": name.upper(),
            "kabupaten": first["kabupaten_name"].removeprefix("Kabupaten "),
        },
        {"no_tps": 2, "jumlah_dpt": 190, "desa": name, "kabupaten": second["kabupaten_code"]},
    ]
    with province_app.app_context():
        result = import_records(get_session(), province_app.config["GEO_APP_SETTINGS"], "tps", tps_csv(rows), "tps.csv")
    assert result.inserted == 2 and not result.errors
    assert stored_tps(province_app) == {1: first["code"], 2: second["code"]}


def test_an_ambiguous_desa_name_without_the_kabupaten_is_refused_listing_the_candidates(province_app, desa):
    name, candidates = repeated_name(desa)
    rows = [
        {"no_tps": 1, "jumlah_dpt": 210, "desa": candidates.iloc[0]["name"], "kode_desa": candidates.iloc[0]["code"]},
        {"no_tps": 2, "jumlah_dpt": 190, "desa": name, "kode_desa": ""},
    ]
    before = snapshot(province_app)
    with province_app.app_context(), pytest.raises(ValidationError) as info:
        import_records(get_session(), province_app.config["GEO_APP_SETTINGS"], "tps", tps_csv(rows), "tps.csv")
    message = info.value.message
    assert "baris 3, kolom desa" in message  # spreadsheet row 3: the second data row
    for _, row in candidates.iterrows():  # every candidate with its kecamatan and kabupaten
        assert row["code"] in message and row["kabupaten_name"] in message and row["kecamatan_name"] in message
    assert "kabupaten" in message
    assert snapshot(province_app) == before


def test_the_kabupaten_must_be_the_desa_s(province_app, desa):
    name, candidates = repeated_name(desa)
    first, second = candidates.iloc[0], candidates.iloc[1]
    with province_app.app_context():
        ctx = record_context(get_session(), province_app.config["GEO_APP_SETTINGS"])
    # a code of one kabupaten with another kabupaten beside it
    with pytest.raises(RecordInvalid) as info:
        clean_record(
            "tps", {"number": 1, "voters": 100, "desa_code": first["code"], "kabupaten": second["kabupaten_code"]}, ctx
        )
    reason = info.value.details["kabupaten"]
    assert first["kabupaten_name"] in reason and second["kabupaten_name"] in reason and first["code"] in reason
    # an unknown kabupaten is an error of its own field, and the desa name is not guessed
    with pytest.raises(RecordInvalid) as info:
        clean_record("tps", {"number": 1, "voters": 100, "desa": name, "kabupaten": "Jakarta Selatan"}, ctx)
    assert set(info.value.details) == {"kabupaten"}
    # a kecamatan of another kabupaten
    other_kec = desa[desa["kabupaten_code"] == second["kabupaten_code"]]["kecamatan_name"].iloc[0]
    with pytest.raises(RecordInvalid) as info:
        clean_record(
            "tps",
            {"number": 1, "voters": 100, "desa": name, "kecamatan": other_kec, "kabupaten": first["kabupaten_code"]},
            ctx,
        )
    assert "kecamatan" in info.value.details
    # a point placed in one kabupaten with another named
    point = {"lat": float(first["rep_lat"]), "lon": float(first["rep_lon"])}
    with pytest.raises(RecordInvalid) as info:
        clean_record("tps", {"number": 1, "voters": 100, **point, "kabupaten": second["kabupaten_name"]}, ctx)
    assert set(info.value.details) == {"kabupaten"}
    assert (
        clean_record("tps", {"number": 1, "voters": 100, **point, "kabupaten": first["kabupaten_name"]}, ctx)[
            "desa_code"
        ]
        == first["code"]
    )


def test_the_column_path_agrees_with_clean_record_on_the_kabupaten(province_app, desa):
    """Bulk imports clean most rows column by column: the kabupaten must decide there as row by row."""
    name, candidates = repeated_name(desa)
    first, second = candidates.iloc[0], candidates.iloc[1]
    base = {"occurred_at": "20/11/2024 10:00", "category": "apk", "severity": "rendah", "description": "x"}
    rows = [
        {**base, "desa": name, "kabupaten": first["kabupaten_name"]},
        {**base, "desa": name, "kabupaten": second["kabupaten_code"]},
        {**base, "desa": name},  # ambiguous
        {**base, "desa_code": first["code"], "kabupaten": second["kabupaten_code"]},  # disagree
        {**base, "desa_code": first["code"], "kabupaten": "Atlantis"},  # unknown
        {
            **base,
            "lat": float(second["rep_lat"]),
            "lon": float(second["rep_lon"]),
            "kabupaten": second["kabupaten_code"],
        },
    ]
    with province_app.app_context():
        ctx = record_context(get_session(), province_app.config["GEO_APP_SETTINGS"])
    by_columns = clean_columns("incidents", row_getter(rows), len(rows), ctx)
    for raw, fast in zip(rows, by_columns):
        try:
            slow = clean_record("incidents", raw, ctx)
        except RecordInvalid:
            slow = None
        assert fast is None or fast == slow, raw  # the column path never accepts what clean_record refuses
    assert [r and r["desa_code"] for r in by_columns] == [
        first["code"],
        second["code"],
        None,
        None,
        None,
        second["code"],
    ]


def test_a_point_outside_the_province_names_what_is_loaded(province_app, desa):
    with province_app.app_context():
        ctx = record_context(get_session(), province_app.config["GEO_APP_SETTINGS"])
    union = shapely.union_all(ctx.desa.to_crs("EPSG:32747").geometry.to_numpy())
    # 20 km beyond the south-west corner of the province's desa
    lon, lat = TO_LONLAT.transform(union.bounds[0] - 20_000, union.bounds[1] - 20_000)
    with pytest.raises(RecordInvalid) as info:
        clean_record("tps", {"number": 1, "voters": 100, "lat": lat, "lon": lon}, ctx)
    reason = info.value.details["lat"]
    count = desa["kabupaten_code"].nunique()
    assert f"di luar {count} kabupaten/kota yang dimuat" in reason and f"outside the {count} kabupaten/kota" in reason
    assert "Kota Bengkulu" in reason and "di luar Kabupaten Mukomuko" not in reason


def test_the_api_takes_the_kabupaten_field(province_app, desa):
    name, candidates = repeated_name(desa)
    client = province_app.test_client()
    login_as(client, TEST_ADMIN)
    refused = client.post("/api/polling-stations", json={"number": 5, "voters": 120, "desa": name})
    assert refused.status_code == 400
    assert all(code in refused.json["details"]["desa"] for code in candidates["code"])
    last = candidates.iloc[-1]
    made = client.post(
        "/api/polling-stations", json={"number": 5, "voters": 120, "desa": name, "kabupaten": last["kabupaten_name"]}
    )
    assert made.status_code == 201 and made.json["desa_code"] == last["code"]
    listed = client.get("/api/polling-stations", query_string={"kabupaten": last["kabupaten_code"]}).json
    assert [t["desa_code"] for t in listed["items"]] == [last["code"]]
    other = candidates.iloc[0]["kabupaten_code"]
    assert client.get("/api/polling-stations", query_string={"kabupaten": other}).json["items"] == []
    bad = client.get("/api/polling-stations", query_string={"kabupaten": "Atlantis"})
    assert bad.status_code == 400 and "kabupaten" in bad.json["details"]
    # the records page: a kabupaten choice in its filters, the same selection
    page = client.get("/tps", query_string={"kabupaten": last["kabupaten_code"]}).get_data(as_text=True)
    assert f'<option value="{last["kabupaten_code"]}" selected>' in page
    cell = f'<td data-label="Kecamatan">{last["kecamatan_name"]}</td>'  # the TPS row's kecamatan
    assert page.count(cell) == 1
    assert cell not in client.get("/tps", query_string={"kabupaten": other}).get_data(as_text=True)
