"""Synthetic incidents for the scale benchmarks (issue 11): deterministic, valid, inside their desa."""

from __future__ import annotations

import geopandas as gpd
import pandas as pd
from sqlalchemy import func, select

from geo_app.analysis.placement import assign_desa
from geo_app.app_db import get_session
from geo_app.ingest.records_file import KIND_FIELDS, read_records_file
from geo_app.records import vocab
from geo_app.services.synthetic import synthetic_incidents, write_incidents_csv
from geo_app.store.adapter import desa_frame
from geo_app.store.models import Incident


def _desa(app) -> gpd.GeoDataFrame:
    with app.app_context():
        return desa_frame(get_session())


def test_same_seed_same_frame_other_seed_other_frame(app):
    desa = _desa(app)
    a, b = synthetic_incidents(desa, 600), synthetic_incidents(desa, 600)
    pd.testing.assert_frame_equal(a, b)
    c = synthetic_incidents(desa, 600, seed=7)
    assert not a[["lat", "lon"]].equals(c[["lat", "lon"]])
    # the row order of the desa frame does not matter
    shuffled = desa.sample(frac=1.0, random_state=3)
    pd.testing.assert_frame_equal(a, synthetic_incidents(shuffled, 600))


def test_rows_are_valid_incidents_inside_their_desa(app):
    desa = _desa(app)
    frame = synthetic_incidents(desa, 3000)
    assert len(frame) == 3000 and list(frame.columns) == list(KIND_FIELDS["incidents"])
    assert frame["external_id"].is_unique
    assert frame["external_id"].iloc[0] == "SYN-INC-000001" and frame["external_id"].iloc[-1] == "SYN-INC-003000"
    assert frame["synthetic"].all() and frame["description"].str.len().gt(10).all()
    assert set(frame["category"]) <= set(vocab.INCIDENT_CATEGORIES)
    assert set(frame["severity"]) <= set(vocab.SEVERITIES)
    assert set(frame["status"]) <= set(vocab.STATUSES) and set(frame["source"]) <= set(vocab.SOURCES)
    assert (frame["reported_at"] >= frame["occurred_at"]).all()
    assert frame["occurred_at"].min() >= pd.Timestamp("2024-11-06") and frame["occurred_at"].max() < pd.Timestamp(
        "2024-12-12"
    )
    # weeks around election day: the busiest week is the one holding 27 Nov
    busiest = frame["occurred_at"].dt.to_period("W").value_counts().idxmax()
    assert busiest.start_time <= pd.Timestamp("2024-11-27") <= busiest.end_time
    # every point gets its own desa by the placement rule (inside, not in an overlap or gap)
    points = gpd.GeoSeries(gpd.points_from_xy(frame["lon"], frame["lat"]), crs="EPSG:4326")
    placed = assign_desa(points, desa, 500.0, frame["desa_code"].tolist())
    assert (placed["desa_code"].to_numpy() == frame["desa_code"].to_numpy()).all()
    assert set(placed["placement"]) == {"inside"} and placed["consistent"].all()
    # names agree with the codes
    names = dict(zip(desa["code"], desa["name"]))
    assert (frame["desa"] == frame["desa_code"].map(names)).all()


def test_more_incidents_where_more_voters(app):
    frame = synthetic_incidents(_desa(app), 20_000)
    per_kec = frame["desa_code"].str[:8].value_counts()
    assert len(per_kec) == 15
    # Penarik (17,944 voters) against Malin Deman (5,105): the populous one has clearly more
    assert per_kec["17.06.10"] > 1.5 * per_kec["17.06.06"]


def test_csv_reads_back_and_the_cli_imports_once(app, runner, tmp_path):
    frame = synthetic_incidents(_desa(app), 250, seed=11)
    path = write_incidents_csv(frame, tmp_path / "syn.csv")
    rows = read_records_file(path, None, "incidents")
    assert len(rows) == 250 and not rows.warnings and not rows.row_errors
    assert rows.rows[0]["external_id"] == "SYN-INC-000001" and rows.rows[0]["synthetic"] == "ya"
    result = runner.invoke(args=["demo", "incidents", "--count", "250", "--seed", "11"])
    assert result.exit_code == 0, result.output
    assert "250 baru/new" in result.output
    with app.app_context():
        session = get_session()
        assert session.scalar(select(func.count()).select_from(Incident)) == 250
        assert session.scalar(select(func.count()).where(Incident.synthetic.is_(True))) == 250
        assert session.scalar(select(func.count()).where(Incident.location_mismatch.is_(True))) == 0
        stored = set(session.scalars(select(Incident.external_id)))
    assert stored == set(frame["external_id"])
    again = runner.invoke(args=["demo", "incidents", "--count", "250", "--seed", "11"])
    assert again.exit_code == 0 and "250 tetap/unchanged" in again.output
